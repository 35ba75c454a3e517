package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/pgstore"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The store satisfies every interface it documents.
var (
	_ coatcheck.Store      = (*pgstore.Store)(nil)
	_ coatcheck.Toucher    = (*pgstore.Store)(nil)
	_ coatcheck.GetToucher = (*pgstore.Store)(nil)
	_ coatcheck.Iterator   = (*pgstore.Store)(nil)
	_ coatcheck.Cleaner    = (*pgstore.Store)(nil)

	_ coatcheck.CompareAndSetter = (*pgstore.Store)(nil)
)

func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := storetest.RequireEnv(t, "COATCHECK_POSTGRES_URL")
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// testTable returns a fresh table name, dropped when the test ends, so
// parallel runs on one server never share a table.
func testTable(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "sessions_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS "`+name+`"`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}

func newStore(t *testing.T, pool *pgxpool.Pool, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1}) // creates the table
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, pgstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	})
}

// TestFlaskLayout checks the raw row a Set writes: Flask-Session's
// SQLAlchemy columns, the key as given, the bytes as given, and the expiry
// as naive UTC.
func TestFlaskLayout(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	s := newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})

	cols := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1`, table)
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
	want := map[string]string{"id": "bigint", "session_id": "character varying", "data": "bytea", "expiry": "timestamp without time zone"}
	for name, typ := range want {
		if cols[name] != typ {
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
	err = pool.QueryRow(ctx, `SELECT id, session_id, data, expiry::text FROM "`+table+`" WHERE session_id = 'session:abc'`).
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
	if err := pool.QueryRow(ctx, `SELECT expiry IS NULL FROM "`+table+`" WHERE session_id = 'session:forever'`).Scan(&null); err != nil {
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
	// SQLAlchemy's DDL for Flask-Session's model on PostgreSQL.
	_, err := pool.Exec(ctx, `CREATE TABLE "`+table+`" (
	id SERIAL NOT NULL,
	session_id VARCHAR(255),
	data BYTEA,
	expiry TIMESTAMP WITHOUT TIME ZONE,
	PRIMARY KEY (id),
	UNIQUE (session_id))`)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})

	// datetime.utcnow() + lifetime, as SQLAlchemy sends it: naive text.
	naive := func(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05.000000") }
	ins := `INSERT INTO "` + table + `" (session_id, data, expiry) VALUES ($1, $2, $3::timestamp)`
	if _, err := pool.Exec(ctx, ins, "session:live", []byte("live"), naive(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, ins, "session:dead", []byte("dead"), naive(-2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A row that expires in 2 s: a zone error of whole hours either way
	// would make it read as expired or as live for hours.
	if _, err := pool.Exec(ctx, ins, "session:soon", []byte("soon"), naive(2*time.Second)); err != nil {
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

func TestTouchAndGetAndTouch(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s := newStore(t, pool, pgstore.Options{Table: testTable(t, pool), CleanupInterval: -1})
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
	// A past expiry reads the value once and removes it, like GETEX.
	data, found, err = s.GetAndTouch(ctx, "k", time.Now().Add(-time.Second))
	if err != nil || !found || string(data) != "v" {
		t.Fatalf("GetAndTouch(past) = %q, %v, %v", data, found, err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Fatal("entry survived GetAndTouch with a past expiry")
	}
}

func TestBadTable(t *testing.T) {
	for _, name := range []string{"1x", "a-b", `x"; DROP TABLE y; --`, "a.b", strings.Repeat("x", 49), "sp ace"} {
		// The table name is checked before the pool is used.
		if _, err := pgstore.New(context.Background(), new(pgxpool.Pool), pgstore.Options{Table: name}); err == nil {
			t.Errorf("table %q accepted", name)
		}
	}
	if _, err := pgstore.New(context.Background(), nil, pgstore.Options{}); err == nil {
		t.Error("nil pool accepted")
	}
}

// TestCompareAndSetRaw checks CompareAndSet against writes made with plain
// SQL on other connections: a concurrent update between Get and
// CompareAndSet wins, a transaction holding the row makes CompareAndSet
// wait and then re-check, data equal to the current value still swaps, and
// a NULL data (as Flask may write it) is the empty value.
func TestCompareAndSetRaw(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := testTable(t, pool)
	s := newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	want := func(key string, value []byte) {
		t.Helper()
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, value) {
			t.Errorf("Get(%q) = (%q, %v, %v), want (%q, true, nil)", key, got, found, err, value)
		}
	}
	update := `UPDATE "` + table + `" SET data = $2 WHERE session_id = $1`

	// Lost race: another writer changes the row between Get and CompareAndSet.
	if err := s.Set(ctx, "k", []byte("v1"), exp); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, update, "k", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "k", old, []byte("mine"), exp); ok || err != nil {
		t.Errorf("CompareAndSet after a concurrent update = (%v, %v), want (false, nil)", ok, err)
	}
	want("k", []byte("other"))

	// An open transaction holds the row: CompareAndSet waits for it and
	// then sees the committed value.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, update, "k", []byte("locked")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ok, err := s.CompareAndSet(ctx, "k", []byte("other"), []byte("mine"), exp)
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
	if err := tx.Commit(ctx); err != nil {
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

	// NULL data reads as empty, so it compares as the empty value.
	if _, err := pool.Exec(ctx, `INSERT INTO "`+table+`" (session_id, data, expiry) VALUES ('null', NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "null", []byte{}, []byte("filled"), time.Time{}); !ok || err != nil {
		t.Errorf("CompareAndSet(old=empty) on a NULL data row = (%v, %v), want (true, nil)", ok, err)
	}
	want("null", []byte("filled"))

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

// TestFaults: a server that hangs (blackhole) or refuses connections makes
// every call fail within its context's deadline; the store recovers.
func TestFaults(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})
	storetest.RunFaults(t, pool.Config().ConnConfig.Host+":"+fmt.Sprint(pool.Config().ConnConfig.Port),
		func(t *testing.T, addr string) coatcheck.Store {
			cfg := pool.Config().Copy()
			host, port, _ := net.SplitHostPort(addr)
			cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(must(strconv.Atoi(port)))
			cfg.ConnConfig.ConnectTimeout = 2 * time.Second
			p, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			return newStore(t, p, pgstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
		})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestTwoClients(t *testing.T) {
	table := testTable(t, testPool(t))
	newStore(t, testPool(t), pgstore.Options{Table: table, CleanupInterval: -1})
	client := func(t *testing.T) coatcheck.Store {
		return newStore(t, testPool(t), pgstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	}
	storetest.RunTwoClients(t, client, client)
}

func TestCleanup(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	storetest.RunCleanup(t, func(t *testing.T, interval time.Duration) coatcheck.Store {
		return newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: interval})
	}, func(t *testing.T, key string) bool {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM "`+table+`" WHERE session_id = $1`, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

func TestSessions(t *testing.T) {
	pool := testPool(t)
	table := testTable(t, pool)
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})
	})
}
