"""Names fixed outside the stack config that several parts must agree on, each written once.

Below everything (it imports nothing): the config checks them against the stack's own names,
the profiles create them, and verify looks for them in the traces.
"""

# OSSM 3: IstioCNI's spec.namespace default (sail-operator CRD, `+kubebuilder:default=istio-cni`;
# immutable once set), and the ingress gateway's namespace, outside the control plane's as Red Hat's
# gateway docs ask.
OSSM3_CNI_NAMESPACE = "istio-cni"
OSSM3_GATEWAY_NAMESPACE = "istio-ingress"
# The ingress gateway's Service on both profiles: OSSM 2's SMCP deploys it under this name, OSSM 3's
# injected gateway is deployed so; the shared Route exposes it and its spans carry it.
GATEWAY_SERVICE = "istio-ingressgateway"
