// Command ferretdb serves an embedded FerretDB v1.24 (SQLite handler) on a
// loopback address, so that mongostore's integration tests can run against a
// real MongoDB wire-protocol server without installing MongoDB.
//
// Usage:
//
//	go build -o /tmp/ferretdb . && /tmp/ferretdb -listen 127.0.0.1:27018 -dir /tmp/ferretdb-data
//
// It logs to stderr, prints "ferretdb: ready on mongodb://ADDR/" once the
// listener is about to accept connections, and exits cleanly (status 0) on
// SIGINT or SIGTERM.
//
// This module is the only place in Coatcheck that depends on FerretDB; no
// store module requires it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to serve the MongoDB wire protocol on (loopback only)")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "coatcheck-ferretdb"), "directory for the SQLite data files (created if missing)")
	level := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listen, *dir, *level); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir, level string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("bad -listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %q is not a loopback address", listen)
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", level, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
		Handler:  "sqlite",
		// _txlock=immediate: write transactions take the write lock at BEGIN, so
		// concurrent writers wait (busy_timeout) instead of failing with
		// SQLITE_BUSY when a deferred read transaction cannot be upgraded.
		// synchronous(normal): no fsync per commit (WAL stays consistent; a
		// test server need not survive power loss), which makes writes
		// several times faster.
		SQLiteURL: "file:" + filepath.ToSlash(abs) + "/?_txlock=immediate&_pragma=synchronous(normal)",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI needs the listener started by Run; it blocks until then.
	fmt.Fprintf(os.Stderr, "ferretdb: ready on %s (data in %s)\n", f.MongoDBURI(), abs)

	err = <-done
	fmt.Fprintln(os.Stderr, "ferretdb: stopped")
	return err
}
