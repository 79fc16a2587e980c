#!/usr/bin/env bash
# Installs and builds everything the tests, the demo and the benchmarks need beyond npm.
# Each step in scripts/setup.d is idempotent and quick when its result is already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
# RINGMASTER_SETUP_ONLY=helm,kube runs only the steps whose names contain one of these words.
IFS=',' read -r -a only <<< "${RINGMASTER_SETUP_ONLY:-}"
for step in "$here"/setup.d/*.sh; do
  [ -e "$step" ] || continue
  if [ ${#only[@]} -gt 0 ]; then
    keep=""
    for word in "${only[@]}"; do [[ "$(basename "$step")" == *"$word"* ]] && keep=1; done
    [ -n "$keep" ] || continue
  fi
  bash "$step"
done
