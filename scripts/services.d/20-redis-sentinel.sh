# Redis Sentinel: a replica-less master on 127.0.0.1:6380 and one sentinel on
# 127.0.0.1:26379 monitoring it as master "coatcheck" (quorum 1).
#
# Reuses servers that answer. A running sentinel that does not monitor
# "coatcheck" at 127.0.0.1:6380 is told to (SENTINEL REMOVE + MONITOR), so a
# leftover sentinel pointing elsewhere is repaired rather than trusted.
_cc_sentinel_master_ok() {
  [ "$(redis-cli -h 127.0.0.1 -p 26379 sentinel get-master-addr-by-name coatcheck 2>/dev/null | tr '\n' ' ')" = "127.0.0.1 6380 " ]
}

service_redis_sentinel_up() {
  cc_need_pkg redis-server redis-tools || return 1
  if ! redis-cli -h 127.0.0.1 -p 6380 ping >/dev/null 2>&1; then
    cc_log "starting redis-server on 6380 (Sentinel master)"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6380 --save "" --appendonly no \
      --dir "$COATCHECK_RUN_DIR" --pidfile "$COATCHECK_RUN_DIR/redis-6380.pid" \
      --logfile "$COATCHECK_RUN_DIR/redis-6380.log" || return 1
    cc_wait_port 127.0.0.1 6380 || return 1
  fi
  if ! redis-cli -h 127.0.0.1 -p 6380 info replication 2>/dev/null | grep >/dev/null '^role:master'; then
    cc_log "127.0.0.1:6380 is not a Redis master"
    return 1
  fi

  if ! redis-cli -h 127.0.0.1 -p 26379 ping >/dev/null 2>&1; then
    local conf="$COATCHECK_RUN_DIR/sentinel-26379.conf"
    # Sentinel rewrites its config file, so it gets a fresh writable one.
    cat >"$conf" <<EOF
port 26379
bind 127.0.0.1
daemonize yes
dir $COATCHECK_RUN_DIR
pidfile $COATCHECK_RUN_DIR/sentinel-26379.pid
logfile $COATCHECK_RUN_DIR/sentinel-26379.log
sentinel monitor coatcheck 127.0.0.1 6380 1
sentinel down-after-milliseconds coatcheck 5000
sentinel failover-timeout coatcheck 60000
EOF
    cc_log "starting redis-server --sentinel on 26379"
    redis-server "$conf" --sentinel || return 1
    cc_wait_port 127.0.0.1 26379 || return 1
  fi
  if ! _cc_sentinel_master_ok; then
    cc_log "pointing the sentinel on 26379 at 127.0.0.1:6380 as coatcheck"
    redis-cli -h 127.0.0.1 -p 26379 sentinel remove coatcheck >/dev/null 2>&1
    redis-cli -h 127.0.0.1 -p 26379 sentinel monitor coatcheck 127.0.0.1 6380 1 >/dev/null 2>&1
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    _cc_sentinel_master_ok && break
    sleep 0.1
  done
  _cc_sentinel_master_ok || { cc_log "sentinel on 26379 does not report coatcheck at 127.0.0.1:6380"; return 1; }
  export COATCHECK_REDIS_SENTINEL_ADDRS=127.0.0.1:26379
  export COATCHECK_REDIS_SENTINEL_MASTER=coatcheck
}
