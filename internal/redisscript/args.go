package redisscript

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The arguments both stores send with the scripts and commands, computed
// without a client: each store formats them for its own (go-redis takes
// any, rueidis strings; both write an integer as its decimal digits).

// TTLFor converts an absolute expiry into the relative TTL sent to Redis.
// It returns ttl 0 for a zero expiry (no TTL) and del=true when the expiry
// is not after now. Positive TTLs are rounded up to whole milliseconds,
// Redis's finest unit, so that an entry never expires early.
func TTLFor(expiry, now time.Time) (ttl time.Duration, del bool) {
	if expiry.IsZero() {
		return 0, false
	}
	d := expiry.Sub(now)
	if d <= 0 {
		return 0, true
	}
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r
	}
	return d, false
}

// CASArgs are CompareAndSet's ARGV[1] (mode: "0" for "only if absent",
// a nil old; "1" to compare) and ARGV[4] (the TTL in milliseconds, 0 for
// none, -1 to delete: the expiry is not after now) for a compare with old
// and a write expiring at expiry. ARGV[2] and ARGV[3] are old and the new
// value as they are.
func CASArgs(old []byte, expiry, now time.Time) (mode string, ms int64) {
	ttl, del := TTLFor(expiry, now)
	mode, ms = "1", -1
	if old == nil {
		mode = "0"
	}
	if !del {
		// TTLFor has rounded the TTL up to whole milliseconds.
		ms = ttl.Milliseconds()
	}
	return mode, ms
}

// AddArgs are IndexAdd's ARGV: the member key, its score for expiry
// (Score), now in Unix milliseconds and HealBatch.
func AddArgs(key string, expiry, now time.Time) []string {
	return []string{key, Score(expiry), strconv.FormatInt(now.UnixMilli(), 10), strconv.Itoa(HealBatch)}
}

// EscapeGlob escapes the characters that Redis's MATCH patterns treat
// specially (* ? [ ] \), so that a prefix matches only itself.
func EscapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Wrap is a Redis store's error for op: "pkg: op: err", and, when ctx has
// ended, one that also wraps ctx.Err() whatever the client reported (an
// i/o timeout, a closed connection). A ctx whose deadline has passed
// counts as ended even before its own timer marks it done: the socket
// deadline (set from ctx's) can fire a moment before.
func Wrap(ctx context.Context, pkg, op string, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %s: %w: %w", pkg, op, cerr, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, op, err)
}
