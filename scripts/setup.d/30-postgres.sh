#!/usr/bin/env bash
# PostgreSQL server binaries for the server's storage and API tests (each test file runs its own
# throwaway cluster with initdb + pg_ctl, so no system service is started or configured here).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
apt_install postgresql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { log "postgresql installed but initdb not found"; exit 1; }
