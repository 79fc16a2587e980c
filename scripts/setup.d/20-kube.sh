#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules (no binary downloads are possible here)
# into $RINGMASTER_CACHE/kube/<kubernetes version>/bin, reusing them when present.
# The local control plane's certificates are made with the openssl CLI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
command -v openssl >/dev/null || apt_install openssl
exec bash "$here/../kube/build.sh"
