# MariaDB on 127.0.0.1:3306, root without password, database "test".
service_mariadb_up() {
  if ! cc_port_open 127.0.0.1 3306; then
    cc_need_pkg mariadb-server || return 1
    cc_log "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null
    start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$COATCHECK_RUN_DIR/mariadb.pid" --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 || return 1
    cc_wait_port 127.0.0.1 3306 60 || return 1
  fi
  mariadb -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS test" 2>/dev/null \
    || mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test" 2>/dev/null
  export COATCHECK_MYSQL_DSN="root@tcp(127.0.0.1:3306)/test?parseTime=true"
}
