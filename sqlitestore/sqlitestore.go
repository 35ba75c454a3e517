package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"regexp"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver used by Open
)

// DefaultTable is the table name used when Options.Table is empty; it is
// Flask-Session's default (SESSION_SQLALCHEMY_TABLE).
const DefaultTable = "sessions"

// DefaultCleanupInterval is the interval of the background cleanup when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// DefaultBusyTimeout is the busy_timeout Open sets on its connection.
const DefaultBusyTimeout = 10 * time.Second

// iterBatch is how many rows Iterate reads per query. No connection is held
// while fn runs, so fn may call the store (even on a one-connection pool).
const iterBatch = 1000

// TimeLayout is the text form of expiry values: naive UTC with six
// fractional digits, exactly as SQLAlchemy's SQLite DateTime writes it. The
// fixed width makes text comparison in SQL a time comparison.
const TimeLayout = "2006-01-02 15:04:05.000000"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// Options configures a Store. The zero value is the documented default.
type Options struct {
	// Table is the name of the sessions table: letters, digits and
	// underscores, not starting with a digit, at most 48 bytes. It is
	// quoted in every statement. Default "sessions".
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
	Now func() time.Time
}

// Store is a coatcheck store (Get, Set, Delete, Touch, GetAndTouch,
// Iterate, DeleteExpired, CompareAndSet) on a SQLite table in Flask-Session's SQLAlchemy
// layout. It is safe for concurrent use. Call Close to stop the background
// cleanup (and, for a store made by Open, to close the database).
type Store struct {
	db     *sql.DB
	ownsDB bool
	now    func() time.Time

	qGet, qSet, qDelete              string
	qTouch, qTouchDelete             string
	qGetTouch, qGetTouchDelete       string
	qIterFirst, qIterNext, qDelExpir string
	qCAS, qCASDelete, qCASInsert     string
	qCASAbsent                       string

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the SQLite database file at path with
// modernc.org/sqlite and returns a Store on it that Close will close. The
// database is set up for an embedded session store:
//
//   - journal_mode=WAL, so readers in other processes (a Flask app sharing
//     the file) do not block the writer, and synchronous=NORMAL, which is
//     durable across application crashes in WAL mode;
//   - busy_timeout of DefaultBusyTimeout, so a writer in another process
//     makes this one wait instead of failing with SQLITE_BUSY;
//   - a pool of one connection: SQLite allows one writer at a time anyway,
//     and one connection means no goroutine of this process ever waits on a
//     lock held by another (a busy timeout can still expire under
//     contention; a single connection cannot). Statements are short, so the
//     queue is short; Iterate holds no connection while its callback runs.
//
// path must not contain '?'; ":memory:" gives a private in-memory database.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlitestore: invalid database path %q", path)
	}
	dsn := path + "?_pragma=busy_timeout(" + fmt.Sprint(DefaultBusyTimeout.Milliseconds()) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, wrapErr(ctx, "open", err)
	}
	s, err := New(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// New returns a Store on db, a SQLite database opened by the caller with any
// driver (modernc.org/sqlite's "sqlite", mattn/go-sqlite3…). Set a
// busy_timeout on every connection (for modernc.org/sqlite:
// "?_pragma=busy_timeout(10000)") or limit the pool to one connection, or
// concurrent writers fail with SQLITE_BUSY; Open does both. Unless
// opts.SkipCreateTable is set, New creates the table and its expiry index if
// they are missing (see the package doc for the schema).
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: nil db")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("sqlitestore: invalid table name %q (want letters, digits, underscores, at most 48 bytes)", table)
	}
	t := `"` + table + `"`
	live := ` AND (expiry IS NULL OR expiry > ?)`
	sameData := ` AND CAST(COALESCE(data, X'') AS BLOB) = CAST(COALESCE(?, X'') AS BLOB)`
	// CAST(expiry AS TEXT) keeps drivers from parsing the DATETIME column
	// into a time.Time of their own making.
	s := &Store{
		db:   db,
		now:  opts.Now,
		qGet: `SELECT data FROM ` + t + ` WHERE session_id = ?` + live,
		qSet: `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES (?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		qDelete:         `DELETE FROM ` + t + ` WHERE session_id = ?`,
		qTouch:          `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live,
		qTouchDelete:    `DELETE FROM ` + t + ` WHERE session_id = ?` + live,
		qGetTouch:       `UPDATE ` + t + ` SET expiry = ? WHERE session_id = ?` + live + ` RETURNING data`,
		qGetTouchDelete: `DELETE FROM ` + t + ` WHERE session_id = ?` + live + ` RETURNING data`,
		qIterFirst: `SELECT session_id, CAST(expiry AS TEXT) FROM ` + t + ` WHERE session_id LIKE ? ESCAPE '!'` + live +
			` ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qIterNext: `SELECT session_id, CAST(expiry AS TEXT) FROM ` + t + ` WHERE session_id LIKE ? ESCAPE '!'` + live +
			` AND session_id > ? ORDER BY session_id LIMIT ` + fmt.Sprint(iterBatch),
		qDelExpir: `DELETE FROM ` + t + ` WHERE expiry <= ?`,
		// sameData compares the stored value with a parameter as Get sees
		// it: NULL is the empty value, and a TEXT value (another driver may
		// write one) compares by its bytes, since TEXT never equals BLOB.
		qCAS:       `UPDATE ` + t + ` SET data = ?, expiry = ? WHERE session_id = ?` + sameData + live,
		qCASDelete: `DELETE FROM ` + t + ` WHERE session_id = ?` + sameData + live,
		qCASInsert: `INSERT INTO ` + t + ` (session_id, data, expiry) VALUES (?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, expiry = excluded.expiry
WHERE ` + t + `.expiry IS NOT NULL AND ` + t + `.expiry <= ?`,
		qCASAbsent: `SELECT NOT EXISTS (SELECT 1 FROM ` + t + ` WHERE session_id = ?` + live + `)`,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !opts.SkipCreateTable {
		ddl := []string{
			`CREATE TABLE IF NOT EXISTS ` + t + ` (
	id INTEGER NOT NULL PRIMARY KEY,
	session_id VARCHAR(255) NOT NULL UNIQUE,
	data BLOB,
	expiry DATETIME
)`,
			`CREATE INDEX IF NOT EXISTS "` + table + `_expiry_idx" ON ` + t + ` (expiry)`,
		}
		for _, q := range ddl {
			if _, err := db.ExecContext(ctx, q); err != nil {
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

// Close stops the background cleanup and waits for it to return; for a
// store made by Open it then closes the database. A store made by New
// leaves the *sql.DB open. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		if s.ownsDB {
			if err := s.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("sqlitestore: close: %w", err)
			}
		}
	})
	return s.closeErr
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
// with one INSERT … ON CONFLICT DO UPDATE. An expiry that has already
// passed deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(ctx, "set", err)
	}
	if !expiry.IsZero() && !expiry.After(s.now()) {
		return s.delete(ctx, "set", key)
	}
	if data == nil {
		data = []byte{}
	}
	if _, err := s.db.ExecContext(ctx, s.qSet, key, data, dbTime(expiry)); err != nil {
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
	if _, err := s.db.ExecContext(ctx, s.qDelete, key); err != nil {
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
	now := s.now()
	var (
		res sql.Result
		err error
	)
	if !expiry.IsZero() && !expiry.After(now) {
		res, err = s.db.ExecContext(ctx, s.qTouchDelete, key, dbTime(now))
	} else {
		res, err = s.db.ExecContext(ctx, s.qTouch, dbTime(expiry), key, dbTime(now))
	}
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapErr(ctx, "touch", err)
	}
	return n > 0, nil
}

// GetAndTouch reads a live entry and moves its expiry in one statement
// (UPDATE … RETURNING). An expiry that has already passed returns the data
// and deletes the entry, like Redis GETEX.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrapErr(ctx, "get and touch", err)
	}
	now := s.now()
	var row *sql.Row
	if !expiry.IsZero() && !expiry.After(now) {
		row = s.db.QueryRowContext(ctx, s.qGetTouchDelete, key, dbTime(now))
	} else {
		row = s.db.QueryRowContext(ctx, s.qGetTouch, dbTime(expiry), key, dbTime(now))
	}
	var data []byte
	err := row.Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
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
// Each case is one statement, and a writing statement runs in its own
// write transaction: SQLite takes the database's write lock before the
// statement reads the row and keeps it until the write is done, so no other
// connection, in this process or another one, can write between the
// comparison and the write.
//
//   - old != nil: UPDATE … WHERE session_id = ? AND data = old AND live
//     (DELETE … with the same condition for a passed expiry). SQLite counts
//     matched rows, so data equal to old still counts as swapped.
//   - old == nil: INSERT … ON CONFLICT (session_id) DO UPDATE … WHERE the
//     existing row has expired: it inserts, or replaces an expired row, or
//     changes nothing (no row affected) when a live row exists.
//   - old == nil with a passed expiry: storing "nothing" over nothing is a
//     read, SELECT NOT EXISTS (… live row …).
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapErr(ctx, "compare and set", err)
	}
	now := s.now()
	passed := !expiry.IsZero() && !expiry.After(now)
	if old == nil && passed {
		var absent bool
		if err := s.db.QueryRowContext(ctx, s.qCASAbsent, key, dbTime(now)).Scan(&absent); err != nil {
			return false, wrapErr(ctx, "compare and set", err)
		}
		return absent, nil
	}
	if data == nil {
		data = []byte{}
	}
	var (
		res sql.Result
		err error
	)
	switch {
	case old == nil:
		res, err = s.db.ExecContext(ctx, s.qCASInsert, key, data, dbTime(expiry), dbTime(now))
	case passed:
		res, err = s.db.ExecContext(ctx, s.qCASDelete, key, old, dbTime(now))
	default:
		res, err = s.db.ExecContext(ctx, s.qCAS, data, dbTime(expiry), key, old, dbTime(now))
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
			// SQLite's LIKE ignores ASCII case; keep exact prefixes only.
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
	res, err := s.db.ExecContext(ctx, s.qDelExpir, s.clock())
	if err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(ctx, "delete expired", err)
	}
	return int(n), nil
}

// clock returns now in the stored form of expiry values.
func (s *Store) clock() string { return s.now().UTC().Format(TimeLayout) }

// dbTime converts an expiry to the column's value: nil (NULL) for the zero
// time, otherwise TimeLayout text in UTC.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(TimeLayout)
}

// parseTime reads a stored expiry; fractional seconds are optional.
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
		return fmt.Errorf("sqlitestore: %s: %w (%w)", op, err, cerr)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}
