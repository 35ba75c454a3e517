package coatcheck

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
)

// cacheEnv serves handler behind a cookie-session Manager with a settable
// clock.
type cacheEnv struct {
	m   *Manager
	h   http.Handler
	now time.Time
	mu  sync.Mutex
}

func newCacheEnv(t *testing.T, cfg Config, handler http.HandlerFunc) *cacheEnv {
	t.Helper()
	e := &cacheEnv{now: time.Unix(1_800_000_000, 0)}
	if cfg.SecretKey == "" {
		cfg.SecretKey = "cache-secret"
	}
	cfg.Logger = discardLogger()
	cfg.Now = func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m, e.h = m, m.Handler(handler)
	return e
}

func (e *cacheEnv) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

// do serves one request carrying cookie and returns the body and the new
// session cookie value ("" when none was set).
func (e *cacheEnv) do(path, cookie string) (string, string) {
	r := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", "session="+cookie)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	set := ""
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" {
			set = c.Value
		}
	}
	return w.Body.String(), set
}

func (e *cacheEnv) cached(value string) bool {
	return e.m.cookie.cache != nil && e.m.cookie.cache.get(value) != nil
}

// cartApp: /login stores a cart; / shows it and, with ?append, changes the
// list in place without telling the session (not saved, as in Flask for a
// non-permanent session).
func cartApp(w http.ResponseWriter, r *http.Request) {
	s := FromRequest(r)
	switch r.URL.Path {
	case "/login":
		s.Set("user", "alice")
		s.Set("cart", []any{"apple"})
		if r.URL.Query().Has("permanent") {
			s.SetPermanent(true)
		}
	case "/":
		v, _ := s.Get("cart")
		cart, _ := v.([]any)
		if r.URL.Query().Has("append") && len(cart) > 0 {
			cart[0] = "rotten" // in place, no MarkModified
		}
		user, _ := Value[string](s, "user")
		fmt.Fprintf(w, "%s %v", user, cart)
	case "/user": // reads no mutable value: the session stays shared
		user, _ := Value[string](s, "user")
		fmt.Fprint(w, user)
	}
}

// TestCookieCacheHandsOutNoSharedValue: a handler that changes a list of
// its session in place must not change what the next request with the same
// cookie sees (the cache's copy is shared).
func TestCookieCacheHandsOutNoSharedValue(t *testing.T) {
	e := newCacheEnv(t, Config{}, cartApp)
	_, c := e.do("/login", "")
	if body, _ := e.do("/", c); body != "alice [apple]" {
		t.Fatalf("first read: %q", body)
	}
	if !e.cached(c) {
		t.Fatal("the verified cookie was not cached")
	}
	e.do("/?append", c)
	if body, _ := e.do("/", c); body != "alice [apple]" {
		t.Fatalf("an in-place change leaked through the cache into the next request: %q", body)
	}
}

// TestCookieCacheKeepsEveryAgeCheck: a cached cookie is refused at the same
// moment an uncached one is: PERMANENT_SESSION_LIFETIME (max age),
// SESSION_IDLE_TIMEOUT and SESSION_ABSOLUTE_LIFETIME.
func TestCookieCacheKeepsEveryAgeCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       Config
		within    time.Duration // still accepted this long after signing
		permanent bool
	}{
		{"max age", Config{PermanentLifetime: time.Hour}, time.Hour, false},
		{"idle timeout", Config{IdleTimeout: 10 * time.Minute}, 10 * time.Minute, false},
		{"absolute lifetime", Config{AbsoluteLifetime: 30 * time.Minute}, 29 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCacheEnv(t, tc.cfg, cartApp)
			_, c := e.do("/login", "")
			e.advance(tc.within)
			if body, _ := e.do("/", c); body != "alice [apple]" {
				t.Fatalf("within the limit: %q", body)
			}
			if !e.cached(c) {
				t.Fatal("not cached")
			}
			e.advance(time.Minute + time.Second)
			if body, _ := e.do("/", c); body != " []" {
				t.Fatalf("a cached cookie outlived its limit: %q", body)
			}
		})
	}
}

// TestCookieCacheResignIsEncode: re-signing an unchanged permanent cookie
// from its payload gives the very bytes a full encode gives (uncompressed:
// byte-identical to Flask), and in the second it was signed the cookie goes
// back unchanged.
func TestCookieCacheResignIsEncode(t *testing.T) {
	cached := newCacheEnv(t, Config{}, cartApp)
	plain := newCacheEnv(t, Config{CookieCacheSize: -1}, cartApp)
	_, c := cached.do("/login?permanent", "")
	if _, c2 := plain.do("/login?permanent", ""); c2 != c {
		t.Fatalf("the two managers disagree on the login cookie:\n%s\n%s", c, c2)
	}
	_, same := cached.do("/user", c)
	if same != c {
		t.Fatalf("re-sent in the same second: %q, want the cookie unchanged %q", same, c)
	}
	cached.advance(7 * time.Second)
	plain.advance(7 * time.Second)
	_, got := cached.do("/user", c)
	_, want := plain.do("/user", c)
	if got == "" || got != want {
		t.Fatalf("re-signed cookie %q, full encode %q", got, want)
	}
	if !cached.cached(got) {
		t.Error("the re-signed cookie did not join the cache")
	}
	if plain.m.cookie.cache != nil {
		t.Error("CookieCacheSize -1 did not disable the cache")
	}
}

// TestCookieCacheRotation: a cookie signed with a fallback key is re-signed
// with SECRET_KEY even in the second it was signed.
func TestCookieCacheRotation(t *testing.T) {
	e := newCacheEnv(t, Config{SecretKey: "new", SecretKeyFallbacks: []string{"old"}}, cartApp)
	old, err := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("old")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := old.Encode(map[string]any{"_permanent": true, "user": "alice", "cart": []any{"apple"}}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	body, got := e.do("/user", c)
	if body != "alice" || got == "" || got == c {
		t.Fatalf("body %q, re-sent %q (was %q)", body, got, c)
	}
	cur, _ := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("new")})
	if _, _, err := cur.Decode(got, e.now); err != nil {
		t.Errorf("the re-sent cookie is not signed with SECRET_KEY: %v", err)
	}
}

// TestCookieCacheBounded: many distinct cookies keep the cache within its
// byte budget, and the newest stays cached.
func TestCookieCacheBounded(t *testing.T) {
	const budget = 64 << 10
	e := newCacheEnv(t, Config{CookieCacheSize: budget}, cartApp)
	codec, _ := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("cache-secret")})
	var last string
	for i := range 5000 {
		v, err := codec.Encode(map[string]any{"user": fmt.Sprint("user", i), "pad": strings.Repeat("x", i%200)}, e.now)
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := e.do("/", v); !strings.HasPrefix(body, "user") {
			t.Fatalf("cookie %d: %q", i, body)
		}
		last = v
	}
	if n := e.m.cookie.cache.bytes(); n > budget || n < budget/4 {
		t.Errorf("cache holds %d bytes for a budget of %d", n, budget)
	}
	if !e.cached(last) {
		t.Error("the newest cookie is not cached")
	}
}

// TestCookieCacheConcurrent: requests sharing one cached cookie, some
// changing their session in place or with Set, never see each other's
// changes (run with -race).
func TestCookieCacheConcurrent(t *testing.T) {
	e := newCacheEnv(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		if r.URL.Path == "/login" {
			cartApp(w, r)
			return
		}
		if r.URL.Query().Has("set") {
			s.Set("user", "mallory")
		}
		cartApp(w, r)
	})
	_, c := e.do("/login", "")
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 3 {
				case 0:
					e.do("/?append", c)
				case 1:
					e.do("/?set", c)
				default:
					if body, _ := e.do("/", c); body != "alice [apple]" {
						errs <- body
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for body := range errs {
		t.Errorf("a reader saw another request's change: %q", body)
	}
}

func TestCacheableTypes(t *testing.T) {
	type custom struct{ X int }
	for _, tc := range []struct {
		data map[string]any
		want bool
	}{
		{map[string]any{"a": "x", "b": int64(1), "c": []any{map[string]any{"d": []byte("z")}}}, true},
		{map[string]any{"a": custom{1}}, false},
		{map[string]any{"a": []any{&custom{}}}, false},
	} {
		if _, got := cacheCost(tc.data); got != tc.want {
			t.Errorf("cacheCost(%v) ok = %v, want %v", tc.data, got, tc.want)
		}
	}
	src := map[string]any{"l": []any{"a", map[string]any{"b": []byte("c")}}}
	cp := cloneData(src)
	cp["l"].([]any)[1].(map[string]any)["b"].([]byte)[0] = 'X'
	cp["l"].([]any)[0] = "changed"
	if src["l"].([]any)[0] != "a" || string(src["l"].([]any)[1].(map[string]any)["b"].([]byte)) != "c" {
		t.Errorf("cloneData shares: %v", src)
	}
}

// TestCookieCacheUntouchedRefresh: a request that never touches its
// session still re-issues a permanent cookie when the cookie is cached
// (the cache, not a peek into the payload, says it is permanent), and still
// sends nothing for a cached non-permanent one.
func TestCookieCacheUntouchedRefresh(t *testing.T) {
	e := newCacheEnv(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			cartApp(w, r)
		}
	})
	_, perm := e.do("/login?permanent", "")
	_, plain := e.do("/login", "")
	for i := range 3 {
		e.advance(time.Second)
		if _, set := e.do("/untouched", perm); set == "" {
			t.Fatalf("request %d: a permanent cookie was not re-issued (cached: %v)", i, e.cached(perm))
		}
		if _, set := e.do("/untouched", plain); set != "" {
			t.Fatalf("request %d: a non-permanent cookie was re-issued", i)
		}
	}
	if !e.cached(perm) {
		t.Error("the permanent cookie was never cached")
	}
}

// TestCookieCacheCountsDecodedSize: a small compressed cookie that inflates
// into a large session counts as large, so such sessions cannot hold many
// times the budget in memory.
func TestCookieCacheCountsDecodedSize(t *testing.T) {
	const budget = 1 << 20
	e := newCacheEnv(t, Config{CookieCacheSize: budget}, cartApp)
	codec, _ := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("cache-secret")})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 40 {
		v, err := codec.Encode(map[string]any{"user": fmt.Sprint("user", i), "big": strings.Repeat("a", 400_000)}, e.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) > 4000 {
			t.Fatalf("the test cookie is %d bytes: not the small compressed cookie the test needs", len(v))
		}
		e.do("/", v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := e.m.cookie.cache.bytes(); n > budget {
		t.Errorf("cache estimate %d bytes for a budget of %d", n, budget)
	}
	// 40 sessions of 400 kB would be 16 MB if each counted as its cookie
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4*budget {
		t.Errorf("heap grew %d bytes holding cached cookies in a %d-byte budget", grew, budget)
	}
}
