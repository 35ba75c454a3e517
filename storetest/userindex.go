package storetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coatcheck/coatcheck"
)

// RunUserIndex checks, through the real middleware, that the per-user
// session index (Admin.ListUser, Admin.RevokeUser) works on the store:
// concurrent logins of one user are all indexed, a logout leaves the index,
// and revoking the user ends every one of its sessions and no other. A
// store that keeps the index natively (coatcheck.UserIndexer) is checked
// twice: as it is ("native"), and behind a wrapper that hides UserIndexer,
// so the Manager keeps the index with compare-and-set ("cas"); one that
// also takes a write and its index change in one call
// (coatcheck.IndexBatcher) is checked a third time, as it is ("batch"),
// "native" then hiding only IndexBatcher. A store
// with neither is skipped. Each run uses its own key prefix.
func RunUserIndex(t *testing.T, newStore func(t *testing.T) coatcheck.Store) {
	t.Helper()
	store := newStore(t)
	cas, isCAS := store.(coatcheck.CompareAndSetter)
	ux, isNative := store.(coatcheck.UserIndexer)
	_, isBatch := store.(coatcheck.IndexBatcher)
	switch {
	case isBatch && isCAS:
		t.Run("batch", func(t *testing.T) { runUserIndex(t, store) })
		t.Run("native", func(t *testing.T) { runUserIndex(t, nativeOnly{store, cas, ux}) })
		t.Run("cas", func(t *testing.T) { runUserIndex(t, casOnly{store, cas}) })
	case isNative && isCAS:
		t.Run("native", func(t *testing.T) { runUserIndex(t, store) })
		t.Run("cas", func(t *testing.T) { runUserIndex(t, casOnly{store, cas}) })
	case isNative || isCAS:
		runUserIndex(t, store)
	default:
		t.Skipf("storetest: %T is neither a UserIndexer nor a CompareAndSetter: no per-user index", store)
	}
}

// nativeOnly hides every optional interface of a store but
// CompareAndSetter and UserIndexer.
type nativeOnly struct {
	coatcheck.Store
	coatcheck.CompareAndSetter
	coatcheck.UserIndexer
}

// casOnly hides every optional interface of a store but CompareAndSetter.
type casOnly struct {
	coatcheck.Store
	coatcheck.CompareAndSetter
}

func runUserIndex(t *testing.T, store coatcheck.Store) {
	t.Helper()
	m, err := coatcheck.New(coatcheck.Config{
		Store:  store,
		Server: coatcheck.ServerConfig{KeyPrefix: "uidx-" + newNamespace() + ":"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		switch r.URL.Path {
		case "/login":
			s.Renew()
			s.Set("_user_id", r.FormValue("u"))
		case "/logout":
			s.Destroy()
		default:
			u, _ := coatcheck.Value[string](s, "_user_id")
			io.WriteString(w, "user="+u)
		}
	}))
	do := func(path, cookie string) (status int, body, setCookie string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(rec, req)
		c := ""
		for _, sc := range rec.Result().Cookies() {
			c = sc.Name + "=" + sc.Value
		}
		return rec.Code, rec.Body.String(), c
	}
	const n = 8
	cookies := make([]string, n)
	var wg sync.WaitGroup
	for i := range cookies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, _, c := do("/login?u=ann", "")
			if code != http.StatusOK || c == "" {
				t.Errorf("login %d: status %d, cookie %q", i, code, c)
			}
			cookies[i] = c
		}(i)
	}
	wg.Wait()
	_, _, bob := do("/login?u=bob", "")
	ctx := context.Background()
	admin := m.Admin()
	if ids, err := admin.ListUser(ctx, "ann"); err != nil || len(ids) != n {
		t.Fatalf("ListUser after %d concurrent logins: %d ids, %v", n, len(ids), err)
	}
	do("/logout", cookies[0])
	if ids, err := admin.ListUser(ctx, "ann"); err != nil || len(ids) != n-1 {
		t.Errorf("ListUser after a logout: %d ids, %v; want %d", len(ids), err, n-1)
	}
	revoked, err := admin.RevokeUser(ctx, "ann")
	if err != nil || revoked != n-1 {
		t.Errorf("RevokeUser = %d, %v; want %d", revoked, err, n-1)
	}
	for i, c := range cookies[1:] {
		if _, body, _ := do("/", c); body != "user=" {
			t.Errorf("session %d of ann after RevokeUser: %q", i+1, body)
		}
	}
	if _, body, _ := do("/", bob); body != "user=bob" {
		t.Errorf("bob after ann's revoke: %q", body)
	}
	if ids, _ := admin.ListUser(ctx, "ann"); len(ids) != 0 {
		t.Errorf("index after revoke: %v", ids)
	}
	// clean up bob
	if _, err := admin.RevokeUser(ctx, "bob"); err != nil && !strings.Contains(err.Error(), "not supported") {
		t.Errorf("cleanup: %v", err)
	}
}
