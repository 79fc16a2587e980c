#!/usr/bin/env bash
# The dashboard bundle that `ringmaster serve` serves (packages/web/build), rebuilt when it is
# missing or older than any of its sources. The demo runs this step too (RINGMASTER_SETUP_ONLY=web).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
web="$root/packages/web"
bundle="$web/build/index.html"
stale=""
if [ ! -f "$bundle" ]; then
  stale="missing"
elif [ -n "$(find "$web/src" "$web/index.html" "$web/vite.config.ts" "$web/package.json" -newer "$bundle" -print -quit 2>/dev/null)" ]; then
  stale="older than its sources"
fi
[ -z "$stale" ] && exit 0
log "building the dashboard bundle ($stale)"
cd "$root"
NODE_ENV=production npm run --silent build -w packages/web >/dev/null
[ -f "$bundle" ] || { log "the dashboard build produced no $bundle"; exit 1; }
