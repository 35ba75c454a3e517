package coatcheck_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flasksession"
	"github.com/coatcheck/coatcheck/memstore"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countingStore wraps a real store and counts round trips.
type countingStore struct {
	coatcheck.Store
	gets, sets, deletes, touches atomic.Int32
	fail                         atomic.Bool
}

var errDown = errors.New("connection refused")

func (c *countingStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	c.gets.Add(1)
	if c.fail.Load() {
		return nil, false, errDown
	}
	return c.Store.Get(ctx, k)
}

func (c *countingStore) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	c.sets.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return c.Store.Set(ctx, k, d, e)
}

func (c *countingStore) Delete(ctx context.Context, k string) error {
	c.deletes.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return c.Store.Delete(ctx, k)
}

func (c *countingStore) Touch(ctx context.Context, k string, e time.Time) (bool, error) {
	c.touches.Add(1)
	if c.fail.Load() {
		return false, errDown
	}
	return c.Store.(coatcheck.Toucher).Touch(ctx, k, e)
}

func (c *countingStore) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	c.sets.Add(1)
	if c.fail.Load() {
		return false, errDown
	}
	return c.Store.(coatcheck.CompareAndSetter).CompareAndSet(ctx, k, old, d, e)
}

func (c *countingStore) Iterate(ctx context.Context, prefix string, fn func(string, time.Time) bool) error {
	return c.Store.(coatcheck.Iterator).Iterate(ctx, prefix, fn)
}

func (c *countingStore) DeleteExpired(ctx context.Context) (int, error) {
	return c.Store.(coatcheck.Cleaner).DeleteExpired(ctx)
}

func (c *countingStore) reset() {
	c.gets.Store(0)
	c.sets.Store(0)
	c.deletes.Store(0)
	c.touches.Store(0)
}

// keys lists the session entries (per-user index entries left out).
func (c *countingStore) keys(t *testing.T) []string {
	var keys []string
	err := c.Store.(coatcheck.Iterator).Iterate(context.Background(), "", func(k string, _ time.Time) bool {
		if !strings.Contains(k, ":_user:") {
			keys = append(keys, k)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type serverEnv struct {
	store  *countingStore
	m      *coatcheck.Manager
	srv    *httptest.Server
	client *http.Client
	clock  *clock
}

func newServerEnv(t *testing.T, cfg coatcheck.Config) *serverEnv {
	t.Helper()
	return newServerEnvWith(t, cfg, serverApp())
}

func newServerEnvWith(t *testing.T, cfg coatcheck.Config, app http.Handler) *serverEnv {
	t.Helper()
	clk := &clock{t: time.Now()} // the cookie jar drops cookies whose Expires is past in real time
	ms := memstore.New(memstore.Options{Now: clk.Now, CleanupInterval: -1})
	t.Cleanup(func() { ms.Close() })
	cs := &countingStore{Store: ms}
	cfg.Store = cs
	cfg.Now = clk.Now
	cfg.Logger = quiet()
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(app))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &serverEnv{store: cs, m: m, srv: srv, client: client, clock: clk}
}

func serverApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if name, ok := coatcheck.Value[string](coatcheck.FromRequest(r), "username"); ok {
			fmt.Fprintf(w, "Logged in as %s", name)
			return
		}
		io.WriteString(w, "You are not logged in")
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Renew()
		s.Set("username", r.FormValue("username"))
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Destroy()
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, coatcheck.FromRequest(r).ID())
	})
	mux.HandleFunc("/reason", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, coatcheck.FromRequest(r).Reason())
	})
	return mux
}

func (e *serverEnv) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	res, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (e *serverEnv) cookie(t *testing.T) string {
	u, _ := url.Parse(e.srv.URL)
	for _, c := range e.client.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func TestServerLoginLogout(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Fatal(body)
	}
	if n := len(e.store.keys(t)); n != 0 {
		t.Errorf("an anonymous read stored %d sessions; empty sessions must not be stored", n)
	}
	if res, _ := e.get(t, "/login?username=alice"); res.StatusCode != 302 {
		t.Fatalf("login status %d", res.StatusCode)
	}
	sid := e.cookie(t)
	if len(sid) != 43 {
		t.Errorf("session id %q: want 43 base64url characters (32 random bytes)", sid)
	}
	if keys := e.store.keys(t); len(keys) != 1 || keys[0] != "session:"+sid {
		t.Errorf("store keys %v, want [session:%s]", keys, sid)
	}
	if _, body := e.get(t, "/"); body != "Logged in as alice" {
		t.Fatal(body)
	}
	e.get(t, "/logout")
	if keys := e.store.keys(t); len(keys) != 0 {
		t.Errorf("Destroy left %v in the store", keys)
	}
	if e.cookie(t) != "" {
		t.Error("Destroy did not delete the cookie")
	}
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Fatal(body)
	}
}

func TestServerNeverAdoptsUnknownID(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	u, _ := url.Parse(e.srv.URL)
	e.client.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "attacker-chosen-id"}})
	if _, body := e.get(t, "/reason"); !strings.Contains(body, "unknown or expired") {
		t.Errorf("reason %q", body)
	}
	e.get(t, "/login?username=victim")
	if sid := e.cookie(t); sid == "attacker-chosen-id" {
		t.Fatal("the client-chosen id was adopted (session fixation)")
	}
	if keys := e.store.keys(t); len(keys) != 1 || strings.Contains(keys[0], "attacker") {
		t.Errorf("store keys %v", keys)
	}
}

func TestServerRenewReplacesID(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	first := e.cookie(t)
	e.get(t, "/login?username=b")
	second := e.cookie(t)
	if first == second {
		t.Fatal("Renew kept the id")
	}
	if keys := e.store.keys(t); len(keys) != 1 || keys[0] != "session:"+second {
		t.Errorf("after renew the store holds %v, want only the new id", keys)
	}
	if _, body := e.get(t, "/"); body != "Logged in as b" {
		t.Error(body)
	}
}

func TestServerLazyAndRoundTrips(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	e.store.reset()
	e.get(t, "/noop")
	if n := e.store.gets.Load() + e.store.sets.Load() + e.store.touches.Load(); n != 0 {
		t.Errorf("a request that never touched the session made %d store calls", n)
	}
	e.get(t, "/")
	if g, s, to := e.store.gets.Load(), e.store.sets.Load(), e.store.touches.Load(); g != 1 || s != 0 || to != 1 {
		t.Errorf("read-only request: %d gets, %d sets, %d touches; want 1 get, no rewrite, 1 touch", g, s, to)
	}
}

func TestServerRefreshSlidesExpiry(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{PermanentLifetime: time.Hour})
	e.get(t, "/login?username=a")
	for i := 0; i < 3; i++ {
		e.clock.Add(50 * time.Minute)
		if _, body := e.get(t, "/"); body != "Logged in as a" {
			t.Fatalf("after %d × 50 min of activity: %q", i+1, body)
		}
	}
	e.clock.Add(61 * time.Minute)
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Errorf("idle past the lifetime: %q", body)
	}
}

func TestServerIdleAndAbsoluteTimeouts(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{IdleTimeout: 10 * time.Minute, AbsoluteLifetime: time.Hour})
	e.get(t, "/login?username=a")
	e.clock.Add(11 * time.Minute)
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Fatalf("idle timeout not enforced: %q", body)
	}
	e.get(t, "/login?username=b")
	for i := 0; i < 6; i++ { // active every 9 minutes: 54 minutes
		e.clock.Add(9 * time.Minute)
		if _, body := e.get(t, "/"); body != "Logged in as b" {
			t.Fatalf("active session lost after %d min: %q", (i+1)*9, body)
		}
	}
	e.clock.Add(7 * time.Minute) // 61 minutes after login
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Errorf("absolute lifetime not enforced: %q", body)
	}
}

func TestServerStoreOutage(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	before := e.cookie(t)
	e.store.fail.Store(true)
	res, body := e.get(t, "/")
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "not logged in") {
		t.Errorf("outage on load: status %d body %q; want 503, never a fresh session", res.StatusCode, body)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("outage response set a cookie")
	}
	res, _ = e.get(t, "/login?username=b")
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("outage on save: status %d", res.StatusCode)
	}
	e.store.fail.Store(false)
	if e.cookie(t) != before {
		t.Error("the cookie changed during the outage")
	}
	if _, body := e.get(t, "/"); body != "Logged in as a" {
		t.Errorf("session lost after the outage: %q", body)
	}
}

func TestServerCorruptValue(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	sid := e.cookie(t)
	if err := e.store.Store.Set(context.Background(), "session:"+sid, []byte("\xc1garbage"), time.Unix(1800000000, 0)); err != nil {
		t.Fatal(err)
	}
	res, _ := e.get(t, "/")
	if res.StatusCode != 500 {
		t.Errorf("undecodable stored value: status %d, want 500", res.StatusCode)
	}
	if _, ok, _ := e.store.Store.Get(context.Background(), "session:"+sid); !ok {
		t.Error("the undecodable entry was deleted (lose nothing)")
	}
}

func TestServerSignedIDs(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{SecretKey: "dev-secret-key", Server: coatcheck.ServerConfig{UseSigner: true}})
	e.get(t, "/login?username=a")
	v := e.cookie(t)
	id, sig, ok := strings.Cut(v, ".")
	if !ok || len(id) != 43 || len(sig) != 27 {
		t.Fatalf("signed cookie %q", v)
	}
	u, _ := url.Parse(e.srv.URL)
	e.client.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAA"}})
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Errorf("tampered signature accepted: %q", body)
	}
}

func TestServerFlaskSessionCompat03(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{Server: coatcheck.ServerConfig{FlaskSessionCompat: "0.3"}})
	e.get(t, "/login?username=a")
	sid := e.cookie(t)
	if len(sid) != 36 || sid[14] != '4' {
		t.Errorf("0.3 ids are str(uuid4()): %q", sid)
	}
	b, ok, err := e.store.Store.Get(context.Background(), "session:"+sid)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if b[0] != 0x80 || b[1] != 2 {
		t.Errorf("0.3 values are pickles: % x", b[:4])
	}
	m, err := flasksession.Pickle(2).Decode(b)
	if err != nil || m["username"] != "a" || m["_permanent"] != true {
		t.Errorf("stored %v %v", m, err)
	}
}

func TestServerConcurrentRequests(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=a")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.client.Get(e.srv.URL + "/")
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
		}()
	}
	wg.Wait()
}

func TestAdmin(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	e.get(t, "/login?username=alice")
	alice := e.cookie(t)
	jar, _ := cookiejar.New(nil)
	e.client.Jar = jar
	e.get(t, "/login?username=bob")
	a := e.m.Admin()
	var ids []string
	if err := a.List(context.Background(), func(id string, exp time.Time) bool { ids = append(ids, id); return true }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 {
		t.Fatalf("listed %v", ids)
	}
	data, found, err := a.Get(context.Background(), alice)
	if err != nil || !found || data["username"] != "alice" {
		t.Fatalf("Get: %v %v %v", data, found, err)
	}
	n, err := a.DeleteWhere(context.Background(), func(id string, d map[string]any) bool { return d["username"] == "bob" })
	if err != nil || n != 1 {
		t.Fatalf("DeleteWhere: %d %v", n, err)
	}
	if _, body := e.get(t, "/"); body != "You are not logged in" {
		t.Errorf("bob's revoked session still works: %q", body)
	}
	if _, found, _ := a.Get(context.Background(), alice); !found {
		t.Error("alice's session was revoked too")
	}
	if n, err := a.PurgeExpired(context.Background()); err != nil || n != 0 {
		t.Errorf("PurgeExpired: %d %v", n, err)
	}
	if coatcheck.MustNew(coatcheck.Config{SecretKey: "k"}).Admin() != nil {
		t.Error("cookie sessions have no Admin")
	}
}
