# PostgreSQL on 127.0.0.1:5432 with trust auth and a database "test".
service_postgres_up() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    cc_need_pkg postgresql || return 1
    local v
    v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    if [ -z "$v" ]; then cc_log "no PostgreSQL cluster found"; return 1; fi
    cc_log "starting PostgreSQL $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || return 1
    cc_started postgres pg_ctlcluster --skip-systemctl-redirect "$v" main stop
    for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  if ! psql -h 127.0.0.1 -U postgres -Atc "select 1" test >/dev/null 2>&1; then
    # fresh cluster: allow trust on loopback and create the database
    su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" 2>/dev/null | grep -q 1 \
      || su postgres -c "createdb test" 2>/dev/null
  fi
  export COATCHECK_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}
