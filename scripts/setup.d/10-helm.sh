#!/usr/bin/env bash
# Builds the helm binary from its Go module (no binary downloads are possible here), with the
# ldflags Helm's own Makefile sets for a release (scripts/helm-build.sh): version, git commit and
# tree state, and the Kubernetes version of its client-go, which is the default
# `.Capabilities.KubeVersion` charts see.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/../lib.sh"
source "$here/../helm-build.sh"
# Bump when the build itself changes, so caches built the old way are rebuilt. It lives beside
# helm.version (which keeps the plain version) so an older copy of this script sees no change.
BUILD="release-ldflags.1"
bin="$RINGMASTER_CACHE/bin/helm"
if [ -x "$bin" ] && [ "$(cat "$RINGMASTER_CACHE/helm.version" 2>/dev/null)" = "$HELM_VERSION" ] \
  && [ "$(cat "$RINGMASTER_CACHE/helm.build" 2>/dev/null)" = "$BUILD" ]; then exit 0; fi
log "building helm $HELM_VERSION from its Go module into $RINGMASTER_CACHE/bin (first time only)"
start=$(date +%s)
dir=$(helm_module_dir)
ldflags=$(helm_ldflags "$dir")
# Build beside the binary, then rename: other worktrees may be running the old one right now.
tmp="$RINGMASTER_CACHE/bin/.helm.build-$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" ./cmd/helm)
mv -f "$tmp/helm" "$bin"
echo "$HELM_VERSION" > "$RINGMASTER_CACHE/helm.version"
echo "$BUILD" > "$RINGMASTER_CACHE/helm.build"
log "helm built in $(( $(date +%s) - start ))s: $("$bin" version --short), default Kubernetes $(helm_default_kube "$dir")"
