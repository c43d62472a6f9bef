"""Each example stack (Pulumi.<stack>.yaml, no overrides) evaluated once per test process.

Many tests only read what an example stack declares; evaluating the program again for each of them
repeats the same work (the ipi stack imports pulumi_aws). Tests receive the one shared Evaluation and
must not change it: copy what a test wants to alter (copy.deepcopy), or call tools.offline.evaluate
for a fresh one, as the determinism tests do. Under pytest-xdist each worker process has its own.
"""

from __future__ import annotations

from functools import cache

from tools.offline import Evaluation, evaluate


@cache
def evaluated(stack: str) -> Evaluation:
    """The shared evaluation of an example stack; an evaluation error propagates (and is not cached)."""
    return evaluate(stack)
