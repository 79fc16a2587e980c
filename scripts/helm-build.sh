# Shared by setup.d/10-helm.sh (the helm binary) and setup.d/12-helm-renderer.sh (Ringmaster's
# long-lived renderer on the same Helm module): the pinned Helm version and the ldflags Helm's own
# Makefile sets for a release, so both report the same version and the same default
# `.Capabilities.KubeVersion` (without them helm reports v1.20.0 and refuses `kubeVersion: >=1.21`).
HELM_VERSION="v3.19.0"
# The commit the v3.19.0 tag points at (what `helm version` of the release prints).
HELM_COMMIT="3d8990f0836691f0229297773f3524598f46bda6"

# helm_module_dir: downloads (once) and prints the folder of the pinned Helm module.
helm_module_dir() {
  GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

# helm_ldflags DIR: the release ldflags. As the Makefile does: K8S_MODULES_MAJOR_VER = client-go
# major + 1, K8S_MODULES_MINOR_VER = its minor (client-go v0.34 is Kubernetes 1.34).
helm_ldflags() {
  local dir="$1" cg_major k8s_minor k8s_major ldflags
  read -r cg_major k8s_minor <<< "$(sed -n 's/^\tk8s.io\/client-go v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' "$dir/go.mod")"
  k8s_major=$(( cg_major + 1 ))
  ldflags="-w -s"
  ldflags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitCommit=$HELM_COMMIT"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$k8s_major"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$k8s_major"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  printf '%s' "$ldflags"
}

# helm_default_kube DIR: the default Kubernetes version those ldflags give, for logs.
helm_default_kube() {
  local cg_major k8s_minor
  read -r cg_major k8s_minor <<< "$(sed -n 's/^\tk8s.io\/client-go v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' "$1/go.mod")"
  printf 'v%s.%s' "$(( cg_major + 1 ))" "$k8s_minor"
}
