// Package sqltest holds the tests that every SQL store module (pgstore,
// mysqlstore, sqlitestore) runs against its real server: Flask-Session's
// rows read and written byte for byte, compare-and-set against plain SQL
// from another connection, and Touch/GetAndTouch details. The modules
// supply the server-specific SQL; everything else is here once.
package sqltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/sqlstore"
	"github.com/coatcheck/coatcheck/storetest"
)

// The store satisfies every interface the store modules document.
var (
	_ coatcheck.Store            = (*sqlstore.Store)(nil)
	_ coatcheck.Toucher          = (*sqlstore.Store)(nil)
	_ coatcheck.GetToucher       = (*sqlstore.Store)(nil)
	_ coatcheck.Iterator         = (*sqlstore.Store)(nil)
	_ coatcheck.Cleaner          = (*sqlstore.Store)(nil)
	_ coatcheck.CompareAndSetter = (*sqlstore.Store)(nil)
)

// NewTable returns a fresh table name for r.DB, dropped when the test
// ends, so parallel runs on one server never share a table.
func NewTable(t *testing.T, r Raw) Raw {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	r.Table = "sessions_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := r.DB.Exec(r.q(`DROP TABLE IF EXISTS {t}`)); err != nil {
			t.Errorf("drop %s: %v", r.Table, err)
		}
	})
	return r
}

// Run runs, each on a fresh table of r.DB, the storetest conformance
// suite, RunTwoClients, RunCleanup, RunSessions, RunUserIndex, Touch and
// CompareAndSet, and then the store-contract suites again (Conformance,
// TwoClients, Sessions, UserIndex, Touch, CompareAndSet) on stores with
// Options.RefreshInterval one minute.
// newStore returns a store with the given options on its own connections
// (two calls are two clients); Close is registered by newStore.
func Run(t *testing.T, r Raw, newStore func(t *testing.T, opts sqlstore.Options) *sqlstore.Store) {
	run(t, r, newStore, 0)
	t.Run("Refresh1m", func(t *testing.T) { run(t, r, newStore, time.Minute) })
}

func run(t *testing.T, r Raw, newStore func(t *testing.T, opts sqlstore.Options) *sqlstore.Store, refresh time.Duration) {
	store := func(r Raw, interval time.Duration) func(t *testing.T) coatcheck.Store {
		return func(t *testing.T) coatcheck.Store {
			return newStore(t, sqlstore.Options{Table: r.Table, NoCreateTable: true, CleanupInterval: interval, RefreshInterval: refresh})
		}
	}
	fresh := func(t *testing.T) Raw {
		r := NewTable(t, r)
		newStore(t, sqlstore.Options{Table: r.Table, CleanupInterval: -1}) // creates it
		return r
	}
	t.Run("Conformance", func(t *testing.T) { storetest.Run(t, store(fresh(t), -1)) })
	t.Run("TwoClients", func(t *testing.T) { r := fresh(t); storetest.RunTwoClients(t, store(r, -1), store(r, -1)) })
	t.Run("Sessions", func(t *testing.T) { storetest.RunSessions(t, store(fresh(t), -1)) })
	t.Run("UserIndex", func(t *testing.T) { storetest.RunUserIndex(t, store(fresh(t), -1)) })
	t.Run("Touch", func(t *testing.T) { Touch(t, store(fresh(t), -1)(t).(*sqlstore.Store)) })
	t.Run("CompareAndSet", func(t *testing.T) {
		r := fresh(t)
		CompareAndSet(t, store(r, -1)(t).(*sqlstore.Store), r)
	})
	if refresh != 0 {
		return
	}
	t.Run("KeysAreExact", func(t *testing.T) { KeysAreExact(t, store(fresh(t), -1)(t)) })
	t.Run("Cleanup", func(t *testing.T) {
		r := fresh(t)
		storetest.RunCleanup(t, func(t *testing.T, interval time.Duration) coatcheck.Store {
			return store(r, interval)(t)
		}, func(t *testing.T, key string) bool {
			var n int
			if err := r.DB.QueryRow(r.q(`SELECT count(*) FROM {t} WHERE session_id = ?`), key).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		})
	})
}

// Raw is a test's direct access to a store's table, on other connections
// than the store's, as Flask or another process would reach it.
type Raw struct {
	DB    *sql.DB
	Table string // bare name
	Quote byte   // identifier quote character; zero: '"'
	// Bind rewrites ? placeholders for the server; nil keeps them. {t} in
	// a statement stands for the quoted table.
	Bind func(q string) string
	// Lock starts a transaction on conn that holds the write lock of the
	// row or database the next statement touches; nil: BEGIN.
	Lock func(ctx context.Context, conn *sql.Conn) error
}

func (r Raw) q(q string) string {
	quote := string(r.Quote)
	if r.Quote == 0 {
		quote = `"`
	}
	q = strings.ReplaceAll(q, "{t}", quote+r.Table+quote)
	if r.Bind != nil {
		return r.Bind(q)
	}
	return q
}

// Naive formats now+d as SQLAlchemy writes datetime.utcnow() + lifetime.
func Naive(d time.Duration) string {
	return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05.000000")
}

// FlaskLayout checks the columns (columns: a query of (name, type) rows
// for the table name as its parameter; want: the accepted types of each)
// and the row a Set writes: the key as given, the bytes as given, the
// expiry as naive UTC (read back as text by expiryText, an SQL
// expression), a zero expiry as NULL.
func FlaskLayout(t *testing.T, s *sqlstore.Store, r Raw, columns string, want map[string][]string, expiryText string) {
	ctx := context.Background()
	rows, err := r.DB.QueryContext(ctx, r.q(columns), r.Table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols[name] = typ
	}
	for name, types := range want {
		if !slices.Contains(types, cols[name]) {
			t.Errorf("column %s: type %q, want one of %q (all: %v)", name, cols[name], types, cols)
		}
	}
	// A zone far from UTC makes a zone mistake visible.
	expiry := time.Now().Add(time.Hour).In(time.FixedZone("UTC+9", 9*3600))
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
	if err := r.DB.QueryRowContext(ctx, r.q(`SELECT id, session_id, data, `+expiryText+` FROM {t} WHERE session_id = 'session:abc'`)).
		Scan(&id, &sid, &data, &expTxt); err != nil {
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
	if err := r.DB.QueryRowContext(ctx, r.q(`SELECT expiry IS NULL FROM {t} WHERE session_id = 'session:forever'`)).Scan(&null); err != nil {
		t.Fatal(err)
	}
	if !null {
		t.Error("zero expiry not stored as NULL")
	}
}

// FlaskRows reads rows written with plain SQL in Flask-Session's layout
// (the caller created the table {t} as SQLAlchemy does; insert takes key, data
// and expiry text): live, expired, expiring in 2 s (a zone error of whole
// hours shows) and, with withNull, a NULL expiry.
func FlaskRows(t *testing.T, s *sqlstore.Store, r Raw, insert string, naive func(time.Duration) string, withNull bool) {
	ctx := context.Background()
	rows := map[string]any{"session:live": naive(time.Hour), "session:dead": naive(-2 * time.Second), "session:soon": naive(2 * time.Second)}
	want := map[string]string{"session:live": "live", "session:soon": "soon", "session:dead": ""}
	if withNull {
		rows["session:null"], want["session:null"] = nil, "null"
	}
	for key, exp := range rows {
		if _, err := r.DB.ExecContext(ctx, r.q(insert), key, []byte(strings.TrimPrefix(key, "session:")), exp); err != nil {
			t.Fatal(err)
		}
	}
	for key, w := range want {
		data, found, err := s.Get(ctx, key)
		if err != nil || found != (w != "") || string(data) != w {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", key, data, found, err, w)
		}
	}
	var n int
	if err := s.Iterate(ctx, "session:", func(key string, exp time.Time) bool {
		n++
		if d := time.Until(exp) - time.Hour; key == "session:live" && (d < -5*time.Second || d > time.Second) {
			t.Errorf("Iterate expiry of %s = %v, want about an hour from now", key, exp)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(want)-1 {
		t.Errorf("Iterate saw %d entries, want %d", n, len(want)-1)
	}
	// The existing table works for writes too (no id sequence surprises).
	if err := s.Set(ctx, "session:live", []byte("new"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if data, _, err := s.Get(ctx, "session:live"); err != nil || string(data) != "new" {
		t.Errorf("Get after Set = %q, %v", data, err)
	}
}

// Touch checks Touch and GetAndTouch: the same expiry twice still reports
// found (affected rows may count changed rows), a zero expiry clears it, a
// passed one reads once and deletes.
func Touch(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if found, err := s.Touch(ctx, "k", exp); !found || err != nil {
			t.Fatalf("Touch = %v, %v", found, err)
		}
		if found, err := s.Touch(ctx, "k", time.Time{}); !found || err != nil {
			t.Fatalf("Touch(zero) = %v, %v", found, err)
		}
	}
	if found, err := s.Touch(ctx, "absent", exp); found || err != nil {
		t.Fatalf("Touch(absent) = %v, %v", found, err)
	}
	data, found, err := s.GetAndTouch(ctx, "k", exp)
	if err != nil || !found || string(data) != "v" {
		t.Fatalf("GetAndTouch = %q, %v, %v", data, found, err)
	}
	if data, found, err = s.GetAndTouch(ctx, "k", time.Time{}); err != nil || !found || string(data) != "v" {
		t.Fatalf("GetAndTouch(zero) = %q, %v, %v", data, found, err)
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

// CompareAndSet checks CompareAndSet against writes made with plain SQL on
// other connections: an update between Get and CompareAndSet wins (on both
// the single-statement and the old == data path), a transaction holding
// the row makes CompareAndSet wait and then compare with the committed
// value, old == data == current swaps, NULL data is the empty value, and
// a passed expiry reads (nil old) or deletes (matching old).
func CompareAndSet(t *testing.T, s *sqlstore.Store, r Raw) {
	ctx := context.Background()
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
	update := r.q(`UPDATE {t} SET data = ? WHERE session_id = ?`)
	if err := s.Set(ctx, "k", []byte("v1"), exp); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DB.ExecContext(ctx, update, []byte("other"), "k"); err != nil {
		t.Fatal(err)
	}
	swap("k", []byte("v1"), []byte("mine"), exp, false)
	swap("k", []byte("v1"), []byte("v1"), exp, false)
	swap("k", []byte("other"), []byte("other"), exp, true)
	swap("k", []byte("other"), []byte("other"), exp, true)
	want("k", []byte("other"))

	for _, data := range [][]byte{[]byte("mine"), []byte("other")} {
		lockedCAS(t, s, r, update, data, exp)
		want("k", []byte("locked"))
		if _, err := r.DB.ExecContext(ctx, update, []byte("other"), "k"); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := r.DB.ExecContext(ctx, r.q(`INSERT INTO {t} (session_id, data, expiry) VALUES ('null', NULL, NULL), ('null2', NULL, NULL)`)); err != nil {
		t.Fatal(err)
	}
	swap("null", []byte{}, []byte("filled"), time.Time{}, true)
	want("null", []byte("filled"))
	swap("null2", []byte{}, []byte{}, time.Time{}, true)
	want("null2", []byte{})
	past := time.Now().Add(-time.Minute)
	swap("null", nil, []byte("x"), past, false)
	swap("absent", nil, []byte("x"), past, true)
	swap("null", []byte("filled"), []byte("x"), past, true)
	swap("null2", []byte{}, []byte{}, past, true)
	for _, k := range []string{"null", "null2", "absent"} {
		if _, found, err := s.Get(ctx, k); found || err != nil {
			t.Errorf("Get(%q) = (found %v, %v), want absent", k, found, err)
		}
	}
}

// lockedCAS holds the row "k" changed to "locked" in an open transaction
// while CompareAndSet(old "other") runs: it must wait, then lose.
func lockedCAS(t *testing.T, s *sqlstore.Store, r Raw, update string, data []byte, exp time.Time) {
	ctx := context.Background()
	conn, err := r.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := r.Lock
	if lock == nil {
		lock = func(ctx context.Context, c *sql.Conn) error { _, err := c.ExecContext(ctx, "BEGIN"); return err }
	}
	if err := lock(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, update, []byte("locked"), "k"); err != nil {
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
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("CompareAndSet(data=%q) behind a committed update: %v", data, err)
	}
}

// KeysAreExact: keys differing only in case or in a LIKE wildcard are
// different entries, and Iterate matches prefixes byte for byte (LIKE
// ignores ASCII case in SQLite and under case-insensitive collations).
func KeysAreExact(t *testing.T, s coatcheck.Store) {
	ctx := context.Background()
	keys := []string{"session:Ab", "session:ab", "session:a_", "session:a%", "sessionXa!", "SESSION:a_"}
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
	if err := s.(coatcheck.Iterator).Iterate(ctx, "session:a_", func(k string, _ time.Time) bool { seen = append(seen, k); return true }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "session:a_" {
		t.Errorf(`Iterate("session:a_") saw %q`, seen)
	}
}
