# memcached on 127.0.0.1:11211 (Debian's package), 64 MiB.
service_memcached_up() {
  if ! cc_port_open 127.0.0.1 11211; then
    cc_need_pkg memcached || return 1
    cc_log "starting memcached on 11211"
    # memcached refuses to run as root unless -u names a user to switch to,
    # and writes its pid file (via a temp file + rename) after switching, so
    # the pid file lives in a directory that user can write.
    local piddir="$COATCHECK_RUN_DIR/memcached"
    mkdir -p "$piddir" || return 1
    [ "$(id -u)" -eq 0 ] && chown nobody "$piddir"
    memcached -d -l 127.0.0.1 -p 11211 -u nobody -m 64 -P "$piddir/memcached.pid" || return 1
    cc_wait_port 127.0.0.1 11211 || return 1
  fi
  local i
  for ((i = 0; ; i++)); do
    printf 'version\r\n' | timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/11211; cat >&3; head -c 8 <&3' 2>/dev/null \
      | grep >/dev/null '^VERSION' && break
    if [ "$i" -ge 20 ]; then
      cc_log "127.0.0.1:11211 is open but does not answer like memcached"
      return 1
    fi
    sleep 0.2
  done
  export COATCHECK_MEMCACHE_ADDR=127.0.0.1:11211
}
