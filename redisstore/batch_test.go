package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/redis/go-redis/v9"
)

var _ coatcheck.IndexBatcher = (*Store)(nil)

// TestSaveRoundTrips: with the write and its index change in one pipeline
// (coatcheck.IndexBatcher), a login's save, a logout's, a login or logout
// without Renew and a Renew of a logged-in session each cost one round
// trip (plus the request's load, GETEX, when it has a cookie), on every
// deployment; the index follows each.
func TestSaveRoundTrips(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			hook := &tripHook{}
			c.AddHook(hook)
			prefix := testPrefix(t)
			m, err := coatcheck.New(coatcheck.Config{
				Store:  New(c, Options{}),
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
			do := func(path string) (trips int64, id string) { // id: the cookie's
				t.Helper()
				before := hook.n.Load()
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
				return hook.n.Load() - before, id
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
				for _, u := range []string{"warm", "ann", "bob", "cy"} {
					_, _ = m.Admin().RevokeUser(context.Background(), u)
				}
			})
			loadScripts(t, c)
			do("/login?u=warm")
			do("/login?u=warm")
			do("/mlogin?u=warm2")
			do("/put")
			do("/mlogout")
			do("/logout")
			cookie = ""

			steps := []struct {
				path string
				want int64 // round trips of the save; a request with a cookie adds its load
			}{
				{"/login?u=ann", 1},  // SET + IndexAdd
				{"/login?u=ann", 1},  // Renew: SET, DEL, IndexRemove, IndexAdd
				{"/put", 1},          // merge, no index change
				{"/mlogin?u=bob", 1}, // CAS + IndexRemove + IndexAdd
				{"/mlogout", 1},      // CAS + IndexRemove
				{"/mlogin?u=cy", 1},  // CAS + IndexAdd
				{"/logout", 1},       // DEL + IndexRemove
			}
			var id string
			for i, st := range steps {
				load := int64(1)
				if i == 0 {
					load = 0
				}
				var trips int64
				trips, id = do(st.path)
				if trips != st.want+load {
					t.Errorf("%s: %d round trips, want %d (load %d, save %d)", st.path, trips, st.want+load, load, st.want)
				}
				switch st.path {
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
					if n := c.Exists(ctx, prefix+id).Val(); n != 0 {
						t.Errorf("the session survived logout")
					}
				}
			}
		})
	}
}

// flushScripts empties the script cache of every server c reaches.
func flushScripts(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.ScriptFlush(ctx).Err() })
	} else {
		err = c.ScriptFlush(ctx).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestBatchScriptFlushed: each batch method works after SCRIPT FLUSH
// (EVALSHA's NOSCRIPT inside the pipeline is retried with EVAL), and its
// effect is right.
func TestBatchScriptFlushed(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			ctx := context.Background()
			p := testPrefix(t)
			k1, k2 := p+"one", p+"two"
			sum := sha256.Sum256([]byte(p))
			ixA, ixB := p+"_user:a"+hex.EncodeToString(sum[:4]), p+"_user:b"+hex.EncodeToString(sum[4:8])
			cleanupKeys(t, s, k1, k2, ixA, ixB)
			hour := time.Now().Add(time.Hour)
			members := func(ik string) string {
				got, err := s.IndexList(ctx, ik)
				if err != nil {
					t.Fatalf("IndexList: %v", err)
				}
				sort.Strings(got)
				return strings.Join(got, ",")
			}
			flushScripts(t, c)
			if err := s.SetIndexed(ctx, k1, []byte("v1"), hour, "", "", ixA); err != nil {
				t.Fatalf("SetIndexed after SCRIPT FLUSH: %v", err)
			}
			if got := members(ixA); got != k1 {
				t.Errorf("after SetIndexed: index A = %q, want %q", got, k1)
			}
			flushScripts(t, c)
			if err := s.SetIndexed(ctx, k2, []byte("v2"), hour, k1, ixA, ixB); err != nil {
				t.Fatalf("SetIndexed (renew) after SCRIPT FLUSH: %v", err)
			}
			if got, gotB := members(ixA), members(ixB); got != "" || gotB != k2 {
				t.Errorf("after the renewal: index A = %q, B = %q; want empty, %q", got, gotB, k2)
			}
			if c.Exists(ctx, k1).Val() != 0 {
				t.Error("the renewal's old key survived")
			}
			flushScripts(t, c)
			swapped, err := s.CompareAndSetIndexed(ctx, k2, []byte("stale"), []byte("v3"), hour, ixB, ixA)
			if err != nil || swapped {
				t.Fatalf("CompareAndSetIndexed with a stale old after SCRIPT FLUSH = %v, %v; want false, nil", swapped, err)
			}
			flushScripts(t, c)
			swapped, err = s.CompareAndSetIndexed(ctx, k2, []byte("v2"), []byte("v3"), hour, ixB, ixA)
			if err != nil || !swapped {
				t.Fatalf("CompareAndSetIndexed after SCRIPT FLUSH = %v, %v; want true, nil", swapped, err)
			}
			if v, _ := c.Get(ctx, k2).Result(); v != "v3" {
				t.Errorf("value after CompareAndSetIndexed = %q", v)
			}
			if got, gotB := members(ixA), members(ixB); got != k2 || gotB != "" {
				t.Errorf("after CompareAndSetIndexed: index A = %q, B = %q; want %q, empty", got, gotB, k2)
			}
			flushScripts(t, c)
			if err := s.DeleteIndexed(ctx, k2, ixA); err != nil {
				t.Fatalf("DeleteIndexed after SCRIPT FLUSH: %v", err)
			}
			if got := members(ixA); got != "" || c.Exists(ctx, k2).Val() != 0 {
				t.Errorf("after DeleteIndexed: index A = %q, key exists %d", got, c.Exists(ctx, k2).Val())
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := s.SetIndexed(cctx, k1, []byte("v"), hour, "", "", ixA); err == nil || c.Exists(ctx, k1).Val() != 0 {
				t.Errorf("SetIndexed with a cancelled context: %v, want an error and no write", err)
			}
		})
	}
}
