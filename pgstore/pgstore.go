package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultTable is the table name used when Options.Table is empty; it is
// Flask-Session's default (SESSION_SQLALCHEMY_TABLE).
const DefaultTable = "sessions"

// DefaultCleanupInterval is the interval of the background cleanup when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// iterBatch is how many rows Iterate reads per query. No connection is held
// while fn runs, so fn may call the store.
const iterBatch = 1000

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// Options configures a Store. The zero value is the documented default.
type Options struct {
	// Table is the name of the sessions table: letters, digits and
	// underscores, not starting with a digit, at most 48 bytes. It is
	// quoted in every statement, so it is case-sensitive. The table is
	// looked up through the connection's search_path. Default "sessions".
	Table string

	// SkipCreateTable stops New from running CREATE TABLE IF NOT EXISTS and
	// CREATE INDEX IF NOT EXISTS; use it when migrations own the schema.
	SkipCreateTable bool

	// CleanupInterval is how often a background goroutine deletes expired
	// rows (DeleteExpired). Zero means DefaultCleanupInterval (5 minutes); a
	// negative value disables the goroutine. Close stops it.
	CleanupInterval time.Duration

	// OnCleanupError receives the errors of the background cleanup. Nil
	// logs them with the standard log package.
	OnCleanupError func(error)

	// Now is the clock that decides what has expired. Nil means time.Now.
	// Every comparison uses this clock (passed as a parameter), never the
	// database server's, so application and store agree on "now".
	Now func() time.Time
}

// Store is a coatcheck store (Get, Set, Delete, Touch, GetAndTouch,
// Iterate, DeleteExpired, CompareAndSet) on a PostgreSQL table in Flask-Session's
// SQLAlchemy layout. It is safe for concurrent use. Call Close to stop the
// background cleanup; Close does not close the pool.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time

	qGet, qSet, qDelete              string
	qTouch, qTouchDelete             string
	qGetTouch, qGetTouchDelete       string
	qIterFirst, qIterNext, qDelExpir string
	qCAS, qCASDelete, qCASInsert     string
	qCASAbsent                       string

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Store on pool. Unless opts.SkipCreateTable is set it creates
// the table and its expiry index if they are missing (see the package doc
// for the schema). A bad option or a failed CREATE is an error.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("pgstore: invalid table name %q (want letters, digits, underscores, at most 48 bytes)", table)
	}
	t := `"` + table + `"`
	s := &Store{
		pool: pool,
		now:  opts.Now,
		qGet: `SELECT data FROM ` + t + ` WHERE session_id = $1 AND (expiry IS NULL OR expiry > $2)`,
		qSet: `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (session_id) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`,
		qDelete:         `DELETE FROM ` + t + ` WHERE session_id = $1`,
		qTouch:          `UPDATE ` + t + ` SET expiry = $2 WHERE session_id = $1 AND (expiry IS NULL OR expiry > $3)`,
		qTouchDelete:    `DELETE FROM ` + t + ` WHERE session_id = $1 AND (expiry IS NULL OR expiry > $2)`,
		qGetTouch:       `UPDATE ` + t + ` SET expiry = $2 WHERE session_id = $1 AND (expiry IS NULL OR expiry > $3) RETURNING data`,
		qGetTouchDelete: `DELETE FROM ` + t + ` WHERE session_id = $1 AND (expiry IS NULL OR expiry > $2) RETURNING data`,
		qIterFirst: `SELECT session_id, expiry FROM ` + t + ` WHERE session_id LIKE $1 ESCAPE '!'
AND (expiry IS NULL OR expiry > $2) ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qIterNext: `SELECT session_id, expiry FROM ` + t + ` WHERE session_id LIKE $1 ESCAPE '!'
AND (expiry IS NULL OR expiry > $2) AND session_id > $3 ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qDelExpir: `DELETE FROM ` + t + ` WHERE expiry <= $1`,
		// COALESCE: a NULL data (which Flask may write) reads as the empty
		// value in Get, so it compares as the empty value here.
		qCAS: `UPDATE ` + t + ` SET data = $2, expiry = $3
WHERE session_id = $1 AND COALESCE(data, ''::bytea) = $4 AND (expiry IS NULL OR expiry > $5)`,
		qCASDelete: `DELETE FROM ` + t + `
WHERE session_id = $1 AND COALESCE(data, ''::bytea) = $2 AND (expiry IS NULL OR expiry > $3)`,
		qCASInsert: `INSERT INTO ` + t + ` AS cur (session_id, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (session_id) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry
WHERE cur.expiry IS NOT NULL AND cur.expiry <= $4`,
		qCASAbsent: `SELECT NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE session_id = $1 AND (expiry IS NULL OR expiry > $2))`,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !opts.SkipCreateTable {
		ddl := []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	session_id VARCHAR(255) NOT NULL UNIQUE,
	data BYTEA,
	expiry TIMESTAMP WITHOUT TIME ZONE
)`,
			`CREATE INDEX IF NOT EXISTS "` + table + `_expiry_idx" ON ` + t + ` (expiry)`,
		}
		for _, q := range ddl {
			if _, err := pool.Exec(ctx, q); err != nil {
				return nil, wrapErr(ctx, "create table", err)
			}
		}
	}
	interval := opts.CleanupInterval
	if interval == 0 {
		interval = DefaultCleanupInterval
	}
	if interval > 0 {
		onErr := opts.OnCleanupError
		if onErr == nil {
			onErr = func(err error) { log.Print(err) }
		}
		jctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		s.done = make(chan struct{})
		go s.janitor(jctx, interval, onErr)
	}
	return s, nil
}

func (s *Store) janitor(ctx context.Context, interval time.Duration, onErr func(error)) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
				onErr(fmt.Errorf("%w (background cleanup)", err))
			}
		}
	}
}

// Close stops the background cleanup and waits for it to return. It does
// not close the pool. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
	return nil
}

// Get returns the data stored under key, or (nil, false, nil) when the key
// is absent or its expiry has passed.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrapErr(ctx, "get", err)
	}
	var data []byte
	err := s.pool.QueryRow(ctx, s.qGet, key, s.clock()).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapErr(ctx, "get", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// Set stores data under key until expiry (zero: no expiry, stored as NULL)
// with one upsert. An expiry that has already passed deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(ctx, "set", err)
	}
	if !expiry.IsZero() && !expiry.After(s.now()) {
		return s.delete(ctx, "set", key)
	}
	if data == nil {
		data = []byte{} // NULL is for Flask's sake only; store an empty BYTEA
	}
	if _, err := s.pool.Exec(ctx, s.qSet, key, data, dbTime(expiry)); err != nil {
		return wrapErr(ctx, "set", err)
	}
	return nil
}

// Delete removes key. Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(ctx, "delete", err)
	}
	return s.delete(ctx, "delete", key)
}

func (s *Store) delete(ctx context.Context, op, key string) error {
	if _, err := s.pool.Exec(ctx, s.qDelete, key); err != nil {
		return wrapErr(ctx, op, err)
	}
	return nil
}

// Touch sets the expiry of a live entry without rewriting its data (zero:
// no expiry) and reports whether there was one. An expiry that has already
// passed deletes the entry.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	now := s.clock()
	var (
		tag pgconn.CommandTag
		err error
	)
	if !expiry.IsZero() && !expiry.After(now) {
		tag, err = s.pool.Exec(ctx, s.qTouchDelete, key, now)
	} else {
		tag, err = s.pool.Exec(ctx, s.qTouch, key, dbTime(expiry), now)
	}
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	return tag.RowsAffected() > 0, nil
}

// GetAndTouch reads a live entry and moves its expiry in one statement
// (UPDATE … RETURNING). An expiry that has already passed returns the data
// and deletes the entry, like Redis GETEX.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrapErr(ctx, "get and touch", err)
	}
	now := s.clock()
	var row pgx.Row
	if !expiry.IsZero() && !expiry.After(now) {
		row = s.pool.QueryRow(ctx, s.qGetTouchDelete, key, now)
	} else {
		row = s.pool.QueryRow(ctx, s.qGetTouch, key, dbTime(expiry), now)
	}
	var data []byte
	err := row.Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapErr(ctx, "get and touch", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// CompareAndSet stores data under key until expiry (zero: no expiry, stored
// as NULL) only if the live value under key equals old byte for byte, and
// reports whether it did. A nil old means "only if absent"; an expired row
// counts as absent. A passed expiry with a matching old deletes the entry.
// Otherwise nothing changes and CompareAndSet reports (false, nil).
//
// Each case is one statement, which makes it atomic against every other
// writer, in this process or not:
//
//   - old != nil: UPDATE … WHERE session_id = $1 AND data = old AND live
//     (DELETE … with the same condition for a passed expiry). Under READ
//     COMMITTED an UPDATE or DELETE that meets a row being changed by
//     another transaction waits for it, then re-checks its WHERE clause on
//     the committed version (and skips the row if it no longer matches), so
//     the comparison and the write happen under the row lock. PostgreSQL
//     reports matched rows, so data equal to old still counts as swapped.
//   - old == nil: INSERT … ON CONFLICT (session_id) DO UPDATE … WHERE the
//     existing row has expired. The unique index arbitrates concurrent
//     inserts, and ON CONFLICT DO UPDATE locks the conflicting row and
//     evaluates its WHERE on the latest version, so exactly one of several
//     concurrent inserters wins, and it replaces an expired row but never a
//     live one (the statement then affects no row).
//   - old == nil with a passed expiry: storing "nothing" over nothing is a
//     read, SELECT NOT EXISTS (… live row …).
//
// Under REPEATABLE READ or SERIALIZABLE as the default isolation level a
// conflicting concurrent update makes the statement fail with a
// serialization error instead of waiting and re-checking.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapErr(ctx, "compare and set", err)
	}
	now := s.clock()
	passed := !expiry.IsZero() && !expiry.After(now)
	if old == nil && passed {
		var absent bool
		if err := s.pool.QueryRow(ctx, s.qCASAbsent, key, now).Scan(&absent); err != nil {
			return false, wrapErr(ctx, "compare and set", err)
		}
		return absent, nil
	}
	if data == nil {
		data = []byte{} // as Set: an empty BYTEA, not NULL
	}
	var (
		tag pgconn.CommandTag
		err error
	)
	switch {
	case old == nil:
		tag, err = s.pool.Exec(ctx, s.qCASInsert, key, data, dbTime(expiry), now)
	case passed:
		tag, err = s.pool.Exec(ctx, s.qCASDelete, key, old, now)
	default:
		tag, err = s.pool.Exec(ctx, s.qCAS, key, data, dbTime(expiry), old, now)
	}
	if err != nil {
		return false, wrapErr(ctx, "compare and set", err)
	}
	return tag.RowsAffected() > 0, nil
}

// Iterate calls fn for every live entry whose key starts with prefix, in
// key order, until fn returns false. Rows are read in batches of 1000 by
// key (keyset pagination), and no connection is held while fn runs, so fn
// may call the store.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(ctx, "iterate", err)
	}
	pattern := likePrefix(prefix)
	now := s.clock()
	type entry struct {
		key    string
		expiry time.Time
	}
	batch := make([]entry, 0, iterBatch)
	var last string
	for first := true; ; first = false {
		var (
			rows pgx.Rows
			err  error
		)
		if first {
			rows, err = s.pool.Query(ctx, s.qIterFirst, pattern, now)
		} else {
			rows, err = s.pool.Query(ctx, s.qIterNext, pattern, now, last)
		}
		if err != nil {
			return wrapErr(ctx, "iterate", err)
		}
		batch = batch[:0]
		for rows.Next() {
			var (
				e   entry
				exp *time.Time
			)
			if err := rows.Scan(&e.key, &exp); err != nil {
				rows.Close()
				return wrapErr(ctx, "iterate", err)
			}
			if exp != nil {
				e.expiry = exp.UTC()
			}
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapErr(ctx, "iterate", err)
		}
		for _, e := range batch {
			// LIKE may be looser than a byte prefix under some collations.
			if strings.HasPrefix(e.key, prefix) && !fn(e.key, e.expiry) {
				return nil
			}
		}
		if len(batch) < iterBatch {
			return nil
		}
		last = batch[len(batch)-1].key
	}
}

// DeleteExpired deletes every row whose expiry has passed (rows with a NULL
// expiry never expire) and reports how many it deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	tag, err := s.pool.Exec(ctx, s.qDelExpir, s.clock())
	if err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	return int(tag.RowsAffected()), nil
}

// clock returns now as naive UTC at the column's precision.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// dbTime converts an expiry to the column's value: nil (NULL) for the zero
// time, otherwise naive UTC at microsecond precision (pgx writes the wall
// clock of a TIMESTAMP WITHOUT TIME ZONE parameter, so it must be UTC).
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

// likePrefix returns a LIKE pattern (with ESCAPE '!') matching strings that
// start with prefix.
func likePrefix(prefix string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(prefix) + "%"
}

// wrapErr prefixes err with the package and operation, and makes sure it
// wraps ctx.Err() when the context is done (drivers do not always say so).
func wrapErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("pgstore: %s: %w (%w)", op, err, cerr)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}
