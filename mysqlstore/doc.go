// Package mysqlstore is a coatcheck session store on MySQL (8.0 and later)
// or MariaDB (10.5 and later) through database/sql, normally with
// github.com/go-sql-driver/mysql, in the table layout of Flask-Session's
// SQLAlchemy backend, so a Flask application and a Go one can share
// sessions.
//
// The package does not import coatcheck: *Store (the shared SQL core of
// package sqlstore) satisfies coatcheck.Store, Toucher, GetToucher,
// Iterator, Cleaner and CompareAndSetter structurally. Neither server has
// UPDATE … RETURNING, so GetAndTouch is Get then Touch, two round trips;
// with Options.RefreshInterval > 0 it is one SELECT, plus an UPDATE at most
// once per interval for a session read on every request (see
// sqlstore.Options.RefreshInterval).
//
// # Schema
//
// New creates the table when it is missing, unless Options.NoCreateTable
// is set:
//
//	CREATE TABLE IF NOT EXISTS `sessions` (
//		id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
//		session_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
//		data LONGBLOB,
//		expiry DATETIME(6) NULL,
//		UNIQUE KEY session_id (session_id),
//		KEY expiry_idx (expiry)
//	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
//
// session_id is the full key (SESSION_KEY_PREFIX + sid), data the encoded
// session as given, expiry the absolute expiry as naive UTC, which is what
// SQLAlchemy's DateTime holds for Flask-Session's datetime.utcnow() +
// PERMANENT_SESSION_LIFETIME. It differs from what SQLAlchemy would create
// in four deliberate ways, none visible to Flask-Session:
//
//   - session_id has a binary collation, so keys are compared byte for
//     byte; under the server's default case-insensitive collation
//     "session:Ab" and "session:ab" would be one row.
//   - data is LONGBLOB: SQLAlchemy's LargeBinary becomes BLOB, which holds
//     64 KiB at most.
//   - expiry is DATETIME(6) (microseconds); SQLAlchemy's DATETIME keeps
//     whole seconds.
//   - id is BIGINT: every INSERT … ON DUPLICATE KEY UPDATE draws an
//     AUTO_INCREMENT value even when it updates.
//
// A table that SQLAlchemy created works too, with those limits. Values up to
// the server's max_allowed_packet fit in one statement (MariaDB 10.11
// defaults to 16 MiB, MySQL 8 to 64 MiB).
//
// # Connections
//
// database/sql does not bound its pool by default, and every concurrent
// request holds a connection for the length of a statement: set
// db.SetMaxOpenConns below the server's max_connections (151 by default).
// Without interpolateParams=true in the DSN the driver prepares, executes
// and closes a statement per call, three round trips instead of one.
//
// # Deadlines and timeouts
//
// Every call honours its context: the driver dials, handshakes and waits
// for answers under it, and closes a connection whose context ends, so a
// server that accepts connections but never answers makes a call fail at
// its deadline. Retries of deadlock victims (error 1213) stop there too.
// Give the DSN a dial timeout and I/O timeouts for calls without a
// deadline and for background work: timeout=5s&readTimeout=30s&writeTimeout=30s.
//
// # Expiry, NULL and time zones
//
// A zero expiry ("no expiry") is stored as NULL, and NULL rows never expire
// here. Flask-Session 0.8 deletes a NULL-expiry row when it reads it, and
// 0.3.2 fails on one, so give sessions an expiry when Flask reads them too.
//
// DATETIME has no time zone. The store sends every time as UTC text
// ("2006-01-02 15:04:05.000000") and reads expiry back as
// CAST(expiry AS CHAR), so the DSN's parseTime and loc settings and the
// session time_zone never shift a stored time. What has expired is decided
// with the application's clock (Options.Now), passed as a parameter to
// every statement, never with the server's NOW(); an entry whose expiry
// equals now has expired.
//
// # Cleanup
//
// Get, Touch and Iterate ignore expired rows; they stay in the table until
// DeleteExpired removes them. New starts a goroutine that calls it every
// Options.CleanupInterval (5 minutes by default; negative disables it);
// Close stops it.
package mysqlstore
