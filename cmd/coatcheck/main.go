// Command coatcheck works with Flask-compatible sessions: it decodes and
// signs Flask session cookies, generates secret keys, manages server-side
// sessions and runs a demo web app.
//
//	coatcheck keygen
//	coatcheck version
//	coatcheck cookie decode [--key K | --key-hex H] [--fallback-key K]... [--salt S] [--max-age SECONDS] [--now UNIX] COOKIE
//	coatcheck cookie sign (--key K | --key-hex H) [--salt S] [--now UNIX] TAGGED_JSON
//	coatcheck sessions list [--user NAME] | show ID | delete ID | revoke --user NAME | purge-expired
//	coatcheck demo [--addr 127.0.0.1:8080]
//	coatcheck admin [--addr 127.0.0.1:8081]   (COATCHECK_ADMIN_TOKEN required)
//
// The sessions and demo commands read Flask's and Flask-Session's settings
// from the environment: SECRET_KEY, SECRET_KEY_FALLBACKS (comma-separated),
// SESSION_COOKIE_*, PERMANENT_SESSION_LIFETIME (seconds),
// SESSION_REFRESH_EACH_REQUEST, SESSION_TYPE (cookie, memory, filesystem,
// sqlite, redis, memcached, postgresql, mysql, mongodb, sqlalchemy) and the
// store settings SESSION_REDIS, SESSION_MEMCACHED, SESSION_FILE_DIR,
// SESSION_SQLITE, SESSION_SQLALCHEMY(_TABLE), SESSION_MONGODB(_DB, _COLLECT),
// SESSION_KEY_PREFIX, SESSION_USE_SIGNER, SESSION_PERMANENT,
// SESSION_ID_LENGTH, SESSION_SERIALIZATION_FORMAT and SESSION_FLASK_COMPAT.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

const usage = `usage:
  coatcheck keygen
  coatcheck version
  coatcheck cookie decode [--key K | --key-hex H] [--fallback-key K]... [--salt S] [--max-age SECONDS] [--now UNIX] COOKIE
  coatcheck cookie sign (--key K | --key-hex H) [--salt S] [--now UNIX] TAGGED_JSON
  coatcheck sessions list [--user NAME] | show ID | delete ID | revoke --user NAME | purge-expired
  coatcheck demo [--addr 127.0.0.1:8080]
  coatcheck admin [--addr 127.0.0.1:8081]   (needs COATCHECK_ADMIN_TOKEN)

Settings for sessions and demo come from the environment, with Flask's and
Flask-Session's names (SECRET_KEY, SESSION_TYPE, SESSION_REDIS, ...).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command, testable without a process.
func run(ctx context.Context, args []string, env lookupEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "keygen":
		return keygen(stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "coatcheck", version())
		return 0
	case "cookie":
		if len(args) < 2 {
			fmt.Fprint(stderr, "coatcheck: cookie: missing subcommand (decode or sign)\n\n", usage)
			return 2
		}
		switch args[1] {
		case "decode":
			return cookieDecode(args[2:], stdout, stderr)
		case "sign":
			return cookieSign(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "coatcheck: cookie: unknown subcommand %q (want decode or sign)\n\n%s", args[1], usage)
		return 2
	case "sessions":
		return sessionsCmd(ctx, args[1:], env, stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], env, stdout, stderr)
	case "admin":
		return adminCmd(ctx, args[1:], env, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "coatcheck: unknown flag %q (flags follow the command)\n\n%s", args[0], usage)
	} else {
		fmt.Fprintf(stderr, "coatcheck: unknown command %q\n\n%s", args[0], usage)
	}
	return 2
}

// version is the module version of the binary ("v0.1.0" when installed with
// go install ...@v0.1.0), or "(devel)" for a build from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}
