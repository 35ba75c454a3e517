package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/sqlitestore"
	"github.com/coatcheck/coatcheck/storetest"
)

// The store satisfies every interface it documents.
var (
	_ coatcheck.Store      = (*sqlitestore.Store)(nil)
	_ coatcheck.Toucher    = (*sqlitestore.Store)(nil)
	_ coatcheck.GetToucher = (*sqlitestore.Store)(nil)
	_ coatcheck.Iterator   = (*sqlitestore.Store)(nil)
	_ coatcheck.Cleaner    = (*sqlitestore.Store)(nil)

	_ coatcheck.CompareAndSetter = (*sqlitestore.Store)(nil)
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

func TestConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	// Every subtest opens the file anew: separate pools on one file, as
	// several processes would share it.
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		return open(t, path, sqlitestore.Options{Table: table, CleanupInterval: -1})
	})
}

// TestFlaskLayout checks the raw row a Set writes: Flask-Session's
// SQLAlchemy columns, the key as given, the bytes as given, and the expiry
// as the text SQLAlchemy writes for a naive UTC datetime.
func TestFlaskLayout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path, sqlitestore.Options{Table: table, CleanupInterval: -1})
	db := rawDB(t, path)

	cols := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols[name] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": "INTEGER", "session_id": "VARCHAR(255)", "data": "BLOB", "expiry": "DATETIME"}
	for name, typ := range want {
		if cols[name] != typ {
			t.Errorf("column %s: type %q, want %q (all: %v)", name, cols[name], typ, cols)
		}
	}

	loc := time.FixedZone("UTC+9", 9*3600)
	expiry := time.Now().Add(time.Hour).In(loc)
	value := []byte("\x82\xaa_permanent\xc3\xa7user_id\x2a\x00\xff")
	if err := s.Set(ctx, "session:abc", value, expiry); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "session:forever", []byte("x"), time.Time{}); err != nil {
		t.Fatal(err)
	}

	var (
		id           int64
		sid, typ     string
		data         []byte
		expTxt       string
		expiryFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$`)
	)
	err = db.QueryRowContext(ctx, `SELECT id, session_id, data, typeof(expiry), CAST(expiry AS TEXT) FROM "`+table+`" WHERE session_id = 'session:abc'`).
		Scan(&id, &sid, &data, &typ, &expTxt)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "session:abc" || !bytes.Equal(data, value) || id <= 0 {
		t.Errorf("row = (%d, %q, %x), want (>0, session:abc, %x)", id, sid, data, value)
	}
	if typ != "text" || !expiryFormat.MatchString(expTxt) {
		t.Errorf("expiry is %s %q, want text like 2006-01-02 15:04:05.000000", typ, expTxt)
	}
	got, err := time.Parse("2006-01-02 15:04:05.000000", expTxt)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sub(expiry); d < -time.Second || d > time.Second {
		t.Errorf("expiry %q read as UTC is %v away from %v", expTxt, d, expiry.UTC())
	}

	var null bool
	if err := db.QueryRowContext(ctx, `SELECT expiry IS NULL FROM "`+table+`" WHERE session_id = 'session:forever'`).Scan(&null); err != nil {
		t.Fatal(err)
	}
	if !null {
		t.Error("zero expiry not stored as NULL")
	}
}

// TestFlaskWrittenRows reads rows written with plain SQL in the layout
// Flask-Session (SQLAlchemy) uses, into a table created as SQLAlchemy
// creates it, with the default table name.
func TestFlaskWrittenRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flask.db")
	db := rawDB(t, path)
	// SQLAlchemy's DDL for Flask-Session's model on SQLite.
	_, err := db.ExecContext(ctx, `CREATE TABLE sessions (
	id INTEGER NOT NULL,
	session_id VARCHAR(255),
	data BLOB,
	expiry DATETIME,
	PRIMARY KEY (id),
	UNIQUE (session_id))`)
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, path, sqlitestore.Options{CleanupInterval: -1})

	// datetime.utcnow() + lifetime, as SQLAlchemy stores it.
	naive := func(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05.000000") }
	ins := `INSERT INTO sessions (session_id, data, expiry) VALUES (?, ?, ?)`
	for _, r := range []struct {
		key string
		exp any
	}{
		{"session:live", naive(time.Hour)},
		{"session:dead", naive(-2 * time.Second)},
		{"session:soon", naive(2 * time.Second)}, // a zone error of hours shows
		{"session:null", nil},
	} {
		if _, err := db.ExecContext(ctx, ins, r.key, []byte(strings.TrimPrefix(r.key, "session:")), r.exp); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range map[string]string{"session:live": "live", "session:soon": "soon", "session:null": "null", "session:dead": ""} {
		data, found, err := s.Get(ctx, key)
		if err != nil || found != (want != "") || string(data) != want {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", key, data, found, err, want)
		}
	}
	var n int
	if err := s.Iterate(ctx, "session:", func(key string, exp time.Time) bool {
		n++
		if key == "session:live" {
			if d := time.Until(exp) - time.Hour; d < -5*time.Second || d > time.Second {
				t.Errorf("Iterate expiry of %s = %v, want about an hour from now", key, exp)
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Iterate saw %d entries, want 3", n)
	}
	if err := s.Set(ctx, "session:live", []byte("new"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if data, _, err := s.Get(ctx, "session:live"); err != nil || string(data) != "new" {
		t.Errorf("Get after Set = %q, %v", data, err)
	}
}

func TestTouchAndGetAndTouch(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "s.db"), sqlitestore.Options{CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if found, err := s.Touch(ctx, "k", exp); !found || err != nil {
			t.Fatalf("Touch = %v, %v", found, err)
		}
	}
	if found, err := s.Touch(ctx, "absent", exp); found || err != nil {
		t.Fatalf("Touch(absent) = %v, %v", found, err)
	}
	data, found, err := s.GetAndTouch(ctx, "k", time.Time{})
	if err != nil || !found || string(data) != "v" {
		t.Fatalf("GetAndTouch = %q, %v, %v", data, found, err)
	}
	var null bool
	if err := s.Iterate(ctx, "k", func(_ string, e time.Time) bool { null = e.IsZero(); return true }); err != nil || !null {
		t.Fatalf("after GetAndTouch(zero) expiry not cleared (%v)", err)
	}
	if _, found, _ := s.GetAndTouch(ctx, "absent", exp); found {
		t.Fatal("GetAndTouch(absent) found")
	}
	data, found, err = s.GetAndTouch(ctx, "k", time.Now().Add(-time.Second))
	if err != nil || !found || string(data) != "v" {
		t.Fatalf("GetAndTouch(past) = %q, %v, %v", data, found, err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Fatal("entry survived GetAndTouch with a past expiry")
	}
}

// TestKeysAreExact: SQLite's LIKE ignores ASCII case and treats _ and % as
// wildcards; Iterate must still match prefixes exactly.
func TestKeysAreExact(t *testing.T) {
	ctx := context.Background()
	s := open(t, ":memory:", sqlitestore.Options{CleanupInterval: -1})
	keys := []string{"session:Ab", "session:ab", "session:a_", "session:a%", "SESSION:a_"}
	for _, k := range keys {
		if err := s.Set(ctx, k, []byte(k), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		if data, found, err := s.Get(ctx, k); err != nil || !found || string(data) != k {
			t.Errorf("Get(%q) = %q, %v, %v", k, data, found, err)
		}
	}
	var seen []string
	if err := s.Iterate(ctx, "session:a_", func(k string, _ time.Time) bool { seen = append(seen, k); return true }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "session:a_" {
		t.Errorf(`Iterate("session:a_") saw %q`, seen)
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

// TestCompareAndSetRaw checks CompareAndSet against writes made with plain
// SQL on another connection to the file, as another process would make
// them: an update between Get and CompareAndSet wins, a write transaction
// holding the database makes CompareAndSet wait and then compare with the
// committed value, data equal to the current value still swaps, and NULL or
// TEXT data compares as Get reads it.
func TestCompareAndSetRaw(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path, sqlitestore.Options{Table: table, CleanupInterval: -1})
	db := rawDB(t, path)
	exp := time.Now().Add(time.Hour)
	want := func(key string, value []byte) {
		t.Helper()
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, value) {
			t.Errorf("Get(%q) = (%q, %v, %v), want (%q, true, nil)", key, got, found, err, value)
		}
	}
	update := `UPDATE "` + table + `" SET data = ? WHERE session_id = ?`

	// Lost race: another writer changes the row between Get and CompareAndSet.
	if err := s.Set(ctx, "k", []byte("v1"), exp); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, update, []byte("other"), "k"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "k", old, []byte("mine"), exp); ok || err != nil {
		t.Errorf("CompareAndSet after a concurrent update = (%v, %v), want (false, nil)", ok, err)
	}
	want("k", []byte("other"))

	// Another connection holds the write lock: CompareAndSet waits (busy
	// timeout) and then compares with the committed value.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, update, []byte("locked"), "k"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ok, err := s.CompareAndSet(ctx, "k", []byte("other"), []byte("mine"), exp)
		if err == nil && ok {
			err = errors.New("swapped a value that another connection changed")
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CompareAndSet returned (%v) while another connection held the write lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("CompareAndSet behind a committed update: %v", err)
	}
	want("k", []byte("locked"))

	// Data equal to the current value: matched, so swapped.
	if ok, err := s.CompareAndSet(ctx, "k", []byte("locked"), []byte("locked"), exp); !ok || err != nil {
		t.Errorf("CompareAndSet with old == data == current = (%v, %v), want (true, nil)", ok, err)
	}
	want("k", []byte("locked"))

	// NULL data reads as empty and TEXT data as its bytes; both compare so.
	if _, err := db.ExecContext(ctx, `INSERT INTO "`+table+`" (session_id, data, expiry) VALUES ('null', NULL, NULL), ('text', 'abc', NULL)`); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "null", []byte{}, []byte("filled"), time.Time{}); !ok || err != nil {
		t.Errorf("CompareAndSet(old=empty) on a NULL data row = (%v, %v), want (true, nil)", ok, err)
	}
	want("null", []byte("filled"))
	if ok, err := s.CompareAndSet(ctx, "text", []byte("ab"), []byte("x"), time.Time{}); ok || err != nil {
		t.Errorf("CompareAndSet(old=a prefix) on a TEXT data row = (%v, %v), want (false, nil)", ok, err)
	}
	if ok, err := s.CompareAndSet(ctx, "text", []byte("abc"), []byte("blob"), time.Time{}); !ok || err != nil {
		t.Errorf("CompareAndSet(old=its bytes) on a TEXT data row = (%v, %v), want (true, nil)", ok, err)
	}
	want("text", []byte("blob"))

	// nil old with a passed expiry: true only when the key is absent.
	past := time.Now().Add(-time.Minute)
	if ok, err := s.CompareAndSet(ctx, "null", nil, []byte("x"), past); ok || err != nil {
		t.Errorf("CompareAndSet(nil old, passed expiry) on a live key = (%v, %v), want (false, nil)", ok, err)
	}
	if ok, err := s.CompareAndSet(ctx, "absent", nil, []byte("x"), past); !ok || err != nil {
		t.Errorf("CompareAndSet(nil old, passed expiry) on an absent key = (%v, %v), want (true, nil)", ok, err)
	}
	// A passed expiry with a matching old deletes.
	if ok, err := s.CompareAndSet(ctx, "null", []byte("filled"), []byte("x"), past); !ok || err != nil {
		t.Errorf("CompareAndSet(matching old, passed expiry) = (%v, %v), want (true, nil)", ok, err)
	}
	if _, found, err := s.Get(ctx, "null"); found || err != nil {
		t.Errorf("Get after a deleting CompareAndSet = (found %v, %v), want absent", found, err)
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

// TestTwoClients: two Opens of one file, as two processes would share it.
func TestTwoClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	client := func(t *testing.T) coatcheck.Store {
		return open(t, path, sqlitestore.Options{CleanupInterval: -1})
	}
	storetest.RunTwoClients(t, client, client)
}

func TestCleanup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := rawDB(t, path)
	storetest.RunCleanup(t, func(t *testing.T, interval time.Duration) coatcheck.Store {
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{CleanupInterval: interval})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t *testing.T, key string) bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sessions WHERE session_id = ?`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

func TestSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store {
		return open(t, path, sqlitestore.Options{CleanupInterval: -1})
	})
}
