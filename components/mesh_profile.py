"""The profile registry: which Service Mesh generation a stack's `mesh.profile` names.

Shared (`components/shared/`): cluster access, operator subscriptions and
their readiness gates, the catalog preflight, the demo app and the routes.
Per profile (`components/ossm2/`, `components/ossm3/`): which operators to
install, and the control plane with its membership. A profile hands the shared
parts a `Mesh` (components/shared/mesh.py, below every profile); this module
sits above them all and is the only one that imports a profile, so a third
profile costs one package and one line here.
"""

from __future__ import annotations

from components import ossm2, ossm3
from components.config import StackConfig
from components.shared.mesh import Profile
from components.shared.operators import OperatorSpec

PROFILES: dict[str, Profile] = {"ossm2": ossm2, "ossm3": ossm3}


def profile_for(cfg: StackConfig) -> Profile:
    return PROFILES[cfg.mesh.profile]


def operators_for(cfg: StackConfig) -> list[OperatorSpec]:
    """The profile's operators as an offline plan has them: no Subscription on the cluster looked up."""
    return profile_for(cfg).operators(cfg, None)
