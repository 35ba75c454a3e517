package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

// Options tunes the suite for stores whose backend is coarser than the
// contract's ideal. The zero value suits a store that keeps expiry to the
// millisecond and accepts 1 MiB values.
type Options struct {
	// ExpiryGranularity is how far the backend may move an expiry: the unit
	// it stores expiry in, or the tick of its clock. Use time.Second for
	// memcached and for filestore (whose header holds whole seconds). The
	// suite then sets expiries further ahead, waits longer past them, and
	// allows this much error in the expiries Iterate reports. Zero means
	// the backend keeps expiry to within a few milliseconds.
	ExpiryGranularity time.Duration

	// MaxValueSize is the size of the value LargeValue stores. Zero means
	// 1 MiB (1<<20). Lower it only for a backend that cannot hold 1 MiB in
	// one entry with its default settings (memcached's item limit, for
	// instance, includes the key and the item header).
	MaxValueSize int

	// BackgroundCleanup declares that the store (or its backend) may delete
	// expired entries on its own at any moment, for instance with a janitor
	// goroutine. Expiry/DeleteExpired then accepts any count >= 0 instead
	// of requiring DeleteExpired to count the entries the suite expired.
	// Prefer turning the sweeper off in newStore, which keeps the count
	// checked.
	BackgroundCleanup bool
}

func (o Options) valueSize() int {
	if o.MaxValueSize > 0 {
		return o.MaxValueSize
	}
	return 1 << 20
}

// lead is how far ahead the suite sets an expiry it is going to wait out:
// far enough that the entry is certainly readable right after Set.
func (o Options) lead() time.Duration { return time.Second + o.ExpiryGranularity }

// tolerance is how far an expiry reported by Iterate may be from the one
// given to Set or Touch.
func (o Options) tolerance() time.Duration { return 500*time.Millisecond + o.ExpiryGranularity }

// sleepPast sleeps until the backend has certainly let exp pass.
func (o Options) sleepPast(exp time.Time) {
	time.Sleep(time.Until(exp) + o.ExpiryGranularity + 150*time.Millisecond)
}

// Run runs the conformance suite against stores made by newStore. Each
// subtest calls newStore once; see the package documentation for the list of
// checks and for what newStore must allow.
func Run(t *testing.T, newStore func(t *testing.T) coatcheck.Store) {
	t.Helper()
	RunWithOptions(t, newStore, Options{})
}

// RunWithOptions is Run for stores that need Options.
func RunWithOptions(t *testing.T, newStore func(t *testing.T) coatcheck.Store, opts Options) {
	t.Helper()
	for _, c := range checks {
		c := c
		t.Run(c.name, func(t *testing.T) { runCheck(t, newStore, opts, c.fn) })
	}
	// The expiry checks mostly sleep, so they run at the same time. They
	// call t.Run from their own goroutines rather than t.Parallel, so that
	// -test.parallel (GOMAXPROCS by default) does not serialise the sleeps.
	t.Run("Expiry", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, c := range expiryChecks {
			c := c
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(c.name, func(t *testing.T) { runCheck(t, newStore, opts, c.fn) })
			}()
		}
		wg.Wait()
	})
}

// RequireEnv returns the value of the environment variable name; when it is
// unset (or empty) it skips the test, or fails it when
// COATCHECK_REQUIRE_INTEGRATION=1.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("storetest: %s is not set, and COATCHECK_REQUIRE_INTEGRATION=1 requires this integration test to run", name)
		return ""
	}
	t.Skipf("storetest: %s is not set; skipping integration test (scripts/services.sh starts the servers and prints the variables)", name)
	return ""
}

// A check is one conformance check. It reports non-fatal failures with
// c.errorf and returns a non-nil error to stop (a fatal failure), or a
// skipError when the store lacks the optional interface it needs.
type check struct {
	name string
	fn   func(c *checker) error
}

type skipError string

func (e skipError) Error() string { return string(e) }

// A checker is the state of one check against one store. Its failures go to
// report, which is t.Errorf in a real run and a recorder in the suite's own
// tests, so that the suite can verify that it catches broken stores.
type checker struct {
	t     *testing.T
	store coatcheck.Store
	opts  Options
	ns    string
	ctx   context.Context

	mu     sync.Mutex
	keys   map[string]bool
	nerr   int
	report func(msg string)
}

const maxReported = 20

func (c *checker) errorf(format string, args ...any) {
	c.mu.Lock()
	c.nerr++
	n := c.nerr
	c.mu.Unlock()
	switch {
	case n <= maxReported:
		c.report(fmt.Sprintf(format, args...))
	case n == maxReported+1:
		c.report("(further failures not reported)")
	}
}

func (c *checker) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nerr > 0
}

// key returns a key in this check's namespace and remembers it for cleanup.
func (c *checker) key(name string) string {
	k := c.ns + name
	c.mu.Lock()
	c.keys[k] = true
	c.mu.Unlock()
	return k
}

func newNamespace() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("storetest: crypto/rand: " + err.Error())
	}
	return "storetest-" + hex.EncodeToString(b[:]) + ":"
}

// newChecker makes the store and the checker and registers the cleanup of
// the check's keys, which runs before the cleanups newStore registered.
func newChecker(t *testing.T, newStore func(t *testing.T) coatcheck.Store, opts Options, report func(string)) *checker {
	s := newStore(t)
	if s == nil {
		t.Fatal("storetest: newStore returned nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c := &checker{t: t, store: s, opts: opts, ns: newNamespace(), ctx: ctx, keys: map[string]bool{}, report: report}
	t.Cleanup(func() {
		cancel()
		c.mu.Lock()
		keys := make([]string, 0, len(c.keys))
		for k := range c.keys {
			keys = append(keys, k)
		}
		c.mu.Unlock()
		sort.Strings(keys)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, k := range keys {
			if err := s.Delete(ctx, k); err != nil {
				t.Logf("storetest: cleanup: Delete(%q): %v", k, err)
				return
			}
		}
	})
	return c
}

func runCheck(t *testing.T, newStore func(t *testing.T) coatcheck.Store, opts Options, fn func(*checker) error) {
	t.Helper()
	c := newChecker(t, newStore, opts, func(msg string) { t.Error(msg) })
	err := fn(c)
	var skip skipError
	switch {
	case errors.As(err, &skip):
		t.Skip(string(skip))
	case err != nil:
		t.Fatal(err)
	}
}

// runCheckRecorded runs fn like runCheck but returns the failures instead
// of reporting them; the suite's own tests use it on broken stores.
func runCheckRecorded(t *testing.T, newStore func(t *testing.T) coatcheck.Store, opts Options, fn func(*checker) error) (failures []string, skipped bool) {
	var mu sync.Mutex
	c := newChecker(t, newStore, opts, func(msg string) {
		mu.Lock()
		failures = append(failures, msg)
		mu.Unlock()
	})
	err := fn(c)
	var skip skipError
	if errors.As(err, &skip) {
		return failures, true
	}
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		failures = append(failures, "fatal: "+err.Error())
	}
	return failures, false
}
