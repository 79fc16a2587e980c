#!/usr/bin/env bash
# Builds the two Argo CD components the local fleet runs — the application-controller and the
# repo-server — into one binary
#   $RINGMASTER_CACHE/argocd/$ARGOCD_VERSION/bin/argocd
# with symlinks argocd-application-controller and argocd-repo-server (it runs the component
# named by argv[0], as Argo CD's own multi-call binary does). Argo CD's own main
# (github.com/argoproj/argo-cd/v2/cmd) also links the API server, the CLI, the ApplicationSet
# controller with its SCM clients and the notifications controller: about 2,200 packages against
# 1,600 for these two, and minutes of compiling on 2 cores for code that never runs here.
# Argo CD's go.mod pins its dependencies with replace directives, which a dependent module does
# not inherit, so the build happens in a throwaway module that requires the release, copies
# those directives from the release's own go.mod and has a small main of ours.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
source "$here/common.sh"
source "$here/versions.sh"

root="$RINGMASTER_CACHE/argocd/$ARGOCD_VERSION"
bin="$root/bin"
stamp="$root/versions.txt"
lock_build "$root"
want="argocd=$ARGOCD_VERSION"
links() { for c in argocd-application-controller argocd-repo-server; do ln -sfn argocd "$bin/$c"; done; }
if [ -x "$bin/argocd" ] && [ "$(head -n1 "$stamp" 2>/dev/null)" = "$want" ]; then links; exit 0; fi
command -v go >/dev/null || { log "go is required to build Argo CD"; exit 1; }
log "building Argo CD $ARGOCD_VERSION into $bin (first time only, takes several minutes)"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
start=$(date +%s)
mod=github.com/argoproj/argo-cd/v2
src="$root/src"
rm -rf "$src"; mkdir -p "$src" "$bin"; : > "$root/build.log"
gomod="$(go mod download -json "$mod@$ARGOCD_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -n "$gomod" ] || { log "could not download $mod@$ARGOCD_VERSION"; exit 1; }
{
  echo "module ringmaster.local/build-argocd"
  echo
  echo "go $(go_minor).0"
  echo
  echo "require $mod $ARGOCD_VERSION"
  echo
  # Every replace directive of the release, block or single-line form, comments dropped.
  echo "replace ("
  awk '/^replace \($/ {inblock=1; next} inblock && /^\)/ {inblock=0; next}
       inblock && /=>/ {sub(/^[ \t]+/, ""); print "\t" $0}
       /^replace [^(]/ {sub(/^replace /, ""); print "\t" $0}' "$gomod"
  echo ")"
} > "$src/go.mod"
cat > "$src/main.go" <<'GO'
// Ringmaster's build of Argo CD: the application-controller and the repo-server, chosen by the
// name the binary runs under (or ARGOCD_BINARY_NAME), as in Argo CD's own cmd/main.go.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	appcontroller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
	cmdutil "github.com/argoproj/argo-cd/v2/cmd/util"
	"github.com/argoproj/argo-cd/v2/common"
)

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var execute func() error
	switch name {
	case "argocd-application-controller":
		execute = appcontroller.NewCommand().Execute
	case "argocd-repo-server":
		execute = reposerver.NewCommand().Execute
	default:
		if len(os.Args) == 2 && os.Args[1] == "version" {
			v := common.GetVersion()
			fmt.Printf("argocd: %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
			return
		}
		fmt.Fprintf(os.Stderr, "%s: this build runs as argocd-application-controller or argocd-repo-server (by symlink or ARGOCD_BINARY_NAME); '%s version' prints its version\n", name, name)
		os.Exit(2)
	}
	cmdutil.SetAutoMaxProcs(false)
	if err := execute(); err != nil {
		os.Exit(1)
	}
}
GO
# The version ldflags of Argo CD's Makefile (without them it reports v99.99.99). The module
# proxy does not say which commit a release is, so gitCommit stays empty ("v2.14.21+unknown");
# the build date is the release's time as the proxy records it.
pkg=$mod/common
(
  cd "$src"
  logged argocd "$root/build.log" nice -n 10 go get "$mod/cmd@$ARGOCD_VERSION"
  kubectl="$(go list -m k8s.io/client-go | awk '{print $NF}')"
  released="$(go mod download -json "$mod@$ARGOCD_VERSION" | sed -n 's/.*"Time": "\(.*\)".*/\1/p')"
  ld="-s -w -X $pkg.version=${ARGOCD_VERSION#v} -X $pkg.buildDate=${released:-1970-01-01T00:00:00Z}"
  ld="$ld -X $pkg.gitTag=$ARGOCD_VERSION -X $pkg.gitTreeState=clean -X $pkg.kubectlVersion=$kubectl"
  GODEBUG="tarinsecurepath=0,zipinsecurepath=0" \
    logged argocd "$root/build.log" nice -n 10 go build -trimpath -ldflags "$ld" -o "$bin/argocd" .
)
links
{
  echo "$want"
  echo "go=$(go env GOVERSION)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(( $(date +%s) - start ))"
} > "$stamp"
log "Argo CD built in $(( $(date +%s) - start ))s: $("$bin/argocd" version 2>&1 | head -n1)"
