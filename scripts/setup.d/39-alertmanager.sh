#!/usr/bin/env bash
# Debian's Prometheus Alertmanager for the alerts-that-halt tests: each test runs its own
# `prometheus-alertmanager` on 127.0.0.1:<free port> (cluster port off) via startAlertmanager,
# routing to the test server's webhook. The system service the package starts is not ours: stop it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
have() { command -v prometheus-alertmanager >/dev/null 2>&1 || [ -x /usr/bin/prometheus-alertmanager ]; }
have && exit 0
apt_install prometheus-alertmanager
# Where no policy-rc.d blocks it, the package starts the system Alertmanager on :9093/:9094.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
elif command -v service >/dev/null 2>&1; then
  service prometheus-alertmanager stop >/dev/null 2>&1 || true
fi
if [ -f /run/prometheus/alertmanager.pid ] && kill -0 "$(cat /run/prometheus/alertmanager.pid)" 2>/dev/null; then
  log "stopping the system Alertmanager the package started"
  kill "$(cat /run/prometheus/alertmanager.pid)" 2>/dev/null || true
fi
have || { log "prometheus-alertmanager installed but not found on PATH"; exit 1; }
