package mysqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/coatcheck/coatcheck/sqlstore"
	"github.com/go-sql-driver/mysql"
)

// Store is the SQL store of package sqlstore in MySQL's dialect: Get, Set,
// Delete, Touch, GetAndTouch (Get then Touch: no RETURNING), Iterate,
// DeleteExpired, CompareAndSet, Close. Close stops the background cleanup;
// it does not close the *sql.DB.
type Store = sqlstore.Store

// Options configures a Store; see sqlstore.Options. The zero value is the
// documented default: table "sessions", created if missing, swept every
// 5 minutes.
type Options = sqlstore.Options

var dialect = sqlstore.Dialect{
	Name:  "mysqlstore",
	Quote: '`',
	DDL: func(t, _ string) []string {
		return []string{`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	session_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	data LONGBLOB,
	expiry DATETIME(6) NULL,
	UNIQUE KEY session_id (session_id),
	KEY expiry_idx (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`}
	},
	Upsert:      `ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry)`,
	ChangedRows: true, // unless the DSN sets clientFoundRows; either works
	// As Get sees it (NULL is empty), as binary strings: byte for byte, no
	// padding, whatever the connection's collation.
	SameData:  `COALESCE(data, x'') = CAST(? AS BINARY)`,
	Expiry:    `CAST(expiry AS CHAR)`,
	Time:      sqlstore.TextTime,
	Retryable: func(err error) bool { return isErr(err, 1213) }, // ER_LOCK_DEADLOCK
	Duplicate: func(err error) bool { return isErr(err, 1062) }, // ER_DUP_ENTRY
}

func isErr(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// New returns a Store on db (opened with the "mysql" driver of
// github.com/go-sql-driver/mysql; any DSN options work, parseTime and loc
// included). Unless opts.NoCreateTable is set it creates the table if it
// is missing (see the package doc for the schema). A bad option or a failed
// CREATE is an error.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	return sqlstore.New(ctx, db, dialect, opts)
}
