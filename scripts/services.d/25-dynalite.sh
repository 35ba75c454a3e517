# dynalite (npm package, in-memory DynamoDB API) on 127.0.0.1:8000 for
# dynamostore and SESSION_TYPE=dynamodb. Installed with npm into
# $COATCHECK_RUN_DIR/dynalite (Node.js >= 18 needed); the server's PID is in
# $COATCHECK_RUN_DIR/dynalite.pid, its log in $COATCHECK_RUN_DIR/dynalite.log.
# Data lives in memory: it is gone when the server stops. Also installs
# Debian's python3-boto3, the client dynamostore's interop test drives as
# Flask-Session 0.8 does.
service_dynalite_up() {
  local port=8000 dir="$COATCHECK_RUN_DIR/dynalite"
  local cli="$dir/node_modules/dynalite/cli.js"
  cc_need_pkg python3-boto3 || return 1
  if ! cc_port_open 127.0.0.1 "$port"; then
    if ! command -v node >/dev/null; then
      cc_need_pkg nodejs || return 1
      cc_need_pkg npm || return 1
    fi
    if [ ! -f "$cli" ]; then
      cc_log "installing dynalite with npm into $dir"
      mkdir -p "$dir" || return 1
      (cd "$dir" && npm install --no-audit --no-fund --silent dynalite@4 >>"$COATCHECK_RUN_DIR/dynalite.log" 2>&1) \
        || { cc_log "npm install dynalite failed; see $COATCHECK_RUN_DIR/dynalite.log"; return 1; }
    fi
    cc_log "starting dynalite on 127.0.0.1:$port"
    nohup node "$cli" --host 127.0.0.1 --port "$port" --createTableMs 50 --deleteTableMs 50 --updateTableMs 50 \
      >>"$COATCHECK_RUN_DIR/dynalite.log" 2>&1 </dev/null &
    echo $! >"$COATCHECK_RUN_DIR/dynalite.pid"
    cc_wait_port 127.0.0.1 "$port" 30 || { cc_log "see $COATCHECK_RUN_DIR/dynalite.log"; return 1; }
  fi
  export COATCHECK_DYNAMODB_URL="http://127.0.0.1:$port"
}
