package mysqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/mysqlstore"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/go-sql-driver/mysql"
)

// The store satisfies every interface it documents.
var (
	_ coatcheck.Store    = (*mysqlstore.Store)(nil)
	_ coatcheck.Toucher  = (*mysqlstore.Store)(nil)
	_ coatcheck.Iterator = (*mysqlstore.Store)(nil)
	_ coatcheck.Cleaner  = (*mysqlstore.Store)(nil)

	_ coatcheck.CompareAndSetter = (*mysqlstore.Store)(nil)
)

func testPool(t *testing.T) *sql.DB {
	t.Helper()
	dsn := storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	// database/sql's pool is unbounded by default; 200 concurrent
	// goroutines would exceed the server's max_connections (151).
	db.SetMaxOpenConns(16)
	t.Cleanup(func() { db.Close() })
	return db
}

// testTable returns a fresh table name, dropped when the test ends, so
// parallel runs on one server never share a table.
func testTable(t *testing.T, pool *sql.DB) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "sessions_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := pool.ExecContext(context.Background(), "DROP TABLE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}

func newStore(t *testing.T, pool *sql.DB, opts mysqlstore.Options) *mysqlstore.Store {
	t.Helper()
	s, err := mysqlstore.New(context.Background(), pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1}) // creates the table
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, mysqlstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	})
}

// TestFlaskLayout checks the raw row a Set writes: Flask-Session's
// SQLAlchemy columns, the key as given, the bytes as given, and the expiry
// as naive UTC.
func TestFlaskLayout(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})

	cols := map[string]string{}
	rows, err := pool.QueryContext(ctx, `SELECT column_name, column_type FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name = ?`, table)
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
	want := map[string]string{"id": "bigint(20)", "session_id": "varchar(255)", "data": "longblob", "expiry": "datetime(6)"}
	for name, typ := range want {
		if got := cols[name]; got != typ && got != strings.TrimSuffix(typ, "(20)") { // MySQL 8 omits the width
			t.Errorf("column %s: type %q, want %q (all: %v)", name, cols[name], typ, cols)
		}
	}

	// A zone far from UTC makes a zone mistake visible.
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
		id     int64
		sid    string
		data   []byte
		expTxt string
	)
	err = pool.QueryRowContext(ctx, "SELECT id, session_id, data, CAST(expiry AS CHAR) FROM `"+table+"` WHERE session_id = 'session:abc'").
		Scan(&id, &sid, &data, &expTxt)
	if err != nil {
		t.Fatal(err)
	}
	if sid != "session:abc" || !bytes.Equal(data, value) || id <= 0 {
		t.Errorf("row = (%d, %q, %x), want (>0, session:abc, %x)", id, sid, data, value)
	}
	got, err := time.Parse("2006-01-02 15:04:05.999999", expTxt)
	if err != nil {
		t.Fatalf("expiry %q is not a naive timestamp: %v", expTxt, err)
	}
	if d := got.Sub(expiry); d < -time.Second || d > time.Second {
		t.Errorf("expiry %q read as UTC is %v away from %v", expTxt, d, expiry.UTC())
	}

	var null bool
	if err := pool.QueryRowContext(ctx, "SELECT expiry IS NULL FROM `"+table+"` WHERE session_id = 'session:forever'").Scan(&null); err != nil {
		t.Fatal(err)
	}
	if !null {
		t.Error("zero expiry not stored as NULL")
	}
}

// TestFlaskWrittenRows reads rows written with plain SQL in the layout
// Flask-Session (SQLAlchemy) uses, into a table created as SQLAlchemy
// creates it.
func TestFlaskWrittenRows(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	// SQLAlchemy's DDL for Flask-Session's model on MySQL: DATETIME without
	// fractional seconds, BLOB, and the server's default collation.
	_, err := pool.ExecContext(ctx, "CREATE TABLE `"+table+"`"+` (
	id INTEGER NOT NULL AUTO_INCREMENT,
	session_id VARCHAR(255),
	data BLOB,
	expiry DATETIME,
	PRIMARY KEY (id),
	UNIQUE (session_id))`)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})

	// datetime.utcnow() + lifetime, as SQLAlchemy sends it: naive text.
	naive := func(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05") }
	ins := "INSERT INTO `" + table + "` (session_id, data, expiry) VALUES (?, ?, ?)"
	if _, err := pool.ExecContext(ctx, ins, "session:live", []byte("live"), naive(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, ins, "session:dead", []byte("dead"), naive(-2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A row that expires in 2 s: a zone error of whole hours either way
	// would make it read as expired or as live for hours.
	if _, err := pool.ExecContext(ctx, ins, "session:soon", []byte("soon"), naive(2*time.Second)); err != nil {
		t.Fatal(err)
	}

	for key, want := range map[string]string{"session:live": "live", "session:soon": "soon", "session:dead": ""} {
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
	if n != 2 {
		t.Errorf("Iterate saw %d entries, want 2", n)
	}
	// The existing table works for writes too (no id sequence surprises).
	if err := s.Set(ctx, "session:live", []byte("new"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if data, _, err := s.Get(ctx, "session:live"); err != nil || string(data) != "new" {
		t.Errorf("Get after Set = %q, %v", data, err)
	}
}

func TestTouch(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s := newStore(t, pool, mysqlstore.Options{Table: testTable(t, pool), CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the same expiry twice still reports found
		if found, err := s.Touch(ctx, "k", exp); !found || err != nil {
			t.Fatalf("Touch = %v, %v", found, err)
		}
	}
	if found, err := s.Touch(ctx, "absent", exp); found || err != nil {
		t.Fatalf("Touch(absent) = %v, %v", found, err)
	}
	// Clearing the expiry, twice (the second UPDATE changes nothing).
	for i := 0; i < 2; i++ {
		if found, err := s.Touch(ctx, "k", time.Time{}); !found || err != nil {
			t.Fatalf("Touch(zero) = %v, %v", found, err)
		}
	}
	var null bool
	if err := s.Iterate(ctx, "k", func(_ string, e time.Time) bool { null = e.IsZero(); return true }); err != nil || !null {
		t.Fatalf("after Touch(zero) expiry not cleared (%v)", err)
	}
	// A past expiry removes the entry.
	if found, err := s.Touch(ctx, "k", time.Now().Add(-time.Second)); !found || err != nil {
		t.Fatalf("Touch(past) = %v, %v", found, err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Fatal("entry survived Touch with a past expiry")
	}
	if found, err := s.Touch(ctx, "k", exp); found || err != nil {
		t.Fatalf("Touch(deleted) = %v, %v", found, err)
	}
}

func TestBadTable(t *testing.T) {
	for _, name := range []string{"1x", "a-b", `x"; DROP TABLE y; --`, "a.b", strings.Repeat("x", 49), "sp ace"} {
		// The table name is checked before the pool is used.
		if _, err := mysqlstore.New(context.Background(), new(sql.DB), mysqlstore.Options{Table: name}); err == nil {
			t.Errorf("table %q accepted", name)
		}
	}
	if _, err := mysqlstore.New(context.Background(), nil, mysqlstore.Options{}); err == nil {
		t.Error("nil pool accepted")
	}
}

// TestKeysAreExact: keys differing only in case or in a LIKE wildcard are
// different entries (session_id uses a binary collation).
func TestKeysAreExact(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s := newStore(t, pool, mysqlstore.Options{Table: testTable(t, pool), CleanupInterval: -1})
	keys := []string{"session:Ab", "session:ab", "session:a_", "session:a%", "sessionXa!"}
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

// TestTimeZones: the DSN's loc and the session time_zone do not move what
// is stored; the expiry column holds naive UTC either way.
func TestTimeZones(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	dsn := storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	tokyo, err := sql.Open("mysql", dsn+sep+"loc=Asia%2FTokyo&time_zone=%27%2B09%3A00%27")
	if err != nil {
		t.Fatal(err)
	}
	defer tokyo.Close()
	s := newStore(t, tokyo, mysqlstore.Options{Table: table, CleanupInterval: -1})
	expiry := time.Now().Add(3 * time.Second)
	if err := s.Set(ctx, "k", []byte("v"), expiry); err != nil {
		t.Fatal(err)
	}
	var txt string
	if err := pool.QueryRowContext(ctx, "SELECT CAST(expiry AS CHAR) FROM `"+table+"`").Scan(&txt); err != nil {
		t.Fatal(err)
	}
	got, err := time.Parse("2006-01-02 15:04:05.999999", txt)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sub(expiry); d < -time.Second || d > time.Second {
		t.Errorf("stored expiry %q is %v away from %v", txt, d, expiry.UTC())
	}
	if _, found, err := s.Get(ctx, "k"); !found || err != nil {
		t.Errorf("Get = %v, %v", found, err)
	}
	var exp time.Time
	if err := s.Iterate(ctx, "", func(_ string, e time.Time) bool { exp = e; return true }); err != nil {
		t.Fatal(err)
	}
	if d := exp.Sub(expiry); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("Iterate expiry %v, want %v", exp, expiry)
	}
}

// TestConformanceClientFoundRows runs the conformance suite on a DSN with
// clientFoundRows=true, under which affected rows count matched rows: the
// store must not depend on either meaning.
func TestConformanceClientFoundRows(t *testing.T) {
	dsn := storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	pool, err := sql.Open("mysql", dsn+sep+"clientFoundRows=true")
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(16)
	t.Cleanup(func() { pool.Close() })
	table := testTable(t, pool)
	newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, mysqlstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	})
}

// TestCompareAndSetRaw checks CompareAndSet against writes made with plain
// SQL on other connections: an update between Get and CompareAndSet wins,
// a transaction holding the row makes CompareAndSet wait and then compare
// with the committed value, old == data == the current value (an UPDATE
// that changes no row) still swaps, bytes compare exactly, and NULL data is
// the empty value.
func TestCompareAndSetRaw(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	want := func(key string, value []byte) {
		t.Helper()
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, value) {
			t.Errorf("Get(%q) = (%q, %v, %v), want (%q, true, nil)", key, got, found, err, value)
		}
	}
	swap := func(key string, old, data []byte, expiry time.Time, want bool) {
		t.Helper()
		if ok, err := s.CompareAndSet(ctx, key, old, data, expiry); ok != want || err != nil {
			t.Errorf("CompareAndSet(%q, old=%q, data=%q) = (%v, %v), want (%v, nil)", key, old, data, ok, err, want)
		}
	}
	update := "UPDATE `" + table + "` SET data = ? WHERE session_id = ?"

	// Lost race: another writer changes the row between Get and CompareAndSet.
	if err := s.Set(ctx, "k", []byte("v1"), exp); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, update, []byte("other"), "k"); err != nil {
		t.Fatal(err)
	}
	swap("k", old, []byte("mine"), exp, false)
	swap("k", old, old, exp, false) // the transaction path loses too
	want("k", []byte("other"))

	// Old equal to data and to the current value, same expiry: the UPDATE
	// would change nothing (0 affected rows without clientFoundRows), yet
	// the value matched, so it swapped.
	swap("k", []byte("other"), []byte("other"), exp, true)
	swap("k", []byte("other"), []byte("other"), exp, true)
	swap("k", []byte("other"), []byte("other"), time.Time{}, true)
	want("k", []byte("other"))

	// An open transaction holds the row: CompareAndSet waits for it and
	// then compares with the committed value, on both paths.
	for _, data := range [][]byte{[]byte("mine"), []byte("other")} {
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, update, []byte("locked"), "k"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			ok, err := s.CompareAndSet(ctx, "k", []byte("other"), data, exp)
			if err == nil && ok {
				err = errors.New("swapped a value that another transaction changed")
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("CompareAndSet returned (%v) while another transaction held the row", err)
		case <-time.After(200 * time.Millisecond):
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("CompareAndSet(data=%q) behind a committed update: %v", data, err)
		}
		want("k", []byte("locked"))
		if _, err := pool.ExecContext(ctx, update, []byte("other"), "k"); err != nil {
			t.Fatal(err)
		}
	}

	// Bytes compare exactly: no trailing-space padding, no charset.
	bin := []byte("a \x00\xff\xc3")
	if err := s.Set(ctx, "bin", bin, exp); err != nil {
		t.Fatal(err)
	}
	swap("bin", []byte("a"), []byte("x"), exp, false)
	swap("bin", []byte("a "), []byte("x"), exp, false)
	swap("bin", []byte("A \x00\xff\xc3"), []byte("x"), exp, false)
	swap("bin", append(bin, ' '), []byte("x"), exp, false)
	want("bin", bin)
	swap("bin", bin, []byte("b "), exp, true)
	swap("bin", []byte("b"), []byte("x"), exp, false)
	want("bin", []byte("b "))

	// NULL data reads as empty, so it compares as the empty value.
	if _, err := pool.ExecContext(ctx, "INSERT INTO `"+table+"` (session_id, data, expiry) VALUES ('null', NULL, NULL), ('null2', NULL, NULL)"); err != nil {
		t.Fatal(err)
	}
	swap("null", []byte{}, []byte("filled"), time.Time{}, true)
	want("null", []byte("filled"))
	swap("null2", []byte{}, []byte{}, time.Time{}, true)
	want("null2", []byte{})

	// nil old with a passed expiry: true only when the key is absent.
	past := time.Now().Add(-time.Minute)
	swap("null", nil, []byte("x"), past, false)
	swap("absent", nil, []byte("x"), past, true)
	// A passed expiry with a matching old deletes, on both paths.
	swap("null", []byte("filled"), []byte("x"), past, true)
	swap("null2", []byte{}, []byte{}, past, true)
	for _, k := range []string{"null", "null2", "absent"} {
		if _, found, err := s.Get(ctx, k); found || err != nil {
			t.Errorf("Get(%q) = (found %v, %v), want absent", k, found, err)
		}
	}
}

// TestCompareAndSetInsertRace starts many "insert if absent" calls on one
// key at once: exactly one wins, whatever the isolation level the server
// defaults to (the transactions run at READ COMMITTED, so the losers get a
// duplicate key, not a deadlock, and retry against the winner's row).
func TestCompareAndSetInsertRace(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s := newStore(t, pool, mysqlstore.Options{Table: testTable(t, pool), CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	for round := 0; round < 10; round++ {
		key := "race:" + string(rune('a'+round))
		if round%2 == 1 { // over an expired row
			if err := s.Set(ctx, key, []byte("stale"), time.Now().Add(50*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(60 * time.Millisecond)
		}
		const n = 12
		var (
			wg     sync.WaitGroup
			won    atomic.Int32
			winner atomic.Value
			start  = make(chan struct{})
			errs   = make(chan error, n)
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := []byte{byte('A' + i)}
				<-start
				ok, err := s.CompareAndSet(ctx, key, nil, v, exp)
				if err != nil {
					errs <- err
				}
				if ok {
					won.Add(1)
					winner.Store(v)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if w := won.Load(); w != 1 {
			t.Fatalf("round %d: %d of %d concurrent inserts won, want exactly 1", round, w, n)
		}
		want, _ := winner.Load().([]byte)
		if got, found, err := s.Get(ctx, key); err != nil || !found || !bytes.Equal(got, want) {
			t.Errorf("round %d: Get = (%q, %v, %v), want the winner's %q", round, got, found, err, want)
		}
	}
}

// Concurrent deletes and upserts on neighbouring keys make InnoDB pick
// deadlock victims; the store must retry them, never surface error 1213.
func TestNoDeadlockErrors(t *testing.T) {
	dsn := storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(16)
	table := fmt.Sprintf("sessions_deadlock_%d", time.Now().UnixNano()%1e9)
	s, err := mysqlstore.New(context.Background(), db, mysqlstore.Options{Table: table, CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close(); db.Exec("DROP TABLE " + table) }()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				k := fmt.Sprintf("k%03d", (w*7+i)%40)
				var err error
				if i%2 == 0 {
					err = s.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour))
				} else {
					err = s.Delete(ctx, k)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// dsnWith returns the test DSN with its address replaced by addr (when not
// empty) and extra parameters added.
func dsnWith(t *testing.T, addr string, params map[string]string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		cfg.Net, cfg.Addr = "tcp", addr
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	for k, v := range params {
		cfg.Params[k] = v
	}
	return cfg.FormatDSN()
}

// TestFaults: a server that hangs (blackhole) or refuses connections makes
// every call fail within its context's deadline, deadlock retries
// included; the store recovers.
func TestFaults(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	cfg, err := mysql.ParseDSN(storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunFaults(t, cfg.Addr, func(t *testing.T, addr string) coatcheck.Store {
		db, err := sql.Open("mysql", dsnWith(t, addr, nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return newStore(t, db, mysqlstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	})
}

func TestTwoClients(t *testing.T) {
	table := testTable(t, testPool(t))
	newStore(t, testPool(t), mysqlstore.Options{Table: table, CleanupInterval: -1})
	client := func(t *testing.T) coatcheck.Store {
		return newStore(t, testPool(t), mysqlstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	}
	storetest.RunTwoClients(t, client, client)
}

func TestCleanup(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	storetest.RunCleanup(t, func(t *testing.T, interval time.Duration) coatcheck.Store {
		return newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: interval})
	}, func(t *testing.T, key string) bool {
		var n int
		if err := pool.QueryRowContext(context.Background(), "SELECT count(*) FROM `"+table+"` WHERE session_id = ?", key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

func TestSessions(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	})
}
