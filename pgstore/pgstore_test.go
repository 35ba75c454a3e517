package pgstore_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/pgstore"
	"github.com/coatcheck/coatcheck/sqlstore"
	"github.com/coatcheck/coatcheck/sqlstore/sqltest"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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

// raw is plain SQL on a fresh table, through pgx's database/sql adapter.
func raw(t *testing.T, pool *pgxpool.Pool) sqltest.Raw {
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { db.Close() })
	return sqltest.NewTable(t, sqltest.Raw{DB: db, Quote: '"', Bind: func(q string) string {
		for n := 1; strings.Contains(q, "?"); n++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(n), 1)
		}
		return q
	}})
}

// TestShared runs the checks every SQL store shares (package sqltest);
// each store has its own pool.
func TestShared(t *testing.T) {
	sqltest.Run(t, raw(t, testPool(t)), func(t *testing.T, opts pgstore.Options) *pgstore.Store {
		return newStore(t, testPool(t), opts)
	})
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

// TestFaults: a server that hangs (blackhole) or refuses connections makes
// every call fail within its context's deadline; the store recovers.
func TestFaults(t *testing.T) {
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
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

// TestFlaskLayout: Flask-Session's SQLAlchemy columns, and the raw row a
// Set writes.
func TestFlaskLayout(t *testing.T) {
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
	s := newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})
	sqltest.FlaskLayout(t, s, r, `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?`, map[string][]string{
		"id": {"bigint"}, "session_id": {"character varying"}, "data": {"bytea"}, "expiry": {"timestamp without time zone"},
	}, `expiry::text`)
}

// TestFlaskWrittenRows reads rows written with plain SQL into a table
// created as SQLAlchemy creates it (SERIAL id, nullable session_id).
func TestFlaskWrittenRows(t *testing.T) {
	pool := testPool(t)
	r := raw(t, pool)
	table := r.Table
	if _, err := pool.Exec(context.Background(), `CREATE TABLE "`+table+`" (id SERIAL NOT NULL, session_id VARCHAR(255),
	data BYTEA, expiry TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), UNIQUE (session_id))`); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, pool, pgstore.Options{Table: table, CleanupInterval: -1})
	sqltest.FlaskRows(t, s, r, `INSERT INTO {t} (session_id, data, expiry) VALUES (?, ?, ?::timestamp)`, sqltest.Naive, false)
}

// TestRefreshInterval counts the statements GetAndTouch sends with and
// without Options.RefreshInterval (sqltest.Refresh), on a counting
// database/sql connector around the pool's.
func TestRefreshInterval(t *testing.T) {
	pool := testPool(t)
	sqltest.Refresh(t, raw(t, pool), func(t *testing.T, opts pgstore.Options) (*pgstore.Store, *sqltest.Counter) {
		db, n := sqltest.Counting(stdlib.GetPoolConnector(pool))
		s, err := sqlstore.Open(context.Background(), db, pgstore.Dialect, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, n
	})
}
