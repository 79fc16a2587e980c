#!/usr/bin/env bash
# zsh and fish, so the CLI's completion tests run in every shell they generate a script for.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
apt_install zsh fish
