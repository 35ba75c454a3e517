package bench

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/mysqlstore"
	"github.com/coatcheck/coatcheck/pgstore"
	"github.com/coatcheck/coatcheck/sqlstore"
	"github.com/coatcheck/coatcheck/sqlstore/sqltest"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SQL stores (pgstore, mysqlstore): a session read (GetAndTouch) with
// sqlstore.Options.RefreshInterval 0 (the expiry is written on every read,
// as Flask-Session does) and 1 minute (a SELECT; the expiry is written at
// most once a minute). Each benchmark has a fresh table, dropped at the end,
// and reports the statements per request by verb (selects/op, updates/op,
// stmts/op; the warm-up request included in the average).

// pgTracer counts the statements pgx sends.
type pgTracer struct{ c *sqltest.Counter }

func (t pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.c.Count(d.SQL)
	return ctx
}

func (pgTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func benchTable() string { return "bench_sessions_" + strings.ToLower(rand.Text()[:8]) }

func pgManager(b *testing.B, refresh time.Duration) (*coatcheck.Manager, func() (sel, upd, other int64)) {
	url := os.Getenv("COATCHECK_POSTGRES_URL")
	if url == "" {
		b.Skip("COATCHECK_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	c := &sqltest.Counter{}
	cfg.ConnConfig.Tracer = pgTracer{c}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	table := benchTable()
	st, err := pgstore.New(ctx, pool, pgstore.Options{Table: table, CleanupInterval: -1, RefreshInterval: refresh})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st.Close()
		if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS "`+table+`"`); err != nil {
			b.Error(err)
		}
	})
	return sqlRead(b, st, c)
}

func mysqlManager(b *testing.B, refresh time.Duration) (*coatcheck.Manager, func() (sel, upd, other int64)) {
	dsn := os.Getenv("COATCHECK_MYSQL_DSN")
	if dsn == "" {
		b.Skip("COATCHECK_MYSQL_DSN is not set")
	}
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	db, n := sqltest.Counting(conn)
	db.SetMaxOpenConns(16)
	b.Cleanup(func() { db.Close() })
	table := benchTable()
	st, err := mysqlstore.New(ctx, db, mysqlstore.Options{Table: table, CleanupInterval: -1, RefreshInterval: refresh})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st.Close()
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + table + "`"); err != nil {
			b.Error(err)
		}
	})
	return sqlRead(b, st, n)
}

// sqlRead is a Manager over st and a take of c's counts since the last.
func sqlRead(b *testing.B, st *sqlstore.Store, c *sqltest.Counter) (*coatcheck.Manager, func() (int64, int64, int64)) {
	m := ccManager(b, coatcheck.Config{Store: st})
	return m, func() (int64, int64, int64) {
		k := c.Take()
		return k.Select, k.Update, k.Delete + k.Insert + k.Other
	}
}

// sqlServerRead is ccServerRead with statement counts: take drains the
// counts so far.
func sqlServerRead(b *testing.B, m *coatcheck.Manager, take func() (sel, upd, other int64)) {
	s := &seen{}
	tmpl := template(ccCookie(b, m, false))
	take() // the write that made the cookie
	run(b, m.Handler(ccRead(s)), tmpl, s, wantUser, nil, nil)
	sel, upd, other := take()
	n := float64(b.N + 1) // run's warm-up request and b.N timed ones
	b.ReportMetric(float64(sel)/n, "selects/op")
	b.ReportMetric(float64(upd)/n, "updates/op")
	b.ReportMetric(float64(sel+upd+other)/n, "stmts/op")
}

// BenchmarkCoatcheckPGRead: one UPDATE … RETURNING per read.
func BenchmarkCoatcheckPGRead(b *testing.B) {
	m, take := pgManager(b, 0)
	sqlServerRead(b, m, take)
}

// BenchmarkCoatcheckPGReadRefresh1m: one SELECT per read.
func BenchmarkCoatcheckPGReadRefresh1m(b *testing.B) {
	m, take := pgManager(b, time.Minute)
	sqlServerRead(b, m, take)
}

// BenchmarkCoatcheckMySQLRead: a SELECT then an UPDATE per read.
func BenchmarkCoatcheckMySQLRead(b *testing.B) {
	m, take := mysqlManager(b, 0)
	sqlServerRead(b, m, take)
}

// BenchmarkCoatcheckMySQLReadRefresh1m: one SELECT per read.
func BenchmarkCoatcheckMySQLReadRefresh1m(b *testing.B) {
	m, take := mysqlManager(b, time.Minute)
	sqlServerRead(b, m, take)
}
