"""Config contract, judged by the rules of the systems that receive each value.

Every bad value is one named problem (key path, and through the CLI's path also the stack
file and line), never a traceback and never an echo of a credential; valid but unusual
configs keep planning.
"""

from __future__ import annotations

import copy
import functools
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.config import ConfigError, defaults, parse
from components.config.rules_prefix import near_misses
from components.config.rules_where import line_of, locate
from components.config.stack import TOP_LEVEL_KEYS
from tools import plan
from tools.offline import ROOT, evaluate

DIGEST = "@sha256:" + "a" * 64
PULL_SECRET = '{"auths": {"registry.example": {"auth": "eA=="}}}'
IPI: dict[str, Any] = {
    "mode": "ipi",
    "name": "c",
    "baseDomain": "example.com",
    "region": "us-east-2",
    "pullSecret": PULL_SECRET,
}
OSSM3: dict[str, Any] = {"profile": "ossm3"}
PASSWORD = "hunter2pw"


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(_new_cluster_profile(raw))
    return caught.value.problems


def _new_cluster_profile(raw: dict[str, Any]) -> dict[str, Any]:
    """An ipi config without a profile gets ossm3: the default ossm2 cannot go on a new cluster (checked apart)."""
    if isinstance(raw.get("cluster"), dict) and raw["cluster"].get("mode") == "ipi" and "mesh" not in raw:
        return {**raw, "mesh": {"profile": "ossm3"}}
    return raw


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "userTags":
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def _set(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    tree = copy.deepcopy(tree)
    node = tree
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return tree


IPI_ONLY = {"cluster." + k for k in ("name", "baseDomain", "region", "pullSecret")}


def _base(path: str) -> dict[str, Any]:
    """A valid config in which `path` is read: ipi keys under mode ipi, OSSM 3 keys under the ossm3 profile."""
    existing = {"cluster.mode", "cluster.kubeconfig", "cluster.context", "cluster.renderYamlTo"}
    if path.startswith("cluster.") and path not in existing:
        return {"cluster": dict(IPI), "mesh": dict(OSSM3)}
    if path.startswith(("mesh.tracing.s3", "mesh.monitoring", "mesh.tracing.namespace")):
        return {"mesh": {**OSSM3, "tracing": {"storage": "S3", "s3": {"region": "eu-west-1"}}}}
    return {}


KEYS = {path: default for path, default in _leaves(defaults()).items() if path not in ("cluster.ipi",)}
KEYS.update({"mesh.profile": "ossm2", **{f"operators.{op}.source": None for op in ("jaeger", "servicemesh")}})
SECTIONS = ["mesh", "mesh.tracing", "mesh.tracing.s3", "mesh.addons", "operators", "operators.kiali", "app", "gates"]


def _wrong_values(default: Any) -> list[Any]:
    """Values of every other YAML type than the key takes (None only where the key has a default)."""
    every: list[Any] = [{"a": "b"}, ["a"], 3, 2.5, True, "text"]
    if isinstance(default, bool):
        kinds: tuple[type, ...] = (bool,)
    elif isinstance(default, int):
        kinds = (int,)
    elif isinstance(default, (list, tuple)):
        kinds = (list,)
    elif isinstance(default, dict):
        kinds = (dict,)
    else:
        kinds = (str,)
    wrong = [v for v in every if not isinstance(v, kinds) or (kinds == (int,) and isinstance(v, bool))]
    return wrong + ([None] if default is not None and not isinstance(default, (list, tuple, dict)) else [])


TYPE_CASES = [(path, value) for path, default in sorted(KEYS.items()) for value in _wrong_values(default)]


@pytest.mark.parametrize(("path", "value"), TYPE_CASES, ids=[f"{p}={v!r}" for p, v in TYPE_CASES])
def test_a_value_of_the_wrong_type_at_any_key_is_a_problem_naming_that_key(path: str, value: Any) -> None:
    """The table covers every key of the documented defaults: `~`, mappings, lists, numbers, strings, booleans."""
    found = problems(_set(_base(path), path, value))
    assert any(p.startswith(f"ossm:{path}:") for p in found), found
    assert not any("Traceback" in p for p in found)


@pytest.mark.parametrize("path", SECTIONS)
@pytest.mark.parametrize("value", ["text", 3, ["a"], True])
def test_a_section_that_is_not_a_mapping_is_named(path: str, value: Any) -> None:
    found = problems(_set(_base(path), path, value))
    assert any(p.startswith(f"ossm:{path}:") and "expected an object" in p for p in found), found


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"mesh": {"namespace": None}}, "mesh.namespace"),  # crashed: NoneType has no startswith
        ({"mesh": {"profile": None}}, "mesh.profile"),  # crashed: KeyError None
        ({"gates": {"image": 3}}, "gates.image"),  # crashed: int has no len()
        ({"gates": {"image": {"name": "x"}}}, "gates.image"),
        ({"operators": {"jaegerNamespace": None}}, "operators.jaegerNamespace"),
        ({"mesh": {"name": None}}, "mesh.name"),  # silently None, declared as a nameless SMCP
    ],
)
def test_type_confusions_that_used_to_crash_or_pass_are_named(raw: dict[str, Any], key: str) -> None:
    found = problems(raw)
    assert any(p.startswith(f"ossm:{key}:") for p in found), found


def test_a_number_where_a_string_belongs_says_to_quote_it() -> None:
    (found,) = problems({"mesh": {"version": 2.6}})
    assert found.startswith("ossm:mesh.version:") and "quote it" in found


@pytest.mark.parametrize("path", ["mesh.name", "operators.source", "cluster.context"])
def test_wrong_types_never_echo_the_value(path: str) -> None:
    found = problems(_set({}, path, {"token": PASSWORD}))
    assert found and not any(PASSWORD in p for p in found), found


# ---------------------------------------------------------------------------------------------
# Credentials inside values (RFC 3986 section 3.2.1: userinfo "user:password" is deprecated)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("app.image", f"bob:{PASSWORD}@quay.io/me/app:1{DIGEST}"),
        ("app.image", f"bob:{PASSWORD}@quay.io/me/app{DIGEST}"),
        ("gates.image", f"https://bob:{PASSWORD}@registry.example.com/cli{DIGEST}"),
        ("cluster.context", f"https://bob:{PASSWORD}@api.example.com:6443"),
        ("cluster.renderYamlTo", f"s3://AKIA:{PASSWORD}@bucket/rendered"),
        ("operators.source", f"http://bob:{PASSWORD}@catalog"),
        ("mesh.name", f"ftp://bob:{PASSWORD}@x"),
    ],
)
def test_credentials_inside_a_value_are_refused_and_never_echoed(path: str, value: str) -> None:
    found = problems(_set({}, path, value))
    assert any(p.startswith(f"ossm:{path}:") and "credentials" in p for p in found), found
    assert not any(PASSWORD in p or "bob" in p for p in found), found


def test_credentials_in_a_user_tag_value_are_refused_unechoed() -> None:
    found = problems({"cluster": {**IPI, "userTags": {"repo": f"https://bob:{PASSWORD}@git.example.com/x"}}})
    assert any(p.startswith("ossm:cluster.userTags.repo:") and "credentials" in p for p in found), found
    assert not any(PASSWORD in p for p in found)


def test_credentials_in_a_member_name_or_an_ipi_key_are_refused_unechoed() -> None:
    found = problems({"members": [f"https://bob:{PASSWORD}@x/y"]})
    assert found[0].startswith("ossm:members[0]:") and PASSWORD not in found[0]
    found = problems({"cluster": {**IPI, "installerPath": f"https://bob:{PASSWORD}@mirror/openshift-install"}})
    assert any(p.startswith("ossm:cluster.installerPath:") for p in found) and not any(PASSWORD in p for p in found)


@pytest.mark.parametrize(
    "image",
    [
        f"busybox:1.36{DIGEST}",  # `:` and `@` but a tag and a digest, no userinfo
        f"registry:5000/cli:v4.16{DIGEST}",
        f"quay.io/me/app{DIGEST}",
    ],
)
def test_a_tag_and_digest_are_not_mistaken_for_credentials(image: str) -> None:
    assert parse({"app": {"image": image}}).app.image == image


# ---------------------------------------------------------------------------------------------
# Through the CLI's path: exit 2, the stack file and line, nothing written, nothing echoed


def _plan(tmp_path: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    (project / "Pulumi.t.yaml").write_text(stack)
    monkeypatch.setattr(plan, "evaluate", functools.partial(evaluate, root=project))
    code = plan.main(["--stack", "t", "--out", str(tmp_path / "out"), "--quiet"])
    assert not (tmp_path / "out").exists()
    return code, ""


STACK = f"""config:
  ossm:mesh:
    tracing:
      sampling: 20000
  ossm:members:
    - shop
    - Bad_Name
  ossm:app:
    image: "bob:{PASSWORD}@quay.io/me/app{DIGEST}"
  ossm:gates:
    namespace: ossm-gates
"""


def test_every_problem_names_the_stack_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _plan(tmp_path, STACK, monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    lines = [line.strip() for line in err.splitlines() if line.strip().startswith("- ")]
    assert any(line.startswith("- Pulumi.t.yaml:4: ossm:mesh.tracing.sampling:") for line in lines), err
    assert any(line.startswith("- Pulumi.t.yaml:7: ossm:members[1]:") for line in lines), err
    assert any(line.startswith("- Pulumi.t.yaml:9: ossm:app.image:") for line in lines), err
    assert PASSWORD not in err and "Traceback" not in err


@pytest.mark.parametrize(
    "stack",
    [
        "config:\n  ossm:cluster: hunter2pw-token\n",  # the CLI hands a string where an object belongs
        "config:\n  ossm:members: hunter2pw\n",
    ],
)
def test_a_string_where_an_object_belongs_is_named_without_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stack: str
) -> None:
    code, _ = _plan(tmp_path, stack, monkeypatch)
    err = capsys.readouterr().err
    key = stack.split(":")[2].strip()
    assert code == 2 and f"Pulumi.t.yaml:2: ossm:{key}:" in err, err
    assert PASSWORD not in err


def test_line_of_follows_keys_indexes_and_dotted_tag_keys() -> None:
    text = (
        "config:\n"
        "  ossm:cluster:\n"
        "    userTags:\n"
        "      example.com/team: a\n"
        "  ossm:members:\n"
        "    - a\n"
        "    - b\n"
        "  ossm:mesh:\n"
        "    name: x\n"
    )
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert line_of(root, "cluster.userTags.example.com/team") == 4
    assert line_of(root, "members[1]") == 7
    assert line_of(root, "mesh.tracing.sampling") == 8  # absent: its nearest written ancestor
    assert line_of(root, "app.image") is None  # not in the file at all (a default or `pulumi config set`)


def test_locate_names_the_file_even_without_a_line(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text("config:\n  ossm:mesh: {name: x}\n")
    assert locate(["ossm:app.replicas: out of range"], stack) == ["Pulumi.s.yaml: ossm:app.replicas: out of range"]
    assert locate(["ossm:mesh.name: bad"], stack) == ["Pulumi.s.yaml:2: ossm:mesh.name: bad"]
    assert locate(["ossm:mesh.name: bad"], tmp_path / "missing.yaml") == ["missing.yaml: ossm:mesh.name: bad"]


def test_locate_reads_a_hostile_file_without_expanding_it(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.s.yaml"
    lines = ['a0: &a0 ["x"]'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    stack.write_text("\n".join(lines) + "\nconfig:\n  ossm:mesh: *a8\n")
    assert locate(["ossm:mesh.name: bad"], stack)[0].startswith("Pulumi.s.yaml:")
    stack.write_bytes(b"config: [\x00\n")
    assert locate(["ossm:mesh.name: bad"], stack) == ["Pulumi.s.yaml: ossm:mesh.name: bad"]


# ---------------------------------------------------------------------------------------------
# Near-miss project prefixes: read by nothing, so the defaults would silently win


@pytest.mark.parametrize(
    ("key", "meant"),
    [("OSSM:mesh", "ossm:mesh"), ("ossm3:mesh", "ossm:mesh"), ("osm:app", "ossm:app"), ("Ossm:verify", "ossm:verify")],
)
def test_a_near_miss_prefix_is_warned_about_with_the_prefix_meant(key: str, meant: str) -> None:
    (warning,) = near_misses([key], TOP_LEVEL_KEYS)
    assert repr(key) in warning and f"'{meant}'" in warning


def test_keys_of_the_project_and_other_providers_are_not_near_misses() -> None:
    keys = ["ossm:mesh", "aws:region", "kubernetes:context", "pulumi:disable-default-providers", "ossm:cluster"]
    assert near_misses(keys, TOP_LEVEL_KEYS) == []


def test_the_plan_warns_about_a_near_miss_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning goes to the engine's log (Pulumi's mock engine: Python logging; the CLI: its warnings)."""
    stack = "config:\n  OSSM:mesh:\n    profile: ossm3\n  ossm:app:\n    replicas: 0\n"
    code, _ = _plan(tmp_path, stack, monkeypatch)
    assert code == 2 and "'OSSM:mesh' is read by nothing" in caplog.text and "'ossm:mesh'" in caplog.text


# ---------------------------------------------------------------------------------------------
# OLM catalog reach (operator-lifecycle-manager docs, CatalogSources: Namespacing)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"operators": {"sourceNamespace": "my-catalogs"}}, "operators.sourceNamespace"),
        ({"operators": {"servicemesh": {"sourceNamespace": "openshift-distributed-tracing"}}}, "operators.servicemesh"),
        ({"operators": {"jaeger": {"source": "mirror", "sourceNamespace": "openshift-operators"}}}, "operators.jaeger"),
        ({"mesh": OSSM3, "operators": {"tempo": {"sourceNamespace": "openshift-marketplace-x"}}}, "operators.tempo"),
    ],
)
def test_a_catalog_namespace_olm_never_reads_is_refused(raw: dict[str, Any], key: str) -> None:
    found = problems(raw)
    assert any(p.startswith(f"ossm:{key}") and "openshift-marketplace" in p for p in found), found


@pytest.mark.parametrize(
    "raw",
    [
        {"operators": {"jaeger": {"source": "mirror", "sourceNamespace": "openshift-distributed-tracing"}}},
        {"operators": {"kiali": {"source": "mirror", "sourceNamespace": "openshift-operators"}}},
        {"mesh": OSSM3, "operators": {"tempo": {"source": "m", "sourceNamespace": "openshift-tempo-operator"}}},
        {"operators": {"tempo": {"sourceNamespace": "elsewhere"}}},  # ossm2 subscribes no tempo: nothing to resolve
    ],
)
def test_the_subscriptions_own_namespace_is_a_reachable_catalog(raw: dict[str, Any]) -> None:
    assert parse(raw)


# ---------------------------------------------------------------------------------------------
# renderYamlTo: the provider writes Secrets there in plain text, and removes its subfolders each run


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (".git/rendered", ".git"),
        ("build/../.git", ".git"),
        ("/srv/repo/.git/x", ".git"),
        (".", "project folder itself"),
        ("./", "project folder itself"),
        ("build/..", "project folder itself"),
        (str(ROOT), "project folder itself"),
        ("components", "source folder 'components'"),
        ("tests/rendered", "source folder 'tests'"),
        (str(ROOT / "tools" / "out"), "source folder 'tools'"),
        ("~/rendered", "does not expand"),
        ("~", "does not expand"),
        ("build/ren\x00dered", "control character"),
        ("build/\x1b[2Jrendered", "control character"),
        ("..", "parent of the project"),
    ],
)
def test_a_render_folder_that_would_expose_or_clobber_files_is_refused(value: str, why: str) -> None:
    (found,) = problems({"cluster": {"renderYamlTo": value}, "gates": {"image": f"quay.io/x/cli{DIGEST}"}})
    assert found.startswith("ossm:cluster.renderYamlTo:") and why in found, found
    assert "\x00" not in found and "\x1b" not in found


@pytest.mark.parametrize("value", ["build/rendered", "rendered", "/tmp/ossm-rendered", "../ossm-rendered"])
def test_a_render_folder_of_its_own_is_accepted(value: str) -> None:
    cfg = parse({"cluster": {"renderYamlTo": value}, "gates": {"image": f"quay.io/x/cli{DIGEST}"}})
    assert cfg.cluster.render_yaml_to == value


# ---------------------------------------------------------------------------------------------
# AWS: bucket names, regions, reserved tag keys, SSH public keys (sources in components/config/rules_aws.py)


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def ssh_key(kind: str = "ssh-ed25519", body: bytes = b"\x01" * 32) -> str:
    import base64

    return f"{kind} {base64.b64encode(_ssh_string(kind.encode()) + _ssh_string(body)).decode()} me@host"


S3_STACK: dict[str, Any] = {"mesh": {**OSSM3, "tracing": {"storage": "S3", "s3": {"region": "eu-west-1"}}}}


@pytest.mark.parametrize(
    ("bucket", "why"),
    [
        ("192.168.5.4", "IP address"),
        ("xn--bcher-kva", "reserved prefix"),
        ("sthree-traces", "reserved prefix"),
        ("amzn-s3-demo-traces", "reserved prefix"),
        ("traces-s3alias", "reserved suffix"),
        ("traces--ol-s3", "reserved suffix"),
        ("traces.mrap", "reserved suffix"),
        ("traces--x-s3", "reserved suffix"),
        ("traces--table-s3", "reserved suffix"),
    ],
)
def test_bucket_names_s3_reserves_are_refused(bucket: str, why: str) -> None:
    raw = _set(S3_STACK, "mesh.tracing.s3.bucketName", bucket)
    (found,) = problems(raw)
    assert found.startswith("ossm:mesh.tracing.s3.bucketName:") and why in found, found


@pytest.mark.parametrize("region", ["EU-WEST-1", "eu-west", "europe", "eu_west_1", "us-east-1a"])
def test_an_s3_region_that_is_no_region_name_is_refused(region: str) -> None:
    (found,) = problems(_set(S3_STACK, "mesh.tracing.s3.region", region))
    assert found.startswith("ossm:mesh.tracing.s3.region:") and "AWS region" in found, found


@pytest.mark.parametrize("key", ["aws:createdBy", "AWS:team", "Aws:x"])
def test_user_tag_keys_with_the_reserved_aws_prefix_are_refused(key: str) -> None:
    found = problems({"cluster": {**IPI, "userTags": {key: "v"}}})
    assert any(p.startswith(f"ossm:cluster.userTags.{key}") and "reserved for AWS" in p for p in found), found


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({f"k{i}": "v" for i in range(25)}, "give at most 24"),
        ({"k" * 129: "v"}, "1-128"),
        ({"k": "v" * 257}, "1-256"),
        ({"k": ""}, "1-256"),
    ],
)
def test_the_installers_user_tag_limits_hold(tags: dict[str, str], why: str) -> None:
    found = problems({"cluster": {**IPI, "userTags": tags}})
    assert any(p.startswith("ossm:cluster.userTags") and why in p for p in found), found


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("ssh-ed25519", "no key"),
        ("ssh-ed25519 not*base64 me", "not base64"),
        (ssh_key("ssh-rsa").replace("ssh-rsa ", "ssh-ed25519 ", 1), "not a ssh-ed25519 key"),
        ("ssh-ed25519 AAAA", "truncated"),
        (ssh_key() + "\nssh-rsa AAAAB3NzaC1yc2E", "line 2"),
    ],
)
def test_ssh_public_keys_that_do_not_parse_are_refused_unechoed(key: str, why: str) -> None:
    found = problems({"cluster": {**IPI, "sshPublicKey": key}})
    assert any(p.startswith("ossm:cluster.sshPublicKey:") and why in p for p in found), found
    assert not any("me@host" in p or "AAAA" in p for p in found)


@pytest.mark.parametrize("key", [ssh_key(), ssh_key("ssh-rsa", b"\x01\x00\x01"), ssh_key() + "\n" + ssh_key()])
def test_well_formed_ssh_public_keys_are_accepted(key: str) -> None:
    ipi = parse({"cluster": {**IPI, "sshPublicKey": key}, "mesh": OSSM3}).cluster.ipi
    assert ipi is not None and ipi.ssh_public_key == key


def test_a_custom_bucket_at_the_length_limit_plans(tmp_path: Path) -> None:
    bucket = "traces-" + "a" * 55 + "1"  # 63 characters
    raw = _set(S3_STACK, "mesh.tracing.s3.bucketName", bucket)
    assert parse(raw).mesh.tracing.s3.bucket_name == bucket


# ---------------------------------------------------------------------------------------------
# The machine network against OVN-Kubernetes' internal ranges (openshift-docs cidr-range-definitions.adoc)


@pytest.mark.parametrize(
    ("cidr", "what"),
    [
        ("100.64.0.0/16", "join subnet 100.64.0.0/16"),
        ("100.64.128.0/17", "join subnet"),
        ("100.88.0.0/18", "transit subnet 100.88.0.0/16"),
        ("169.254.0.0/18", "masquerade subnet 169.254.0.0/17"),
        ("10.128.0.0/16", "cluster (pod) network 10.128.0.0/14"),
        ("172.30.0.0/16", "service network 172.30.0.0/16"),
    ],
)
def test_a_machine_network_overlapping_openshifts_own_ranges_is_refused(cidr: str, what: str) -> None:
    found = problems({"cluster": {**IPI, "network": {"cidr": cidr}}})
    assert any(p.startswith("ossm:cluster.network.cidr:") and what in p for p in found), found


def test_the_masquerade_subnet_follows_the_version_installed() -> None:
    from components.config.rules_network import masquerade

    assert masquerade("4.18") == masquerade("4.20") == "169.254.0.0/17"
    assert masquerade("4.16") == "169.254.169.0/29"


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "192.168.0.0/16", "100.65.0.0/16", "172.31.0.0/16"])
def test_a_machine_network_clear_of_them_is_accepted(cidr: str) -> None:
    ipi = parse({"cluster": {**IPI, "network": {"cidr": cidr}}, "mesh": OSSM3}).cluster.ipi
    assert ipi is not None and ipi.network.cidr == cidr


# ---------------------------------------------------------------------------------------------
# Version compatibility in ipi mode: one table (rules_versions.SUPPORT) for the check and the README


def _ipi_with(version: str, profile: str = "ossm3", channel: str | None = None, **operators: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"cluster": {**IPI, "openshiftVersion": version}, "mesh": {"profile": profile}}
    if profile == "ossm3" and channel == "stable-3.3":
        raw["mesh"]["version"] = "v1.28-latest"
    ops: dict[str, Any] = dict(operators)
    if channel:
        ops["servicemesh"] = {"channel": channel}
    if ops:
        raw["operators"] = ops
    return raw


@pytest.mark.parametrize(
    ("raw", "key", "says"),
    [
        (_ipi_with("4.18"), "operators.servicemesh.channel", "OSSM 3.4"),
        (_ipi_with("4.19", channel="stable"), "operators.servicemesh.channel", "'stable-3.3'"),
        (_ipi_with("4.20", profile="ossm2"), "mesh.profile", "runs on OpenShift 4.14-4.19"),
        (_ipi_with("4.19", profile="ossm2"), "mesh.profile", "default catalog"),
    ],
)
def test_a_profile_the_installed_openshift_cannot_run_is_refused(raw: dict[str, Any], key: str, says: str) -> None:
    found = problems(raw)
    assert any(p.startswith(f"ossm:{key}:") and says in p for p in found), found


@pytest.mark.parametrize(
    "raw",
    [
        _ipi_with("4.20"),
        _ipi_with("4.20", channel="stable-3.3"),  # 3.3 runs on 4.18 and later
        _ipi_with("4.18", channel="stable-3.3"),
        _ipi_with("4.19", profile="ossm2", jaeger={"source": "jaeger-mirror"}),
    ],
)
def test_a_profile_that_runs_on_the_installed_openshift_is_accepted(raw: dict[str, Any]) -> None:
    assert parse(raw).cluster.ipi is not None


def test_an_existing_cluster_is_not_judged_by_an_openshift_version_it_does_not_state() -> None:
    assert parse({"mesh": {"profile": "ossm2"}}).mesh.profile == "ossm2"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _readme_profile_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Choosing a profile") :]
    section = section[: section.index("\n#", 3)]
    rows = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in section.splitlines()]
    return [r for r in rows if len(r) == 3 and r[0].startswith("OpenShift")]


def test_the_readme_profile_table_states_the_table_the_check_uses() -> None:
    import re

    from components.config.rules_versions import support_for

    rows = _readme_profile_rows()
    assert len(rows) == 3, rows
    for cluster, profile_cell, installs in rows:
        low, high = re.search(r"OpenShift (4\.\d+)(?:–(4\.\d+)| or later)", cluster).groups()  # type: ignore[union-attr]
        profile = re.search(r"`(ossm[23])`", profile_cell).group(1)  # type: ignore[union-attr]
        channel = re.search(r"(stable-3\.\d)", profile_cell + installs)
        row = support_for(profile, channel.group(1) if channel else "stable")
        assert row is not None, cluster
        assert _version(low) == row.openshift_min, (cluster, row)
        if high is None:
            assert row.openshift_max is None, (cluster, row)
        else:
            assert row.openshift_max is None or _version(high) <= row.openshift_max, (cluster, row)
        assert f"OSSM {row.ossm}" in installs, (installs, row.ossm)
        if row.istio and profile == "ossm3":
            assert row.istio in profile_cell + installs, (cluster, row.istio)


# ---------------------------------------------------------------------------------------------
# Names the cluster derives (istiod's Service, Route hosts): judged at preview


@pytest.mark.parametrize("profile", ["ossm2", "ossm3"])
def test_a_mesh_name_too_long_for_the_istiod_service_is_refused(profile: str) -> None:
    name = "m" * 57
    found = problems({"mesh": {"profile": profile, "name": name}})
    assert any(p.startswith("ossm:mesh.name:") and "istiod Service" in p and "at most 56" in p for p in found)
    assert parse({"mesh": {"profile": profile, "name": "m" * 56}}).mesh.name == "m" * 56


@pytest.mark.parametrize(
    ("mesh", "key", "limit"),
    [
        ({"namespace": "n" * 43}, "mesh.namespace", 42),  # Route istio-ingressgateway-<ns>
        ({**OSSM3, "tracing": {"namespace": "t" * 44}}, "mesh.tracing.namespace", 43),  # tempo-mesh-jaegerui-<ns>
        (
            {**OSSM3, "tracing": {"namespace": "t" * 38, "storage": "S3", "s3": {"region": "eu-west-1"}}},
            "mesh.tracing.namespace",
            37,  # tempo-mesh-query-frontend-<ns>
        ),
        ({**OSSM3, "namespace": "n" * 58}, "mesh.namespace", 57),  # kiali-<ns>
    ],
)
def test_a_namespace_that_makes_a_route_host_label_too_long_is_refused(
    mesh: dict[str, Any], key: str, limit: int
) -> None:
    found = problems({"mesh": mesh})
    assert any(p.startswith(f"ossm:{key}:") and f"at most {limit} characters" in p for p in found), found


def test_a_cluster_domain_that_makes_route_hosts_too_long_is_refused() -> None:
    long_domain = ".".join(["d" * 60] * 3) + ".com"  # 187 characters: a valid DNS name
    found = problems({"cluster": {**IPI, "name": "c" * 50, "baseDomain": long_domain}, "mesh": OSSM3})
    assert any(p.startswith("ossm:cluster.baseDomain:") and "at most 253" in p for p in found), found


@pytest.mark.parametrize("stack", ["dev", "ossm3"])
def test_the_route_list_the_check_uses_is_the_one_the_plan_declares(stack: str) -> None:
    from components.config.rules_names import routes
    from tools.offline import stack_config

    values, _ = stack_config(stack)
    cfg = parse({k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("ossm:")})
    ev = evaluate(stack)
    planned = {(r.namespace, r.k8s_name) for r in ev.kube_objects() if r.kind == "Route" and not r.read}
    reads = [str(r.read_id).split("/", 1) for r in ev.records.values() if r.read and r.kind == "Route"]
    planned |= {(namespace, name) for namespace, name in reads}
    assert planned == set(routes(cfg.mesh).values())


UNUSUAL = [
    pytest.param({"ossm:mesh": {"name": "m" * 56, "namespace": "n" * 42}}, "dev", id="ossm2-names-at-the-limit"),
    pytest.param(
        {
            "ossm:mesh": {
                "profile": "ossm3",
                "name": "r" * 56,
                "namespace": "n" * 57,
                "tracing": {"namespace": "t" * 37, "storage": "S3", "s3": {"region": "eu-west-1"}},
            }
        },
        "ossm3",
        id="ossm3-names-at-the-limit",
    ),
    pytest.param(
        {
            "ossm:mesh": {
                "profile": "ossm3",
                "tracing": {"storage": "S3", "s3": {"region": "eu-west-1", "bucketName": "my-traces.example-1"}},
            }
        },
        "ossm3",
        id="s3-custom-bucket",
    ),
    pytest.param(
        {
            "ossm:mesh": {"profile": "ossm3", "version": "v1.28-latest"},
            "ossm:operators": {"servicemesh": {"channel": "stable-3.3"}},
        },
        "ossm3",
        id="ossm-3.3-channel",
    ),
    pytest.param({"ossm:members": ["m" * 63]}, "dev", id="member-at-63"),
]


@pytest.mark.parametrize(("overrides", "stack"), UNUSUAL)
def test_valid_but_unusual_configs_still_plan(overrides: dict[str, Any], stack: str) -> None:
    from tests.schema_validation import violations
    from tools.offline import reveal

    ev = evaluate(stack, overrides)
    assert ev.kube_objects()
    found = [v for record in ev.kube_objects() for v in violations(reveal(record.inputs))]
    assert found == [], found


# ---------------------------------------------------------------------------------------------
# Keys of the other profile: warned about by name; contradictions: refused


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"mesh": {"tracing": {"s3": {"retentionDays": 3}}}}, "mesh.tracing.s3"),
        ({"mesh": {"monitoring": {"enableUserWorkload": True}}}, "mesh.monitoring"),
        ({"operators": {"tempo": {"channel": "stable-0.1"}}}, "operators.tempo"),
        ({"operators": {"opentelemetryNamespace": "otel"}}, "operators.opentelemetryNamespace"),
        ({"mesh": {**OSSM3, "addons": {"grafana": False}}}, "mesh.addons.grafana"),
        ({"mesh": {**OSSM3, "tracing": {"elasticsearchNodes": 1}}}, "mesh.tracing.elasticsearchNodes"),
        ({"mesh": OSSM3, "operators": {"jaegerNamespace": "openshift-operators"}}, "operators.jaegerNamespace"),
        ({"mesh": OSSM3, "operators": {"elasticsearch": {"channel": "stable-5.8"}}}, "operators.elasticsearch"),
        ({"mesh": {**OSSM3, "tracing": {"s3": {"region": "eu-west-1"}}}}, "mesh.tracing.s3"),  # storage Memory
        ({"mesh": {"tracing": {"elasticsearchNodes": 1}}}, "mesh.tracing.elasticsearchNodes"),  # storage Memory
    ],
)
def test_a_key_with_no_effect_under_the_profile_is_named_in_a_warning(raw: dict[str, Any], key: str) -> None:
    from components.config.rules import rule_warnings

    cfg = parse(raw)
    warnings = rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults())
    assert any(w.startswith(f"ossm:{key}: has no effect") for w in warnings), warnings


@pytest.mark.parametrize("stack", ["dev", "ossm3", "ipi-example"])
def test_the_example_stacks_set_no_key_without_effect(stack: str) -> None:
    from components.config.rules import rule_warnings
    from tools.offline import stack_config

    values, _ = stack_config(stack)
    raw = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("ossm:")}
    if isinstance(raw.get("cluster"), dict) and "pullSecret" in raw["cluster"]:
        raw["cluster"] = {**raw["cluster"], "pullSecret": PULL_SECRET}
    cfg = parse(raw)
    assert rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults()) == []


def test_the_plan_shows_the_warning_with_the_stack_file_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stack = "config:\n  ossm:mesh:\n    profile: ossm2\n    monitoring:\n      enableUserWorkload: true\n"
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    (project / "Pulumi.t.yaml").write_text(stack)
    assert evaluate("t", root=project).kube_objects()  # a warning, not an error: the stack still plans
    assert "Pulumi.t.yaml:4: ossm:mesh.monitoring: has no effect with mesh.profile ossm2" in caplog.text


def test_verify_while_nothing_is_sampled_is_refused() -> None:
    found = problems({"verify": True, "mesh": {"tracing": {"sampling": 0}}})
    assert any(p.startswith("ossm:verify.enabled:") and "sampling is 0" in p for p in found), found
    assert parse({"verify": False, "mesh": {"tracing": {"sampling": 0}}}).mesh.tracing.sampling == 0


def test_verify_with_less_than_one_traced_request_expected_is_warned_about() -> None:
    from components.config.rules import rule_warnings

    raw: dict[str, Any] = {"verify": {"requests": 10}, "mesh": {"tracing": {"sampling": 100}}}
    cfg = parse(raw)
    (warning,) = rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults())
    assert warning.startswith("ossm:verify.requests:") and "about 300" in warning
    raw = {"verify": {"requests": 100}, "mesh": {"tracing": {"sampling": 100}}}
    cfg = parse(raw)
    assert rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults()) == []


def test_a_key_that_restates_its_default_is_not_warned_about() -> None:
    """Pulumi.yaml's operators default names jaegerNamespace: an ossm3 stack that inherits it changed nothing."""
    from components.config.rules import rule_warnings

    raw: dict[str, Any] = {"mesh": OSSM3, "operators": {"jaegerNamespace": "openshift-distributed-tracing"}}
    cfg = parse(raw)
    assert rule_warnings(raw, cfg.mesh, cfg.verify, defaults=defaults()) == []


def test_preview_checks_name_the_stack_file_too() -> None:
    """The AWS preflight names keys like the config does; its problems get the stack file and line as well."""
    from tests.test_ipi import ipi
    from tools.offline import ClusterMocks

    overrides = {"ossm:cluster": ipi(compute={"type": "x9z.large", "replicas": 3})}
    with pytest.raises(pulumi.RunError) as caught:
        evaluate("ipi-example", overrides, cluster=ClusterMocks(None), secrets=("ossm:cluster",))
    message = str(caught.value)
    line = next(
        n
        for n, text in enumerate((ROOT / "Pulumi.ipi-example.yaml").read_text().splitlines(), 1)
        if "type: m6i.large" in text
    )
    assert f"Pulumi.ipi-example.yaml:{line}: ossm:cluster.compute.type: 'x9z.large' is not offered" in message, message


def test_a_null_required_key_is_one_problem_not_two() -> None:
    found = problems({"cluster": {**IPI, "name": None}})
    assert [p for p in found if p.startswith("ossm:cluster.name:")] == [
        "ossm:cluster.name: required with mode 'ipi'; set it with `pulumi config set --path cluster.name <value>`."
    ]


def test_every_tracked_folder_of_the_project_counts_as_a_source_folder() -> None:
    """A folder added to the repository later is covered as soon as git tracks it, or this test says so."""
    import subprocess

    from components.config.rules_paths import SOURCE_FOLDERS

    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=30, check=False
    ).stdout.decode(errors="replace")
    if not listed:
        pytest.skip("not a git checkout")
    folders = {name.split("/", 1)[0] for name in listed.split("\0") if "/" in name}
    assert folders <= SOURCE_FOLDERS, sorted(folders - SOURCE_FOLDERS)
