package rueidisstore

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/rueidis"
)

// loadCounted is the store with the socket writes its reads of session
// entries (Get, GetAndTouch of a key that is not an index key: a request's
// load) make counted apart, so that a request's save is its writes minus
// its load's, whether the load was served from the client-side cache or
// not. A Get of a compare-and-set index entry (prefix + "_user:...") is
// part of the save and not counted apart. Embedding keeps every other
// method (and so every optional interface) of the store.
type loadCounted struct {
	*Store
	cnt  *counter
	load atomic.Int64
}

func (l *loadCounted) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if strings.Contains(key, "_user:") {
		return l.Store.Get(ctx, key)
	}
	w := l.cnt.writes.Load()
	defer func() { l.load.Add(l.cnt.writes.Load() - w) }()
	return l.Store.Get(ctx, key)
}

func (l *loadCounted) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	w := l.cnt.writes.Load()
	defer func() { l.load.Add(l.cnt.writes.Load() - w) }()
	return l.Store.GetAndTouch(ctx, key, expiry)
}

// loadScripts loads every script the store sends into the server's
// script cache, so that no EVALSHA meets NOSCRIPT (which costs a trip).
func loadScripts(t *testing.T, c rueidis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, src := range []string{redisscript.CompareAndSet, redisscript.IndexAdd, redisscript.IndexHeal,
		redisscript.IndexRemove, redisscript.IndexList, redisscript.IndexTake} {
		if err := c.Do(ctx, c.B().ScriptLoad().Script(src).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSaveRoundTrips: a login's save, a Renew of a logged-in session, a
// login or logout without Renew and a logout each cost one round trip (one
// socket write: the session's write and its index change in one DoMulti),
// in both modes, and the 200th login of one user costs what the first
// did; the index follows each.
func TestSaveRoundTrips(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	for _, mo := range modes {
		t.Run(mo.name, func(t *testing.T) {
			cnt := &counter{}
			st := &loadCounted{Store: New(newClient(t, "", cnt, nil), mo.opts), cnt: cnt}
			prefix := testPrefix(t)
			m, err := coatcheck.New(coatcheck.Config{
				Store:  st,
				Server: coatcheck.ServerConfig{KeyPrefix: prefix},
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
			// do serves path and returns the round trips of its save (the
			// socket writes less the load's) and the cookie's session id.
			do := func(path string) (trips int64, id string) {
				t.Helper()
				w0, l0 := cnt.writes.Load(), st.load.Load()
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
				return cnt.writes.Load() - w0 - (st.load.Load() - l0), id
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
			loadScripts(t, raw)
			do("/login?u=warm")
			do("/login?u=warm")
			do("/mlogin?u=warm2")
			do("/put")
			do("/mlogout")
			do("/logout")
			cookie = ""

			steps := []struct {
				path string
				want int64
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
					if n, _ := raw.Do(ctx, raw.B().Exists().Key(prefix+id).Build()).AsInt64(); n != 0 {
						t.Errorf("the session survived logout")
					}
				}
			}

			// the 200th login of one user costs what the first did
			cookie = ""
			first, _ := do("/login?u=zed")
			for range 198 {
				cookie = ""
				do("/login?u=zed")
			}
			cookie = ""
			last, _ := do("/login?u=zed")
			if first != 1 || last != first {
				t.Errorf("logins of one user: the first made %d round trips, the 200th %d; want 1 each", first, last)
			}
			if ids, err := m.Admin().ListUser(ctx, "zed"); err != nil || len(ids) != 200 {
				t.Errorf("ListUser after 200 logins: %d ids, %v", len(ids), err)
			}
		})
	}
}
