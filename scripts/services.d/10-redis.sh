# Redis on 127.0.0.1:6379 (the machine's own, or started here).
service_redis_up() {
  cc_need_pkg redis-server redis-tools || return 1
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    cc_log "starting redis-server on 6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "$COATCHECK_RUN_DIR" --logfile "$COATCHECK_RUN_DIR/redis-6379.log" \
      --pidfile "$COATCHECK_RUN_DIR/redis-6379.pid" || return 1
    cc_wait_port 127.0.0.1 6379 || return 1
  fi
  export COATCHECK_REDIS_URL="redis://127.0.0.1:6379/0"
}
