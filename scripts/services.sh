#!/usr/bin/env bash
# Installs (Debian packages) and starts every server the tests need, on
# loopback only, reusing servers that already answer. Source it:
#
#   source scripts/services.sh            # everything
#   source scripts/services.sh redis pg   # only these
#
# Each service lives in scripts/services.d/NAME.sh and defines service_NAME_up,
# which exports the COATCHECK_* variables its tests read.
_cc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export COATCHECK_RUN_DIR="${COATCHECK_RUN_DIR:-/tmp/coatcheck-services}"
mkdir -p "$COATCHECK_RUN_DIR"

cc_log() { echo "services: $*" >&2; }

_cc_apt_updated=
# cc_need_pkg PKG... installs the Debian packages that are missing.
cc_need_pkg() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  if [ -z "$_cc_apt_updated" ]; then
    cc_log "apt-get update"
    $sudo apt-get update -qq >/dev/null || return 1
    _cc_apt_updated=1
  fi
  cc_log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
  local want=("$@") s rc=0
  if [ ${#want[@]} -eq 0 ]; then
    want=()
    for _f in "$_cc_root"/scripts/services.d/*.sh; do
      s=$(basename "$_f" .sh)
      want+=("${s#[0-9][0-9]-}")
    done
  fi
  for s in "${want[@]}"; do
    "service_${s//-/_}_up" || { cc_log "FAILED to start $s"; rc=1; }
  done
  return $rc
}

cc_services_up "$@"
