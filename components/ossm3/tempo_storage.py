"""S3 trace storage for TempoStack: a private, encrypted, expiring bucket and a credential that reaches only it.

The AWS counterpart of OSSM 2's Elasticsearch storage. Tempo reads static
credentials from a Secret (tempo-operator internal/handlers/storage/s3_secret.go:
`bucket`, `endpoint`, `access_key_id`, `access_key_secret`), so the program
makes an IAM user whose only policy is Tempo's documented minimum on this one
bucket (Grafana Tempo docs, configuration/hosted-storage/s3), keeps its key as
a Pulumi secret and writes it into that Secret.

Traces are data: by default `pulumi destroy` drops the bucket (with its guards), the IAM
user, policy and key from the stack and leaves them in AWS (`retain_on_delete`; the
engine's DeleteStep skips the provider's Delete for such resources, pulumi/pulumi
pkg/resource/deploy/step.go), and the bucket has no `force_destroy`. Deleting them is a
choice made on purpose: `mesh.tracing.s3.deleteOnDestroy: true`, then `pulumi up`, then
`pulumi destroy` (README, Tearing down).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ConfigError, StackConfig
from components.kube import KubeObject, render

# Grafana Tempo's minimal S3 permissions (docs: configuration/hosted-storage/s3, "TempoPermissions").
TEMPO_OBJECT_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
)
TEMPO_BUCKET_ACTIONS = ("s3:ListBucket",)


class StorageConfigError(ConfigError):
    """The S3 storage cannot be placed: the key to set."""


def resolve_region(cfg: StackConfig) -> str:
    """`mesh.tracing.s3.region`, else the region of the cluster this program installs."""
    region = cfg.mesh.tracing.s3.region
    if region:
        return str(region)
    if cfg.cluster.ipi is not None:
        return cfg.cluster.ipi.region
    raise StorageConfigError(
        "ossm:mesh.tracing.s3.region: the trace bucket needs a region and the cluster is not installed by this "
        "program; set it, e.g. `pulumi config set --path mesh.tracing.s3.region us-east-1`."
    )


def endpoint(region: str) -> str:
    """The regional S3 endpoint as a URL: https makes Tempo use TLS (s3_secret.go parseS3Endpoint)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://s3.{region}.{suffix}"


def tempo_policy(bucket_arn: str) -> str:
    """The IAM user's only policy: Tempo's actions on this bucket and its objects, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "TempoBucket", "Effect": "Allow", "Action": list(TEMPO_BUCKET_ACTIONS), "Resource": bucket_arn},
                {
                    "Sid": "TempoObjects",
                    "Effect": "Allow",
                    "Action": list(TEMPO_OBJECT_ACTIONS),
                    "Resource": f"{bucket_arn}/*",
                },
            ],
        },
        sort_keys=True,
    )


def tls_only_policy(bucket_arn: str) -> str:
    """Refuses every request to the bucket that does not use TLS (AWS S3 security best practices)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


def lifecycle_rules(retention_days: int) -> list[dict[str, Any]]:
    """Objects expire a day after Tempo's own retention (its compactor deletes first; this is the backstop)."""
    return [
        {
            "id": "expire-traces",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": retention_days + 1},
            # Tempo's docs recommend dropping incomplete multipart uploads after one day.
            "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
        }
    ]


@dataclass(frozen=True, kw_only=True)
class TempoStorageArgs:
    namespace: str  # where TempoStack runs and reads its Secret
    secret_name: str
    region: str
    retention_days: int
    bucket_name: str | None  # None: Pulumi names it (resource name plus a random suffix)
    aws_provider: pulumi.ProviderResource | None
    tags: Mapping[str, str] = field(default_factory=dict)
    delete_on_destroy: bool = False  # mesh.tracing.s3.deleteOnDestroy

    @staticmethod
    def from_config(
        cfg: StackConfig, secret_name: str, aws_provider: pulumi.ProviderResource | None
    ) -> TempoStorageArgs:
        s3 = cfg.mesh.tracing.s3
        tags = dict(cfg.cluster.ipi.user_tags) if cfg.cluster.ipi is not None else {}
        tags.setdefault("app.kubernetes.io/part-of", "ossm")
        return TempoStorageArgs(
            namespace=cfg.mesh.tracing.namespace,
            secret_name=secret_name,
            region=resolve_region(cfg),
            retention_days=s3.retention_days,
            bucket_name=s3.bucket_name,
            aws_provider=aws_provider,
            tags=tags,
            delete_on_destroy=s3.delete_on_destroy,
        )


class TempoStorage(pulumi.ComponentResource):
    """The bucket with its guards, the scoped IAM user and key, and the Secret TempoStack reads."""

    bucket: aws.s3.Bucket
    ownership: aws.s3.BucketOwnershipControls
    public_access_block: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    lifecycle: aws.s3.BucketLifecycleConfiguration
    tls_only: aws.s3.BucketPolicy
    user: aws.iam.User
    user_policy: aws.iam.UserPolicy
    access_key: aws.iam.AccessKey
    secret: KubeObject
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: TempoStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ossm:ossm3:TempoStorage", name, None, opts)
        provider = args.aws_provider or aws.Provider(
            f"{name}-aws", region=args.region, opts=pulumi.ResourceOptions(parent=self)
        )
        # Retained unless deleting the traces was asked for: the guards stay on a kept bucket too.
        keep = not args.delete_on_destroy
        on_aws = pulumi.ResourceOptions(parent=self, provider=provider, retain_on_delete=keep)
        tags = dict(args.tags)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=args.delete_on_destroy,  # only then does destroy empty it (S3 refuses a full bucket)
            tags=tags,
            opts=on_aws,
        )
        guarded = pulumi.ResourceOptions.merge(on_aws, pulumi.ResourceOptions(depends_on=[self.bucket]))
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=guarded
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=guarded,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}, "bucket_key_enabled": True}
            ],
            opts=guarded,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=lifecycle_rules(args.retention_days), opts=guarded
        )
        self.tls_only = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(tls_only_policy),
            # S3 refuses policy writes while the public-access block is being set.
            opts=pulumi.ResourceOptions.merge(on_aws, pulumi.ResourceOptions(depends_on=[self.public_access_block])),
        )
        self.user = aws.iam.User(f"{name}-user", path="/ossm/", tags=tags, opts=on_aws)
        self.user_policy = aws.iam.UserPolicy(
            f"{name}-user-policy", user=self.user.name, policy=self.bucket.arn.apply(tempo_policy), opts=on_aws
        )
        self.access_key = aws.iam.AccessKey(
            f"{name}-access-key",
            user=self.user.name,
            opts=pulumi.ResourceOptions.merge(on_aws, pulumi.ResourceOptions(additional_secret_outputs=["secret"])),
        )

        def secret_data(values: list[Any]) -> dict[str, str]:
            bucket, key_id, key_secret = values
            return {
                "bucket": str(bucket),
                "endpoint": endpoint(args.region),
                "access_key_id": str(key_id),
                "access_key_secret": str(key_secret),
            }

        plain: pulumi.Output[dict[str, str]] = pulumi.Output.all(
            self.bucket.bucket, self.access_key.id, self.access_key.secret
        ).apply(secret_data)
        string_data: pulumi.Output[dict[str, str]] = pulumi.Output.secret(plain)
        doc: dict[str, Any] = render(
            "ossm3/tracing/storage-secret.yaml", name=args.secret_name, namespace=args.namespace
        )
        doc["stringData"] = string_data
        self.secret = KubeObject(
            f"{name}-secret",
            doc,
            pulumi.ResourceOptions(
                parent=self,
                # the key must be usable (policy attached) before Tempo starts writing
                depends_on=[self.user_policy, self.encryption, self.public_access_block, self.tls_only],
                additional_secret_outputs=["stringData", "data"],
            ),
        )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucket": self.bucket.bucket, "region": args.region})
