package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/sqlitestore"
	"github.com/coatcheck/coatcheck/sqlstore/sqltest"
)

const table = "sessions_test"

func open(t *testing.T, path string, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// rawDB opens the file a second time for plain SQL, as another process (a
// Flask app) would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestShared runs the checks every SQL store shares (package sqltest);
// every store opens the file anew, as several processes would share it.
func TestShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	r := sqltest.Raw{DB: rawDB(t, path), Quote: '"', Lock: func(ctx context.Context, c *sql.Conn) error {
		_, err := c.ExecContext(ctx, `BEGIN IMMEDIATE`)
		return err
	}}
	sqltest.Run(t, r, func(t *testing.T, opts sqlitestore.Options) *sqlitestore.Store { return open(t, path, opts) })
}

// TestFlaskLayout checks the raw row a Set writes: Flask-Session's
// SQLAlchemy columns, the key as given, the bytes as given, and the expiry
// as the text SQLAlchemy writes for a naive UTC datetime.
func TestFlaskLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path, sqlitestore.Options{Table: table, CleanupInterval: -1})
	db := rawDB(t, path)

	sqltest.FlaskLayout(t, s, sqltest.Raw{DB: db, Table: table, Quote: '"'}, `SELECT name, type FROM pragma_table_info(?)`, map[string][]string{
		"id": {"INTEGER"}, "session_id": {"VARCHAR(255)"}, "data": {"BLOB"}, "expiry": {"DATETIME"},
	}, `CAST(expiry AS TEXT)`)
	var typ, txt string
	if err := db.QueryRowContext(ctx, `SELECT typeof(expiry), CAST(expiry AS TEXT) FROM "`+table+`" WHERE session_id = 'session:abc'`).Scan(&typ, &txt); err != nil {
		t.Fatal(err)
	}
	if typ != "text" || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$`).MatchString(txt) {
		t.Errorf("expiry is %s %q, want text like 2006-01-02 15:04:05.000000", typ, txt)
	}
}

func TestBadOptions(t *testing.T) {
	for _, name := range []string{"1x", "a-b", `x"; DROP TABLE y; --`, "a.b", strings.Repeat("x", 49), "sp ace"} {
		// The table name is checked before the database is used.
		if _, err := sqlitestore.New(context.Background(), new(sql.DB), sqlitestore.Options{Table: name}); err == nil {
			t.Errorf("table %q accepted", name)
		}
	}
	if _, err := sqlitestore.New(context.Background(), nil, sqlitestore.Options{}); err == nil {
		t.Error("nil db accepted")
	}
	for _, path := range []string{"", "a.db?mode=ro"} {
		if _, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{}); err == nil {
			t.Errorf("path %q accepted", path)
		}
	}
}

// TestOutage: a database that goes away under the store is an error,
// never "not found" (SQLite has no server for storetest.RunFaults).
func TestOutage(t *testing.T) {
	ctx := context.Background()
	if _, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "missing", "dir", "s.db"), sqlitestore.Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	db := rawDB(t, filepath.Join(t.TempDir(), "s.db"))
	s, err := sqlitestore.New(ctx, db, sqlitestore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db.Close()
	if _, found, err := s.Get(ctx, "k"); err == nil || found {
		t.Errorf("Get = %v, %v; want an error", found, err)
	}
	if _, err := s.DeleteExpired(ctx); err == nil || !strings.HasPrefix(err.Error(), "sqlitestore: ") {
		t.Errorf("DeleteExpired: %v, want a sqlitestore: error", err)
	}
}

// TestFlaskWrittenRows reads rows written with plain SQL into a table
// created as SQLAlchemy creates it, with the default table name.
func TestFlaskWrittenRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flask.db")
	db := rawDB(t, path)
	if _, err := db.Exec(`CREATE TABLE sessions (id INTEGER NOT NULL, session_id VARCHAR(255),
	data BLOB, expiry DATETIME, PRIMARY KEY (id), UNIQUE (session_id))`); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, sqlitestore.Options{CleanupInterval: -1})
	sqltest.FlaskRows(t, s, sqltest.Raw{DB: db, Table: "sessions", Quote: '"'}, `INSERT INTO {t} (session_id, data, expiry) VALUES (?, ?, ?)`, sqltest.Naive, true)
}

// TestCompareAndSetText: TEXT data (another driver may write it)
// compares by its bytes.
func TestCompareAndSetText(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path, sqlitestore.Options{Table: table, CleanupInterval: -1})
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, `INSERT INTO "`+table+`" (session_id, data, expiry) VALUES ('text', 'abc', NULL)`); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "text", []byte("ab"), []byte("x"), time.Time{}); ok || err != nil {
		t.Errorf("CompareAndSet(old=a prefix) on a TEXT data row = (%v, %v), want (false, nil)", ok, err)
	}
	if ok, err := s.CompareAndSet(ctx, "text", []byte("abc"), []byte("blob"), time.Time{}); !ok || err != nil {
		t.Errorf("CompareAndSet(old=its bytes) on a TEXT data row = (%v, %v), want (true, nil)", ok, err)
	}
}

// TestRefreshInterval counts the statements GetAndTouch sends with and
// without Options.RefreshInterval (sqltest.Refresh), each store on a
// counting connector of its own around modernc.org/sqlite's, on one file.
func TestRefreshInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	drv := rawDB(t, path).Driver()
	sqltest.Refresh(t, sqltest.Raw{DB: rawDB(t, path), Quote: '"'}, func(t *testing.T, opts sqlitestore.Options) (*sqlitestore.Store, *sqltest.Counter) {
		conn, err := sqltest.DSNConnector(drv, path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		db, n := sqltest.Counting(conn)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		s, err := sqlitestore.New(context.Background(), db, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, n
	})
}
