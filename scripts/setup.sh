#!/usr/bin/env bash
# Installs and builds everything the tests, the demo and the benchmarks need beyond npm.
# Each step in scripts/setup.d is idempotent and quick when its result is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
for step in "$here"/setup.d/*.sh; do
  [ -e "$step" ] || continue
  if [ -n "${RINGMASTER_SETUP_ONLY:-}" ] && [[ "$(basename "$step")" != *"$RINGMASTER_SETUP_ONLY"* ]]; then continue; fi
  bash "$step"
done
