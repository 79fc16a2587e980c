# Pinned versions of the local control plane; the TypeScript helper reads the same file.
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
ARGOCD_VERSION=v2.14.21
