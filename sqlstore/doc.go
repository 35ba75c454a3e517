// Package sqlstore is the database/sql core shared by coatcheck's SQL
// session stores (pgstore, mysqlstore, sqlitestore): one implementation of
// the store contract (Store, Toucher, GetToucher, Iterator, Cleaner,
// CompareAndSetter) and of the background cleanup, on a table in the layout
// of Flask-Session's SQLAlchemy backend, parameterised by a small Dialect
// (placeholders, quoting, upsert and compare-and-set statements, how times
// travel, DDL, which errors are retried).
//
// The package imports only the standard library; a store module brings the
// driver and its Dialect. Applications use the store modules, not this
// package.
//
// # Deadlines
//
// Every call passes its context to database/sql, which hands it to the
// driver for connecting, waiting for a pooled connection and running the
// statement; a server that accepts connections but never answers makes the
// call fail when the context's deadline passes. Retries of statements the
// server rolled back (deadlocks, serialization failures) stop at the
// deadline too. Calls without a deadline wait as long as the driver does,
// so give the Manager's requests a deadline and the DSN a dial timeout.
package sqlstore
