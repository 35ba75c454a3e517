package coatcheck_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/memstore"
)

// login logs a fresh client in as user and returns it.
func (e *serverEnv) newClient(t *testing.T, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(e.srv.URL + "/login?username=" + user)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return c
}

func bodyOf(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// indexingStore is a countingStore that also exposes memstore's native
// per-user index (coatcheck.UserIndexer), counting its calls as round
// trips: an add as a set, a list as a get, a remove or take as a delete.
// countingStore alone hides it, so the Manager keeps the index with
// compare-and-set: every index test runs both ways (indexEnvs).
type indexingStore struct {
	*countingStore
	ux coatcheck.UserIndexer
}

func (s indexingStore) IndexAdd(ctx context.Context, ik, k string, e time.Time) error {
	s.sets.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.ux.IndexAdd(ctx, ik, k, e)
}

func (s indexingStore) IndexRemove(ctx context.Context, ik, k string) error {
	s.deletes.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.ux.IndexRemove(ctx, ik, k)
}

func (s indexingStore) IndexList(ctx context.Context, ik string) ([]string, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return nil, errDown
	}
	return s.ux.IndexList(ctx, ik)
}

func (s indexingStore) IndexTake(ctx context.Context, ik string) ([]string, error) {
	s.deletes.Add(1)
	if s.fail.Load() {
		return nil, errDown
	}
	return s.ux.IndexTake(ctx, ik)
}

// newNativeEnv is newServerEnv with the store's native index exposed.
func newNativeEnv(t *testing.T, cfg coatcheck.Config) *serverEnv {
	t.Helper()
	clk := &clock{t: time.Now()}
	ms := memstore.New(memstore.Options{Now: clk.Now, CleanupInterval: -1})
	t.Cleanup(func() { ms.Close() })
	cs := &countingStore{Store: ms}
	cfg.Store = indexingStore{cs, ms}
	cfg.Now = clk.Now
	cfg.Logger = quiet()
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(serverApp()))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &serverEnv{store: cs, m: m, srv: srv, client: client, clock: clk}
}

// indexEnvs runs test with the index kept by compare-and-set ("cas") and
// by the store itself ("native").
func indexEnvs(t *testing.T, test func(t *testing.T, e *serverEnv)) {
	t.Run("cas", func(t *testing.T) { test(t, newServerEnv(t, coatcheck.Config{})) })
	t.Run("native", func(t *testing.T) { test(t, newNativeEnv(t, coatcheck.Config{})) })
}

// TestRevokeUser: every session of one user ends, the others stay, and the
// index follows logins, renewals and logouts.
func TestRevokeUser(t *testing.T) { indexEnvs(t, testRevokeUser) }

func testRevokeUser(t *testing.T, e *serverEnv) {
	admin := e.m.Admin()
	ctx := context.Background()
	var alice []*http.Client
	for i := 0; i < 3; i++ {
		alice = append(alice, e.newClient(t, "alice"))
	}
	bob := e.newClient(t, "bob")
	ids, err := admin.ListUser(ctx, "alice")
	if err != nil || len(ids) != 3 {
		t.Fatalf("ListUser(alice) = %v, %v; want 3 ids", ids, err)
	}
	// logout leaves the index
	if res, err := alice[2].Get(e.srv.URL + "/logout"); err == nil {
		res.Body.Close()
	}
	if ids, _ := admin.ListUser(ctx, "alice"); len(ids) != 2 {
		t.Errorf("after a logout: %d ids, want 2", len(ids))
	}
	// a session removed behind the index's back is healed out
	all, _ := admin.ListUser(ctx, "alice")
	sort.Strings(all)
	if err := admin.Delete(ctx, all[0]); err != nil {
		t.Fatal(err)
	}
	if ids, _ := admin.ListUser(ctx, "alice"); len(ids) != 1 {
		t.Errorf("stale id not healed: %v", ids)
	}
	alice = append(alice[:2], e.newClient(t, "alice"))
	e.store.reset()
	n, err := admin.RevokeUser(ctx, "alice")
	if err != nil || n != 2 {
		t.Errorf("RevokeUser(alice) = %d, %v; want 2", n, err)
	}
	for i, c := range alice {
		if b := bodyOf(t, c, e.srv.URL+"/"); b != "You are not logged in" {
			t.Errorf("alice's client %d after revoke: %q", i, b)
		}
	}
	if b := bodyOf(t, bob, e.srv.URL+"/"); b != "Logged in as bob" {
		t.Errorf("bob after alice's revoke: %q", b)
	}
	if ids, _ := admin.ListUser(ctx, "alice"); len(ids) != 0 {
		t.Errorf("index after revoke: %v", ids)
	}
}

// TestUserIndexConcurrentLogins: 20 concurrent logins of one user are all
// indexed (the index is compare-and-set, like sessions).
func TestUserIndexConcurrentLogins(t *testing.T) { indexEnvs(t, testUserIndexConcurrentLogins) }

func testUserIndexConcurrentLogins(t *testing.T, e *serverEnv) {
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); e.newClient(t, "carol") }()
	}
	wg.Wait()
	ids, err := e.m.Admin().ListUser(context.Background(), "carol")
	if err != nil || len(ids) != 20 {
		t.Errorf("ListUser after 20 concurrent logins: %d ids, %v", len(ids), err)
	}
}

// TestRevokeUserAmongMany: revoking one user among 100,000 sessions costs
// round trips in proportion to that user's sessions, not a scan.
func TestRevokeUserAmongMany(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 sessions")
	}
	indexEnvs(t, testRevokeUserAmongMany)
}

func testRevokeUserAmongMany(t *testing.T, e *serverEnv) {
	h := e.m.Handler(serverApp())
	var target []string
	for i := 0; i < 100_000; i++ {
		user := fmt.Sprintf("u%d", i)
		if i%20000 == 0 {
			user = "target"
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?username="+user, nil))
		if user == "target" {
			target = append(target, rec.Result().Cookies()[0].Value)
		}
	}
	e.store.reset()
	start := time.Now()
	n, err := e.m.Admin().RevokeUser(context.Background(), "target")
	took := time.Since(start)
	if err != nil || n != 5 {
		t.Fatalf("RevokeUser = %d, %v", n, err)
	}
	trips := e.store.gets.Load() + e.store.sets.Load() + e.store.deletes.Load()
	if trips > 2+5 {
		t.Errorf("revoking 5 sessions among 100,000 took %d store round trips; want O(5)", trips)
	}
	t.Logf("RevokeUser of 5 sessions among 100,000: %v, %d round trips", took, trips)
	for _, c := range target {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "session="+c)
		h.ServeHTTP(rec, req)
		if rec.Body.String() != "You are not logged in" {
			t.Errorf("revoked session still logged in: %q", rec.Body.String())
		}
	}
}

// TestLoginCostFlat: with the store's own index, a login is the session's
// write and one index add, however many sessions the user already has; no
// index entry is read. (The compare-and-set index reads and rewrites the
// user's whole entry on every login.)
func TestLoginCostFlat(t *testing.T) {
	e := newNativeEnv(t, coatcheck.Config{})
	h := e.m.Handler(serverApp())
	login := func() (gets, sets, deletes int32) {
		e.store.reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?username=dave", nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("login: %d", rec.Code)
		}
		return e.store.gets.Load(), e.store.sets.Load(), e.store.deletes.Load()
	}
	g1, s1, d1 := login()
	if g1 != 0 || s1 != 2 || d1 != 0 {
		t.Errorf("first login: %d gets, %d sets, %d deletes; want 0, 2 (session, index add), 0", g1, s1, d1)
	}
	for i := 0; i < 500; i++ {
		login()
	}
	if g, s, d := login(); g != g1 || s != s1 || d != d1 {
		t.Errorf("502nd login: %d gets, %d sets, %d deletes; the first took %d, %d, %d", g, s, d, g1, s1, d1)
	}
	if ids, err := e.m.Admin().ListUser(context.Background(), "dave"); err != nil || len(ids) != 502 {
		t.Errorf("ListUser = %d ids, %v; want 502", len(ids), err)
	}
}

// TestUserIndexNativeWithoutCAS: a store with a native index but no
// compare-and-set still keeps the per-user index.
func TestUserIndexNativeWithoutCAS(t *testing.T) {
	ms := memstore.New(memstore.Options{CleanupInterval: -1})
	t.Cleanup(func() { ms.Close() })
	st := struct {
		plainStore
		coatcheck.UserIndexer
	}{plainStore{ms}, ms}
	m := coatcheck.MustNew(coatcheck.Config{Store: st, Logger: quiet()})
	h := m.Handler(serverApp())
	for i := 0; i < 3; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/login?username=erin", nil))
	}
	ids, err := m.Admin().ListUser(context.Background(), "erin")
	if err != nil || len(ids) != 3 {
		t.Fatalf("ListUser = %v, %v; want 3 ids", ids, err)
	}
	if n, err := m.Admin().RevokeUser(context.Background(), "erin"); err != nil || n != 3 {
		t.Errorf("RevokeUser = %d, %v; want 3", n, err)
	}
	nidx := coatcheck.MustNew(coatcheck.Config{Store: st, Logger: quiet(), Server: coatcheck.ServerConfig{NoUserIndex: true}})
	if _, err := nidx.Admin().ListUser(context.Background(), "erin"); !errors.Is(err, coatcheck.ErrNoUserIndex) {
		t.Errorf("ListUser with NoUserIndex: %v, want ErrNoUserIndex", err)
	}
}

// TestUserIndexNeedsCAS: a store without compare-and-set says so clearly.
func TestUserIndexNeedsCAS(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
	m := coatcheck.MustNew(coatcheck.Config{Store: plainStore{e.store}, Logger: quiet()})
	if _, err := m.Admin().RevokeUser(context.Background(), "x"); !errors.Is(err, coatcheck.ErrNotSupported) {
		t.Errorf("RevokeUser without CAS: %v", err)
	}
}

// plainStore hides every optional interface.
type plainStore struct{ s coatcheck.Store }

func (p plainStore) Get(ctx context.Context, k string) ([]byte, bool, error) { return p.s.Get(ctx, k) }
func (p plainStore) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	return p.s.Set(ctx, k, d, e)
}
func (p plainStore) Delete(ctx context.Context, k string) error { return p.s.Delete(ctx, k) }
