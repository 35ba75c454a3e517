#!/usr/bin/env bash
# Installs (Debian packages) and starts every server the tests need, on
# loopback only, reusing servers that already answer. Source it:
#
#   source scripts/services.sh                              # everything
#   COATCHECK_SERVICES="redis postgres" source scripts/services.sh   # only these
#   COATCHECK_SERVICES=none source scripts/services.sh      # none
#
# Each service lives in scripts/services.d/NN-NAME.sh and defines
# service_NAME_up, which exports the COATCHECK_* variables its tests read.
# Services start in parallel (Debian package installs are serialised by a
# lock); each one's exports are collected from its own env file.
#
# Every server started here (not one that was already running) is recorded:
# its pid file is written under $COATCHECK_RUN_DIR after this run began, or
# the service registers a stop command with cc_started. cc_services_down stops
# exactly those; scripts/test.sh calls it on EXIT.
_cc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export COATCHECK_RUN_DIR="${COATCHECK_RUN_DIR:-/tmp/coatcheck-services}"
mkdir -p "$COATCHECK_RUN_DIR"
_cc_run="$COATCHECK_RUN_DIR/run-$$"
mkdir -p "$_cc_run"
: >"$_cc_run/started"
touch "$_cc_run/marker"

cc_log() { echo "services: $*" >&2; }

# cc_started NAME CMD... records how to stop a server this run started.
cc_started() {
  local name=$1
  shift
  printf '%s\t%s\n' "$name" "$*" >>"$_cc_run/started"
}

# cc_need_pkg PKG... installs the Debian packages that are missing (one
# apt-get at a time across parallel services).
cc_need_pkg() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  (
    flock 9
    if [ ! -e "$_cc_run/apt-updated" ]; then
      cc_log "apt-get update"
      $sudo apt-get update -qq >/dev/null || exit 1
      touch "$_cc_run/apt-updated"
    fi
    cc_log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 9>"$COATCHECK_RUN_DIR/apt.lock"
}

# cc_wait_port HOST PORT [SECONDS] waits until a TCP port accepts connections.
cc_wait_port() {
  local host=$1 port=$2 secs=${3:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  cc_log "$host:$port did not open within ${secs}s"
  return 1
}

cc_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

for _f in "$_cc_root"/scripts/services.d/*.sh; do
  # shellcheck source=/dev/null
  source "$_f"
done

cc_services_up() {
  local want=() s rc=0 sel="${COATCHECK_SERVICES:-all}"
  [ "$sel" = none ] && return 0
  if [ "$sel" = all ]; then
    for _f in "$_cc_root"/scripts/services.d/*.sh; do
      s=$(basename "$_f" .sh)
      want+=("${s#[0-9][0-9]-}")
    done
  else
    read -r -a want <<<"${sel//,/ }"
  fi
  local pids=() names=() t0=$SECONDS
  for s in "${want[@]}"; do
    if ! declare -F "service_${s//-/_}_up" >/dev/null; then
      cc_log "unknown service $s (known: $(ls "$_cc_root"/scripts/services.d | sed 's/^[0-9]*-//; s/\.sh$//' | tr '\n' ' '))"
      rc=1
      continue
    fi
    (
      t=$SECONDS
      "service_${s//-/_}_up" || exit 1
      # `export` lines: sourcing `declare -x` inside a function would make locals
      export -p | sed -n 's/^declare -x \(COATCHECK_[A-Za-z0-9_]*=\)/export \1/p' >"$_cc_run/env.$s"
      cc_log "$s ready ($((SECONDS - t))s)"
    ) &
    pids+=($!)
    names+=("$s")
  done
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { cc_log "FAILED to start ${names[$i]}"; rc=1; }
    # shellcheck source=/dev/null
    [ -f "$_cc_run/env.${names[$i]}" ] && source "$_cc_run/env.${names[$i]}"
  done
  cc_log "services up in $((SECONDS - t0))s"
  return $rc
}

# cc_services_down stops every server this run started, and only those.
cc_services_down() {
  [ -d "$_cc_run" ] || return 0
  local f pid name cmd
  while IFS=$'\t' read -r name cmd; do
    [ -n "$name" ] || continue
    cc_log "stopping $name"
    eval "$cmd" >/dev/null 2>&1 || cc_log "stopping $name failed"
  done <"$_cc_run/started"
  while IFS= read -r f; do
    pid=$(cat "$f" 2>/dev/null) || continue
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      cc_log "stopping $(basename "$f" .pid) (pid $pid)"
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$f"
  done < <(find "$COATCHECK_RUN_DIR" -name '*.pid' -newer "$_cc_run/marker" 2>/dev/null)
  rm -rf "$_cc_run"
}

# Backwards compatible: `source scripts/services.sh redis postgres`.
if [ $# -gt 0 ] && [ -z "${COATCHECK_SERVICES:-}" ]; then
  COATCHECK_SERVICES="$*"
fi
cc_services_up
