#!/usr/bin/env bash
# Builds the helm binary from its Go module (no binary downloads are possible here), with the
# ldflags Helm's own Makefile sets for a release: version, git commit and tree state, and the
# Kubernetes version of its client-go, which is the default `.Capabilities.KubeVersion` charts see
# (without them helm reports v1.20.0 and refuses charts with `kubeVersion: >=1.21`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
HELM_VERSION="v3.19.0"
# The commit the v3.19.0 tag points at (what `helm version` of the release prints).
HELM_COMMIT="3d8990f0836691f0229297773f3524598f46bda6"
# Bump when the build itself changes, so caches built the old way are rebuilt. It lives beside
# helm.version (which keeps the plain version) so an older copy of this script sees no change.
BUILD="release-ldflags.1"
bin="$RINGMASTER_CACHE/bin/helm"
if [ -x "$bin" ] && [ "$(cat "$RINGMASTER_CACHE/helm.version" 2>/dev/null)" = "$HELM_VERSION" ] \
  && [ "$(cat "$RINGMASTER_CACHE/helm.build" 2>/dev/null)" = "$BUILD" ]; then exit 0; fi
log "building helm $HELM_VERSION from its Go module into $RINGMASTER_CACHE/bin (first time only)"
start=$(date +%s)
module="helm.sh/helm/v3@$HELM_VERSION"
dir=$(GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
# As the Makefile does: K8S_MODULES_MAJOR_VER = client-go major + 1, K8S_MODULES_MINOR_VER = its minor.
client_go=$(sed -n 's/^\tk8s.io\/client-go v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' "$dir/go.mod")
read -r cg_major k8s_minor <<< "$client_go"
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
# Build beside the binary, then rename: other worktrees may be running the old one right now.
tmp="$RINGMASTER_CACHE/bin/.helm.build-$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" ./cmd/helm)
mv -f "$tmp/helm" "$bin"
echo "$HELM_VERSION" > "$RINGMASTER_CACHE/helm.version"
echo "$BUILD" > "$RINGMASTER_CACHE/helm.build"
log "helm built in $(( $(date +%s) - start ))s: $("$bin" version --short), default Kubernetes v$k8s_major.$k8s_minor"
