package mysqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/mysqlstore"
	"github.com/coatcheck/coatcheck/sqlstore/sqltest"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/go-sql-driver/mysql"
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

func raw(t *testing.T, db *sql.DB) sqltest.Raw {
	return sqltest.NewTable(t, sqltest.Raw{DB: db, Quote: '`'})
}

// TestShared runs the checks every SQL store shares (package sqltest);
// each store has its own *sql.DB.
func TestShared(t *testing.T) {
	sqltest.Run(t, raw(t, testPool(t)), func(t *testing.T, opts mysqlstore.Options) *mysqlstore.Store {
		return newStore(t, testPool(t), opts)
	})
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

// TestFlaskLayout checks the raw row a Set writes: Flask-Session's
// SQLAlchemy columns, the key as given, the bytes as given, and the expiry
// as naive UTC.
func TestFlaskLayout(t *testing.T) {
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	sqltest.FlaskLayout(t, s, r, `SELECT column_name, column_type FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name = ?`, map[string][]string{
		"id": {"bigint(20)", "bigint"}, "session_id": {"varchar(255)"}, "data": {"longblob"}, "expiry": {"datetime(6)"},
	}, `CAST(expiry AS CHAR)`)
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

// TestTimeZones: the DSN's loc and the session time_zone do not move what
// is stored; the expiry column holds naive UTC either way.
func TestTimeZones(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
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
	r := raw(t, pool)
	table := r.Table
	newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		return newStore(t, pool, mysqlstore.Options{Table: table, NoCreateTable: true, CleanupInterval: -1})
	})
}

// TestCompareAndSetInsertRace starts many "insert if absent" calls on one
// key at once: exactly one wins, whatever the isolation level the server
// defaults to (the transactions run at READ COMMITTED, so the losers get a
// duplicate key, not a deadlock, and retry against the winner's row).
func TestCompareAndSetInsertRace(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	s := newStore(t, pool, mysqlstore.Options{Table: raw(t, pool).Table, CleanupInterval: -1})
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
	r := raw(t, pool)
	table := r.Table
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

// TestFlaskWrittenRows reads rows written with plain SQL into a table
// created as SQLAlchemy creates it: DATETIME without fractional seconds,
// BLOB, and the server's default collation.
func TestFlaskWrittenRows(t *testing.T) {
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
	if _, err := pool.Exec("CREATE TABLE `" + table + "` (id INTEGER NOT NULL AUTO_INCREMENT, session_id VARCHAR(255)," +
		" data BLOB, expiry DATETIME, PRIMARY KEY (id), UNIQUE (session_id))"); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	naive := func(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05") }
	sqltest.FlaskRows(t, s, r, `INSERT INTO {t} (session_id, data, expiry) VALUES (?, ?, ?)`, naive, false)
}

// TestCompareAndSetBinary: bytes compare exactly (no trailing-space
// padding, no charset), on both CompareAndSet paths.
func TestCompareAndSetBinary(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := raw(t, pool).Table
	s := newStore(t, pool, mysqlstore.Options{Table: table, CleanupInterval: -1})
	exp := time.Now().Add(time.Hour)
	bin := []byte("a \x00\xff\xc3")
	if err := s.Set(ctx, "bin", bin, exp); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		old  []byte
		want bool
	}{{[]byte("a"), false}, {[]byte("a "), false}, {[]byte("A \x00\xff\xc3"), false}, {append(bin, ' '), false}, {bin, true}, {[]byte("b"), false}} {
		if ok, err := s.CompareAndSet(ctx, "bin", c.old, []byte("b "), exp); ok != c.want || err != nil {
			t.Errorf("CompareAndSet(old=%q) = (%v, %v), want (%v, nil)", c.old, ok, err, c.want)
		}
	}
	if got, _, err := s.Get(ctx, "bin"); err != nil || string(got) != "b " {
		t.Errorf("Get = %q, %v; want \"b \"", got, err)
	}
}

// TestRefreshInterval counts the statements GetAndTouch sends with and
// without Options.RefreshInterval (sqltest.Refresh), on a counting
// connector around the driver's.
func TestRefreshInterval(t *testing.T) {
	cfg, err := mysql.ParseDSN(storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Refresh(t, raw(t, testPool(t)), func(t *testing.T, opts mysqlstore.Options) (*mysqlstore.Store, *sqltest.Counter) {
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db, n := sqltest.Counting(conn)
		db.SetMaxOpenConns(4)
		t.Cleanup(func() { db.Close() })
		return newStore(t, db, opts), n
	})
}
