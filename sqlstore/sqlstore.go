package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTable is the table name used when Options.Table is empty; it is
// Flask-Session's default (SESSION_SQLALCHEMY_TABLE).
const DefaultTable = "sessions"

// DefaultCleanupInterval is the interval of the background cleanup when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// iterBatch is how many rows Iterate reads per query. No connection is held
// while fn runs, so fn may call the store (even on a one-connection pool).
const iterBatch = 1000

// maxAttempts bounds how often one statement or transaction runs when the
// server rolled it back (Dialect.Retryable) or, in the locking
// compare-and-set, lost an insert race (Dialect.Duplicate).
const maxAttempts = 5

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// Dialect describes what differs between SQL servers. Statements are
// written with ? placeholders, in argument order.
type Dialect struct {
	// Name prefixes every error ("pgstore").
	Name string
	// Quote is the identifier quote character, '"' or '`'.
	Quote byte
	// Numbered makes placeholders $1, $2, … instead of ?.
	Numbered bool
	// DDL returns the statements that create the table (quoted: the
	// quoted name, table: the bare one) when it is missing.
	DDL func(quoted, table string) []string
	// Upsert follows INSERT … VALUES (?, ?, ?) in Set and replaces the data
	// and expiry of an existing row.
	Upsert string
	// ConditionalUpsert: Upsert accepts a trailing WHERE on the existing row
	// (ON CONFLICT … DO UPDATE … WHERE), so a nil-old CompareAndSet is one
	// statement. Without it, a nil old (and old == data) runs a READ
	// COMMITTED transaction around SELECT … FOR UPDATE.
	ConditionalUpsert bool
	// Returning: UPDATE and DELETE take RETURNING, so GetAndTouch is one
	// statement. Without it, GetAndTouch is Get then Touch.
	Returning bool
	// ChangedRows: affected rows count changed rows rather than matched
	// ones (MySQL without clientFoundRows), so a Touch that writes the
	// expiry a row already has is confirmed with a SELECT.
	ChangedRows bool
	// SameData is a condition true when the stored data, as Get reads it
	// (NULL is empty), equals the one parameter byte for byte.
	SameData string
	// Expiry is the expression Iterate selects for the expiry column; its
	// value is scanned into an any and decoded by parseExpiry.
	Expiry string
	// Time converts a non-zero time (already UTC) to a statement argument.
	Time func(t time.Time) any
	// Retryable reports an error after which the server has rolled back the
	// whole statement or transaction (deadlock, serialization failure), so
	// running it again is safe. Nil: nothing is retried.
	Retryable func(error) bool
	// Duplicate reports a unique-key violation. Used by the transaction
	// path only.
	Duplicate func(error) bool
}

// TextTime is a Dialect.Time that sends times as naive UTC text with six
// fractional digits ("2006-01-02 15:04:05.000000"), the form SQLAlchemy
// writes; drivers and session time zones cannot shift text.
func TextTime(t time.Time) any { return t.Format("2006-01-02 15:04:05.000000") }

// Options configures a Store. The zero value is the documented default.
type Options struct {
	// Table is the name of the sessions table: letters, digits and
	// underscores, not starting with a digit, at most 48 bytes. It is
	// quoted in every statement, so it is case-sensitive where the server
	// is. Default "sessions".
	Table string

	// NoCreateTable stops New from creating the table (and its expiry
	// index) when it is missing; use it when migrations own the schema.
	NoCreateTable bool

	// CleanupInterval is how often a background goroutine deletes expired
	// rows (DeleteExpired). Zero means DefaultCleanupInterval (5 minutes); a
	// negative value disables the goroutine. Close stops it.
	CleanupInterval time.Duration

	// OnCleanupError receives the errors of the background cleanup. Nil
	// logs them with the standard log package.
	OnCleanupError func(error)

	// RefreshInterval bounds how often GetAndTouch writes a session's
	// expiry. 0 (the default) is the behaviour without it: every
	// GetAndTouch moves the expiry, as Flask-Session does on every request
	// (one UPDATE … RETURNING where the dialect has RETURNING, otherwise a
	// SELECT and an UPDATE). > 0: GetAndTouch is one SELECT of the data and
	// the stored expiry, followed by an UPDATE of the expiry only when the
	// stored one must move, by rueidisstore's rule (its
	// Options.RefreshInterval): the requested expiry is zero and the row has
	// one, the row has none and one is requested, the stored expiry is more
	// than RefreshInterval earlier than the requested one, or the requested
	// lifetime (expiry minus now) is not longer than RefreshInterval. A
	// session read on every request is so written once per RefreshInterval,
	// and lives up to RefreshInterval less past its last request. The UPDATE
	// is conditional (only an expiry still earlier than the requested one,
	// or a NULL one, moves; only a non-NULL one is cleared), so a later
	// expiry written by another client between the SELECT and the UPDATE is
	// kept. A stored expiry later than the requested one is never shortened
	// (with 0 it is). Negative values are rejected by New.
	RefreshInterval time.Duration

	// Now is the clock that decides what has expired. Nil means time.Now.
	// Every comparison uses this clock (passed as a parameter), never the
	// database server's, so application and store agree on "now"; an entry
	// whose expiry equals now has expired.
	Now func() time.Time
}

// Store is a coatcheck store (Get, Set, Delete, Touch, GetAndTouch,
// Iterate, DeleteExpired, CompareAndSet) on a table in Flask-Session's
// SQLAlchemy layout. It is safe for concurrent use. Close stops the
// background cleanup.
type Store struct {
	db    *sql.DB
	ownDB bool
	d     Dialect
	now   func() time.Time
	// refresh is Options.RefreshInterval.
	refresh time.Duration

	qGet, qSet, qDelete, qLive     string
	qTouch, qTouchDel              string
	qGetTouch, qGetTouchDel        string
	qIterFirst, qIterNext, qDelExp string
	qCAS, qCASDel, qCASIns, qAbs   string
	qLock, qWrite, qInsert         string
	qGetExp, qRefresh, qRefreshNil string

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New returns a Store on db in dialect d. Unless opts.NoCreateTable is set
// it runs d.DDL. A bad option or a failed CREATE is an error. Close leaves
// db open.
func New(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%s: nil db", d.Name)
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("%s: invalid table name %q (want letters, digits, underscores, at most 48 bytes)", d.Name, table)
	}
	if opts.RefreshInterval < 0 {
		return nil, fmt.Errorf("%s: negative RefreshInterval %v", d.Name, opts.RefreshInterval)
	}
	s := &Store{db: db, d: d, now: opts.Now, refresh: opts.RefreshInterval}
	if s.now == nil {
		s.now = time.Now
	}
	s.prepare(string(d.Quote) + table + string(d.Quote))
	if !opts.NoCreateTable {
		for _, q := range d.DDL(string(d.Quote)+table+string(d.Quote), table) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return nil, s.wrap(ctx, "create table", err)
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

// Open is New for a db the Store owns: Close closes it, and so does a
// failing Open.
func Open(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Store, error) {
	s, err := New(ctx, db, d, opts)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

func (s *Store) prepare(t string) {
	d := s.d
	live := ` AND (expiry IS NULL OR expiry > ?)`
	iter := `SELECT session_id, ` + d.Expiry + ` FROM ` + t + ` WHERE session_id LIKE ? ESCAPE '!'` + live
	limit := ` ORDER BY session_id LIMIT ` + strconv.Itoa(iterBatch)
	insert := `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES (?, ?, ?)`
	for _, q := range []struct {
		dst *string
		sql string
	}{
		{&s.qGet, `SELECT data FROM ` + t + ` WHERE session_id = ?` + live},
		{&s.qSet, insert + "\n" + d.Upsert},
		{&s.qDelete, `DELETE FROM ` + t + ` WHERE session_id = ?`},
		{&s.qLive, `SELECT 1 FROM ` + t + ` WHERE session_id = ?` + live},
		{&s.qTouch, `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live},
		{&s.qTouchDel, `DELETE FROM ` + t + ` WHERE session_id = ?` + live},
		{&s.qGetTouch, `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live + ` RETURNING data`},
		{&s.qGetTouchDel, `DELETE FROM ` + t + ` WHERE session_id = ?` + live + ` RETURNING data`},
		{&s.qIterFirst, iter + limit},
		{&s.qIterNext, iter + ` AND session_id > ?` + limit},
		{&s.qDelExp, `DELETE FROM ` + t + ` WHERE expiry <= ?`},
		{&s.qCAS, `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE session_id = ? AND ` + d.SameData + live},
		{&s.qCASDel, `DELETE FROM ` + t + ` WHERE session_id = ? AND ` + d.SameData + live},
		{&s.qCASIns, insert + "\n" + d.Upsert + "\nWHERE " + t + `.expiry IS NOT NULL AND ` + t + `.expiry <= ?`},
		{&s.qAbs, `SELECT NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE session_id = ?` + live + `)`},
		{&s.qLock, `SELECT data, expiry IS NULL OR expiry > ? FROM ` + t + ` WHERE session_id = ? FOR UPDATE`},
		{&s.qWrite, `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE session_id = ?`},
		{&s.qInsert, insert},
		{&s.qGetExp, `SELECT data, ` + d.Expiry + ` FROM ` + t + ` WHERE session_id = ?` + live},
		{&s.qRefresh, `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live + ` AND (expiry IS NULL OR expiry < ?)`},
		{&s.qRefreshNil, `UPDATE ` + t + ` SET expiry = NULL WHERE session_id = ? AND expiry IS NOT NULL AND expiry > ?`},
	} {
		*q.dst = s.bind(q.sql)
	}
}

// bind numbers the placeholders of q for a Numbered dialect. Statements
// contain no ? other than placeholders.
func (s *Store) bind(q string) string {
	if !s.d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FlaskSessionBackend names the Flask-Session backend whose layout this
// store shares (SESSION_TYPE = "sqlalchemy").
func (s *Store) FlaskSessionBackend() string { return "sqlalchemy" }

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

// Close stops the background cleanup and waits for it to return; a store
// that owns its *sql.DB (see the store module's constructors) then closes
// it. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		if s.ownDB {
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("%s: close: %w", s.d.Name, err)
			}
		}
	})
	return s.closeErr
}

// Get returns the data stored under key, or (nil, false, nil) when the key
// is absent or its expiry has passed.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, s.wrap(ctx, "get", err)
	}
	return s.readData(ctx, "get", s.db.QueryRowContext(ctx, s.qGet, key, s.clock()))
}

func (s *Store) readData(ctx context.Context, op string, row *sql.Row) ([]byte, bool, error) {
	var data []byte
	err := row.Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.wrap(ctx, op, err)
	}
	if data == nil {
		data = []byte{} // NULL (which Flask may write) is the empty value
	}
	return data, true, nil
}

// Set stores data under key until expiry (zero: no expiry, stored as NULL)
// with one upsert. An expiry that has already passed deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, "set", err)
	}
	q, args := s.qSet, []any{key, nonNil(data), s.arg(expiry)}
	if s.passed(expiry) {
		q, args = s.qDelete, []any{key}
	}
	if _, err := s.exec(ctx, q, args...); err != nil {
		return s.wrap(ctx, "set", err)
	}
	return nil
}

// Delete removes key. Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, "delete", err)
	}
	if _, err := s.exec(ctx, s.qDelete, key); err != nil {
		return s.wrap(ctx, "delete", err)
	}
	return nil
}

// Touch sets the expiry of a live entry without rewriting its data (zero:
// no expiry) and reports whether there was one. An expiry that has already
// passed deletes the entry. Where affected rows count changed rows
// (Dialect.ChangedRows), an UPDATE that writes the expiry the row already
// has affects none, and Touch confirms with a SELECT that the entry is live.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, s.wrap(ctx, "touch", err)
	}
	now := s.clock()
	passed := s.passed(expiry)
	q, args := s.qTouch, []any{s.arg(expiry), key, now}
	if passed {
		q, args = s.qTouchDel, []any{key, now}
	}
	n, err := s.affected(ctx, q, args...)
	if err != nil || n > 0 || passed || !s.d.ChangedRows {
		return n > 0, s.wrap(ctx, "touch", err)
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.qLive, key, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, s.wrap(ctx, "touch", err)
}

// GetAndTouch reads a live entry and moves its expiry. With
// Options.RefreshInterval 0, on a dialect with RETURNING
// (Dialect.Returning) that is one UPDATE … RETURNING; otherwise it is Get
// then Touch. With RefreshInterval > 0 it is one SELECT of the data and the
// stored expiry, and a conditional UPDATE of the expiry only when the
// stored one must move (see Options.RefreshInterval); the data returned is
// the SELECT's. An expiry that has already passed returns the data and
// deletes the entry, like Redis GETEX.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, s.wrap(ctx, "get and touch", err)
	}
	if s.refresh > 0 && !s.passed(expiry) {
		return s.getRefresh(ctx, key, expiry)
	}
	if !s.d.Returning {
		data, found, err := s.Get(ctx, key)
		if err != nil || !found {
			return data, found, err
		}
		if _, err := s.Touch(ctx, key, expiry); err != nil {
			return nil, false, err
		}
		return data, true, nil
	}
	now := s.clock()
	if s.passed(expiry) {
		return s.readData(ctx, "get and touch", s.db.QueryRowContext(ctx, s.qGetTouchDel, key, now))
	}
	return s.readData(ctx, "get and touch", s.db.QueryRowContext(ctx, s.qGetTouch, s.arg(expiry), key, now))
}

// getRefresh is GetAndTouch with a RefreshInterval, for an expiry that has
// not passed.
func (s *Store) getRefresh(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	const op = "get and touch"
	now := s.now()
	var (
		data []byte
		raw  any
	)
	err := s.db.QueryRowContext(ctx, s.qGetExp, key, s.arg(now)).Scan(&data, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.wrap(ctx, op, err)
	}
	cur, err := parseExpiry(raw)
	if err != nil {
		return nil, false, s.wrap(ctx, op, err)
	}
	if data == nil {
		data = []byte{} // NULL (which Flask may write) is the empty value
	}
	if !s.needsRefresh(cur, expiry, now) {
		return data, true, nil
	}
	q, args := s.qRefresh, []any{s.arg(expiry), key, s.arg(now), s.arg(expiry)}
	if expiry.IsZero() {
		q, args = s.qRefreshNil, []any{key, s.arg(now)}
	}
	// The row may have changed or gone since the SELECT; either way the
	// read stands, as a read just before that change.
	if _, err := s.exec(ctx, q, args...); err != nil {
		return nil, false, s.wrap(ctx, op, err)
	}
	return data, true, nil
}

// needsRefresh is rueidisstore's rule: whether the stored expiry cur (zero:
// none) must move to want, at now, with RefreshInterval s.refresh.
func (s *Store) needsRefresh(cur, want, now time.Time) bool {
	switch {
	case want.IsZero():
		return !cur.IsZero()
	case cur.IsZero():
		return true
	case want.Sub(now) <= s.refresh: // the whole lifetime fits in one interval
		return true
	}
	return want.Sub(cur) > s.refresh
}

// CompareAndSet stores data under key until expiry (zero: no expiry, stored
// as NULL) only if the live value under key equals old byte for byte, and
// reports whether it did. A nil old means "only if absent"; an expired row
// counts as absent. A passed expiry with a matching old deletes the entry.
// Otherwise nothing changes and CompareAndSet reports (false, nil).
//
// Where the answer can come from one statement, it does, and the statement
// is atomic against every other writer (the row lock, or SQLite's write
// lock, is held from the comparison to the write):
//
//   - old != nil: UPDATE … WHERE session_id = ? AND data = old AND live
//     (DELETE … with the same condition for a passed expiry). Under READ
//     COMMITTED an UPDATE that meets a row being changed waits for it and
//     re-checks its WHERE on the committed version.
//   - old == nil: INSERT … ON CONFLICT (session_id) DO UPDATE … WHERE the
//     existing row has expired (Dialect.ConditionalUpsert); the unique index
//     arbitrates concurrent inserts.
//   - old == nil with a passed expiry: storing "nothing" over nothing is a
//     read, SELECT NOT EXISTS (… live row …).
//
// Without a conditional upsert, or where affected rows count changed rows
// (so old == data cannot be told from a mismatch), casTx runs instead.
// Under REPEATABLE READ or SERIALIZABLE as the default isolation level a
// conflicting concurrent update fails with a serialization error, which is
// retried (Dialect.Retryable) until the context's deadline.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, s.wrap(ctx, "compare and set", err)
	}
	now := s.clock()
	passed := s.passed(expiry)
	data = nonNil(data)
	if old == nil && passed {
		var absent bool
		err := s.db.QueryRowContext(ctx, s.qAbs, key, now).Scan(&absent)
		return err == nil && absent, s.wrap(ctx, "compare and set", err)
	}
	if (old == nil && !s.d.ConditionalUpsert) || (old != nil && !passed && s.d.ChangedRows && bytes.Equal(old, data)) {
		return s.casLoop(ctx, key, old, data, expiry, now)
	}
	q, args := s.qCAS, []any{data, s.arg(expiry), key, old, now}
	switch {
	case old == nil:
		q, args = s.qCASIns, []any{key, data, s.arg(expiry), now}
	case passed:
		q, args = s.qCASDel, []any{key, old, now}
	}
	n, err := s.affected(ctx, q, args...)
	return n > 0, s.wrap(ctx, "compare and set", err)
}

func (s *Store) casLoop(ctx context.Context, key string, old, data []byte, expiry time.Time, now any) (bool, error) {
	for attempt := 1; ; attempt++ {
		swapped, retry, err := s.casTx(ctx, key, old, data, expiry, now)
		if err == nil || !retry || attempt == maxAttempts || ctx.Err() != nil {
			return swapped, s.wrap(ctx, "compare and set", err)
		}
	}
}

// casTx is one attempt of CompareAndSet in a transaction, for a nil old or
// an old equal to data. It runs at READ COMMITTED, whatever the server's
// default: SELECT … FOR UPDATE then locks the row if there is one and takes
// no gap lock if there is none. Two transactions inserting the same absent
// key then meet at the unique index: the second waits for the first and
// fails with a duplicate key, and casTx reports retry, so the next attempt
// locks and compares the row that won. A Retryable error (deadlock) also
// reports retry: the server has rolled the transaction back.
func (s *Store) casTx(ctx context.Context, key string, old, data []byte, expiry time.Time, now any) (swapped, retry bool, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return false, s.retryable(err), err
	}
	defer tx.Rollback() // after Commit, a no-op
	var (
		cur   []byte
		live  bool
		found = true
	)
	switch err := tx.QueryRowContext(ctx, s.qLock, now, key).Scan(&cur, &live); {
	case errors.Is(err, sql.ErrNoRows):
		found = false
	case err != nil:
		return false, s.retryable(err), err
	}
	q, args := s.qWrite, []any{data, s.arg(expiry), key}
	switch {
	case found && live:
		if old == nil || !bytes.Equal(cur, old) {
			return false, false, nil
		}
	case old != nil: // absent or expired: no live value equals old
		return false, false, nil
	case !found:
		q, args = s.qInsert, []any{key, data, s.arg(expiry)}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return false, s.retryable(err) || (s.d.Duplicate != nil && s.d.Duplicate(err)), err
	}
	if err := tx.Commit(); err != nil {
		return false, s.retryable(err), err
	}
	return true, false, nil
}

// Iterate calls fn for every live entry whose key starts with prefix, in
// key order, until fn returns false. Rows are read in batches of 1000 by
// key (keyset pagination), and no connection is held while fn runs, so fn
// may call the store.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return s.wrap(ctx, "iterate", err)
	}
	pattern := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(prefix) + "%"
	now := s.clock()
	var last string
	for first := true; ; first = false {
		q, args := s.qIterFirst, []any{pattern, now}
		if !first {
			q, args = s.qIterNext, []any{pattern, now, last}
		}
		keys, exps, err := s.batch(ctx, q, args)
		if err != nil {
			return s.wrap(ctx, "iterate", err)
		}
		for i, k := range keys {
			// LIKE may be looser than a byte prefix (SQLite ignores ASCII
			// case; a table with a case-insensitive collation).
			if strings.HasPrefix(k, prefix) && !fn(k, exps[i]) {
				return nil
			}
		}
		if len(keys) < iterBatch {
			return nil
		}
		last = keys[len(keys)-1]
	}
}

func (s *Store) batch(ctx context.Context, q string, args []any) (keys []string, exps []time.Time, err error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k   string
			raw any
		)
		if err := rows.Scan(&k, &raw); err != nil {
			return nil, nil, err
		}
		exp, err := parseExpiry(raw)
		if err != nil {
			return nil, nil, err
		}
		keys, exps = append(keys, k), append(exps, exp)
	}
	return keys, exps, rows.Err()
}

// parseExpiry decodes an expiry column value as a driver returns it: NULL
// (no expiry), a time.Time read as UTC, or naive UTC text
// ("2006-01-02 15:04:05" with up to six fractional digits, as SQLAlchemy
// and MySQL's CAST(expiry AS CHAR) write it).
func parseExpiry(v any) (time.Time, error) {
	var txt string
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return v.UTC(), nil
	case []byte:
		txt = string(v)
	case string:
		txt = v
	default:
		return time.Time{}, fmt.Errorf("bad expiry of type %T", v)
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999", txt)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad expiry %q: %w", txt, err)
	}
	return t, nil
}

// DeleteExpired deletes every row whose expiry has passed (rows with a NULL
// expiry never expire) and reports how many it deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, s.wrap(ctx, "delete expired", err)
	}
	n, err := s.affected(ctx, s.qDelExp, s.clock())
	return int(n), s.wrap(ctx, "delete expired", err)
}

// exec runs one autocommit statement, again when the server rolled it back
// as a deadlock victim or for a serialization failure (Dialect.Retryable):
// the statement was undone entirely. Retries stop at the context's end.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.db.ExecContext(ctx, q, args...)
		if err == nil || !s.retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return res, err
		}
	}
}

func (s *Store) affected(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *Store) retryable(err error) bool { return s.d.Retryable != nil && s.d.Retryable(err) }

// passed reports whether a non-zero expiry is not after now.
func (s *Store) passed(expiry time.Time) bool { return !expiry.IsZero() && !expiry.After(s.now()) }

// clock returns now as a statement argument.
func (s *Store) clock() any { return s.arg(s.now()) }

// arg converts an expiry to the column's value: nil (NULL) for the zero
// time, otherwise the dialect's form of naive UTC at microsecond precision.
func (s *Store) arg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(t.UTC().Truncate(time.Microsecond))
}

func nonNil(data []byte) []byte {
	if data == nil {
		return []byte{} // a nil slice would be written as NULL
	}
	return data
}

// wrap prefixes a non-nil err with the store's name and the operation, and
// makes sure it wraps ctx.Err() when the context is done (drivers do not
// always say so). A nil err stays nil.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %s: %w (%w)", s.d.Name, op, err, cerr)
	}
	return fmt.Errorf("%s: %s: %w", s.d.Name, op, err)
}
