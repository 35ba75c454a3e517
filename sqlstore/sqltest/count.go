package sqltest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync/atomic"
)

// Counts are the statements a Counting *sql.DB sent to the server, by
// their first word.
type Counts struct {
	Select, Update, Delete, Insert, Other int64
}

// Counter counts statements; Take returns the counts since the last Take.
type Counter struct {
	sel, upd, del, ins, other atomic.Int64
	before                    atomic.Pointer[hook]
}

type hook struct {
	verb string
	fn   func(query string)
}

// Before makes fn run before the next statements whose first word is verb
// (any case) go to the server, until Before(nil, ""). fn may use other
// connections.
func (c *Counter) Before(fn func(query string), verb string) {
	if fn == nil {
		c.before.Store(nil)
		return
	}
	c.before.Store(&hook{strings.ToUpper(verb), fn})
}

func (c *Counter) hook(q string) {
	h := c.before.Load()
	if h == nil {
		return
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	if strings.ToUpper(verb) == h.verb {
		h.fn(q)
	}
}

// Take returns the counts since the previous Take and starts again at 0.
func (c *Counter) Take() Counts {
	return Counts{c.sel.Swap(0), c.upd.Swap(0), c.del.Swap(0), c.ins.Swap(0), c.other.Swap(0)}
}

// Count counts query as sent, for a driver whose statements reach the
// server another way (pgx's tracer, say).
func (c *Counter) Count(q string) { c.count(q) }

func (c *Counter) count(q string) {
	verb, _, _ := strings.Cut(strings.TrimSpace(q), " ")
	switch strings.ToUpper(verb) {
	case "SELECT":
		c.sel.Add(1)
	case "UPDATE":
		c.upd.Add(1)
	case "DELETE":
		c.del.Add(1)
	case "INSERT":
		c.ins.Add(1)
	default:
		c.other.Add(1)
	}
}

// Counting returns a *sql.DB on the real driver connector c that counts
// every statement it executes (directly or through a prepared statement);
// the statements still run on the real server. The caller closes the DB.
func Counting(c driver.Connector) (*sql.DB, *Counter) {
	n := &Counter{}
	return sql.OpenDB(connector{c, n}), n
}

// DSNConnector is a driver.Connector for a driver and DSN, through
// driver.DriverContext when the driver has it.
func DSNConnector(d driver.Driver, dsn string) (driver.Connector, error) {
	if dc, ok := d.(driver.DriverContext); ok {
		return dc.OpenConnector(dsn)
	}
	return dsnConnector{d, dsn}, nil
}

type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

type connector struct {
	c driver.Connector
	n *Counter
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn_{conn, c.n}, nil
}

func (c connector) Driver() driver.Driver { return c.c.Driver() }

// conn_ forwards every optional interface database/sql uses; where the
// real connection lacks one, it answers driver.ErrSkip or the fallback
// database/sql would take itself.
type conn_ struct {
	c driver.Conn
	n *Counter
}

var (
	_ driver.ExecerContext      = (*conn_)(nil)
	_ driver.QueryerContext     = (*conn_)(nil)
	_ driver.ConnPrepareContext = (*conn_)(nil)
	_ driver.ConnBeginTx        = (*conn_)(nil)
	_ driver.NamedValueChecker  = (*conn_)(nil)
	_ driver.Pinger             = (*conn_)(nil)
	_ driver.SessionResetter    = (*conn_)(nil)
	_ driver.Validator          = (*conn_)(nil)
)

func (c *conn_) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *conn_) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := c.c.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, q)
	} else {
		st, err = c.c.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{st, q, c}, nil
}

func (c *conn_) Close() error { return c.c.Close() }

func (c *conn_) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn_) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.c.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.c.Begin() //nolint:staticcheck // the driver has nothing else
}

func (c *conn_) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.c.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.hook(q)
	res, err := e.ExecContext(ctx, q, args)
	if err != driver.ErrSkip {
		c.n.count(q)
	}
	return res, err
}

func (c *conn_) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.c.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.hook(q)
	rows, err := qc.QueryContext(ctx, q, args)
	if err != driver.ErrSkip {
		c.n.count(q)
	}
	return rows, err
}

func (c *conn_) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := c.c.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn_) Ping(ctx context.Context) error {
	if p, ok := c.c.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn_) ResetSession(ctx context.Context) error {
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn_) IsValid() bool {
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type stmt struct {
	s driver.Stmt
	q string
	c *conn_
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) Close() error  { return s.s.Close() }
func (s *stmt) NumInput() int { return s.s.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.n.hook(s.q)
	s.c.n.count(s.q)
	return s.s.Exec(args) //nolint:staticcheck // only when the driver has nothing else
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.n.hook(s.q)
	s.c.n.count(s.q)
	return s.s.Query(args) //nolint:staticcheck // only when the driver has nothing else
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.s.(driver.StmtExecContext); ok {
		s.c.n.hook(s.q)
		s.c.n.count(s.q)
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Exec(vals)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.s.(driver.StmtQueryContext); ok {
		s.c.n.hook(s.q)
		s.c.n.count(s.q)
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Query(vals)
}

func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if v, ok := s.s.(driver.NamedValueChecker); ok {
		return v.CheckNamedValue(nv)
	}
	return s.c.CheckNamedValue(nv)
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, driver.ErrSkip
		}
		vals[i] = a.Value
	}
	return vals, nil
}
