package memcachestore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
)

var (
	_ coatcheck.Store   = (*Store)(nil)
	_ coatcheck.Toucher = (*Store)(nil)

	_ coatcheck.GetToucher       = (*Store)(nil)
	_ coatcheck.CompareAndSetter = (*Store)(nil)
)

// openClient returns a client for COATCHECK_MEMCACHE_ADDR (skipping, or
// failing under COATCHECK_REQUIRE_INTEGRATION=1, when it is unset).
func openClient(t *testing.T) *memcache.Client {
	t.Helper()
	addr := storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")
	c := memcache.New(addr)
	c.Timeout = 2 * time.Second
	c.MaxIdleConns = 32
	if err := c.Ping(); err != nil {
		t.Fatalf("memcached at %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "coatcheck-test:" + hex.EncodeToString(b) + ":"
}

func TestConformance(t *testing.T) {
	c := openClient(t)
	storetest.RunWithOptions(t, func(t *testing.T) coatcheck.Store {
		return New(c, Options{})
	}, storetest.Options{
		// memcached keeps whole seconds on a once-a-second clock.
		ExpiryGranularity: time.Second,
		// memcached's default item limit (-I 1m) counts the key and the
		// item header too, so a full 1 MiB value does not fit.
		MaxValueSize: 1<<20 - 1024,
	})
}

func TestExpiration(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		expiry time.Time
		want   int32
		del    bool
	}{
		{"zero", time.Time{}, 0, false},
		{"past", now.Add(-time.Second), 0, true},
		{"now", now, 0, true},
		{"1ns rounds up", now.Add(time.Nanosecond), 1, false},
		{"1s", now.Add(time.Second), 1, false},
		{"1.5s rounds up", now.Add(1500 * time.Millisecond), 2, false},
		{"3600s (vector)", now.Add(3600 * time.Second), 3600, false},
		{"exactly 30 days", now.Add(2592000 * time.Second), 2592000, false},
		{"30 days + 1s", now.Add(2592001 * time.Second), 1700000000 + 2592001, false},
		{"30 days + 1ns", now.Add(2592000*time.Second + 1), 1700000000 + 2592001, false},
		{"2678400s (vector)", now.Add(2678400 * time.Second), 1702678400, false},
		{"2678400.5s rounds up", now.Add(2678400*time.Second + 500*time.Millisecond), 1702678401, false},
		{"2038-01-19 03:14:07", time.Unix(1<<31-1, 0), 1<<31 - 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, del, err := expiration(tt.expiry, now)
			if err != nil || got != tt.want || del != tt.del {
				t.Errorf("expiration = %d, %v, %v; want %d, %v, nil", got, del, err, tt.want, tt.del)
			}
		})
	}
	if _, _, err := expiration(time.Unix(1<<31, 0), now); err == nil || !strings.HasPrefix(err.Error(), "memcachestore: ") {
		t.Errorf("expiry past 2038: err = %v, want a memcachestore error", err)
	}
}

func TestLegalKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"session:00000000-0000-4000-8000-000000000044", true},
		{"", true}, // gomemcache's rule; the Manager never uses it
		{strings.Repeat("k", 250), true},
		{strings.Repeat("k", 251), false},
		{"a b", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a\x7fb", false},
		{"sessión:é", true}, // UTF-8 bytes above 0x7f are allowed
	}
	for _, tt := range tests {
		if got := legalKey(tt.key); got != tt.want {
			t.Errorf("legalKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

// fakeServer is a loopback memcached stand-in that records every command
// line and answers set/delete/touch/get like a server holding nothing.
type fakeServer struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	data  [][]byte
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		fields := strings.Fields(line)
		f.mu.Lock()
		f.lines = append(f.lines, line)
		f.mu.Unlock()
		var reply string
		switch fields[0] {
		case "set":
			n, _ := strconv.Atoi(fields[4])
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			f.mu.Lock()
			f.data = append(f.data, buf[:n])
			f.mu.Unlock()
			reply = "STORED"
		case "delete", "touch":
			reply = "NOT_FOUND"
		default:
			reply = "END"
		}
		if _, err := fmt.Fprintf(c, "%s\r\n", reply); err != nil {
			return
		}
	}
}

// TestFlaskWire replays the memcached_fake_client vectors of
// shared/vectors/flask_session_redis_vectors.json: at now=1700000000
// Flask-Session 0.3.2 passes 1702678400 for a 31-day lifetime and 3600 for
// a one-hour one, with the key as given and the pickle bytes as the value.
// A fake server records the exact command line the store sends.
func TestFlaskWire(t *testing.T) {
	value, _ := hex.DecodeString("286470300a565f7065726d616e656e740a70310a4930310a7356757365725f69640a70320a4934320a732e")
	now := time.Unix(1700000000, 0)
	tests := []struct {
		key      string
		lifetime time.Duration
		want     string
	}{
		{"session:00000000-0000-4000-8000-000000000044", 2678400 * time.Second,
			"set session:00000000-0000-4000-8000-000000000044 0 1702678400 43"},
		{"session:00000000-0000-4000-8000-000000000045", 3600 * time.Second,
			"set session:00000000-0000-4000-8000-000000000045 0 3600 43"},
	}
	for _, tt := range tests {
		f := newFakeServer(t)
		s := New(memcache.New(f.ln.Addr().String()), Options{})
		s.now = func() time.Time { return now }
		if err := s.Set(context.Background(), tt.key, value, now.Add(tt.lifetime)); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		if len(f.lines) != 1 || f.lines[0] != tt.want {
			t.Errorf("commands = %q, want [%q]", f.lines, tt.want)
		}
		if len(f.data) != 1 || !bytes.Equal(f.data[0], value) {
			t.Errorf("value = %q, want %q", f.data, value)
		}
		f.mu.Unlock()
	}
}

// TestFlaskLayout stores the vector's entry in a real memcached and reads
// the raw item back with the client: exact key, exact bytes, flags 0, and
// a remaining TTL (memcached's meta get) of the full 31 days, which shows
// memcached took 1702678400-style values as absolute times.
func TestFlaskLayout(t *testing.T) {
	c := openClient(t)
	s := New(c, Options{})
	ctx := context.Background()
	value := []byte("(dp0\nV_permanent\np1\nI01\nsVuser_id\np2\nI42\ns.")
	// The vector's key, namespaced per run so concurrent runs never meet.
	key := testPrefix(t) + "session:00000000-0000-4000-8000-000000000044"
	t.Cleanup(func() { _ = c.Delete(key) })

	for _, lifetime := range []int{2678400, 3600} {
		if err := s.Set(ctx, key, value, time.Now().Add(time.Duration(lifetime)*time.Second)); err != nil {
			t.Fatal(err)
		}
		it, err := c.Get(key)
		if err != nil {
			t.Fatalf("raw get: %v", err)
		}
		if it.Key != key || !bytes.Equal(it.Value, value) || it.Flags != 0 {
			t.Errorf("raw item = {%q %q flags %d}, want {%q %q flags 0}", it.Key, it.Value, it.Flags, key, value)
		}
		ttl, err := metaTTL(storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR"), key)
		if err != nil {
			t.Fatal(err)
		}
		// memcached turns an absolute time into its own relative clock,
		// which can run a few seconds behind the wall clock; a relative
		// expiration is exact to the second.
		if ttl < lifetime-2 || ttl > lifetime+5 {
			t.Errorf("lifetime %d: memcached reports TTL %d", lifetime, ttl)
		}
		got, found, err := s.Get(ctx, key)
		if err != nil || !found || !bytes.Equal(got, value) {
			t.Errorf("Get = %q, %v, %v", got, found, err)
		}
	}
}

// metaTTL asks memcached (1.6+) for the remaining TTL of key: "mg key t".
func metaTTL(addr, key string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "mg %s t\r\n", key); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	// "HD t2678400"
	for _, f := range strings.Fields(line)[1:] {
		if strings.HasPrefix(f, "t") {
			return strconv.Atoi(f[1:])
		}
	}
	return 0, fmt.Errorf("meta get reply %q has no TTL", line)
}

func TestKeys(t *testing.T) {
	c := openClient(t)
	s := New(c, Options{})
	ctx := context.Background()
	p := testPrefix(t)
	for _, key := range []string{p + strings.Repeat("k", MaxKeyLen-len(p)+1), p + "a b", p + "a\nb"} {
		err := s.Set(ctx, key, []byte("v"), time.Now().Add(time.Hour))
		if !errors.Is(err, memcache.ErrMalformedKey) || !strings.HasPrefix(err.Error(), "memcachestore: ") {
			t.Errorf("Set(%q): err = %v, want a memcachestore error wrapping ErrMalformedKey", key, err)
		}
		if _, found, err := s.Get(ctx, key); found || err != nil {
			t.Errorf("Get(%q) = %v, %v; want not found", key, found, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v", key, err)
		}
		if found, err := s.Touch(ctx, key, time.Now().Add(time.Hour)); found || err != nil {
			t.Errorf("Touch(%q) = %v, %v", key, found, err)
		}
		if ok, err := s.CompareAndSet(ctx, key, []byte("v"), []byte("w"), time.Now().Add(time.Hour)); ok || err != nil {
			t.Errorf("CompareAndSet(%q, non-nil old) = %v, %v; want false, nil", key, ok, err)
		}
		_, err = s.CompareAndSet(ctx, key, nil, []byte("w"), time.Now().Add(time.Hour))
		if !errors.Is(err, memcache.ErrMalformedKey) || !strings.HasPrefix(err.Error(), "memcachestore: compare and set: ") {
			t.Errorf("CompareAndSet(%q, nil old): err = %v, want a memcachestore error wrapping ErrMalformedKey", key, err)
		}
	}
	// The longest legal key works.
	key := p + strings.Repeat("k", MaxKeyLen-len(p))
	t.Cleanup(func() { _ = c.Delete(key) })
	if err := s.Set(ctx, key, []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("250-byte key: %v", err)
	}
	if _, found, err := s.Get(ctx, key); !found || err != nil {
		t.Errorf("250-byte key: Get = %v, %v", found, err)
	}
}

func TestGetAndTouch(t *testing.T) {
	c := openClient(t)
	s := New(c, Options{})
	ctx := context.Background()
	key := testPrefix(t) + "sid"
	t.Cleanup(func() { _ = c.Delete(key) })

	if _, found, err := s.GetAndTouch(ctx, key, time.Now().Add(time.Hour)); found || err != nil {
		t.Fatalf("absent = %v, %v", found, err)
	}
	if err := s.Set(ctx, key, []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.GetAndTouch(ctx, key, time.Now().Add(time.Hour))
	if err != nil || !found || string(got) != "v" {
		t.Fatalf("GetAndTouch = %q, %v, %v", got, found, err)
	}
	ttl, err := metaTTL(storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR"), key)
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 3598 || ttl > 3600 {
		t.Errorf("TTL after GetAndTouch = %d, want ~3600", ttl)
	}
	if _, found, err := s.GetAndTouch(ctx, key, time.Now().Add(-time.Second)); found || err != nil {
		t.Fatalf("past expiry = %v, %v; want not found", found, err)
	}
	if _, err := c.Get(key); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("past expiry left the item (err %v)", err)
	}
}

func TestNewPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil) did not panic")
		}
	}()
	New(nil, Options{})
}

func TestNewPanicsOnNegativeMaxInFlight(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with MaxInFlight -1 did not panic")
		}
	}()
	New(memcache.New("127.0.0.1:1"), Options{MaxInFlight: -1})
}

// TestCompareAndSetWriteBetweenReadAndCAS: writes by a second client (its own
// connections, standing in for another process) between CompareAndSet's
// read and its write are detected by memcached's CAS unique, not lost.
func TestCompareAndSetWriteBetweenReadAndCAS(t *testing.T) {
	s := New(openClient(t), Options{})
	raw := openClient(t)
	addr := storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")
	ctx := context.Background()
	key := testPrefix(t) + "sid"
	t.Cleanup(func() { _ = raw.Delete(key) })
	hour := func() time.Time { return time.Now().Add(time.Hour) }
	rawSet := func(v string, exp int32) {
		t.Helper()
		if err := raw.Set(&memcache.Item{Key: key, Value: []byte(v), Expiration: exp}); err != nil {
			t.Fatal(err)
		}
	}
	rawValue := func(want string) {
		t.Helper()
		it, err := raw.Get(key)
		if err != nil || string(it.Value) != want {
			t.Fatalf("raw get = %v, %v; want %q", it, err, want)
		}
	}
	rawAbsent := func(why string) {
		t.Helper()
		if it, err := raw.Get(key); !errors.Is(err, memcache.ErrCacheMiss) {
			t.Fatalf("%s: raw get = %v, %v; want a cache miss", why, it, err)
		}
	}
	cas := func(old, data []byte, expiry time.Time, want bool) {
		t.Helper()
		got, err := s.CompareAndSet(ctx, key, old, data, expiry)
		if err != nil || got != want {
			t.Fatalf("CompareAndSet(old=%q, new=%q) = %v, %v; want %v, nil", old, data, got, err, want)
		}
	}

	// Another writer changes the value between the store's read and its
	// cas: the cas fails, the re-read sees the other value, and the other
	// writer's value survives.
	rawSet("v1", 3600)
	calls := 0
	s.casRead = func() {
		if calls++; calls == 1 {
			rawSet("theirs", 3600)
		}
	}
	cas([]byte("v1"), []byte("mine"), hour(), false)
	rawValue("theirs")
	if calls != 1 {
		t.Errorf("read %d times, want 1 (the second read sees a different value)", calls)
	}
	// Another writer rewrites the same bytes meanwhile: the value still
	// equals old, so CompareAndSet reads again and swaps.
	calls = 0
	s.casRead = func() {
		if calls++; calls == 1 {
			rawSet("theirs", 3600)
		}
	}
	cas([]byte("theirs"), []byte("mine"), hour(), true)
	rawValue("mine")
	if calls != 2 {
		t.Errorf("read %d times, want 2 (a cas conflict, then a swap)", calls)
	}
	// Another writer deletes the item meanwhile: no resurrection.
	calls = 0
	s.casRead = func() {
		if calls++; calls == 1 {
			_ = raw.Delete(key)
		}
	}
	cas([]byte("mine"), []byte("back"), hour(), false)
	rawAbsent("after a delete between the read and the cas")
	s.casRead = nil

	// A plain read-then-write by another client is seen too, and the TTL
	// follows Set's conversion.
	rawSet("flask", 60)
	cas([]byte("stale"), []byte("x"), hour(), false)
	rawValue("flask")
	cas([]byte("flask"), []byte("x"), hour(), true)
	rawValue("x")
	if ttl, err := metaTTL(addr, key); err != nil || ttl < 3598 || ttl > 3600 {
		t.Errorf("TTL after CompareAndSet = %d, %v; want ~3600", ttl, err)
	}
	// A zero expiry leaves no expiration (meta get reports -1).
	cas([]byte("x"), []byte("y"), time.Time{}, true)
	if ttl, err := metaTTL(addr, key); err != nil || ttl != -1 {
		t.Errorf("TTL after CompareAndSet with zero expiry = %d, %v; want -1", ttl, err)
	}
	// Beyond 30 days the expiration goes out as an absolute time.
	cas([]byte("y"), []byte("z"), time.Now().Add(31*24*time.Hour), true)
	if ttl, err := metaTTL(addr, key); err != nil || ttl < 2678400-2 || ttl > 2678400+5 {
		t.Errorf("TTL after CompareAndSet 31 days ahead = %d, %v; want ~2678400", ttl, err)
	}

	// The empty value is present: nil old fails, empty old swaps; an empty
	// old never matches an absent item.
	rawSet("", 3600)
	cas(nil, []byte("a"), hour(), false)
	rawValue("")
	cas([]byte{}, []byte("a"), hour(), true)
	rawValue("a")
	_ = raw.Delete(key)
	cas([]byte{}, []byte("b"), hour(), false)
	rawAbsent("after CompareAndSet with an empty old on an absent item")

	// A passed expiry deletes, only when old matches.
	rawSet("p", 3600)
	cas([]byte("q"), []byte("r"), time.Now().Add(-time.Second), false)
	rawValue("p")
	cas([]byte("p"), []byte("r"), time.Now().Add(-time.Second), true)
	rawAbsent("after CompareAndSet with a passed expiry")
	// With a nil old and a passed expiry, an absent item stays absent.
	cas(nil, []byte("r"), time.Now().Add(-time.Second), true)
	rawAbsent("after CompareAndSet(nil old) with a passed expiry")
	// And nil old inserts; a second insert loses.
	cas(nil, []byte("first"), hour(), true)
	cas(nil, []byte("second"), hour(), false)
	rawValue("first")

	// A context that ends between the read and the write stops the write.
	cctx, cancel := context.WithCancel(ctx)
	s.casRead = cancel
	_, err := s.CompareAndSet(cctx, key, []byte("first"), []byte("lost"), hour())
	s.casRead = nil
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CompareAndSet cancelled after its read: err = %v, want one wrapping context.Canceled", err)
	}
	rawValue("first")
}
