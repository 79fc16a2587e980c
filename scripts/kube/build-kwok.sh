#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok/cmd/kwok) into $RINGMASTER_CACHE/kwok/$KWOK_VERSION/bin/kwok.
# kwok plays the nodes and the kubelet's pod status through its Stages. Its go.mod has no
# replace directives, so `go install pkg@version` works; its version constant is already set.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
source "$here/common.sh"
source "$here/versions.sh"

root="$RINGMASTER_CACHE/kwok/$KWOK_VERSION"
stamp="$root/versions.txt"
lock_build "$root"
want="kwok=$KWOK_VERSION"
if [ -x "$root/bin/kwok" ] && [ "$(head -n1 "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
command -v go >/dev/null || { log "go is required to build kwok"; exit 1; }
log "building kwok $KWOK_VERSION into $root/bin (first time only, about a minute or two)"
start=$(date +%s)
mkdir -p "$root"; : > "$root/build.log"
GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$root/bin" \
  logged kwok "$root/build.log" nice -n 10 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
{
  echo "$want"
  echo "go=$(go env GOVERSION)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(( $(date +%s) - start ))"
} > "$stamp"
log "kwok built in $(( $(date +%s) - start ))s: $("$root/bin/kwok" --version 2>&1 | head -n1)"
