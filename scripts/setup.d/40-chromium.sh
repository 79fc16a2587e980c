#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests: playwright-core drives it (Playwright's own
# browser download cannot work here). The dashboard bundle itself is built by 45-web.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
command -v chromium >/dev/null 2>&1 && exit 0
apt_install chromium
command -v chromium >/dev/null 2>&1 || { log "chromium installed but not on PATH"; exit 1; }
