#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3) into
#   $RINGMASTER_CACHE/kube/$KUBE_VERSION/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,etcd}
# and records what was built in $RINGMASTER_CACHE/kube/$KUBE_VERSION/versions.txt.
# Debian's etcd-server (3.4) is older than the 3.5 floor of current kube-apiservers, so etcd is built too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
source "$here/common.sh"
source "$here/versions.sh"

root="$RINGMASTER_CACHE/kube/$KUBE_VERSION"
bin="$root/bin"
stamp="$root/versions.txt"
lock_build "$root"
# The first line of the stamp names the versions; a binary of those versions that is already
# there is never rebuilt (adding a binary to this list builds only the new one).
want="kubernetes=$KUBE_VERSION etcd=$ETCD_VERSION"
kube_bins=(kube-apiserver kube-controller-manager kube-scheduler)
all_there() { for b in etcd "${kube_bins[@]}"; do [ -x "$bin/$b" ] || return 1; done; }
if all_there && [ "$(head -n1 "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
command -v go >/dev/null || { log "go is required to build kube-apiserver, kube-controller-manager, kube-scheduler and etcd"; exit 1; }
mkdir -p "$bin"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

# A throwaway module whose replace directives point each staging/sibling module at its
# published version: both upstream go.mod files replace them with relative paths, which
# `go install pkg@version` refuses, so we build from a module of our own.
make_module() { # make_module DIR MODULE@VERSION SEDPATTERN REPLACEMENT_VERSION
  local dir="$1" modver="$2" pattern="$3" rver="$4" mod="${2%@*}"
  rm -rf "$dir"; mkdir -p "$dir"
  local gomod; gomod="$(go mod download -json "$modver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module ringmaster.local/build"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/').0"
    echo
    echo "require $mod ${modver#*@}"
    echo
    echo "replace ("
    sed -n "$pattern" "$gomod" | while read -r name; do echo "	$name => $name $rver"; done
    echo ")"
  } > "$dir/go.mod"
}

start=$(date +%s)
if [ ! -x "$bin/etcd" ] || ! grep -q "etcd=$ETCD_VERSION" "$stamp" 2>/dev/null; then
  log "building etcd $ETCD_VERSION into $bin (first time only)"
  t0=$(date +%s)
  make_module "$root/src/etcd" "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    's#^[[:space:]]*\(go\.etcd\.io/etcd/[a-z0-9/]*v3\) => \.\./.*#\1#p' "$ETCD_VERSION"
  (cd "$root/src/etcd" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  log "etcd built in $(( $(date +%s) - t0 ))s"
fi

missing=()
for b in "${kube_bins[@]}"; do
  if [ ! -x "$bin/$b" ] || ! grep -q "kubernetes=$KUBE_VERSION" "$stamp" 2>/dev/null; then missing+=("$b"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "building ${missing[*]} $KUBE_VERSION into $bin (first time only, takes several minutes; log: $root/${missing[0]}.log)"
  t0=$(date +%s)
  staging="v0.${KUBE_VERSION#v1.}"
  make_module "$root/src/kubernetes" "k8s.io/kubernetes@$KUBE_VERSION" \
    's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$staging"
  minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  pkg=k8s.io/component-base/version
  cpkg=k8s.io/client-go/pkg/version
  ld="-s -w"
  for p in $pkg $cpkg; do
    ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for b in "${missing[@]}"; do
    : > "$root/$b.log"
    (cd "$root/src/kubernetes" && logged "$b" "$root/$b.log" go get "k8s.io/kubernetes/cmd/$b@$KUBE_VERSION" \
      && logged "$b" "$root/$b.log" go build -trimpath -ldflags "$ld" -o "$bin/$b" "k8s.io/kubernetes/cmd/$b")
    log "$b built ($(( $(date +%s) - t0 ))s since the Kubernetes builds began)"
  done
fi

{
  echo "$want"
  echo "binaries=etcd ${kube_bins[*]}"
  echo "go=$(go env GOVERSION)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(( $(date +%s) - start ))"
} > "$stamp"
log "kube binaries ready in $bin: $("$bin/kube-apiserver" --version), etcd $("$bin/etcd" --version | head -n1), with kube-controller-manager and kube-scheduler"
