package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/coatcheck/coatcheck/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver used by Open
)

// Store is the SQL store of package sqlstore in SQLite's dialect: Get,
// Set, Delete, Touch, GetAndTouch, Iterate, DeleteExpired, CompareAndSet,
// Close. Close stops the background cleanup and, for a store made by Open,
// closes the database.
type Store = sqlstore.Store

// Options configures a Store; see sqlstore.Options. The zero value is the
// documented default: table "sessions", created if missing, swept every
// 5 minutes.
type Options = sqlstore.Options

// DefaultBusyTimeout is the busy_timeout Open sets on its connection.
const DefaultBusyTimeout = 10 * time.Second

var dialect = sqlstore.Dialect{
	Name:  "sqlitestore",
	Quote: '"',
	DDL: func(t, table string) []string {
		return []string{`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id INTEGER NOT NULL PRIMARY KEY,
	session_id VARCHAR(255) NOT NULL UNIQUE,
	data BLOB,
	expiry DATETIME
)`, `CREATE INDEX IF NOT EXISTS "` + table + `_expiry_idx" ON ` + t + ` (expiry)`}
	},
	Upsert:            `ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
	ConditionalUpsert: true,
	Returning:         true,
	// NULL is the empty value, and a TEXT value (another driver may write
	// one) compares by its bytes, since TEXT never equals BLOB.
	SameData: `CAST(COALESCE(data, X'') AS BLOB) = CAST(COALESCE(?, X'') AS BLOB)`,
	// Text, so that no driver parses the DATETIME column in a zone of its
	// choosing; the fixed-width text SQLAlchemy writes compares as time.
	Expiry: `CAST(expiry AS TEXT)`,
	Time:   sqlstore.TextTime,
}

// Open opens (creating if needed) the SQLite database file at path with
// modernc.org/sqlite and returns a Store on it that Close will close. The
// database is set up for an embedded session store:
//
//   - journal_mode=WAL, so readers in other processes (a Flask app sharing
//     the file) do not block the writer, and synchronous=NORMAL, which is
//     durable across application crashes in WAL mode;
//   - busy_timeout of DefaultBusyTimeout, so a writer in another process
//     makes this one wait instead of failing with SQLITE_BUSY;
//   - a pool of one connection: SQLite allows one writer at a time anyway,
//     and one connection means no goroutine of this process ever waits on a
//     lock held by another (a busy timeout can still expire under
//     contention; a single connection cannot). Statements are short, so the
//     queue is short; Iterate holds no connection while its callback runs.
//
// path must not contain '?'; ":memory:" gives a private in-memory database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlitestore: invalid database path %q", path)
	}
	dsn := path + "?_pragma=busy_timeout(" + fmt.Sprint(DefaultBusyTimeout.Milliseconds()) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	return sqlstore.Open(ctx, db, dialect, opts)
}

// New returns a Store on db, a SQLite database opened by the caller with any
// driver (modernc.org/sqlite's "sqlite", mattn/go-sqlite3…). Set a
// busy_timeout on every connection (for modernc.org/sqlite:
// "?_pragma=busy_timeout(10000)") or limit the pool to one connection, or
// concurrent writers fail with SQLITE_BUSY; Open does both. Unless
// opts.NoCreateTable is set, New creates the table and its expiry index if
// they are missing (see the package doc for the schema). Close leaves db
// open.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	return sqlstore.New(ctx, db, dialect, opts)
}
