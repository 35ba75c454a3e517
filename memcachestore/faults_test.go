package memcachestore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
)

func proxiedClient(t *testing.T, addr string) *memcache.Client {
	c := memcache.New(addr)
	c.Timeout = time.Second
	c.MaxIdleConns = 32
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestFaults: behind a proxy that blackholes or cuts the connection, every
// method errors within the caller's deadline although gomemcache has no
// context support (its Timeout here is 3 s, longer than the check's 300 ms
// deadline + 1.5 s slack), and recovers after Restore. Before the store ran
// calls under the context, each blackholed call took the client's Timeout.
func TestFaults(t *testing.T) {
	target := storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")
	storetest.RunFaults(t, target, func(t *testing.T, addr string) coatcheck.Store {
		c := proxiedClient(t, addr)
		c.Timeout = 3 * time.Second // longer than deadline + slack: only ctx can end the call in time
		return New(c, Options{})
	})
}

func TestTwoClients(t *testing.T) {
	storetest.RunTwoClients(t,
		func(t *testing.T) coatcheck.Store { return New(openClient(t), Options{}) },
		func(t *testing.T) coatcheck.Store { return New(openClient(t), Options{}) })
}

func TestSessions(t *testing.T) {
	c := openClient(t)
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store { return New(c, Options{}) })
}

// TestUserIndex: memcached cannot list, but the per-user index needs no
// listing: revoking a user works here too.
func TestUserIndex(t *testing.T) {
	c := openClient(t)
	storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return New(c, Options{}) })
}

// TestMaxInFlight: while memcached hangs, callers return at their
// deadline, at most MaxInFlight abandoned calls run at once, and they end
// within the client's Timeout, leaving no goroutines behind.
func TestMaxInFlight(t *testing.T) {
	target := storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")
	p := storetest.NewProxy(t, target)
	c := proxiedClient(t, p.Addr())
	c.Timeout = 500 * time.Millisecond
	s := New(c, Options{MaxInFlight: 3})
	k := testPrefix(t) + "k"
	if err := s.Set(context.Background(), k, []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, _, err := s.Get(ctx, k)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Get while blackholed: %v, want context.DeadlineExceeded", err)
			}
		}()
	}
	wg.Wait()
	if el := time.Since(start); el > time.Second {
		t.Errorf("40 Gets with a 100 ms deadline took %v", el)
	}
	if n := len(s.slots); n > 3 {
		t.Errorf("%d calls in flight, want at most MaxInFlight 3", n)
	}
	p.Restore()
	deadline := time.Now().Add(3 * time.Second)
	// A slot is released as the goroutine holding it ends.
	for len(s.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the hang: %d calls still in flight", len(s.slots))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, ok, err := s.Get(context.Background(), k); err != nil || !ok || string(got) != "v" {
		t.Errorf("Get after Restore = %q, %v, %v", got, ok, err)
	}
}

// TestErrorsOmitKey: errors from an unreachable server, from the server
// (an item too large) and from a malformed key never carry the key.
func TestErrorsOmitKey(t *testing.T) {
	k := "session:secret-session-id-4f1c"
	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", op)
		} else if strings.Contains(err.Error(), "secret-session-id") {
			t.Errorf("%s: error %q contains the key", op, err)
		} else if !strings.HasPrefix(err.Error(), "memcachestore: ") {
			t.Errorf("%s: error %q lacks the prefix", op, err)
		}
	}
	dead := New(memcache.New("127.0.0.1:1"), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	check("Set (unreachable)", dead.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)))
	_, _, err := dead.Get(ctx, k)
	check("Get (unreachable)", err)
	check("Set (malformed key)", dead.Set(ctx, k+" x", []byte("v"), time.Now().Add(time.Hour)))

	s := New(openClient(t), Options{})
	big := make([]byte, 2<<20)
	check("Set (too large)", s.Set(ctx, testPrefix(t)+"secret-session-id-4f1c", big, time.Now().Add(time.Hour)))
}

func TestFlaskSessionBackend(t *testing.T) {
	if got := New(memcache.New("127.0.0.1:1"), Options{}).FlaskSessionBackend(); got != "memcached" {
		t.Errorf("FlaskSessionBackend() = %q, want \"memcached\"", got)
	}
}
