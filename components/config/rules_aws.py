"""AWS rules the program would otherwise learn from an API error an hour into `pulumi up`.

- S3 general purpose bucket names (docs.aws.amazon.com AmazonS3 userguide bucketnamingrules.html):
  3-63 characters of a-z 0-9 . - (checked in mesh.py), and also not IP-shaped, not starting with
  `xn--`, `sthree-` or `amzn-s3-demo-`, not ending with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or
  `--table-s3` (names reserved for access point aliases, Object Lambda, Multi-Region Access Points,
  directory and table buckets).
- Region names: `<partition area>-<direction>-<n>` as AWS spells them (us-east-2, us-gov-west-1,
  us-iso-east-1): a value of another shape reaches no endpoint.
- Tag keys: "The aws: prefix is reserved for AWS use" in any case (AWS tagging docs, tag naming
  limits); CreateTags refuses such a key. The installer's own userTags rules are in ipi.py.
- SSH public keys: the installer parses cluster.sshKey with golang.org/x/crypto/ssh ParseAuthorizedKey
  (openshift/installer pkg/validate/validate.go SSHPublicKey): a key type, a base64 blob that starts
  with the same key type (RFC 4253 section 6.6 string encoding), an optional comment.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from components.config.ipi import IpiConfig
from components.config.mesh import MeshConfig
from components.config.reader import Reader, has_credentials

REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
SSH_KEY_TYPES = (
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def bucket_problem(name: str) -> str | None:
    """The reserved form an S3 bucket name takes, if any (the character rules are mesh.py's)."""
    try:
        ipaddress.IPv4Address(name)
        return "is formatted as an IP address"
    except ValueError:
        pass
    if re.fullmatch(r"\d+(\.\d+){3}", name):
        return "is formatted as an IP address"
    if name.startswith(BUCKET_PREFIXES):
        return f"starts with a reserved prefix ({', '.join(BUCKET_PREFIXES)})"
    if name.endswith(BUCKET_SUFFIXES):
        return f"ends with a reserved suffix ({', '.join(BUCKET_SUFFIXES)})"
    return None


def ssh_key_problem(text: str) -> str | None:
    """Why an authorized_keys line would not parse for the installer, never quoting the key."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "is empty"
    for number, line in enumerate(lines, start=1):
        where = f"line {number}: " if len(lines) > 1 else ""
        fields = line.split()
        if fields[0] not in SSH_KEY_TYPES:
            return f"{where}does not start with a public key type ({', '.join(SSH_KEY_TYPES[:3])}, ...)"
        if len(fields) < 2:
            return f"{where}has a key type but no key"
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except (binascii.Error, ValueError):
            return f"{where}the key is not base64"
        if len(blob) < 4:
            return f"{where}the key is truncated"
        length = int.from_bytes(blob[:4], "big")
        if blob[4 : 4 + length] != fields[0].encode() or len(blob) <= 4 + length:
            return f"{where}the key's blob is not a {fields[0]} key (truncated or pasted from another key)"
    return None


def check_aws(r: Reader, ipi: IpiConfig | None, mesh: MeshConfig) -> None:
    s3 = mesh.tracing.s3
    if mesh.profile == "ossm3" and s3.region is not None and not REGION.match(s3.region):
        r.problem("mesh.tracing.s3.region", f"{s3.region!r} is not an AWS region name; use e.g. 'us-east-2'.")
    if s3.bucket_name is not None and (why := bucket_problem(s3.bucket_name)):
        r.problem(
            "mesh.tracing.s3.bucketName",
            f"{s3.bucket_name!r} {why}, which S3 refuses for bucket names; choose another name.",
        )
    for key, value in (ipi.user_tags if ipi is not None else {}).items():
        if str(key).lower().startswith("aws:"):
            r.problem(f"cluster.userTags.{key}", "keys starting with 'aws:' are reserved for AWS; use another key.")
        if has_credentials(value):  # tags are readable by anyone who can list the account's resources
            r.credentials(f"cluster.userTags.{key}")
    if ipi is not None and ipi.ssh_public_key and ipi.ssh_public_key.startswith(("ssh-", "ecdsa-", "sk-")):
        why = ssh_key_problem(ipi.ssh_public_key)
        if why:
            r.problem(
                "cluster.sshPublicKey",
                f"{why}; the installer parses it as an authorized_keys line: set it with "
                '`pulumi config set --path cluster.sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"`.',
            )
