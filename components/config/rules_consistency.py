"""Settings that contradict each other: together they can only fail `pulumi up`, so they are refused.

`verify` proves that one trace crosses servicea and serviceb (components/mesh_verification.py,
tools/verify.py): with `mesh.tracing.sampling: 0` no request is ever traced (both profiles read it as
basis points: SMCP spec.tracing.sampling, Telemetry randomSamplingPercentage = sampling/100), so the
last step of every `pulumi up` fails. With fewer than one traced request expected among
`verify.requests`, it most likely fails: that is a warning with the numbers to change.
"""

from __future__ import annotations

import math

from components.config.mesh import MeshConfig
from components.config.reader import Reader
from components.config.workloads import VerifyConfig

FULL = 10000  # sampling is in basis points: 10000 = 100 %


def check_contradictions(r: Reader, mesh: MeshConfig, verify: VerifyConfig) -> None:
    if verify.enabled and mesh.tracing.sampling == 0:
        r.problem(
            "verify.enabled",
            "verify waits for a trace, but mesh.tracing.sampling is 0, so no request is traced; "
            "set mesh.tracing.sampling above 0 (10000 = 100%) or turn verify off.",
        )


def contradiction_warnings(mesh: MeshConfig, verify: VerifyConfig) -> list[str]:
    sampling = mesh.tracing.sampling
    if not verify.enabled or sampling == 0 or verify.requests * sampling >= FULL:
        return []
    needed = math.ceil(3 * FULL / sampling)  # three expected traces: about 95 % to see at least one
    return [
        f"ossm:verify.requests: {verify.requests} requests at mesh.tracing.sampling {sampling} "
        f"({sampling / 100:g}%) trace fewer than one on average, so verify will most likely fail; "
        f"set verify.requests to about {needed} or raise the sampling."
    ]
