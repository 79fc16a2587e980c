#!/usr/bin/env bash
# Builds tools/helm-renderer (Ringmaster's long-lived Helm renderer, on the Helm Go module pinned in
# its go.mod) into the cache, with the same release ldflags as the helm binary (scripts/helm-build.sh),
# so both give charts the same `.Capabilities`. Rebuilt when Helm's version, this build or the
# renderer's sources change (the stamp in helm-renderer.build).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/../lib.sh"
source "$here/../helm-build.sh"
src="$(cd "$here/../../tools/helm-renderer" && pwd)"
BUILD="1"
stamp="$HELM_VERSION $BUILD $(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)"
bin="$RINGMASTER_CACHE/bin/helm-renderer"
if [ -x "$bin" ] && [ "$(cat "$RINGMASTER_CACHE/helm-renderer.build" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
required=$(sed -n 's/^\thelm.sh\/helm\/v3 \(v[^ ]*\)$/\1/p' "$src/go.mod")
if [ "$required" != "$HELM_VERSION" ]; then
  log "tools/helm-renderer/go.mod requires helm $required, but the project pins $HELM_VERSION (scripts/helm-build.sh)"
  exit 1
fi
log "building helm-renderer on helm $HELM_VERSION into $RINGMASTER_CACHE/bin"
start=$(date +%s)
dir=$(helm_module_dir)
ldflags=$(helm_ldflags "$dir")
tmp="$RINGMASTER_CACHE/bin/.helm-renderer.build-$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ldflags" -o "$tmp/helm-renderer" .)
mv -f "$tmp/helm-renderer" "$bin"
echo "$stamp" > "$RINGMASTER_CACHE/helm-renderer.build"
log "helm-renderer built in $(( $(date +%s) - start ))s: $("$bin" -version)"
