#!/usr/bin/env bash
# The dashboard's web bundle that `ringmaster serve` serves, rebuilt when any of its sources is
# newer than the bundle.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

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
