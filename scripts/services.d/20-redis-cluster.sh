# Redis Cluster: three masters, no replicas, on 127.0.0.1:7001-7003.
#
# Reuses a healthy cluster (cluster_state:ok on every node). Otherwise starts
# the missing nodes with fresh cluster config files in $COATCHECK_RUN_DIR and,
# when the nodes are not already one healthy cluster, resets them (they hold
# only test data: no RDB, no AOF) and joins them with redis-cli --cluster
# create. A port taken by a Redis that is not in cluster mode is shut down
# when it runs from $COATCHECK_RUN_DIR (a leftover of ours) and reported
# otherwise. A lock in $COATCHECK_RUN_DIR keeps concurrent callers from
# building the cluster twice.
_cc_redis_cluster_ports=(7001 7002 7003)

# _cc_redis_cluster_ok: every node answers cluster_state:ok.
_cc_redis_cluster_ok() {
  local p
  for p in "${_cc_redis_cluster_ports[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep >/dev/null '^cluster_state:ok' || return 1
  done
}

# _cc_redis_cluster_wait_ok SECONDS
_cc_redis_cluster_wait_ok() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    _cc_redis_cluster_ok && return 0
    sleep 0.1
  done
  return 1
}

# _cc_redis_cluster_node PORT: makes sure a cluster-mode redis-server listens on PORT.
_cc_redis_cluster_node() {
  local p=$1 i
  if cc_port_open 127.0.0.1 "$p"; then
    if redis-cli -h 127.0.0.1 -p "$p" info cluster 2>/dev/null | grep >/dev/null '^cluster_enabled:1'; then
      return 0
    fi
    if [ "$(redis-cli -h 127.0.0.1 -p "$p" config get dir 2>/dev/null | sed -n 2p)" = "$COATCHECK_RUN_DIR" ]; then
      cc_log "127.0.0.1:$p runs a Redis of ours without cluster mode: shutting it down"
      redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1
      for ((i = 0; i < 50; i++)); do cc_port_open 127.0.0.1 "$p" || break; sleep 0.1; done
    fi
    if cc_port_open 127.0.0.1 "$p"; then
      cc_log "127.0.0.1:$p is taken by something that is not a cluster-mode Redis; free the port"
      return 1
    fi
  fi
  cc_log "starting redis-server (cluster mode) on $p"
  # 9>&- below: the daemon must not inherit (and hold forever) the lock fd.
  # A fresh node: an old nodes file would make it rejoin a cluster that is gone.
  rm -f "$COATCHECK_RUN_DIR/nodes-$p.conf"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --save "" --appendonly no \
    --cluster-enabled yes --cluster-config-file "$COATCHECK_RUN_DIR/nodes-$p.conf" \
    --cluster-node-timeout 5000 \
    --dir "$COATCHECK_RUN_DIR" --pidfile "$COATCHECK_RUN_DIR/redis-$p.pid" \
    --logfile "$COATCHECK_RUN_DIR/redis-$p.log" 9>&- || return 1
  cc_wait_port 127.0.0.1 "$p"
}

_cc_redis_cluster_ensure() {
  local p addrs=()
  _cc_redis_cluster_ok && return 0
  for p in "${_cc_redis_cluster_ports[@]}"; do
    _cc_redis_cluster_node "$p" || return 1
    addrs+=("127.0.0.1:$p")
  done
  # Nodes that already form a cluster may only need a moment to agree.
  if redis-cli -h 127.0.0.1 -p "${_cc_redis_cluster_ports[0]}" cluster info 2>/dev/null \
    | grep >/dev/null '^cluster_slots_assigned:16384'; then
    _cc_redis_cluster_wait_ok 10 && return 0
  fi
  cc_log "creating Redis Cluster ${addrs[*]}"
  for p in "${_cc_redis_cluster_ports[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" flushall >/dev/null 2>&1
    redis-cli -h 127.0.0.1 -p "$p" cluster reset hard >/dev/null 2>&1
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$COATCHECK_RUN_DIR/redis-cluster-create.log" 2>&1 || {
    cc_log "redis-cli --cluster create failed (see $COATCHECK_RUN_DIR/redis-cluster-create.log)"
    return 1
  }
  _cc_redis_cluster_wait_ok 30 || { cc_log "Redis Cluster did not reach cluster_state:ok"; return 1; }
}

service_redis_cluster_up() {
  cc_need_pkg redis-server redis-tools || return 1
  (
    flock -w 120 9 || { cc_log "timed out waiting for $COATCHECK_RUN_DIR/redis-cluster.lock"; exit 1; }
    _cc_redis_cluster_ensure
  ) 9>"$COATCHECK_RUN_DIR/redis-cluster.lock" || return 1
  local a=() p
  for p in "${_cc_redis_cluster_ports[@]}"; do a+=("127.0.0.1:$p"); done
  export COATCHECK_REDIS_CLUSTER_ADDRS="$(IFS=,; echo "${a[*]}")"
}
