#!/usr/bin/env bash
# Builds Argo CD (application-controller + repo-server) from its Go module, and installs Debian's
# redis-server, which Argo CD needs as its cache. Both run outside any cluster in the local fleet.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
command -v redis-server >/dev/null || apt_install redis-server
exec bash "$here/../kube/build-argocd.sh"
