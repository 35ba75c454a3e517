package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
)

var (
	_ coatcheck.Store    = (*Store)(nil)
	_ coatcheck.Toucher  = (*Store)(nil)
	_ coatcheck.Iterator = (*Store)(nil)
	_ coatcheck.Cleaner  = (*Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		s := New(Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceBusyJanitor runs the suite while the janitor sweeps every
// few milliseconds, so -race sees the janitor racing the methods.
func TestConformanceBusyJanitor(t *testing.T) {
	storetest.RunWithOptions(t, func(t *testing.T) coatcheck.Store {
		s := New(Options{CleanupInterval: 5 * time.Millisecond})
		t.Cleanup(func() { s.Close() })
		return s
	}, storetest.Options{BackgroundCleanup: true})
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (st *Store) rawLen() int {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return len(st.s.m)
}

func TestExpiryFakeClock(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	s := New(Options{CleanupInterval: -1, Now: clk.Now})
	exp := clk.Now().Add(time.Minute)
	if err := s.Set(ctx, "k", []byte("v"), exp); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute - time.Nanosecond)
	if _, found, _ := s.Get(ctx, "k"); !found {
		t.Fatalf("Get 1ns before expiry: found = false, want true")
	}
	clk.Add(time.Nanosecond)
	if data, found, err := s.Get(ctx, "k"); found || data != nil || err != nil {
		t.Fatalf("Get at expiry = (%q, %v, %v), want (nil, false, nil)", data, found, err)
	}
	if n := s.rawLen(); n != 1 {
		t.Fatalf("entries before DeleteExpired = %d, want 1 (expired but unswept)", n)
	}
	if found, err := s.Touch(ctx, "k", clk.Now().Add(time.Hour)); found || err != nil {
		t.Fatalf("Touch of an expired entry = (%v, %v), want (false, nil)", found, err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Fatalf("Touch revived an expired entry")
	}
}

func TestJanitorSweeps(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1700000000, 0)}
	s := New(Options{CleanupInterval: 5 * time.Millisecond, Now: clk.Now})
	defer s.Close()
	s.Set(ctx, "expiring", []byte("v"), clk.Now().Add(time.Second))
	s.Set(ctx, "forever", []byte("v"), time.Time{})
	s.Set(ctx, "later", []byte("v"), clk.Now().Add(time.Hour))
	clk.Add(2 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for s.rawLen() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("janitor did not sweep: %d entries, want 2", s.rawLen())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, k := range []string{"forever", "later"} {
		if _, found, _ := s.Get(ctx, k); !found {
			t.Errorf("janitor removed live entry %q", k)
		}
	}
}

func TestCloseStopsJanitor(t *testing.T) {
	s := New(Options{CleanupInterval: time.Millisecond})
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	select {
	case <-s.s.done:
	default:
		t.Fatal("janitor still running after Close returned")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	// The store stays usable.
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Get(ctx, "k"); !found {
		t.Fatal("Get after Close: not found")
	}
	// A store without a janitor closes too.
	if err := New(Options{CleanupInterval: -1}).Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		s := New(Options{})
		s.Close()
	}
	// An unclosed, unreachable store is stopped by its finalizer.
	inner := func() *store {
		s := New(Options{CleanupInterval: time.Hour})
		return s.s
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-inner.done:
		case <-time.After(10 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatal("the janitor of an unreachable, unclosed store is still running")
		}
		break
	}
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after creating and closing stores", before, after)
	}
}

func TestIterateCallsStore(t *testing.T) {
	// fn may call the store (no deadlock: Iterate works on a snapshot).
	ctx := context.Background()
	s := New(Options{CleanupInterval: -1})
	for i := 0; i < 10; i++ {
		s.Set(ctx, fmt.Sprintf("p:%d", i), []byte("v"), time.Time{})
	}
	n := 0
	err := s.Iterate(ctx, "p:", func(key string, _ time.Time) bool {
		n++
		return s.Delete(ctx, key) == nil
	})
	if err != nil || n != 10 || s.rawLen() != 0 {
		t.Fatalf("Iterate deleting as it goes: err %v, %d calls, %d left; want nil, 10, 0", err, n, s.rawLen())
	}
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := New(Options{CleanupInterval: -1})
	val := make([]byte, 256)
	s.Set(ctx, "session:bench", val, time.Now().Add(time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data, found, err := s.Get(ctx, "session:bench")
		if err != nil || !found || len(data) != len(val) {
			b.Fatal("Get failed")
		}
	}
}

func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	s := New(Options{CleanupInterval: -1})
	val := make([]byte, 256)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Set(ctx, "session:bench", val, exp); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	s := New(Options{CleanupInterval: -1})
	val := make([]byte, 256)
	for i := 0; i < 1000; i++ {
		s.Set(ctx, fmt.Sprintf("session:%d", i), val, time.Now().Add(time.Hour))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, found, _ := s.Get(ctx, fmt.Sprintf("session:%d", i%1000)); !found {
				b.Fatal("not found")
			}
			i++
		}
	})
}

// TestBoundedByDefault: before the cap, a Store grew without limit; now the
// default holds at most DefaultMaxEntries, evicting the least recently used.
func TestBoundedByDefault(t *testing.T) {
	ctx := context.Background()
	var logBuf strings.Builder
	s := New(Options{CleanupInterval: -1, MaxEntries: 3, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	exp := time.Now().Add(time.Hour)
	for _, k := range []string{"session:a", "session:b", "session:c"} {
		if err := s.Set(ctx, k, []byte(k), exp); err != nil {
			t.Fatal(err)
		}
	}
	s.Get(ctx, "session:a") // a is now more recently used than b
	s.Set(ctx, "session:d", []byte("d"), exp)
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	if _, ok, _ := s.Get(ctx, "session:b"); ok {
		t.Error("least recently used entry b survived")
	}
	for _, k := range []string{"session:a", "session:c", "session:d"} {
		if _, ok, _ := s.Get(ctx, k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if s.Evictions() != 1 {
		t.Errorf("Evictions = %d, want 1", s.Evictions())
	}
	if !strings.Contains(logBuf.String(), "level=WARN") || strings.Contains(logBuf.String(), "session:") {
		t.Errorf("eviction log = %q, want a WARN record without keys", logBuf.String())
	}
	if New(Options{CleanupInterval: -1}).s.max != DefaultMaxEntries {
		t.Error("default cap is not DefaultMaxEntries")
	}
}

// TestEvictsExpiredFirst: a full store drops expired entries before any
// live one, even a live one that is less recently used.
func TestEvictsExpiredFirst(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Options{CleanupInterval: -1, MaxEntries: 3, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Set(ctx, "old-live", []byte("x"), time.Time{})
	s.Set(ctx, "short1", []byte("x"), clk.Now().Add(time.Minute))
	s.Set(ctx, "short2", []byte("x"), clk.Now().Add(time.Minute))
	clk.Add(2 * time.Minute)
	s.Set(ctx, "new", []byte("x"), time.Time{})
	if _, ok, _ := s.Get(ctx, "old-live"); !ok {
		t.Error("live entry evicted while expired ones existed")
	}
	if s.Evictions() != 0 {
		t.Errorf("Evictions = %d, want 0", s.Evictions())
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2 (both expired swept)", s.Len())
	}
	// Unlimited.
	u := New(Options{CleanupInterval: -1, MaxEntries: -1})
	for i := 0; i < 1000; i++ {
		u.Set(ctx, strconv.Itoa(i), nil, time.Time{})
	}
	if u.Len() != 1000 {
		t.Errorf("unlimited Len = %d", u.Len())
	}
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestBoundedMemory stores 600,000 anonymous sessions (Flask-Session-shaped
// keys, 60-byte values) through a default Store: the cap holds and the heap
// grows by at most 96 MiB.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 600k sessions")
	}
	ctx := context.Background()
	before := heapInuse()
	rssBefore := rssKiB()
	s := New(Options{CleanupInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	val := bytes.Repeat([]byte{'v'}, 60)
	exp := time.Now().Add(time.Hour)
	key := make([]byte, 0, 64)
	start := time.Now()
	var at100k uint64
	for i := 0; i < 600_000; i++ {
		key = append(key[:0], "session:"...)
		key = fmt.Appendf(key, "%043d", i) // 43 chars, like a Flask-Session sid
		if err := s.Set(ctx, string(key), val, exp); err != nil {
			t.Fatal(err)
		}
		if i == 99_999 {
			at100k = heapInuse() - before
		}
	}
	elapsed := time.Since(start)
	grow := heapInuse() - before
	t.Logf("600k Sets in %v; heap growth %.1f MiB at 100k entries, %.1f MiB after 600k; RSS growth %.1f MiB; Len %d, evictions %d",
		elapsed, float64(at100k)/(1<<20), float64(grow)/(1<<20), float64(rssKiB()-rssBefore)/1024, s.Len(), s.Evictions())
	if s.Len() > DefaultMaxEntries {
		t.Errorf("Len = %d, above the cap %d", s.Len(), DefaultMaxEntries)
	}
	if s.Evictions() != 500_000 {
		t.Errorf("Evictions = %d, want 500000", s.Evictions())
	}
	if grow > 96<<20 {
		t.Errorf("heap grew by %.1f MiB, budget 96 MiB", float64(grow)/(1<<20))
	}
	runtime.KeepAlive(s)
}

// rssKiB returns the process's resident set size from /proc (0 elsewhere),
// for the log only: the assertion is on the Go heap, which is deterministic.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if f := strings.Fields(ln); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

func TestUserIndex(t *testing.T) {
	storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store {
		s := New(Options{CleanupInterval: -1})
		t.Cleanup(func() { s.Close() })
		return s
	})
}
