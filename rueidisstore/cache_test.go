package rueidisstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/storetest"
	"github.com/redis/rueidis"
)

// These tests check what the client-side cache does (RefreshInterval > 0).
// Round trips are counted at the socket (counter): a read served from the
// cache writes no byte to Redis.

// respSet writes key=value with a plain RESP2 connection that tracks
// nothing (as redis-cli or a Flask worker would), and returns when Redis
// has answered.
func respSet(t *testing.T, addr, key, value string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(key), key, len(value), value)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+OK\r\n" {
		t.Fatalf("plain SET: %q, %v", line, err)
	}
}

// cachedStore returns a caching store whose client's writes are counted.
func cachedStore(t *testing.T, addr string, o Options, tweak func(*rueidis.ClientOption)) (*Store, *counter) {
	t.Helper()
	cnt := &counter{}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = time.Minute
	}
	return New(newClient(t, addr, cnt, tweak), o), cnt
}

func mustGet(t *testing.T, s *Store, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, found, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !found {
		return "<absent>"
	}
	return string(b)
}

// TestCachedReadNoRoundTrip: once cached, Get and GetAndTouch write
// nothing to Redis; uncached, every read does (so the counter counts).
func TestCachedReadNoRoundTrip(t *testing.T) {
	ctx := context.Background()
	raw := newClient(t, "", nil, nil)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cnt := &counter{}
			s := New(newClient(t, "", cnt, nil), m.opts)
			k := testPrefix(t) + "sid"
			t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
			if err := raw.Do(ctx, raw.B().Set().Key(k).Value("v").Px(time.Hour).Build()).Error(); err != nil {
				t.Fatal(err)
			}
			exp := func() time.Time { return time.Now().Add(time.Hour) }
			// fill the cache: the store's first command is never cached
			// (Redis has not answered it yet, see MaxSilence), then GET
			// and GET+PTTL are fetched once each
			for range 2 {
				if _, _, err := s.GetAndTouch(ctx, k, exp()); err != nil {
					t.Fatal(err)
				}
				mustGet(t, s, k)
			}
			w0, b0 := cnt.writes.Load(), cnt.bytes.Load()
			for range 100 {
				if got := mustGet(t, s, k); got != "v" {
					t.Fatalf("Get = %q", got)
				}
				if d, found, err := s.GetAndTouch(ctx, k, exp()); err != nil || !found || string(d) != "v" {
					t.Fatalf("GetAndTouch = %q, %v, %v", d, found, err)
				}
			}
			w, b := cnt.writes.Load()-w0, cnt.bytes.Load()-b0
			t.Logf("%s: 200 reads: %d socket writes, %d bytes", m.name, w, b)
			if m.opts.RefreshInterval > 0 && b != 0 {
				t.Errorf("cached: 200 reads wrote %d bytes in %d writes to Redis, want 0", b, w)
			}
			if m.opts.RefreshInterval == 0 && w < 200 {
				t.Errorf("uncached: 200 reads made %d socket writes, want ≥ 200", w)
			}
		})
	}
}

// TestInvalidation: a write by another client — another rueidis client, a
// plain RESP connection, a delete — reaches the caching store's reads
// within a bounded wait; it logs the staleness window measured.
func TestInvalidation(t *testing.T) {
	ctx := context.Background()
	addr := redisAddr(t)
	other := newClient(t, "", nil, nil)
	s, cnt := cachedStore(t, "", Options{}, nil)
	k := testPrefix(t) + "sid"
	t.Cleanup(func() { other.Do(ctx, other.B().Del().Key(k).Build()) })

	writers := []struct {
		name  string
		write func(v string)
	}{
		{"rueidis", func(v string) {
			if err := other.Do(ctx, other.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}},
		{"plain-resp", func(v string) { respSet(t, addr, k, v) }},
		{"delete", func(string) {
			if err := other.Do(ctx, other.B().Del().Key(k).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	const rounds = 100
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			var lags []time.Duration
			for i := range rounds {
				old, next := fmt.Sprintf("old-%d", i), fmt.Sprintf("new-%d", i)
				respSet(t, addr, k, old)
				// fill the cache: read until a read of old is a hit
				for deadline := time.Now().Add(2 * time.Second); ; {
					b0 := cnt.bytes.Load()
					if mustGet(t, s, k) == old && cnt.bytes.Load() == b0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("round %d: no cache hit of %q within 2 s", i, old)
					}
				}
				want := next
				if w.name == "delete" {
					want = "<absent>"
				}
				w.write(next)
				t0 := time.Now()
				for {
					got := mustGet(t, s, k)
					if got == want {
						lags = append(lags, time.Since(t0))
						break
					}
					if got != old {
						t.Fatalf("round %d: Get = %q, want %q or %q", i, got, old, want)
					}
					if time.Since(t0) > 2*time.Second {
						t.Fatalf("round %d: after %s's write the store still serves the old value 2 s later (no invalidation)", i, w.name)
					}
				}
			}
			sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
			t.Logf("%s: staleness after the other client's write returned, %d rounds: median %v, p99 %v, max %v",
				w.name, rounds, lags[rounds/2], lags[rounds*99/100], lags[rounds-1])
		})
	}
}

// TestOwnWritesReadBack: this store's own writes are read back at once
// even with a warm cache (a Set, a CompareAndSet and a Delete right after
// cached reads), many times over, so the uncached window is exercised.
func TestOwnWritesReadBack(t *testing.T) {
	ctx := context.Background()
	s, _ := cachedStore(t, "", Options{}, nil)
	k := testPrefix(t) + "sid"
	t.Cleanup(func() { s.Delete(ctx, k) })
	exp := time.Now().Add(time.Hour)
	if err := s.Set(ctx, k, []byte("v0"), exp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ownWriteWindow + 50*time.Millisecond)
	mustGet(t, s, k) // cached now
	for i := range 200 {
		v := fmt.Sprint(i)
		switch i % 3 {
		case 0:
			if err := s.Set(ctx, k, []byte(v), exp); err != nil {
				t.Fatal(err)
			}
		case 1:
			old, _, _ := s.Get(ctx, k)
			if ok, err := s.CompareAndSet(ctx, k, old, []byte(v), exp); err != nil || !ok {
				t.Fatalf("CompareAndSet = %v, %v", ok, err)
			}
		case 2:
			if err := s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			v = "<absent>"
		}
		if got := mustGet(t, s, k); got != v {
			t.Fatalf("write %d: Get right after it = %q, want %q", i, got, v)
		}
		if d, found, err := s.GetAndTouch(ctx, k, exp); err != nil || (found && string(d) != v) || (!found && v != "<absent>") {
			t.Fatalf("write %d: GetAndTouch = %q, %v, %v, want %q", i, d, found, err, v)
		}
	}
}

// TestRefreshOncePerInterval: with RefreshInterval 300 ms, reads every
// 5 ms for 1.5 s send about one GETEX per interval (not one per read), and
// the TTL on the server never lags the requested expiry by much more than
// the interval. Uncached, every read is a GETEX.
func TestRefreshOncePerInterval(t *testing.T) {
	ctx := context.Background()
	raw := newClient(t, "", nil, nil)
	const interval = 300 * time.Millisecond
	const lifetime = time.Hour
	for _, refresh := range []time.Duration{0, interval} {
		t.Run(fmt.Sprint(refresh), func(t *testing.T) {
			cnt := &counter{}
			s := New(newClient(t, "", cnt, func(o *rueidis.ClientOption) {
				o.DialCtxFn = countGETEX(o.DialCtxFn, cnt)
			}), Options{RefreshInterval: refresh})
			k := testPrefix(t) + "sid"
			t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
			if err := raw.Do(ctx, raw.B().Set().Key(k).Value("v").Px(lifetime).Build()).Error(); err != nil {
				t.Fatal(err)
			}
			reads, worstLag := 0, time.Duration(0)
			start := time.Now()
			for time.Since(start) < 1500*time.Millisecond {
				if _, found, err := s.GetAndTouch(ctx, k, time.Now().Add(lifetime)); err != nil || !found {
					t.Fatalf("GetAndTouch: %v %v", found, err)
				}
				reads++
				pttl, err := raw.Do(ctx, raw.B().Pttl().Key(k).Build()).AsInt64()
				if err != nil {
					t.Fatal(err)
				}
				if lag := lifetime - time.Duration(pttl)*time.Millisecond; lag > worstLag {
					worstLag = lag
				}
				time.Sleep(5 * time.Millisecond)
			}
			elapsed := time.Since(start)
			n := int(cnt.getex.Load())
			t.Logf("refresh %v: %d reads in %v: %d GETEX, %d socket writes; worst TTL lag %v", refresh, reads, elapsed.Round(time.Millisecond), n, cnt.writes.Load(), worstLag.Round(time.Millisecond))
			if refresh == 0 {
				if n != reads {
					t.Errorf("uncached: %d GETEX for %d reads, want one per read", n, reads)
				}
				return
			}
			if max := int(elapsed/interval) + 2; n > max || n < int(elapsed/interval)-1 {
				t.Errorf("%d GETEX in %v, want about one per %v (%d..%d)", n, elapsed, interval, int(elapsed/interval)-1, max)
			}
			if worstLag > interval+200*time.Millisecond {
				t.Errorf("the TTL on the server lagged the requested expiry by %v, want ≤ %v + 200 ms", worstLag, interval)
			}
		})
	}
}

// countGETEX wraps dial (nil: a plain dial) so that every GETEX the client
// writes is counted in cnt.getex (on top of the writes/bytes counters).
func countGETEX(dial func(context.Context, string, *net.Dialer, *tlsConfig) (net.Conn, error), cnt *counter) func(context.Context, string, *net.Dialer, *tlsConfig) (net.Conn, error) {
	return func(ctx context.Context, a string, d *net.Dialer, tc *tlsConfig) (net.Conn, error) {
		c, err := dial(ctx, a, d, tc)
		if err != nil {
			return nil, err
		}
		return getexConn{c, cnt}, nil
	}
}

type getexConn struct {
	net.Conn
	c *counter
}

func (c getexConn) Write(b []byte) (int, error) {
	c.c.getex.Add(int64(bytes.Count(b, []byte("\r\nGETEX\r\n"))))
	return c.Conn.Write(b)
}

// TestFaultsWarmCache: a cached entry behind a proxy that blackholes or
// cuts the connection. While the connection is blackholed and rueidis has
// not noticed (its PINGs or a command time out after ConnWriteTimeout),
// cached reads are still served — also after another client changed the
// entry directly on Redis (a stale read). Once the loss is noticed, the
// cache is gone: every read errs within its deadline, never a value, never
// "not found". A cut connection is noticed at once. The windows measured
// are logged.
func TestFaultsWarmCache(t *testing.T) {
	ctx := context.Background()
	target := redisAddr(t)
	raw := newClient(t, "", nil, nil)
	cases := []struct {
		name       string
		cut        bool
		maxSilence time.Duration // 0: the default (1 s); < 0: off
		connWrite  time.Duration // 0: rueidis's default (10 s)
		window     time.Duration // the most the stale window may last
	}{
		{"cut", true, 0, 0, 200 * time.Millisecond},
		{"blackhole", false, 0, 0, DefaultMaxSilence + 200*time.Millisecond},
		{"blackhole-MaxSilence-200ms", false, 200 * time.Millisecond, 0, 400 * time.Millisecond},
		// rueidis on its own: it notices after its PING gap (1 s) plus
		// ConnWriteTimeout, then drops the cache
		{"blackhole-MaxSilence-off-ConnWriteTimeout-1s", false, -1, time.Second, 3500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := storetest.NewProxy(t, target)
			s, _ := cachedStore(t, p.Addr(), Options{MaxSilence: tc.maxSilence}, func(o *rueidis.ClientOption) { o.ConnWriteTimeout = tc.connWrite })
			k := testPrefix(t) + "sid"
			t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
			respSet(t, target, k, "before")
			mustGet(t, s, k)
			if got := mustGet(t, s, k); got != "before" {
				t.Fatalf("warm-up Get = %q", got)
			}
			if tc.cut {
				p.Cut()
			} else {
				p.Blackhole()
			}
			t0 := time.Now()
			respSet(t, target, k, "after") // directly on Redis: the push cannot arrive
			var served, stale int
			var window time.Duration
			for {
				cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				r0 := time.Now()
				d, found, err := s.Get(cctx, k)
				took := time.Since(r0)
				cancel()
				if took > 300*time.Millisecond+200*time.Millisecond {
					t.Fatalf("Get took %v with a 300 ms deadline", took)
				}
				if err != nil {
					window = time.Since(t0)
					break
				}
				if !found {
					t.Fatalf("Get during the fault: found=false, nil error (a silent miss)")
				}
				served++
				if string(d) == "before" {
					stale++
				}
				if time.Since(t0) > tc.window {
					t.Fatalf("cached reads still served %v after the fault (%d reads, %d stale), want an error within %v", time.Since(t0), served, stale, tc.window)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%s: %d cached reads served (%d stale) for %v after the fault, then errors", tc.name, served, stale, window.Round(time.Millisecond))
			// once the store has failed, it never serves the cache again
			// while the fault lasts
			for until := time.Now().Add(time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
				cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				d, found, err := s.Get(cctx, k)
				cancel()
				if err == nil {
					t.Fatalf("after the first error, Get = %q, %v with a nil error during the fault", d, found)
				}
				if !strings.HasPrefix(err.Error(), "rueidisstore: ") {
					t.Fatalf("error %q lacks the prefix", err)
				}
			}
			p.Restore()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				d, _, err := s.Get(cctx, k)
				cancel()
				if err == nil {
					if string(d) != "after" {
						t.Errorf("after Restore: Get = %q, want %q (the write made during the fault)", d, "after")
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the store still fails 5 s after Restore: %v", err)
				}
			}
		})
	}
}

// TestCachedNoAliasing: the slice a cached read returns is the caller's:
// overwriting it changes neither the cache nor later reads (rueidis's
// AsBytes aliases the cached reply's memory).
func TestCachedNoAliasing(t *testing.T) {
	ctx := context.Background()
	addr := redisAddr(t)
	raw := newClient(t, "", nil, nil)
	s, cnt := cachedStore(t, "", Options{}, nil)
	k := testPrefix(t) + "sid"
	t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
	respSet(t, addr, k, "original")
	for _, read := range []struct {
		name string
		get  func() ([]byte, bool, error)
	}{
		{"Get", func() ([]byte, bool, error) { return s.Get(ctx, k) }},
		{"GetAndTouch", func() ([]byte, bool, error) { return s.GetAndTouch(ctx, k, time.Now().Add(time.Hour)) }},
	} {
		for i := range 3 { // a miss that fills the cache, then hits
			b0 := cnt.bytes.Load()
			d, found, err := read.get()
			if err != nil || !found || string(d) != "original" {
				t.Fatalf("%s #%d = %q, %v, %v, want \"original\"", read.name, i, d, found, err)
			}
			for j := range d {
				d[j] = 'Y'
			}
			t.Logf("%s #%d: %d bytes sent", read.name, i, cnt.bytes.Load()-b0)
		}
	}
}
