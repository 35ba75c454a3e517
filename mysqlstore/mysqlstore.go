package mysqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultTable is the table name used when Options.Table is empty; it is
// Flask-Session's default (SESSION_SQLALCHEMY_TABLE).
const DefaultTable = "sessions"

// DefaultCleanupInterval is the interval of the background cleanup when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// casAttempts bounds the transactions one CompareAndSet runs when a
// concurrent insert of the same key (duplicate key) or a deadlock makes it
// start over.
const casAttempts = 5

// iterBatch is how many rows Iterate reads per query. No connection is held
// while fn runs, so fn may call the store.
const iterBatch = 1000

// timeLayout is how expiry values travel to and from the server: naive UTC
// with microseconds, as text, so neither the DSN's parseTime and loc nor the
// session time_zone can shift them.
const timeLayout = "2006-01-02 15:04:05.000000"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// Options configures a Store. The zero value is the documented default.
type Options struct {
	// Table is the name of the sessions table: letters, digits and
	// underscores, not starting with a digit, at most 48 bytes. It is
	// quoted in every statement. Default "sessions".
	Table string

	// SkipCreateTable stops New from running CREATE TABLE IF NOT EXISTS;
	// use it when migrations own the schema.
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

// Store is a coatcheck store (Get, Set, Delete, Touch, Iterate,
// DeleteExpired, CompareAndSet) on a MySQL or MariaDB table in Flask-Session's SQLAlchemy
// layout. It is safe for concurrent use. Call Close to stop the background
// cleanup; Close does not close the *sql.DB.
type Store struct {
	db  *sql.DB
	now func() time.Time

	qGet, qSet, qDelete              string
	qTouch, qTouchDelete, qLive      string
	qIterFirst, qIterNext, qDelExpir string
	qCAS, qCASDelete                 string
	qLock, qWrite, qInsert           string

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New returns a Store on db (opened with the "mysql" driver of
// github.com/go-sql-driver/mysql; any DSN options work, parseTime and loc
// included). Unless opts.SkipCreateTable is set it creates the table if it
// is missing (see the package doc for the schema). A bad option or a failed
// CREATE is an error.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("mysqlstore: nil db")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("mysqlstore: invalid table name %q (want letters, digits, underscores, at most 48 bytes)", table)
	}
	t := "`" + table + "`"
	live := ` AND (expiry IS NULL OR expiry > ?)`
	// sameData compares the stored value with a parameter as Get sees it
	// (NULL is the empty value), as binary strings: byte for byte, no
	// padding, whatever the connection's collation.
	sameData := ` AND COALESCE(data, x'') = CAST(? AS BINARY)`
	s := &Store{
		db:   db,
		now:  opts.Now,
		qGet: `SELECT data FROM ` + t + ` WHERE session_id = ?` + live,
		qSet: `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry)`,
		qDelete:      `DELETE FROM ` + t + ` WHERE session_id = ?`,
		qTouch:       `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live,
		qTouchDelete: `DELETE FROM ` + t + ` WHERE session_id = ?` + live,
		qLive:        `SELECT 1 FROM ` + t + ` WHERE session_id = ?` + live,
		qIterFirst: `SELECT session_id, CAST(expiry AS CHAR) FROM ` + t + ` WHERE session_id LIKE ? ESCAPE '!'` + live +
			` ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qIterNext: `SELECT session_id, CAST(expiry AS CHAR) FROM ` + t + ` WHERE session_id LIKE ? ESCAPE '!'` + live +
			` AND session_id > ? ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qDelExpir:  `DELETE FROM ` + t + ` WHERE expiry <= ?`,
		qCAS:       `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE session_id = ?` + sameData + live,
		qCASDelete: `DELETE FROM ` + t + ` WHERE session_id = ?` + sameData + live,
		qLock:      `SELECT data, expiry IS NULL OR expiry > ? FROM ` + t + ` WHERE session_id = ? FOR UPDATE`,
		qWrite:     `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE session_id = ?`,
		qInsert:    `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES (?, ?, ?)`,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !opts.SkipCreateTable {
		ddl := `CREATE TABLE IF NOT EXISTS ` + t + ` (
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	session_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	data LONGBLOB,
	expiry DATETIME(6) NULL,
	UNIQUE KEY session_id (session_id),
	KEY expiry_idx (expiry)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return nil, wrapErr(ctx, "create table", err)
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
// not close the *sql.DB. Close is idempotent and always returns nil.
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
	err := s.db.QueryRowContext(ctx, s.qGet, key, s.clock()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
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
// with one INSERT … ON DUPLICATE KEY UPDATE. An expiry that has already
// passed deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(ctx, "set", err)
	}
	if !expiry.IsZero() && !expiry.After(s.now()) {
		return s.delete(ctx, "set", key)
	}
	if data == nil {
		data = []byte{} // a nil slice would be written as NULL
	}
	if _, err := s.exec(ctx, s.qSet, key, data, dbTime(expiry)); err != nil {
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
	if _, err := s.exec(ctx, s.qDelete, key); err != nil {
		return wrapErr(ctx, op, err)
	}
	return nil
}

// Touch sets the expiry of a live entry without rewriting its data (zero:
// no expiry) and reports whether there was one. An expiry that has already
// passed deletes the entry.
//
// MySQL reports changed rows, not matched rows, unless the DSN sets
// clientFoundRows=true, so an UPDATE that writes the expiry the row already
// has affects no row; Touch then checks with a SELECT whether the entry is
// live. That costs a second round trip only in this rare case.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	now := s.clock()
	if !expiry.IsZero() && !expiry.After(s.now()) {
		res, err := s.exec(ctx, s.qTouchDelete, key, now)
		if err != nil {
			return false, wrapErr(ctx, "touch", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, wrapErr(ctx, "touch", err)
		}
		return n > 0, nil
	}
	res, err := s.exec(ctx, s.qTouch, dbTime(expiry), key, now)
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	if n > 0 {
		return true, nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, s.qLive, key, now).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	return true, nil
}

// CompareAndSet stores data under key until expiry (zero: no expiry, stored
// as NULL) only if the live value under key equals old byte for byte, and
// reports whether it did. A nil old means "only if absent"; an expired row
// counts as absent. A passed expiry with a matching old deletes the entry.
// Otherwise nothing changes and CompareAndSet reports (false, nil).
//
// When old differs from data, one statement does it: UPDATE … WHERE
// session_id = ? AND data = old AND live (DELETE … with the same condition
// for a passed expiry). InnoDB locks the row before it checks the condition
// on its latest committed version and writes it under that lock, so no
// other writer, in this process or another, can come in between. A matched
// row is then always changed (its data goes from old to data), so MySQL's
// affected rows, which count changed rows rather than matched ones unless
// the DSN sets clientFoundRows, say exactly whether it matched.
//
// Affected rows cannot answer the two other cases: old equal to data (a
// matched row may be left unchanged, as with Touch) and a nil old (an
// INSERT … ON DUPLICATE KEY UPDATE that keeps a live row counts 1 under
// clientFoundRows, like an insert). Those run a READ COMMITTED transaction
// that locks the row with SELECT … FOR UPDATE, compares in Go, and writes
// under the lock (see casTx). They recognise duplicate keys and deadlocks
// by the error numbers of github.com/go-sql-driver/mysql; with another
// driver such a lost race is returned as an error instead of retried.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapErr(ctx, "compare and set", err)
	}
	t := s.now()
	now := t.UTC().Format(timeLayout)
	passed := !expiry.IsZero() && !expiry.After(t)
	if data == nil {
		data = []byte{} // a nil slice would be written as NULL
	}
	if old != nil && (passed || !bytes.Equal(old, data)) {
		var (
			res sql.Result
			err error
		)
		if passed {
			res, err = s.exec(ctx, s.qCASDelete, key, old, now)
		} else {
			res, err = s.exec(ctx, s.qCAS, data, dbTime(expiry), key, old, now)
		}
		if err != nil {
			return false, wrapErr(ctx, "compare and set", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, wrapErr(ctx, "compare and set", err)
		}
		return n > 0, nil
	}
	for attempt := 1; ; attempt++ {
		swapped, retry, err := s.casTx(ctx, key, old, data, expiry, passed, now)
		if err == nil {
			return swapped, nil
		}
		if !retry || attempt == casAttempts || ctx.Err() != nil {
			return false, wrapErr(ctx, "compare and set", err)
		}
	}
}

// casTx is one attempt of CompareAndSet in a transaction, for a nil old or
// an old equal to data. It runs at READ COMMITTED, whatever the server's
// default: SELECT … FOR UPDATE then locks the row if there is one (so
// nobody can change or delete it until the commit) and takes no gap lock if
// there is none. Under REPEATABLE READ two transactions inserting the same
// absent key would both hold the gap lock and deadlock on their INSERTs;
// here the second INSERT waits for the first transaction and then fails
// with a duplicate key (the unique index arbitrates), and casTx reports
// retry, so the next attempt locks and compares the row that won. A
// deadlock also reports retry: InnoDB has rolled the transaction back, so
// nothing was changed.
func (s *Store) casTx(ctx context.Context, key string, old, data []byte, expiry time.Time, passed bool, now string) (swapped, retry bool, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return false, false, err
	}
	defer tx.Rollback() // after Commit, a no-op
	var (
		cur  []byte
		live bool
	)
	found := true
	switch err := tx.QueryRowContext(ctx, s.qLock, now, key).Scan(&cur, &live); {
	case errors.Is(err, sql.ErrNoRows):
		found = false
	case err != nil:
		return false, isDeadlock(err), err
	}
	var q string
	var args []any
	switch {
	case found && live:
		if old == nil || !bytes.Equal(cur, old) {
			return false, false, nil
		}
		if passed {
			q, args = s.qDelete, []any{key}
		} else {
			q, args = s.qWrite, []any{data, dbTime(expiry), key}
		}
	case old != nil: // absent or expired: no live value equals old
		return false, false, nil
	case passed: // nil old, nothing live, nothing to store
		return true, false, nil
	case found: // nil old over an expired row, which we hold
		q, args = s.qWrite, []any{data, dbTime(expiry), key}
	default:
		q, args = s.qInsert, []any{key, data, dbTime(expiry)}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return false, isDeadlock(err) || isDuplicate(err), err
	}
	if err := tx.Commit(); err != nil {
		return false, false, err
	}
	return true, false, nil
}

// maxDeadlockRetries bounds how often one statement is re-run after InnoDB
// chose it as a deadlock victim.
const maxDeadlockRetries = 5

// exec runs one autocommit statement. Under concurrent writes InnoDB may
// roll such a statement back as a deadlock victim (error 1213) even though
// nothing is wrong; the statement was undone entirely, so it is run again.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.db.ExecContext(ctx, q, args...)
		if err == nil || !isDeadlock(err) || attempt == maxDeadlockRetries || ctx.Err() != nil {
			return res, err
		}
	}
}

// isDuplicate reports a duplicate-key error (ER_DUP_ENTRY).
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// isDeadlock reports a deadlock (ER_LOCK_DEADLOCK), after which InnoDB has
// rolled the whole transaction back.
func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
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
			rows *sql.Rows
			err  error
		)
		if first {
			rows, err = s.db.QueryContext(ctx, s.qIterFirst, pattern, now)
		} else {
			rows, err = s.db.QueryContext(ctx, s.qIterNext, pattern, now, last)
		}
		if err != nil {
			return wrapErr(ctx, "iterate", err)
		}
		batch = batch[:0]
		for rows.Next() {
			var (
				e   entry
				exp sql.NullString
			)
			if err := rows.Scan(&e.key, &exp); err != nil {
				rows.Close()
				return wrapErr(ctx, "iterate", err)
			}
			if exp.Valid {
				if e.expiry, err = parseTime(exp.String); err != nil {
					rows.Close()
					return wrapErr(ctx, "iterate", err)
				}
			}
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapErr(ctx, "iterate", err)
		}
		for _, e := range batch {
			// A table whose session_id has a case-insensitive collation
			// (as SQLAlchemy creates it) makes LIKE looser than a prefix.
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
	res, err := s.exec(ctx, s.qDelExpir, s.clock())
	if err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	return int(n), nil
}

// clock returns now in the wire format of expiry values.
func (s *Store) clock() string { return s.now().UTC().Format(timeLayout) }

// dbTime converts an expiry to the column's value: nil (NULL) for the zero
// time, otherwise naive UTC with microseconds.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads an expiry as CAST(expiry AS CHAR) prints it; a
// DATETIME without fractional seconds (as SQLAlchemy creates it) prints
// none, which the layout accepts.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad expiry %q: %w", s, err)
	}
	return t, nil
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
		return fmt.Errorf("mysqlstore: %s: %w (%w)", op, err, cerr)
	}
	return fmt.Errorf("mysqlstore: %s: %w", op, err)
}
