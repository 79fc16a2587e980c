#!/usr/bin/env bash
# Builds the helm binary from its Go module (no binary downloads are possible here).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
HELM_VERSION="v3.19.0"
bin="$RINGMASTER_CACHE/bin/helm"
if [ -x "$bin" ] && [ "$(cat "$RINGMASTER_CACHE/helm.version" 2>/dev/null)" = "$HELM_VERSION" ]; then exit 0; fi
log "building helm $HELM_VERSION from its Go module into $RINGMASTER_CACHE/bin (first time only)"
start=$(date +%s)
GOFLAGS=-buildvcs=false GOBIN="$RINGMASTER_CACHE/bin" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
echo "$HELM_VERSION" > "$RINGMASTER_CACHE/helm.version"
log "helm built in $(( $(date +%s) - start ))s: $("$bin" version --short)"
