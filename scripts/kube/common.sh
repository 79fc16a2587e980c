# Shared by the Go builds of scripts/kube: a logged build step that names the binary and its log.

# logged NAME LOGFILE CMD... — runs CMD with its output appended to LOGFILE; on failure says which binary
# failed, where its log is, and quotes the log's tail, so a failed set-up is never anonymous.
logged() {
  local name="$1" logfile="$2"; shift 2
  mkdir -p "$(dirname "$logfile")"
  if ! "$@" >>"$logfile" 2>&1; then
    log "building $name failed; its log is $logfile. Last lines:"
    tail -n 20 "$logfile" >&2
    return 1
  fi
}

# go_minor — "1.26.0" for the machine's toolchain, for the go line of a throwaway module.
go_minor() { go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/'; }

# lock_build DIR — one build at a time per cache folder: a second caller (two test files starting
# at once, or a set-up next to a test run) waits, then finds the binaries built and exits.
lock_build() {
  mkdir -p "$1"
  exec 9>"$1/.build.lock"
  command -v flock >/dev/null && flock 9
}
