package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskconfig"
	"github.com/coatcheck/coatcheck/taggedjson"
)

var errCookieSessions = errors.New("SESSION_TYPE is cookie: sessions live in the browser and cannot be listed; set SESSION_TYPE")

const sessionsUsage = "usage: coatcheck sessions list [--user NAME] | show ID | delete ID | revoke --user NAME | purge-expired"

func sessionsCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, sessionsUsage)
		return 2
	}
	m, err := flaskconfig.Open(ctx, env, flaskconfig.Options{Configure: func(c *coatcheck.Config) error {
		c.Logger = quietLogger()
		if c.Store == nil {
			return errCookieSessions
		}
		return nil
	}})
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	defer m.Close()
	admin := m.Admin()
	switch {
	case args[0] == "list" && len(args) == 3 && args[1] == "--user":
		ids, err := admin.ListUser(ctx, args[2])
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		for _, id := range ids {
			fmt.Fprintln(stdout, id)
		}
		fmt.Fprintf(stderr, "%d sessions of %s in %s\n", len(ids), args[2], m.Store.Description)
		return 0
	case args[0] == "revoke" && len(args) == 3 && args[1] == "--user":
		start := time.Now()
		n, err := admin.RevokeUser(ctx, args[2])
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		fmt.Fprintf(stdout, "revoked %d sessions of %s (%s)\n", n, args[2], time.Since(start).Round(time.Microsecond))
		return 0
	case args[0] == "list" && len(args) == 1:
		n := 0
		start := time.Now()
		err := admin.List(ctx, func(id string, exp time.Time) bool {
			expiry := "never"
			if !exp.IsZero() {
				expiry = exp.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%s\t%s\n", id, expiry)
			n++
			if n%1000 == 0 {
				fmt.Fprintf(stderr, "… %d sessions listed (%s)\n", n, time.Since(start).Round(time.Millisecond))
			}
			return ctx.Err() == nil
		})
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		fmt.Fprintf(stderr, "%d sessions in %s\n", n, m.Store.Description)
		return 0
	case args[0] == "show" && len(args) == 2:
		data, found, err := admin.Get(ctx, args[1])
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		if !found {
			fmt.Fprintf(stderr, "coatcheck: no session %q\n", args[1])
			return 1
		}
		out, err := taggedjson.Marshal(data)
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		fmt.Fprintln(stdout, string(out))
		return 0
	case args[0] == "delete" && len(args) == 2:
		if err := admin.Delete(ctx, args[1]); err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		fmt.Fprintf(stderr, "deleted %s\n", args[1])
		return 0
	case args[0] == "purge-expired" && len(args) == 1:
		fmt.Fprintf(stderr, "purging expired sessions in %s…\n", m.Store.Description)
		n, err := admin.PurgeExpired(ctx)
		if errors.Is(err, coatcheck.ErrNotSupported) {
			fmt.Fprintln(stderr, "nothing to do: this store expires sessions itself")
			return 0
		}
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%d expired sessions removed\n", n)
		return 0
	}
	fmt.Fprintln(stderr, sessionsUsage)
	return 2
}
