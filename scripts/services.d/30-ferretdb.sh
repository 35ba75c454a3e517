# FerretDB v1.24 (SQLite handler) on 127.0.0.1:27018: a MongoDB wire-protocol
# server for mongostore's tests, built from tools/ferretdb (pure Go, no
# packages to install). The binary is cached in $COATCHECK_RUN_DIR/bin and
# rebuilt only when tools/ferretdb changed; data lives in
# $COATCHECK_RUN_DIR/ferretdb-data.
service_ferretdb_up() {
  local port=27018 bin="$COATCHECK_RUN_DIR/bin/ferretdb" src="$_cc_root/tools/ferretdb"
  if ! cc_port_open 127.0.0.1 "$port"; then
    if [ ! -x "$bin" ] || [ -n "$(find "$src" -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$bin" 2>/dev/null)" ]; then
      cc_log "building FerretDB (tools/ferretdb; the first build takes a few minutes)"
      mkdir -p "$COATCHECK_RUN_DIR/bin"
      (cd "$src" && GOWORK=off go build -o "$bin.tmp" . && mv -f "$bin.tmp" "$bin") || { cc_log "FerretDB build failed"; return 1; }
    fi
    cc_log "starting FerretDB on 127.0.0.1:$port"
    mkdir -p "$COATCHECK_RUN_DIR/ferretdb-data"
    nohup "$bin" -listen "127.0.0.1:$port" -dir "$COATCHECK_RUN_DIR/ferretdb-data" \
      >>"$COATCHECK_RUN_DIR/ferretdb.log" 2>&1 </dev/null &
    echo $! >"$COATCHECK_RUN_DIR/ferretdb.pid"
    cc_wait_port 127.0.0.1 "$port" 120 || { cc_log "see $COATCHECK_RUN_DIR/ferretdb.log"; return 1; }
  fi
  export COATCHECK_MONGO_URL="mongodb://127.0.0.1:$port/"
}
