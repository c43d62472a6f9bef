"""Config keys under a near-miss of the project's namespace (`OSSM:mesh`, `ossm3:mesh`): read by nothing.

The engine hands a program every `namespace:key` of the stack, but `pulumi.Config("ossm")`
reads only `ossm:<key>` (the namespace is part of the key, compared as written: Pulumi's
config.Key, sdk/go/common/resource/config/key.go, and `Config.full_key` in the Python SDK),
so `OSSM:mesh: {...}` is silently ignored and the defaults win. A key under another
namespace that names one of this program's keys, with a namespace a typo away from
`ossm`, gets a warning naming it and the prefix meant; unrelated providers' keys
(`aws:region`, `kubernetes:context`) are left alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from components.config.reader import PROJECT


def near_miss(namespace: str) -> bool:
    """A namespace that is not the project's but reads like it: case, a digit, a letter more or less."""
    lowered = namespace.lower()
    if namespace == PROJECT:
        return False
    return (
        lowered == PROJECT
        or lowered.rstrip("0123456789-_.") == PROJECT
        or difflib.SequenceMatcher(None, lowered, PROJECT).ratio() >= 0.75
    )


def near_misses(keys: Iterable[str], known: Sequence[str]) -> list[str]:
    """One warning per `namespace:key` whose key is one of ours under a namespace a typo away from `ossm`."""
    warnings = []
    for full in sorted(keys):
        namespace, colon, name = full.partition(":")
        top = name.split(".", 1)[0]
        close = difflib.get_close_matches(top, known, n=1)
        if colon and close and near_miss(namespace):
            warnings.append(
                f"config key {full!r} is read by nothing: this program reads '{PROJECT}:{close[0]}' "
                f"(prefix '{PROJECT}:', not '{namespace}:'); move its value under "
                f"'{PROJECT}:{close[0]}' in the stack file, or `pulumi config rm '{full}'`."
            )
    return warnings
