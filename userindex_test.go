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

// TestRevokeUser: every session of one user ends, the others stay, and the
// index follows logins, renewals and logouts.
func TestRevokeUser(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
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
func TestUserIndexConcurrentLogins(t *testing.T) {
	e := newServerEnv(t, coatcheck.Config{})
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
	e := newServerEnv(t, coatcheck.Config{})
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
