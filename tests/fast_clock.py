"""A clock whose sleeps return at once, for tests of code that waits out a time budget between retries.

The code under test sees time pass as it really does plus every second it asked to sleep, so its
budget arithmetic, attempt counts and messages are those of a real run; only the idle waiting is
skipped. Requests, socket timeouts and servers keep the real clock. Each behaviour that depends on
real time keeps at least one test on the real clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any


class SkippingClock:
    """Stands in for the `time` module: monotonic() and time() run ahead by the sleeps skipped so far."""

    def __init__(self) -> None:
        self.skipped = 0.0
        self.sleeps = 0

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped

    def time(self) -> float:
        return time.time() + self.skipped

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")  # what time.sleep raises
        self.skipped += seconds
        self.sleeps += 1

    def __getattr__(self, name: str) -> Any:  # anything else (strftime, ...) is the real module's
        return getattr(time, name)


@contextmanager
def sleeps_skipped(module: ModuleType) -> Iterator[SkippingClock]:
    """Replaces the `time` a module imported (`import time`) with a SkippingClock while the block runs."""
    original = module.time
    clock = SkippingClock()
    setattr(module, "time", clock)  # noqa: B010 (mypy: a module attribute of type ModuleType)
    try:
        yield clock
    finally:
        setattr(module, "time", original)  # noqa: B010
