#!/usr/bin/env bash
# Builds kube-apiserver (k8s.io/kubernetes) and etcd (go.etcd.io/etcd/server/v3) into
#   $RINGMASTER_CACHE/kube/$KUBE_VERSION/bin/{kube-apiserver,etcd}
# and records what was built in $RINGMASTER_CACHE/kube/$KUBE_VERSION/versions.txt.
# Debian's etcd-server (3.4) is older than the 3.5 floor of current kube-apiservers, so etcd is built too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
source "$here/versions.sh"

root="$RINGMASTER_CACHE/kube/$KUBE_VERSION"
bin="$root/bin"
stamp="$root/versions.txt"
want="kubernetes=$KUBE_VERSION etcd=$ETCD_VERSION"
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/etcd" ] && [ "$(head -n1 "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
command -v go >/dev/null || { log "go is required to build kube-apiserver and etcd"; exit 1; }
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

if [ ! -x "$bin/kube-apiserver" ] || ! grep -q "kubernetes=$KUBE_VERSION" "$stamp" 2>/dev/null; then
  log "building kube-apiserver $KUBE_VERSION into $bin (first time only, takes several minutes)"
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
  (cd "$root/src/kubernetes" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
    && go build -trimpath -ldflags "$ld" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  log "kube-apiserver built in $(( $(date +%s) - t0 ))s"
fi

{
  echo "$want"
  echo "go=$(go env GOVERSION)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(( $(date +%s) - start ))"
} > "$stamp"
log "kube binaries ready in $bin: $("$bin/kube-apiserver" --version), etcd $("$bin/etcd" --version | head -n1)"
