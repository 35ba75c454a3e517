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
	"strings"
	"sync"
	"sync/atomic"
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

// batchingStore is an indexingStore that also exposes memstore's batch of
// a write and its index change (coatcheck.IndexBatcher), counting each
// call as one round trip: SetIndexed and CompareAndSetIndexed as a set,
// DeleteIndexed as a delete. With pipelined, a CompareAndSetIndexed that
// does not swap still makes its index changes, as a store that pipelines
// them (redisstore) may; before, when set, runs once inside the next
// CompareAndSetIndexed, before the compare (a concurrent request).
type batchingStore struct {
	indexingStore
	bx        coatcheck.IndexBatcher
	pipelined bool
	before    *atomic.Pointer[func()]
}

func (s batchingStore) SetIndexed(ctx context.Context, k string, d []byte, e time.Time, oldKey, from, to string) error {
	s.sets.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.bx.SetIndexed(ctx, k, d, e, oldKey, from, to)
}

func (s batchingStore) CompareAndSetIndexed(ctx context.Context, k string, old, d []byte, e time.Time, from, to string) (bool, error) {
	s.sets.Add(1)
	if s.fail.Load() {
		return false, errDown
	}
	if f := s.before.Swap(nil); f != nil {
		(*f)()
	}
	swapped, err := s.bx.CompareAndSetIndexed(ctx, k, old, d, e, from, to)
	if err == nil && !swapped && s.pipelined {
		if from != "" {
			_ = s.bx.IndexRemove(ctx, from, k)
		}
		if to != "" {
			_ = s.bx.IndexAdd(ctx, to, k, e)
		}
	}
	return swapped, err
}

func (s batchingStore) DeleteIndexed(ctx context.Context, k, from string) error {
	s.deletes.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.bx.DeleteIndexed(ctx, k, from)
}

// newNativeEnv is newServerEnv with the store's native index exposed.
func newNativeEnv(t *testing.T, cfg coatcheck.Config) *serverEnv {
	t.Helper()
	e, _ := newIndexEnv(t, cfg, serverApp(), false, false)
	return e
}

// newIndexEnv is newNativeEnv serving app, with the store's batch
// (coatcheck.IndexBatcher) exposed too when batch is set; it returns the
// batching store's hook (see batchingStore).
func newIndexEnv(t *testing.T, cfg coatcheck.Config, app http.Handler, batch, pipelined bool) (*serverEnv, *atomic.Pointer[func()]) {
	t.Helper()
	clk := &clock{t: time.Now()}
	ms := memstore.New(memstore.Options{Now: clk.Now, CleanupInterval: -1})
	t.Cleanup(func() { ms.Close() })
	cs := &countingStore{Store: ms}
	before := new(atomic.Pointer[func()])
	cfg.Store = indexingStore{cs, ms}
	if batch {
		cfg.Store = batchingStore{indexingStore{cs, ms}, ms, pipelined, before}
	}
	cfg.Now = clk.Now
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(app))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &serverEnv{store: cs, m: m, srv: srv, client: client, clock: clk}, before
}

// indexEnvs runs test with the index kept by compare-and-set ("cas"), by
// the store itself ("native"), and by the store with each write and its
// index change in one call ("batch").
func indexEnvs(t *testing.T, test func(t *testing.T, e *serverEnv)) {
	t.Run("cas", func(t *testing.T) { test(t, newServerEnv(t, coatcheck.Config{})) })
	t.Run("native", func(t *testing.T) { test(t, newNativeEnv(t, coatcheck.Config{})) })
	t.Run("batch", func(t *testing.T) {
		e, _ := newIndexEnv(t, coatcheck.Config{}, serverApp(), true, false)
		test(t, e)
	})
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

// batchApp is serverApp plus saves that change the user without Renew, so
// that they take the compare-and-set (merge) path: /put?v= sets "cart",
// /mlogin?username= sets the user, /mlogout deletes it.
func batchApp() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", serverApp())
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("cart", r.FormValue("v"))
	})
	mux.HandleFunc("/mlogin", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("username", r.FormValue("username"))
	})
	mux.HandleFunc("/mlogout", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Delete("username")
	})
	mux.HandleFunc("/cart", func(w http.ResponseWriter, r *http.Request) {
		v, _ := coatcheck.Value[string](coatcheck.FromRequest(r), "cart")
		io.WriteString(w, v)
	})
	return mux
}

// wantIndex fails unless ListUser(user) is exactly ids.
func wantIndex(t *testing.T, m *coatcheck.Manager, user string, ids ...string) {
	t.Helper()
	got, err := m.Admin().ListUser(context.Background(), user)
	sort.Strings(got)
	sort.Strings(ids)
	if err != nil || strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("ListUser(%s) = %v, %v; want %v", user, got, err, ids)
	}
}

// TestSaveBatched: with a store that takes a write and its index change
// in one call (coatcheck.IndexBatcher), a login, a Renew of a logged-in
// session, a login or logout without Renew (the merge path) and a
// Destroy each cost one store write, and the index follows each.
func TestSaveBatched(t *testing.T) {
	e, _ := newIndexEnv(t, coatcheck.Config{}, batchApp(), true, false)
	id := func() string { _, b := e.get(t, "/id"); return b }
	step := func(path string, wantWrites int32) {
		t.Helper()
		e.store.reset()
		res, _ := e.get(t, path)
		if res.StatusCode >= 400 {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		if w := e.store.sets.Load() + e.store.deletes.Load() + e.store.touches.Load(); w != wantWrites {
			t.Errorf("%s: %d store writes (sets %d, deletes %d, touches %d), want %d",
				path, w, e.store.sets.Load(), e.store.deletes.Load(), e.store.touches.Load(), wantWrites)
		}
	}
	step("/login?username=ann", 1) // the entry and IndexAdd
	first := id()
	wantIndex(t, e.m, "ann", first)
	step("/login?username=ann", 1) // Renew: new entry, Delete, IndexRemove, IndexAdd
	second := id()
	if second == first {
		t.Fatal("Renew kept the id")
	}
	wantIndex(t, e.m, "ann", second)
	if _, found, _ := e.store.Store.Get(context.Background(), "session:"+first); found {
		t.Error("the entry of the renewed id survived")
	}
	step("/login?username=bob", 1) // Renew to another user
	third := id()
	wantIndex(t, e.m, "ann")
	wantIndex(t, e.m, "bob", third)
	step("/put?v=x", 1) // merge, no index change
	step("/mlogout", 1) // merge: CompareAndSetIndexed with IndexRemove
	wantIndex(t, e.m, "bob")
	step("/mlogin?username=cy", 1) // merge: CompareAndSetIndexed with IndexAdd
	wantIndex(t, e.m, "cy", third)
	step("/mlogin?username=dee", 1) // merge: both
	wantIndex(t, e.m, "cy")
	wantIndex(t, e.m, "dee", third)
	step("/logout", 1) // DeleteIndexed
	wantIndex(t, e.m, "dee")
	if _, found, _ := e.store.Store.Get(context.Background(), "session:"+third); found {
		t.Error("the entry survived logout")
	}
}

// TestSaveBatchedRenewNoUser: a Renew of a stored session that names no
// user is one call too (the new entry and Delete of the old), also with
// NoUserIndex.
func TestSaveBatchedRenewNoUser(t *testing.T) {
	for _, noIndex := range []bool{false, true} {
		e, _ := newIndexEnv(t, coatcheck.Config{Server: coatcheck.ServerConfig{NoUserIndex: noIndex}}, batchApp(), true, false)
		e.get(t, "/put?v=x")
		e.store.reset()
		e.get(t, "/login?username=fay")
		if w := e.store.sets.Load() + e.store.deletes.Load(); w != 1 {
			t.Errorf("NoUserIndex=%v: Renew of a stored session: %d writes (sets %d, deletes %d), want 1",
				noIndex, w, e.store.sets.Load(), e.store.deletes.Load())
		}
		if _, b := e.get(t, "/cart"); b != "x" {
			t.Errorf("NoUserIndex=%v: cart after Renew = %q", noIndex, b)
		}
	}
}

// TestSaveBatchedConflict: a merge save whose batched compare-and-set
// loses to a concurrent request goes through the retry loop, keeps both
// requests' changes, and leaves the index right, whether or not the store
// made the index changes of the failed attempt.
func TestSaveBatchedConflict(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipelined=%v", pipelined), func(t *testing.T) {
			for _, tc := range []struct{ path, from, to string }{
				{"/mlogin?username=gus", "bob", "gus"}, // a login: IndexRemove and IndexAdd
				{"/mlogout", "bob", ""},                // a logout: IndexRemove only
			} {
				e, before := newIndexEnv(t, coatcheck.Config{}, batchApp(), true, pipelined)
				e.get(t, "/login?username=bob")
				e.get(t, "/put?v=base") // so that /mlogout leaves a session to save
				sid := func() string { _, b := e.get(t, "/id"); return b }()
				other := &http.Client{Jar: e.client.Jar}
				f := func() {
					res, err := other.Get(e.srv.URL + "/put?v=concurrent")
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
				}
				before.Store(&f)
				res, _ := e.get(t, tc.path)
				if res.StatusCode >= 400 {
					t.Fatalf("%s: status %d", tc.path, res.StatusCode)
				}
				if before.Load() != nil {
					t.Fatalf("%s: the concurrent request did not run (no CompareAndSetIndexed); %d sets", tc.path, e.store.sets.Load())
				}
				if _, b := e.get(t, "/cart"); b != "concurrent" {
					t.Errorf("%s: the concurrent request's change was lost: cart = %q", tc.path, b)
				}
				wantIndex(t, e.m, tc.from)
				if tc.to != "" {
					wantIndex(t, e.m, tc.to, sid)
					if _, b := e.get(t, "/"); b != "Logged in as "+tc.to {
						t.Errorf("%s: %q", tc.path, b)
					}
				}
			}
		})
	}
}

// TestSaveBatchedOutage: a failed batch is a store failure (503,
// ErrStoreUnavailable), as the calls one by one are.
func TestSaveBatchedOutage(t *testing.T) {
	var got atomic.Value
	cfg := coatcheck.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got.Store(err)
		coatcheck.DefaultErrorHandler(w, r, err)
	}}
	e, _ := newIndexEnv(t, cfg, batchApp(), true, false)
	e.get(t, "/login?username=hal")
	e.store.fail.Store(true)
	fresh := &http.Client{}
	for _, path := range []string{"/login?username=ivy"} {
		res, err := fresh.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		err, _ = got.Load().(error)
		if res.StatusCode != http.StatusServiceUnavailable || !errors.Is(err, coatcheck.ErrStoreUnavailable) {
			t.Errorf("%s during an outage: status %d, error %v; want 503, ErrStoreUnavailable", path, res.StatusCode, err)
		}
	}
	e.store.fail.Store(false)
	if _, b := e.get(t, "/"); b != "Logged in as hal" {
		t.Errorf("after the outage: %q", b)
	}
}
