"""A stand-in API server on 127.0.0.1 serving OLM's Subscriptions, InstallPlans and CSVs, as OLM leaves them.

What it copies from OLM (operator-lifecycle-manager @ 992bb097749e; facts-lifecycle §3.1-3.3):

- an InstallPlan carries one non-controller owner reference per Subscription of its namespace
  (`createInstallPlan`), `spec.approval`, `spec.approved` (false for Manual), `spec.clusterServiceVersionNames`
  (every CSV the namespace's resolution installs, other operators' included), `spec.generation`, and
  `status.phase` `RequiresApproval` until approved;
- approving (a merge patch of `spec.approved: true`) lets OLM install the plan: phase `Complete`, each owning
  Subscription's `status.installedCSV` set to its CSV in the plan, the CSV `Succeeded` (after `install_polls`
  further reads, so callers must wait);
- once a CSV is installed OLM plans the next one of the channel at once, again `RequiresApproval`
  (facts-lifecycle §3.2, [inferred] from the stackrox comment on OLM #2341): `upgrades` maps a CSV to its
  successor;
- unknown objects answer a `Status` 404; a PATCH that is not `application/merge-patch+json` or
  `application/json-patch+json` is refused 415, as the API server does for custom resources.

Also the Sail `Istio` objects (GET only), for the preview's read of the running mesh.
Every request is logged as `METHOD path`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.standin_apiserver import Answer, Request, StandInApiServer, status

PREFIX = "/apis/operators.coreos.com/v1alpha1/namespaces/"
ISTIOS = "/apis/sailoperator.io/v1/istios/"
UPDATED = "2026-12-06T03:00:00Z"


@dataclass
class OlmStandIn:
    """OLM's objects by namespace; `installs[plan][subscription] = csv` says what approving a plan installs."""

    subscriptions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    plans: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    csvs: dict[str, dict[str, str]] = field(default_factory=dict)  # namespace -> CSV -> phase
    installs: dict[str, dict[str, str]] = field(default_factory=dict)
    upgrades: dict[str, str] = field(default_factory=dict)
    install_polls: int = 1  # CSV reads answering Installing before Succeeded
    istios: dict[str, dict[str, Any]] = field(default_factory=dict)  # sailoperator.io/v1 Istio, cluster-scoped
    log: list[str] = field(default_factory=list)
    _polls: dict[str, int] = field(default_factory=dict)
    _generation: int = 0

    def subscribe(self, namespace: str, name: str, pinned: str | None = None, installed: str = "") -> dict[str, Any]:
        sub = {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "Subscription",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"},
            "spec": {
                "name": name,
                "channel": "stable",
                "installPlanApproval": "Manual",
                "source": "redhat-operators",
                "sourceNamespace": "openshift-marketplace",
                **({"startingCSV": pinned} if pinned else {}),
            },
            "status": {
                "lastUpdated": UPDATED,
                **({"installedCSV": installed, "currentCSV": installed} if installed else {}),
            },
        }
        self.subscriptions.setdefault(namespace, {})[name] = sub
        if installed:
            self.csvs.setdefault(namespace, {})[installed] = "Succeeded"
        return sub

    def plan(self, namespace: str, installs: Mapping[str, str], phase: str = "RequiresApproval") -> str:
        """A plan OLM made for the namespace: owned by every Subscription there, installing `installs`."""
        self._generation += 1
        name = f"install-{self._generation:05d}"
        owners = [
            {
                "apiVersion": "operators.coreos.com/v1alpha1",
                "kind": "Subscription",
                "name": sub_name,
                "uid": sub["metadata"]["uid"],
                "blockOwnerDeletion": False,
                "controller": False,
            }
            for sub_name, sub in self.subscriptions.get(namespace, {}).items()
        ]
        self.plans.setdefault(namespace, {})[name] = {
            "apiVersion": "operators.coreos.com/v1alpha1",
            "kind": "InstallPlan",
            "metadata": {"name": name, "namespace": namespace, "generateName": "install-", "ownerReferences": owners},
            "spec": {
                "approval": "Manual",
                "approved": False,
                "clusterServiceVersionNames": sorted(installs.values()),
                "generation": self._generation,
            },
            # no status at all until OLM's second write (phase and catalogSources are required together)
            **({"status": {"phase": phase, "catalogSources": ["redhat-operators"]}} if phase else {}),
        }
        self.installs[name] = dict(installs)
        for sub_name in installs:
            sub = self.subscriptions.get(namespace, {}).get(sub_name)
            if sub is not None:
                sub["status"]["installPlanRef"] = {"kind": "InstallPlan", "name": name, "namespace": namespace}
        return name

    def approved(self, namespace: str) -> list[str]:
        return sorted(n for n, p in self.plans.get(namespace, {}).items() if p["spec"]["approved"] is True)

    def patches(self) -> list[str]:
        return [entry for entry in self.log if entry.startswith("PATCH ")]

    # --- the API ---------------------------------------------------------------------------------
    def answer(self, method: str, raw: str, body: bytes, content_type: str) -> tuple[int, Mapping[str, Any]]:
        path = urlsplit(raw).path
        if path.startswith(ISTIOS) and method == "GET":
            name = path[len(ISTIOS) :]
            found = self.istios.get(name)
            return (
                (200, found) if found else (404, status(404, "NotFound", f'istios.sailoperator.io "{name}" not found'))
            )
        if not path.startswith(PREFIX):
            return 404, status(404, "NotFound", f"{path} not found")
        parts = path[len(PREFIX) :].split("/")
        namespace, resource, name = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
        store: dict[str, dict[str, Any]]
        if resource == "subscriptions":
            store = self.subscriptions.get(namespace, {})
        elif resource == "installplans":
            store = self.plans.get(namespace, {})
        elif resource == "clusterserviceversions":
            return self._csv(namespace, name)
        else:
            return 404, status(404, "NotFound", f"the server could not find the requested resource ({resource})")
        if not name and method == "GET":
            items = [store[k] for k in sorted(store)]
            return 200, {"kind": "List", "apiVersion": "operators.coreos.com/v1alpha1", "items": items}
        if name not in store:
            return 404, status(404, "NotFound", f'{resource}.operators.coreos.com "{name}" not found')
        if method == "GET":
            return 200, store[name]
        if method == "PATCH" and resource == "installplans":
            if content_type not in ("application/merge-patch+json", "application/json-patch+json"):
                return 415, status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {content_type}")  # fmt: skip # noqa: E501
            patch = json.loads(body)
            if content_type != "application/merge-patch+json" or not isinstance(patch, dict):
                return 422, status(422, "Invalid", "stand-in takes merge patches only")
            if _approves(patch):
                self._approve(namespace, name)
            return 200, store[name]
        return 405, status(405, "MethodNotAllowed", f"{method} is not supported here")

    def _approve(self, namespace: str, name: str) -> None:
        plan = self.plans[namespace][name]
        plan["spec"]["approved"] = True
        plan.setdefault("status", {"catalogSources": ["redhat-operators"]})["phase"] = "Complete"
        for sub_name, csv in self.installs.get(name, {}).items():
            sub = self.subscriptions.get(namespace, {}).get(sub_name)
            self.csvs.setdefault(namespace, {})[csv] = "Installing"
            self._polls[f"{namespace}/{csv}"] = 0
            if sub is not None:
                sub["status"].update({"installedCSV": csv, "currentCSV": csv, "state": "AtLatestKnown"})
        for sub_name, csv in self.installs.get(name, {}).items():  # OLM plans the next CSV of the channel
            if csv in self.upgrades:
                self.plan(namespace, {sub_name: self.upgrades[csv]})

    def _csv(self, namespace: str, name: str) -> tuple[int, Mapping[str, Any]]:
        phase = self.csvs.get(namespace, {}).get(name)
        if phase is None:
            return 404, status(404, "NotFound", f'clusterserviceversions.operators.coreos.com "{name}" not found')
        key = f"{namespace}/{name}"
        if phase == "Installing":
            self._polls[key] = self._polls.get(key, 0) + 1
            if self._polls[key] > self.install_polls:
                phase = self.csvs[namespace][name] = "Succeeded"
        return 200, {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
                     "metadata": {"name": name, "namespace": namespace}, "status": {"phase": phase}}  # fmt: skip


def _approves(patch: Mapping[str, Any]) -> bool:
    spec = patch.get("spec")
    return isinstance(spec, Mapping) and spec.get("approved") is True


class OlmApiServer(StandInApiServer):
    """Serves an OlmStandIn over HTTP on 127.0.0.1 (port 0), logging into its `log`; `kubeconfig()` points a
    client at it."""

    methods = ("GET", "PATCH")

    def __init__(self, olm: OlmStandIn) -> None:
        self.olm = olm
        super().__init__(log=olm.log)

    def respond(self, request: Request) -> Answer:
        return self.olm.answer(request.method, request.path, request.body, request.content_type)
