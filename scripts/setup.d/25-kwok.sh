#!/usr/bin/env bash
# Builds kwok (fake nodes and the kubelet's pod status for the local fleet) from its Go module.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../kube/build-kwok.sh"
