#!/usr/bin/env bash
# Debian's Prometheus for the flighting engine's metric gates: each test or demo runs its own
# `prometheus` on 127.0.0.1:<free port> with its own config and data folder (startPrometheus in
# packages/server/src/outside/local-prometheus.ts). No system service is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
have_prometheus() { command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ]; }
have_prometheus && exit 0
apt_install prometheus
# Where no policy-rc.d blocks it, the package starts the system Prometheus on port 9090 (and its
# node exporter): those are not ours and would only hold ports and scrape, so stop and disable them.
for svc in prometheus prometheus-node-exporter; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    service "$svc" stop >/dev/null 2>&1 || true
  fi
done
have_prometheus || { log "prometheus installed but the prometheus binary was not found"; exit 1; }
