#!/usr/bin/env bash
# Debian's BIND 9 for the requests API's DNS step: `named` (each test or demo runs its own server on
# 127.0.0.1:<free port> via startLocalBind), `dig` and `nsupdate` (bind9-dnsutils), and
# `tsig-keygen` / `ddns-confgen` (bind9-utils, pulled in by bind9). No system service is used.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
have_all() {
  for b in named dig nsupdate tsig-keygen; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || return 1
  done
}
have_all && exit 0
apt_install bind9 bind9-utils bind9-dnsutils
# Where no policy-rc.d blocks it, the package starts the system named on port 53: that server is not
# ours and would only hold the port, so stop it (and keep it from starting at boot).
if [ -f /run/named/named.pid ] && kill -0 "$(cat /run/named/named.pid)" 2>/dev/null; then
  log "stopping the system named the bind9 package started"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now named >/dev/null 2>&1 || true
  else
    kill "$(cat /run/named/named.pid)" 2>/dev/null || true
  fi
fi
have_all || { log "bind9 installed but named/dig/nsupdate/tsig-keygen not found"; exit 1; }
