// Package redistest holds the test scenarios that the two Redis stores
// (redisstore on go-redis, rueidisstore on rueidis) share: the same
// Manager requests against a live server, with each store's test keeping
// only how it builds its client and how it counts round trips (a go-redis
// hook, a counter of socket writes). It imports only the standard library
// and coatcheck.
package redistest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
)

// Target is a Redis store under test and how to watch it.
type Target struct {
	// Store is the store the Manager runs on; it should implement
	// coatcheck.IndexBatcher (each save below is one round trip only then).
	Store coatcheck.Store
	// Prefix is the Manager's key prefix, unique to the test.
	Prefix string
	// Trips returns a running count of the store's round trips to Redis.
	Trips func() int64
	// LoadTrips is what a request with a cookie adds to Trips for its
	// load: 1 when Trips counts every round trip (the load's GETEX), 0 when
	// Trips leaves the loads out.
	LoadTrips int64
	// Exists reports whether key exists on the server, asked past the
	// store (and any cache of its client).
	Exists func(ctx context.Context, key string) bool
	// Logins is how many logins of one user SaveRoundTrips makes to check
	// that the last costs what the first did (and that the user's index
	// then names every one).
	Logins int
}

// SaveRoundTrips: with a session's write and its index change in one
// batch (coatcheck.IndexBatcher), a login's save (Renew), a Renew of a
// logged-in session, a login or logout without Renew, a write that does
// not touch the index and a logout each cost one round trip, plus the
// load (tg.LoadTrips) when the request has a cookie; the per-user index
// follows each; and the tg.Logins-th login of one user costs what the
// first did. The caller loads the store's scripts into the server first,
// so that no EVALSHA meets NOSCRIPT (which would cost a trip).
func SaveRoundTrips(t *testing.T, tg Target) {
	t.Helper()
	m, err := coatcheck.New(coatcheck.Config{
		Store:  tg.Store,
		Server: coatcheck.ServerConfig{KeyPrefix: tg.Prefix},
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
		case "/mlogin":
			s.Set("_user_id", r.FormValue("u"))
		case "/mlogout":
			s.Delete("_user_id")
		case "/put":
			s.Set("cart", "x")
		case "/logout":
			s.Destroy()
		}
	}))
	cookie := ""
	// do serves path and returns the round trips of its save (its trips
	// less its load's) and the cookie's session id.
	do := func(path string) (trips int64, id string) {
		t.Helper()
		load := int64(0)
		if cookie != "" {
			load = tg.LoadTrips
		}
		before := tg.Trips()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
		}
		for _, sc := range rec.Result().Cookies() {
			cookie = sc.Name + "=" + sc.Value
		}
		_, id, _ = strings.Cut(cookie, "=")
		return tg.Trips() - before - load, id
	}
	ctx := context.Background()
	want := func(user string, ids ...string) {
		t.Helper()
		got, err := m.Admin().ListUser(ctx, user)
		sort.Strings(got)
		sort.Strings(ids)
		if err != nil || strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("ListUser(%s) = %v, %v; want %v", user, got, err, ids)
		}
	}
	t.Cleanup(func() {
		for _, u := range []string{"warm", "warm2", "ann", "bob", "cy", "zed"} {
			_, _ = m.Admin().RevokeUser(context.Background(), u)
		}
	})
	// warm up: the connections, every server a batch reaches
	do("/login?u=warm")
	do("/login?u=warm")
	do("/mlogin?u=warm2")
	do("/put")
	do("/mlogout")
	do("/logout")
	cookie = ""

	steps := []struct {
		path string
		want int64 // round trips of the save
	}{
		{"/login?u=ann", 1},  // SET + IndexAdd
		{"/login?u=ann", 1},  // Renew: SET, DEL, IndexRemove, IndexAdd
		{"/put", 1},          // merge, no index change
		{"/mlogin?u=bob", 1}, // CAS + IndexRemove + IndexAdd
		{"/mlogout", 1},      // CAS + IndexRemove
		{"/mlogin?u=cy", 1},  // CAS + IndexAdd
		{"/logout", 1},       // DEL + IndexRemove
	}
	for _, step := range steps {
		trips, id := do(step.path)
		if trips != step.want {
			t.Errorf("%s: save made %d round trips, want %d", step.path, trips, step.want)
		}
		switch step.path {
		case "/login?u=ann":
			want("ann", id)
		case "/mlogin?u=bob":
			want("ann")
			want("bob", id)
		case "/mlogout":
			want("bob")
		case "/mlogin?u=cy":
			want("cy", id)
		case "/logout":
			want("cy")
			if tg.Exists(ctx, tg.Prefix+id) {
				t.Errorf("the session survived logout")
			}
		}
	}

	// the Logins-th login of one user costs what the first did: the index
	// is not read and rewritten whole
	n := max(tg.Logins, 2)
	cookie = ""
	first, _ := do("/login?u=zed")
	for range n - 2 {
		cookie = ""
		do("/login?u=zed")
	}
	cookie = ""
	last, _ := do("/login?u=zed")
	if first != 1 || last != first {
		t.Errorf("logins of one user: the first made %d round trips, the %dth %d; want 1 each", first, n, last)
	}
	if ids, err := m.Admin().ListUser(ctx, "zed"); err != nil || len(ids) != n {
		t.Errorf("ListUser after %d logins: %d ids, %v", n, len(ids), err)
	}
}
