"""Rule layer: what the operators, OpenShift and Kubernetes do with our rendered objects, as tests."""
