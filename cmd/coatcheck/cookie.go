package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
	"github.com/coatcheck/coatcheck/itsdangerous"
	"github.com/coatcheck/coatcheck/taggedjson"
)

func keygen(stdout, stderr io.Writer) int {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	fmt.Fprintln(stdout, hex.EncodeToString(b)) // like secrets.token_hex()
	return 0
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// parseInterspersed parses flags anywhere among the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type keyFlags struct {
	key, keyHex, salt string
	fallbacks         multi
	now               int64
}

func (k *keyFlags) register(fs *flag.FlagSet, withFallbacks bool) {
	fs.StringVar(&k.key, "key", "", "SECRET_KEY as text (UTF-8)")
	fs.StringVar(&k.keyHex, "key-hex", "", "SECRET_KEY as hex (a bytes key)")
	fs.StringVar(&k.salt, "salt", flaskcookie.Salt, "salt")
	fs.Int64Var(&k.now, "now", 0, "the current time as Unix seconds (default: now)")
	if withFallbacks {
		fs.Var(&k.fallbacks, "fallback-key", "an old key still accepted (SECRET_KEY_FALLBACKS, oldest first; repeatable)")
	}
}

func (k *keyFlags) secret() ([]byte, error) {
	switch {
	case k.key != "" && k.keyHex != "":
		return nil, errors.New("give --key or --key-hex, not both")
	case k.keyHex != "":
		b, err := hex.DecodeString(k.keyHex)
		if err != nil {
			return nil, fmt.Errorf("--key-hex: %w", err)
		}
		return b, nil
	}
	return []byte(k.key), nil
}

func (k *keyFlags) time() time.Time {
	if k.now != 0 {
		return time.Unix(k.now, 0)
	}
	return time.Now()
}

// rejection names why a cookie was refused, for the CLI's stderr.
func rejection(err error) string {
	switch {
	case errors.Is(err, itsdangerous.ErrBadPayload):
		return "bad payload"
	case errors.Is(err, itsdangerous.ErrSignatureExpired):
		return "expired"
	case errors.Is(err, itsdangerous.ErrMalformed):
		return "malformed"
	case errors.Is(err, itsdangerous.ErrBadSignature):
		return "bad signature"
	}
	return "bad payload"
}

func cookieDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cookie decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var k keyFlags
	k.register(fs, true)
	maxAge := fs.Int64("max-age", int64(flaskcookie.DefaultMaxAge/time.Second), "maximum age in seconds (PERMANENT_SESSION_LIFETIME); negative: no limit")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: coatcheck cookie decode [--key K | --key-hex H] [--fallback-key K]... [--salt S] [--max-age SECONDS] [--now UNIX] COOKIE")
		return 2
	}
	value := strings.TrimPrefix(strings.TrimSpace(pos[0]), "session=")
	secret, err := k.secret()
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 2
	}
	if len(secret) == 0 {
		j, err := flaskcookie.DecodeUnverified(value)
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck: malformed:", err)
			return 1
		}
		out := j
		if m, err := taggedjson.Unmarshal(j); err == nil {
			out, _ = taggedjson.Marshal(m)
		}
		fmt.Fprintln(stdout, string(out))
		fmt.Fprintln(stderr, "coatcheck: warning: no key given: the signature and age were NOT verified")
		return 0
	}
	var fb [][]byte
	for _, f := range k.fallbacks {
		fb = append(fb, []byte(f))
	}
	age := time.Duration(*maxAge) * time.Second
	if *maxAge < 0 {
		age = itsdangerous.NoMaxAge
	}
	if *maxAge == 0 {
		age = time.Nanosecond // Flask's lifetime 0: only a cookie of this second
	}
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: secret, Fallbacks: fb, Salt: k.salt, MaxAge: age})
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 2
	}
	m, _, err := codec.Decode(value, k.time())
	if err != nil {
		var ee *itsdangerous.ExpiredError
		if errors.As(err, &ee) && ee.Age < 0 {
			fmt.Fprintf(stderr, "coatcheck: expired: signed in the future: at %s, %d seconds after now (%s); check the clocks or --now\n",
				ee.SignedAt.UTC().Format(time.RFC3339), -ee.Age, k.time().UTC().Format(time.RFC3339))
			return 1
		}
		fmt.Fprintf(stderr, "coatcheck: %s: %v\n", rejection(err), err)
		return 1
	}
	out, err := taggedjson.Marshal(m)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck: bad payload:", err)
		return 1
	}
	fmt.Fprintln(stdout, string(out))
	return 0
}

func cookieSign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cookie sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var k keyFlags
	k.register(fs, false)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: coatcheck cookie sign (--key K | --key-hex H) [--salt S] [--now UNIX] TAGGED_JSON")
		return 2
	}
	secret, err := k.secret()
	if err != nil || len(secret) == 0 {
		fmt.Fprintln(stderr, "coatcheck: cookie sign needs --key or --key-hex")
		return 2
	}
	m, err := taggedjson.Unmarshal([]byte(pos[0]))
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck: TAGGED_JSON:", err)
		return 2
	}
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: secret, Salt: k.salt})
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 2
	}
	v, err := codec.Encode(m, k.time())
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}
