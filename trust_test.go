package coatcheck_test

// Tests for issue 8 (trust): each reproduces a failure seen from outside.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskcookie"
	"github.com/coatcheck/coatcheck/flasksession"
	"github.com/coatcheck/coatcheck/memstore"
)

// slowStore adds latency to every round trip of a real store, as a network
// store has, so that concurrent saves overlap as they do in production.
type slowStore struct {
	*countingStore
	delay time.Duration
}

func (s *slowStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	time.Sleep(s.delay)
	return s.countingStore.Get(ctx, k)
}

func (s *slowStore) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	time.Sleep(s.delay)
	return s.countingStore.CompareAndSet(ctx, k, old, d, e)
}

// TestFiftyWritersDifferentKeys: 50 concurrent requests of one session,
// each setting its own key, all answer 2xx and all 50 keys are kept (today:
// 409 after 16 immediate compare-and-set retries).
func TestFiftyWritersDifferentKeys(t *testing.T) {
	e := newServerEnvWith(t, coatcheck.Config{}, concurrencyApp(newGate()))
	e.srv.Config.Handler = e.m.Handler(concurrencyApp(newGate()))
	slow := &slowStore{countingStore: e.store, delay: 2 * time.Millisecond}
	m, err := coatcheck.New(coatcheck.Config{Store: slow, Now: e.clock.Now, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = m.Handler(concurrencyApp(newGate()))
	e.get(t, "/set?k=user&v=alice")
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, _ := e.get(t, fmt.Sprintf("/set?k=k%d&v=%d", i, i))
			if res.StatusCode != http.StatusOK {
				bad.Add(1)
			}
		}(i)
	}
	wg.Wait()
	_, dump := e.get(t, "/dump")
	kept := 0
	for i := 0; i < 50; i++ {
		if strings.Contains(dump, fmt.Sprintf("k%d=%d\n", i, i)) {
			kept++
		}
	}
	if bad.Load() != 0 || kept != 50 || !strings.Contains(dump, "user=alice") {
		t.Errorf("%d non-2xx answers, %d of 50 keys kept, user kept: %v", bad.Load(), kept, strings.Contains(dump, "user=alice"))
	}
}

// TestMarkModifiedMerges: a change made in place inside a nested value
// (append, then MarkModified) merges key by key with a concurrent request's
// change of another key (today: the concurrent change is overwritten).
func TestMarkModifiedMerges(t *testing.T) {
	g := newGate()
	app := concurrencyApp(g)
	mux := http.NewServeMux()
	mux.Handle("/", app)
	mux.HandleFunc("/append", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		list, _ := s.Get("cart")
		if r.FormValue("hold") == "1" {
			g.loaded <- struct{}{}
			<-g.release
		}
		l := list.([]any)
		l = append(l, "pear")
		s.Get("cart")
		// in place: replace the slice header inside the loaded map's value
		coatcheck.FromRequest(r).Set("cart", l)
		s.MarkModified()
	})
	mux.HandleFunc("/nested", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		v, _ := s.Get("prefs")
		if r.FormValue("hold") == "1" {
			g.loaded <- struct{}{}
			<-g.release
		}
		v.(map[string]any)["theme"] = "dark" // no Set: a nested change
		s.MarkModified()
	})
	mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Set("prefs", map[string]any{"theme": "light"})
		s.Set("cart", []any{"apple"})
	})
	e := newServerEnvWith(t, coatcheck.Config{}, mux)
	e.get(t, "/seed")
	finish := e.slow(t, g, "/nested?x=1")
	e.get(t, "/set?k=other&v=1")
	if res := finish(); res == nil || res.StatusCode != http.StatusOK {
		t.Fatalf("nested change: %v", res)
	}
	_, dump := e.get(t, "/dump")
	if !strings.Contains(dump, "other=1") || !strings.Contains(dump, "theme:dark") {
		t.Errorf("after a nested change racing another key's change: %q; want both", dump)
	}
}

// blockingStore accepts calls and never answers until the caller's context
// ends: a hung database behind a live connection, at the interface level
// (the store modules prove the same against real servers behind a
// blackhole proxy, storetest.RunFaults).
type blockingStore struct {
	*countingStore
	hang atomic.Bool
}

func (b *blockingStore) wait(ctx context.Context) error {
	if !b.hang.Load() {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("hung store: %w", ctx.Err())
}

func (b *blockingStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if err := b.wait(ctx); err != nil {
		return nil, false, err
	}
	return b.countingStore.Get(ctx, k)
}

func (b *blockingStore) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	if err := b.wait(ctx); err != nil {
		return err
	}
	return b.countingStore.Set(ctx, k, d, e)
}

func (b *blockingStore) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	if err := b.wait(ctx); err != nil {
		return false, err
	}
	return b.countingStore.CompareAndSet(ctx, k, old, d, e)
}

func (b *blockingStore) Touch(ctx context.Context, k string, e time.Time) (bool, error) {
	if err := b.wait(ctx); err != nil {
		return false, err
	}
	return b.countingStore.Touch(ctx, k, e)
}

// logBuffer captures a Manager's log records as text.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newBlockingEnv(t *testing.T, cfg coatcheck.Config) (*serverEnv, *blockingStore, *logBuffer) {
	t.Helper()
	e := newServerEnv(t, cfg)
	bs := &blockingStore{countingStore: e.store}
	logs := &logBuffer{}
	cfg.Store, cfg.Now, cfg.Logger = bs, e.clock.Now, logs.logger()
	if cfg.Server.StoreTimeout == 0 {
		cfg.Server.StoreTimeout = 200 * time.Millisecond
	}
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.srv.Config.Handler = m.Handler(serverApp())
	return e, bs, logs
}

// TestHungStoreAnswersWithinDeadline: a store that accepts calls and never
// answers gives a 503 within StoreTimeout, on load and on save, with no
// Set-Cookie, and the session is intact once the store answers again
// (today: the request hangs as long as the store does; a save has no
// deadline at all).
func TestHungStoreAnswersWithinDeadline(t *testing.T) {
	e, bs, _ := newBlockingEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	bs.hang.Store(true)
	for _, path := range []string{"/", "/login?username=b"} {
		start := time.Now()
		res, body := e.get(t, path)
		took := time.Since(start)
		if res.StatusCode != http.StatusServiceUnavailable || took > 2*time.Second || res.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s on a hung store: %d %q after %v, Set-Cookie %q; want 503 within the 200ms deadline, no cookie",
				path, res.StatusCode, body, took, res.Header.Get("Set-Cookie"))
		}
	}
	bs.hang.Store(false)
	if _, body := e.get(t, "/"); body != "Logged in as a" {
		t.Errorf("after the store answered again: %q", body)
	}
}

// TestSaveDeadlineSurvivesClientCancel: the save of a committed response is
// finished even when the client went away, but within StoreTimeout (today:
// context.WithoutCancel with no deadline — a login completed 45 s after its
// client gave up).
func TestSaveDeadline(t *testing.T) {
	e, bs, _ := newBlockingEnv(t, coatcheck.Config{Server: coatcheck.ServerConfig{StoreTimeout: 300 * time.Millisecond}})
	var saveErr atomic.Value
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("k", "v")
		bs.hang.Store(true)
	}))
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if took := time.Since(start); took > 2*time.Second || rec.Code != http.StatusServiceUnavailable {
		t.Errorf("save on a hung store: %d after %v; want 503 within the deadline", rec.Code, took)
	}
	_ = saveErr
}

// TestClientDisconnectIsNotAStoreFailure: a load that ends because the
// client went away is logged at debug, not as an ERROR 503.
func TestClientDisconnectIsNotAStoreFailure(t *testing.T) {
	e, bs, logs := newBlockingEnv(t, coatcheck.Config{Server: coatcheck.ServerConfig{StoreTimeout: 5 * time.Second}})
	e.get(t, "/login?username=a")
	bs.hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/", nil)
	if res, err := e.client.Do(req); err == nil {
		res.Body.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(logs.String(), "client went away") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") || !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "client went away") {
		t.Errorf("client disconnect logged as:\n%s", out)
	}
}

// TestLateWritesServerSide: a change made after the handler wrote its body
// is still saved when the handler returns (the client already holds the
// id), and is never silent (today: Modified() true, nothing saved, nothing
// logged).
func TestLateWritesServerSide(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", serverApp())
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Len()
		io.WriteString(w, "body first")
		s.Set("late", "kept")
	})
	mux.HandleFunc("/newlate", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first")
		coatcheck.FromRequest(r).Set("late", "lost")
	})
	e := newServerEnvWith(t, coatcheck.Config{}, mux)
	logs := &logBuffer{}
	m, _ := coatcheck.New(coatcheck.Config{Store: e.store, Now: e.clock.Now, Logger: logs.logger()})
	e.srv.Config.Handler = m.Handler(mux)
	e.get(t, "/login?username=a")
	if res, _ := e.get(t, "/late"); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	a, _, _ := m.Admin().Get(context.Background(), idOf(t, e))
	if a["late"] != "kept" {
		t.Errorf("late write on a stored session: %v; want it saved when the handler returned", a)
	}
	if strings.Contains(logs.String(), "lost") {
		t.Errorf("a kept late write was reported: %s", logs.String())
	}
	// a brand-new session whose cookie could not be sent: an error, logged
	res, err := http.Get(e.srv.URL + "/newlate")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.Contains(logs.String(), "session change lost") || !strings.Contains(logs.String(), "cookie was not sent") {
		t.Errorf("late write on a new session not reported: %q", logs.String())
	}
}

func idOf(t *testing.T, e *serverEnv) string {
	t.Helper()
	_, id := e.get(t, "/id")
	if id == "" {
		t.Fatal("no session id")
	}
	return id
}

// TestLateWritesCookieSession: on cookie sessions the data is the cookie,
// so a change after the first byte is ErrResponseStarted: Finish returns
// it, Session.Err reports it, and it is logged once.
func TestLateWritesCookieSession(t *testing.T) {
	logs := &logBuffer{}
	m := coatcheck.MustNew(coatcheck.Config{SecretKey: "k", Logger: logs.logger()})
	var s *coatcheck.Session
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = coatcheck.FromRequest(r)
		io.WriteString(w, "body")
		s.Set("k", "v")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !errors.Is(s.Err(), coatcheck.ErrResponseStarted) {
		t.Errorf("Err() = %v; want ErrResponseStarted", s.Err())
	}
	if n := strings.Count(logs.String(), "session change lost"); n != 1 {
		t.Errorf("logged %d times: %s", n, logs.String())
	}
	// the adapter API says the same
	r := m.Attach(httptest.NewRequest("GET", "/", nil))
	if err := m.Commit(r, http.Header{}); err != nil {
		t.Fatal(err)
	}
	coatcheck.FromRequest(r).Set("k", "v")
	if err := m.Finish(r); !errors.Is(err, coatcheck.ErrResponseStarted) {
		t.Errorf("Finish = %v", err)
	}
}

// TestAbsoluteLifetimeUnstamped: a session Flask-Session wrote (no
// deadline stamp) lives at most AbsoluteLifetime from its first load by
// Coatcheck (today: forever).
func TestAbsoluteLifetimeUnstamped(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{AbsoluteLifetime: time.Hour})
	e.get(t, "/login?username=a")
	id := idOf(t, e)
	// rewrite it as Flask-Session would: no stamp
	b, err := flasksession.Msgpack.Encode(map[string]any{"_permanent": true, "username": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Set(context.Background(), "session:"+id, b, e.clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	if _, body := e.get(t, "/"); body != "Logged in as a" { // first load: stamped now
		t.Fatalf("first load: %q", body)
	}
	e.clock.Add(59 * time.Minute)
	if _, body := e.get(t, "/"); body != "Logged in as a" {
		t.Fatalf("within the lifetime: %q", body)
	}
	e.clock.Add(2 * time.Minute)
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Errorf("an unstamped session outlived AbsoluteLifetime: %q", body)
	}
}

type cookieEnv struct {
	m     *coatcheck.Manager
	srv   *httptest.Server
	cl    *http.Client
	clock *clock
}

func newCookieEnv(t *testing.T, cfg coatcheck.Config) *cookieEnv {
	clk := &clock{t: time.Now()}
	cfg.SecretKey, cfg.Now, cfg.Logger = "secret", clk.Now, quiet()
	m := coatcheck.MustNew(cfg)
	srv := httptest.NewServer(m.Handler(serverApp()))
	t.Cleanup(srv.Close)
	e := &serverEnv{srv: srv}
	jar, _ := cookiejar.New(nil)
	e.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &cookieEnv{m: m, srv: srv, cl: e.client, clock: clk}
}

func (c *cookieEnv) get(t *testing.T, path string) string {
	t.Helper()
	res, err := c.cl.Get(c.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestCookieIdleTimeout: SESSION_IDLE_TIMEOUT on cookie sessions, from the
// cookie's own signing time, sliding with use.
func TestCookieIdleTimeout(t *testing.T) {
	c := newCookieEnv(t, coatcheck.Config{IdleTimeout: 10 * time.Minute})
	c.get(t, "/login?username=a")
	for i := 0; i < 4; i++ {
		c.clock.Add(9 * time.Minute)
		if body := c.get(t, "/"); body != "Logged in as a" {
			t.Fatalf("active cookie session lost after %d min: %q", (i+1)*9, body)
		}
	}
	c.clock.Add(11 * time.Minute)
	if body := c.get(t, "/"); body != "You are not logged in" {
		t.Errorf("idle timeout not enforced on a cookie session: %q", body)
	}
}

// TestCookieAbsoluteLifetime: SESSION_ABSOLUTE_LIFETIME on cookie sessions
// (a stamp inside the data), also for a cookie Flask signed without one.
func TestCookieAbsoluteLifetime(t *testing.T) {
	c := newCookieEnv(t, coatcheck.Config{AbsoluteLifetime: time.Hour})
	c.get(t, "/login?username=a")
	c.clock.Add(50 * time.Minute)
	if body := c.get(t, "/"); body != "Logged in as a" {
		t.Fatalf("within the lifetime: %q", body)
	}
	c.clock.Add(11 * time.Minute)
	if body := c.get(t, "/"); body != "You are not logged in" {
		t.Errorf("absolute lifetime not enforced on a cookie session: %q", body)
	}
	// a cookie Flask signed: no stamp; the lifetime counts from first use
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.Encode(map[string]any{"_permanent": true, "username": "flask"}, c.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.srv.URL)
	c.cl.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: v, Path: "/"}})
	if body := c.get(t, "/"); body != "Logged in as flask" {
		t.Fatalf("Flask's cookie: %q", body)
	}
	c.clock.Add(61 * time.Minute)
	if body := c.get(t, "/"); body != "You are not logged in" {
		t.Errorf("an unstamped cookie outlived AbsoluteLifetime: %q", body)
	}
}

// TestNoSessionIDInLogs: no failure path puts a session id or store key in
// a log line or an error (today: `stored session "session:<sid>"` at ERROR).
func TestNoSessionIDInLogs(t *testing.T) {
	e, bs, logs := newBlockingEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	id := idOf(t, e)
	ctx := context.Background()
	// corrupt value
	if err := e.store.Set(ctx, "session:"+id, []byte("\xc1garbage"), e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.get(t, "/"); res.StatusCode != http.StatusInternalServerError {
		t.Errorf("corrupt value: %d", res.StatusCode)
	}
	_, _, adminErr := e.m.Admin().Get(ctx, id)
	// hung store
	bs.hang.Store(true)
	e.get(t, "/")
	bs.hang.Store(false)
	// down store
	e.store.fail.Store(true)
	e.get(t, "/")
	e.get(t, "/login?username=b")
	e.store.fail.Store(false)
	out := logs.String() + fmt.Sprint(adminErr)
	if adminErr == nil || !strings.Contains(out, "level=ERROR") {
		t.Fatalf("the failure paths did not run: %v\n%s", adminErr, out)
	}
	if strings.Contains(out, id) || strings.Contains(out, id[:12]) {
		t.Errorf("a session id reached the log or an error:\n%s", out)
	}
	if !strings.Contains(out, coatcheck.KeyFingerprint("session:"+id)) {
		t.Errorf("no fingerprint to correlate with:\n%s", out)
	}
}

// TestNullSessionRefusesEveryMutation: Flask's NullSession raises on pop of
// a missing key and on clear of an empty session too.
func TestNullSessionRefusesEveryMutation(t *testing.T) {
	for name, op := range map[string]func(*coatcheck.Session){
		"Pop missing":    func(s *coatcheck.Session) { s.Pop("nope") },
		"Delete missing": func(s *coatcheck.Session) { s.Delete("nope") },
		"Clear empty":    func(s *coatcheck.Session) { s.Clear() },
	} {
		m := coatcheck.MustNew(coatcheck.Config{Logger: quiet()})
		var err error
		rec := httptest.NewRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := coatcheck.FromRequest(r)
			op(s)
			err = s.Err()
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if !errors.Is(err, coatcheck.ErrNoSecretKey) || rec.Code != http.StatusInternalServerError {
			t.Errorf("%s on the null session: err %v, status %d; want ErrNoSecretKey, 500", name, err, rec.Code)
		}
	}
}

// TestVaryMergedLikeWerkzeug: with Vary: Accept-Encoding already set, the
// response says one line "Vary: Accept-Encoding, Cookie", as Flask does.
func TestVaryMergedLikeWerkzeug(t *testing.T) {
	m := coatcheck.MustNew(coatcheck.Config{SecretKey: "k"})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Encoding")
		coatcheck.FromRequest(r).Get("x")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Values("Vary"); len(got) != 1 || got[0] != "Accept-Encoding, Cookie" {
		t.Errorf("Vary = %q; want [\"Accept-Encoding, Cookie\"]", got)
	}
}

// TestEnvEmptyPrefix: SESSION_KEY_PREFIX="" in the environment is no
// prefix, not "unset" (today: the demo looked under session:<sid>).
func TestEnvEmptyPrefix(t *testing.T) {
	env := map[string]string{"SESSION_KEY_PREFIX": "", "SECRET_KEY": "s"}
	c, err := coatcheck.ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if !c.Server.NoKeyPrefix || c.Server.KeyPrefix != "" {
		t.Errorf("SESSION_KEY_PREFIX=\"\" read as %+v", c.Server)
	}
	c.Store = memstore.New(memstore.Options{CleanupInterval: -1})
	m := coatcheck.MustNew(c)
	if p := m.Admin().Prefix(); p != "" {
		t.Errorf("prefix %q", p)
	}
}

// TestSignedIDsHonourFallbacks: SESSION_USE_SIGNER verifies with the same
// key list as the cookie, SECRET_KEY_FALLBACKS included.
func TestSignedIDsHonourFallbacks(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{SecretKey: "old", Server: coatcheck.ServerConfig{UseSigner: true}})
	e.get(t, "/login?username=a")
	rotated, err := coatcheck.New(coatcheck.Config{SecretKey: "new", SecretKeyFallbacks: []string{"old"},
		Store: e.store, Now: e.clock.Now, Logger: quiet(), Server: coatcheck.ServerConfig{UseSigner: true}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = rotated.Handler(serverApp())
	if _, body := e.get(t, "/"); body != "Logged in as a" {
		t.Errorf("after rotating SECRET_KEY with the old one as fallback: %q", body)
	}
}

type profile struct {
	Name  string   `json:"name"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags,omitempty"`
	Admin bool     `json:"-"`
}

// TestStructValues: Set takes structs and typed collections (as
// encoding/json encodes them), Value[T] decodes them back, and what cannot
// be stored fails at Set naming the key and the type.
func TestStructValues(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	m := coatcheck.MustNew(coatcheck.Config{Store: e.store, Logger: quiet()})
	var got profile
	var stored any
	var errs []error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		switch r.URL.Path {
		case "/set":
			s.Set("p", profile{Name: "ann", Age: 7, Tags: []string{"x"}, Admin: true})
			s.Set("scores", map[string]int{"a": 1})
		case "/get":
			got, _ = coatcheck.Value[profile](s, "p")
			stored, _ = s.Get("p")
		default:
			s.Set(r.URL.Query().Get("k"), map[string]any{"ch": make(chan int)}[r.URL.Query().Get("v")])
			errs = append(errs, s.Err())
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/set", nil))
	req := httptest.NewRequest("GET", "/get", nil)
	req.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.Name != "ann" || got.Age != 7 || len(got.Tags) != 1 || got.Admin {
		t.Errorf("Value[profile] = %+v", got)
	}
	if mp, ok := stored.(map[string]any); !ok || mp["name"] != "ann" || mp["age"] != int64(7) {
		t.Errorf("stored as %#v; want a plain dict", stored)
	}
	for _, bad := range []any{make(chan int), func() {}, map[int]string{1: "a"}} {
		s := coatcheck.NewSession(nil, true)
		s.Set("bad", bad)
		var uv *coatcheck.UnsupportedValueError
		if !errors.As(s.Err(), &uv) || uv.Key != "bad" || !errors.Is(s.Err(), coatcheck.ErrUnsupportedValue) {
			t.Errorf("Set(%T): Err() = %v; want an *UnsupportedValueError naming the key", bad, s.Err())
		}
	}
	cyc := map[string]any{}
	cyc["self"] = cyc
	s := coatcheck.NewSession(nil, true)
	s.Set("cyc", cyc)
	if !errors.Is(s.Err(), coatcheck.ErrUnsupportedValue) {
		t.Errorf("a cycle: %v", s.Err())
	}
}

// backendStore is a memory store that says it keeps cachelib's filesystem
// layout.
type backendStore struct{ *memstore.Store }

func (backendStore) FlaskSessionBackend() string { return "filesystem" }

// TestStoreBackendPicksLayout: a store naming the filesystem backend gets
// pickled values with no compatibility setting (today: msgpack, which
// cachelib cannot read).
func TestStoreBackendPicksLayout(t *testing.T) {
	st := backendStore{memstore.New(memstore.Options{CleanupInterval: -1})}
	m := coatcheck.MustNew(coatcheck.Config{Store: st, Logger: quiet()})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("k", "v")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if m.Admin().Codec().Name() != "pickle" {
		t.Errorf("codec %s; want pickle", m.Admin().Codec().Name())
	}
	var raw []byte
	st.Iterate(context.Background(), "", func(k string, _ time.Time) bool {
		raw, _, _ = st.Get(context.Background(), k)
		return false
	})
	if len(raw) == 0 || raw[0] != 0x80 {
		t.Errorf("stored % x; want a pickle", raw)
	}
}

// TestDefaultErrorHandlerFallback: a custom handler can fall back to the
// exported default.
func TestDefaultErrorHandlerFallback(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	m := coatcheck.MustNew(coatcheck.Config{Store: e.store, Logger: quiet(),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("X-Custom", strconv.Itoa(coatcheck.ErrorStatus(err)))
			coatcheck.DefaultErrorHandler(w, r, err)
		}})
	e.store.fail.Store(true)
	rec := httptest.NewRecorder()
	m.Handler(serverApp()).ServeHTTP(rec, httptest.NewRequest("GET", "/login?username=x", nil))
	if rec.Code != 503 || rec.Header().Get("X-Custom") != "503" {
		t.Errorf("%d %v", rec.Code, rec.Header())
	}
}

// TestObserver: store calls and events reach the Observer, with no id.
func TestObserver(t *testing.T) {
	var mu sync.Mutex
	ops := map[coatcheck.StoreOp]int{}
	events := map[string]int{}
	obs := &coatcheck.Observer{
		StoreCall: func(_ context.Context, c coatcheck.StoreCall) {
			mu.Lock()
			ops[c.Op]++
			mu.Unlock()
		},
		Event: func(_ context.Context, e coatcheck.Event, err error) {
			mu.Lock()
			events[e.String()]++
			mu.Unlock()
		},
	}
	e := newServerEnv(t, coatcheck.Config{})
	m := coatcheck.MustNew(coatcheck.Config{Store: e.store, Now: e.clock.Now, Logger: quiet(), Observer: obs})
	e.srv.Config.Handler = m.Handler(serverApp())
	e.get(t, "/login?username=a")
	e.get(t, "/")
	e.store.fail.Store(true)
	e.get(t, "/")
	e.store.fail.Store(false)
	e.get(t, "/logout")
	mu.Lock()
	defer mu.Unlock()
	if ops[coatcheck.OpSet] < 1 || ops[coatcheck.OpGet]+ops[coatcheck.OpTouch] < 2 || ops[coatcheck.OpDelete] < 1 {
		t.Errorf("store calls: %v", ops)
	}
	if events["new"] < 1 || events["save"] < 1 || events["load"] < 1 || events["error"] != 1 || events["destroy"] != 1 {
		t.Errorf("events: %v", events)
	}
}

// TestWriteAfterFinishIsReported: an outer middleware that changes the
// session after the inner chain (and the session middleware) returned is
// told (Err, log), never silently dropped.
func TestWriteAfterFinishIsReported(t *testing.T) {
	logs := &logBuffer{}
	e := newServerEnv(t, coatcheck.Config{})
	m := coatcheck.MustNew(coatcheck.Config{Store: e.store, Logger: logs.logger()})
	var s *coatcheck.Session
	inner := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = coatcheck.FromRequest(r)
		s.Set("a", 1)
	}))
	inner.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	s.Set("b", 2) // after Handler returned
	if !errors.Is(s.Err(), coatcheck.ErrResponseStarted) || !strings.Contains(logs.String(), "after the middleware finished") {
		t.Errorf("a write after the middleware finished: Err %v, log %q", s.Err(), logs.String())
	}
}
