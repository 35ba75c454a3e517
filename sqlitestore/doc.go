// Package sqlitestore is a coatcheck session store in a SQLite database:
// the embedded, persistent store for single-node applications. Open uses
// modernc.org/sqlite (pure Go, so CGO_ENABLED=0 builds and cross-compiles
// keep working); New takes a *sql.DB from any SQLite driver. The table has
// the layout of Flask-Session's SQLAlchemy backend, so a Flask application
// and a Go one can share the database file.
//
// The package does not import coatcheck: *Store (the shared SQL core of
// package sqlstore) satisfies coatcheck.Store,
// Toucher, GetToucher, Iterator, Cleaner and CompareAndSetter structurally.
//
// # Schema
//
// New and Open create the table (and an index on expiry) when it is
// missing, unless Options.NoCreateTable is set:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		id INTEGER NOT NULL PRIMARY KEY,
//		session_id VARCHAR(255) NOT NULL UNIQUE,
//		data BLOB,
//		expiry DATETIME
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "sessions" (expiry);
//
// session_id is the full key (SESSION_KEY_PREFIX + sid), compared byte for
// byte; data is the encoded session as given. expiry holds text in the form
// SQLAlchemy's SQLite DateTime writes, naive UTC with microseconds
// ("2006-01-02 15:04:05.000000"), which is what Flask-Session
// stores for datetime.utcnow() + PERMANENT_SESSION_LIFETIME. The fixed width
// makes SQL text comparison a time comparison, so expiry checks run in SQL
// and use the index. SQLite does not enforce VARCHAR(255).
//
// # Expiry, NULL and time zones
//
// A zero expiry ("no expiry") is stored as NULL, and NULL rows never expire
// here. Flask-Session 0.8 deletes a NULL-expiry row when it reads it, and
// 0.3.2 fails on one, so give sessions an expiry when Flask reads them too.
// Times are converted to UTC before they are formatted, and read back as
// CAST(expiry AS TEXT) so that no driver parses the DATETIME column in a
// zone of its choosing. What has expired is decided with the application's
// clock (Options.Now); an entry whose expiry equals now has expired.
//
// # Concurrency
//
// SQLite has one writer at a time. Open configures WAL, a busy_timeout
// (DefaultBusyTimeout) and a pool of one connection, so goroutines of one
// process queue for the connection instead of failing with SQLITE_BUSY,
// and other processes on the same file wait up to the busy timeout. A
// *sql.DB given to New needs the same care: a busy_timeout on every
// connection (modernc.org/sqlite: "?_pragma=busy_timeout(10000)"), and
// preferably WAL and SetMaxOpenConns(1).
//
// # Deadlines
//
// Every call passes its context to the driver, which interrupts a
// statement when the context ends. A write waiting for another process's
// write lock waits up to the busy timeout (Open: DefaultBusyTimeout), and a
// goroutine waiting for Open's one connection gives up at its context's
// deadline.
//
// # Cleanup
//
// Get, Touch and Iterate ignore expired rows; they stay in the table until
// DeleteExpired removes them. New and Open start a goroutine that calls it
// every Options.CleanupInterval (5 minutes by default; negative disables
// it); Close stops it.
package sqlitestore
