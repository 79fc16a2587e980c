# Shared by the set-up scripts: where built binaries are cached and how to log.
export RINGMASTER_CACHE="${RINGMASTER_CACHE:-$HOME/.cache/ringmaster}"
mkdir -p "$RINGMASTER_CACHE/bin"
log() { printf '[setup] %s\n' "$*" >&2; }
apt_install() {
  # apt_install PKG... — installs Debian packages that are missing, updating the index once.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ ! -f /tmp/.ringmaster-apt-updated ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /tmp/.ringmaster-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
