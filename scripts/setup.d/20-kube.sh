#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules (no binary downloads are possible here)
# into $RINGMASTER_CACHE/kube/<kubernetes version>/bin, reusing them when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
exec bash "$here/../kube/build.sh"
