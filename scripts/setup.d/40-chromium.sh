#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser tests (playwright-core drives it; Playwright's own
# browser download cannot work without internet), and the dashboard's web bundle that
# `ringmaster serve` serves, rebuilt when any of its sources is newer than the bundle.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
  command -v chromium >/dev/null 2>&1 || { log "chromium installed but not on PATH"; exit 1; }
fi

web="$root/packages/web"
bundle="$web/build/index.html"
if [ -d "$web/src" ]; then
  stale=""
  if [ ! -f "$bundle" ]; then
    stale="missing"
  elif [ -n "$(find "$web/src" "$web/index.html" "$web/vite.config.ts" "$web/package.json" -newer "$bundle" -print -quit 2>/dev/null)" ]; then
    stale="older than its sources"
  fi
  if [ -n "$stale" ]; then
    log "building the dashboard bundle ($stale)"
    (cd "$root" && npm run --silent build -w packages/web >/dev/null)
  fi
fi
