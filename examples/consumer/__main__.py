"""Reads the ossm stack through a StackReference and publishes its endpoints as a ConfigMap (see README.md)."""

import pulumi
from mesh_endpoints import ConsumerConfig, publish_endpoints

cfg = ConsumerConfig.load()
endpoints = publish_endpoints(cfg)

pulumi.export("configMap", f"{cfg.namespace}/{cfg.config_map_name}")
pulumi.export("meshStack", cfg.mesh_stack_name)
pulumi.export("gatewayUrl", endpoints.gateway_url)  # as secret as the mesh stack made it
pulumi.export("jaegerUrl", endpoints.jaeger_url)
