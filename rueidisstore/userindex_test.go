package rueidisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

var (
	_ coatcheck.UserIndexer  = (*Store)(nil)
	_ coatcheck.IndexBatcher = (*Store)(nil)
)

// deployments are the ways the store meets Redis for the index tests: a
// single server, Cluster (the batch is split by slot) and Sentinel
// (MULTI/EXEC on the master). Cluster and Sentinel are skipped without
// their COATCHECK_ variables.
var deployments = []struct {
	name string
	open func(t *testing.T) rueidis.Client
}{
	{"single", func(t *testing.T) rueidis.Client { return newClient(t, "", nil, nil) }},
	{"cluster", func(t *testing.T) rueidis.Client {
		addrs := strings.Split(storetest.RequireEnv(t, "COATCHECK_REDIS_CLUSTER_ADDRS"), ",")
		return newClient(t, addrs[0], nil, func(o *rueidis.ClientOption) { o.InitAddress = addrs })
	}},
	{"sentinel", func(t *testing.T) rueidis.Client {
		addrs := strings.Split(storetest.RequireEnv(t, "COATCHECK_REDIS_SENTINEL_ADDRS"), ",")
		master := os.Getenv("COATCHECK_REDIS_SENTINEL_MASTER")
		if master == "" {
			master = "coatcheck"
		}
		return newClient(t, addrs[0], nil, func(o *rueidis.ClientOption) {
			o.InitAddress = addrs
			o.Sentinel = rueidis.SentinelOption{MasterSet: master}
		})
	}},
}

// TestUserIndexDeployments: RunUserIndex (batch, native and cas) on
// Cluster and Sentinel, in both modes (TestUserIndex covers the single
// server), and the batch's contract checks (storetest.Run's UserIndex*)
// on each.
func TestUserIndexDeployments(t *testing.T) {
	for _, d := range deployments[1:] {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return New(c, m.opts) })
				})
			}
		})
	}
}

// TestBatchDeployments: the batch methods on every deployment: a renewal
// moves the member and deletes the old key, a logout removes both, and a
// cancelled context sends nothing.
func TestBatchDeployments(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					s := New(c, m.opts)
					runBatchSteps(t, s, c, func() {})
				})
			}
		})
	}
}

// flushScripts empties the script cache of every server c reaches (a
// replica refuses nothing here: SCRIPT FLUSH is allowed on it).
func flushScripts(t *testing.T, c rueidis.Client) {
	t.Helper()
	ctx := context.Background()
	nodes := map[string]rueidis.Client{"": c}
	if c.Mode() == rueidis.ClientModeCluster {
		nodes = c.Nodes()
	}
	for addr, n := range nodes {
		if err := n.Do(ctx, n.B().ScriptFlush().Build()).Error(); err != nil {
			t.Fatalf("SCRIPT FLUSH %s: %v", addr, err)
		}
	}
}

// TestScriptFlushed: every method that runs a script works after SCRIPT
// FLUSH (NOSCRIPT inside the batch is retried with EVAL; single calls
// fall back through Lua.Exec), with the right effect, on every deployment.
func TestScriptFlushed(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					runBatchSteps(t, New(c, m.opts), c, func() { flushScripts(t, c) })
				})
			}
		})
	}
}

// runBatchSteps calls every index and batch method once, calling before
// ahead of each, and checks its effect with plain commands through c.
func runBatchSteps(t *testing.T, s *Store, c rueidis.Client, before func()) {
	t.Helper()
	ctx := context.Background()
	p := testPrefix(t)
	k1, k2 := p+"one", p+"two"
	sum := sha256.Sum256([]byte(p))
	ixA, ixB := p+"_user:a"+hex.EncodeToString(sum[:4]), p+"_user:b"+hex.EncodeToString(sum[4:8])
	t.Cleanup(func() {
		for _, k := range []string{k1, k2, ixA, ixB} {
			c.Do(context.Background(), c.B().Del().Key(k).Build())
		}
	})
	hour := time.Now().Add(time.Hour)
	members := func(ik string) string {
		t.Helper()
		got, err := c.Do(ctx, c.B().Zrange().Key(ik).Min("0").Max("-1").Build()).AsStrSlice()
		if err != nil {
			t.Fatalf("ZRANGE: %v", err)
		}
		sort.Strings(got)
		return strings.Join(got, ",")
	}
	exists := func(k string) bool {
		n, err := c.Do(ctx, c.B().Exists().Key(k).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	value := func(k string) string {
		v, err := c.Do(ctx, c.B().Get().Key(k).Build()).ToString()
		if rueidis.IsRedisNil(err) {
			return "<absent>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	before()
	if err := s.SetIndexed(ctx, k1, []byte("v1"), hour, "", "", ixA); err != nil {
		t.Fatalf("SetIndexed: %v", err)
	}
	if got := members(ixA); got != k1 || value(k1) != "v1" {
		t.Errorf("after SetIndexed: index A = %q, value %q", got, value(k1))
	}
	before()
	if err := s.SetIndexed(ctx, k2, []byte("v2"), hour, k1, ixA, ixB); err != nil {
		t.Fatalf("SetIndexed (renew): %v", err)
	}
	if got, gotB := members(ixA), members(ixB); got != "" || gotB != k2 {
		t.Errorf("after the renewal: index A = %q, B = %q; want empty, %q", got, gotB, k2)
	}
	if exists(k1) {
		t.Error("the renewal's old key survived")
	}
	before()
	swapped, err := s.CompareAndSetIndexed(ctx, k2, []byte("stale"), []byte("v3"), hour, ixB, ixA)
	if err != nil || swapped {
		t.Fatalf("CompareAndSetIndexed with a stale old = %v, %v; want false, nil", swapped, err)
	}
	if value(k2) != "v2" {
		t.Errorf("a failed compare changed the value to %q", value(k2))
	}
	// the failed attempt's index changes may or may not stand: put them back
	_ = s.IndexRemove(ctx, ixA, k2)
	_ = s.IndexAdd(ctx, ixB, k2, hour)
	before()
	swapped, err = s.CompareAndSetIndexed(ctx, k2, []byte("v2"), []byte("v3"), hour, ixB, ixA)
	if err != nil || !swapped {
		t.Fatalf("CompareAndSetIndexed = %v, %v; want true, nil", swapped, err)
	}
	if v := value(k2); v != "v3" {
		t.Errorf("value after CompareAndSetIndexed = %q", v)
	}
	if got, gotB := members(ixA), members(ixB); got != k2 || gotB != "" {
		t.Errorf("after CompareAndSetIndexed: index A = %q, B = %q; want %q, empty", got, gotB, k2)
	}
	before()
	if err := s.DeleteIndexed(ctx, k2, ixA); err != nil {
		t.Fatalf("DeleteIndexed: %v", err)
	}
	if got := members(ixA); got != "" || exists(k2) {
		t.Errorf("after DeleteIndexed: index A = %q, key exists %v", got, exists(k2))
	}
	before()
	if err := s.IndexAdd(ctx, ixB, k1, hour); err != nil {
		t.Fatalf("IndexAdd: %v", err)
	}
	before()
	if got, err := s.IndexList(ctx, ixB); err != nil || len(got) != 1 || got[0] != k1 {
		t.Errorf("IndexList = %v, %v", got, err)
	}
	before()
	if err := s.IndexRemove(ctx, ixB, k1); err != nil || members(ixB) != "" {
		t.Errorf("IndexRemove: %v, members %q", err, members(ixB))
	}
	if err := s.IndexAdd(ctx, ixB, k2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	before()
	if got, err := s.IndexTake(ctx, ixB); err != nil || len(got) != 1 || got[0] != k2 || exists(ixB) {
		t.Errorf("IndexTake = %v, %v; index exists %v", got, err, exists(ixB))
	}
	before()
	if ok, err := s.CompareAndSet(ctx, k1, nil, []byte("c"), hour); err != nil || !ok {
		t.Errorf("CompareAndSet = %v, %v", ok, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SetIndexed(cctx, k2, []byte("v"), hour, "", "", ixA); err == nil || exists(k2) || exists(ixA) {
		t.Errorf("SetIndexed with a cancelled context: %v, want an error and no write", err)
	}
	if _, err := s.CompareAndSetIndexed(cctx, k2, nil, []byte("v"), hour, "", ixA); err == nil || exists(k2) {
		t.Errorf("CompareAndSetIndexed with a cancelled context: %v, want an error and no write", err)
	}
	if err := s.DeleteIndexed(cctx, k1, ixA); err == nil || !exists(k1) {
		t.Errorf("DeleteIndexed with a cancelled context: %v, want an error and no delete", err)
	}
}

// TestBatchOwnWritesReadBack: with a warm cache, a session written,
// compared-and-set, renewed or deleted through the batch methods reads
// back at once (the batch's keys count as the store's own writes). Every
// key is cached, and not written by the store within ownWriteWindow, just
// before its batch call.
func TestBatchOwnWritesReadBack(t *testing.T) {
	ctx := context.Background()
	s, _ := cachedStore(t, "", Options{}, nil)
	p := testPrefix(t)
	ix := p + "_user:ef"
	const n = 50
	var keys []string
	for i := range 4 * n {
		keys = append(keys, fmt.Sprintf("%sk%d", p, i), fmt.Sprintf("%sold%d", p, i))
	}
	t.Cleanup(func() {
		for _, k := range append(keys, ix) {
			s.Delete(context.Background(), k)
		}
	})
	exp := time.Now().Add(time.Hour)
	for _, k := range keys {
		if err := s.Set(ctx, k, []byte("v0"), exp); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(ownWriteWindow + 50*time.Millisecond)
	for _, k := range keys {
		mustGet(t, s, k) // cached now
	}
	for i := range 4 * n {
		k, old := keys[2*i], keys[2*i+1]
		v := fmt.Sprint(i)
		switch i / n {
		case 0:
			if err := s.SetIndexed(ctx, k, []byte(v), exp, "", "", ix); err != nil {
				t.Fatal(err)
			}
		case 1:
			if ok, err := s.CompareAndSetIndexed(ctx, k, []byte("v0"), []byte(v), exp, ix, ix); err != nil || !ok {
				t.Fatalf("CompareAndSetIndexed = %v, %v", ok, err)
			}
		case 2: // a renewal from old (cached) to k
			if err := s.SetIndexed(ctx, k, []byte(v), exp, old, ix, ix); err != nil {
				t.Fatal(err)
			}
			if got := mustGet(t, s, old); got != "<absent>" {
				t.Fatalf("renewal %d: the old key reads %q right after it", i, got)
			}
		case 3:
			if err := s.DeleteIndexed(ctx, k, ix); err != nil {
				t.Fatal(err)
			}
			v = "<absent>"
		}
		if got := mustGet(t, s, k); got != v {
			t.Fatalf("write %d: Get right after it = %q, want %q", i, got, v)
		}
		if d, found, err := s.GetAndTouch(ctx, k, exp); err != nil || (found && string(d) != v) || (!found && v != "<absent>") {
			t.Fatalf("write %d: GetAndTouch = %q, %v, %v, want %q", i, d, found, err, v)
		}
	}
}

// casOnly hides the store's native index, so the Manager keeps the index
// as a compare-and-set JSON entry, as Coatcheck did before UserIndexer
// (and as this store did before it implemented it).
type casOnly struct{ s *Store }

func (c casOnly) Get(ctx context.Context, k string) ([]byte, bool, error) { return c.s.Get(ctx, k) }
func (c casOnly) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	return c.s.Set(ctx, k, d, e)
}
func (c casOnly) Delete(ctx context.Context, k string) error { return c.s.Delete(ctx, k) }
func (c casOnly) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	return c.s.CompareAndSet(ctx, k, old, d, e)
}

// loginManager returns a Manager on st and a handler whose /login?u=
// renews the session and logs u in.
func loginManager(t *testing.T, st coatcheck.Store, prefix string) (*coatcheck.Manager, func(user string) string) {
	t.Helper()
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
		s.Renew()
		s.Set("_user_id", r.FormValue("u"))
	}))
	return m, func(user string) string {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?u="+user, nil))
		if rec.Code != http.StatusOK || len(rec.Result().Cookies()) == 0 {
			t.Fatalf("login: status %d: %s", rec.Code, rec.Body)
		}
		return rec.Result().Cookies()[0].Value
	}
}

func indexKey(prefix, user string) string {
	sum := sha256.Sum256([]byte(user))
	return prefix + "_user:" + hex.EncodeToString(sum[:])
}

func sameIDs(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// TestUserIndexLegacyEntry: an index written the old way (a JSON string
// under the same key, which this store's Manager kept before it had the
// native index) is converted into the sorted set by the first native
// call, with every session it named; a damaged legacy value is replaced.
func TestUserIndexLegacyEntry(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	ctx := context.Background()
	for _, mo := range modes {
		t.Run(mo.name, func(t *testing.T) {
			s := New(newClient(t, "", nil, nil), mo.opts)
			prefix := testPrefix(t)
			ik := indexKey(prefix, "leg")
			t.Cleanup(func() { raw.Do(context.Background(), raw.B().Del().Key(ik).Build()) })
			old, oldLogin := loginManager(t, casOnly{s}, prefix)
			oldLogin("leg")
			oldLogin("leg")
			ids, err := old.Admin().ListUser(ctx, "leg")
			if err != nil || len(ids) != 2 {
				t.Fatalf("old-style ListUser = %v, %v", ids, err)
			}
			if typ, _ := raw.Do(ctx, raw.B().Type().Key(ik).Build()).ToString(); typ != "string" {
				t.Fatalf("old-style index is a %q, want string", typ)
			}
			m, login := loginManager(t, s, prefix)
			got, err := m.Admin().ListUser(ctx, "leg")
			if err != nil || !sameIDs(got, ids) {
				t.Fatalf("native ListUser of a legacy index = %v, %v; want %v", got, err, ids)
			}
			if typ, _ := raw.Do(ctx, raw.B().Type().Key(ik).Build()).ToString(); typ != "zset" {
				t.Errorf("index after conversion is a %q, want zset", typ)
			}
			login("leg")
			if n, err := m.Admin().RevokeUser(ctx, "leg"); err != nil || n != 3 {
				t.Errorf("RevokeUser after conversion = %d, %v; want 3", n, err)
			}
			for _, id := range ids {
				if n, _ := raw.Do(ctx, raw.B().Exists().Key(prefix+id).Build()).AsInt64(); n != 0 {
					t.Errorf("session of the legacy index survived RevokeUser")
				}
			}
			if err := raw.Do(ctx, raw.B().Set().Key(ik).Value("not json").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			login("leg")
			if got, err := m.Admin().ListUser(ctx, "leg"); err != nil || len(got) != 1 {
				t.Errorf("ListUser after a damaged legacy value = %v, %v; want one id", got, err)
			}
			_, _ = m.Admin().RevokeUser(ctx, "leg")
		})
	}
}

// TestUserIndexHeal: IndexAdd drops a member whose session is gone and
// whose score has passed, re-scores one whose session lives on, and leaves
// the index without a TTL of its own.
func TestUserIndexHeal(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	ctx := context.Background()
	for _, mo := range modes {
		t.Run(mo.name, func(t *testing.T) {
			s := New(raw, mo.opts)
			p := testPrefix(t)
			gone, slid, fresh, ik := p+"gone", p+"slid", p+"fresh", p+"_user:cd"
			t.Cleanup(func() {
				for _, k := range []string{gone, slid, fresh, ik} {
					raw.Do(context.Background(), raw.B().Del().Key(k).Build())
				}
			})
			past := time.Now().Add(-time.Minute)
			for _, k := range []string{slid, fresh} {
				if err := s.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range []string{gone, slid} {
				if err := s.IndexAdd(ctx, ik, k, past); err != nil {
					t.Fatal(err)
				}
			}
			// the heal through the batch's IndexAdd
			if err := s.SetIndexed(ctx, fresh, []byte("v"), time.Now().Add(time.Hour), "", "", ik); err != nil {
				t.Fatal(err)
			}
			got, err := s.IndexList(ctx, ik)
			if err != nil || !sameIDs(got, []string{fresh, slid}) {
				t.Errorf("IndexList after heal = %v, %v; want [%s %s]", got, err, fresh, slid)
			}
			sc, err := raw.Do(ctx, raw.B().Zscore().Key(ik).Member(slid).Build()).AsFloat64()
			if err != nil || sc < float64(time.Now().Add(59*time.Minute).UnixMilli()) {
				t.Errorf("score of the slid session = %v, %v; want its real expiry, about an hour ahead", sc, err)
			}
			if ttl, _ := raw.Do(ctx, raw.B().Pttl().Key(ik).Build()).AsInt64(); ttl != -1 {
				t.Errorf("index PTTL = %v, want none (-1)", ttl)
			}
		})
	}
}

// TestRedisstoreIndexInterop: redisstore and this store on one Redis with
// one prefix share each user's index both ways: sessions logged in
// through either are listed and revoked through the other, and the
// store-level calls of one see the other's members.
func TestRedisstoreIndexInterop(t *testing.T) {
	ctx := context.Background()
	gc := redis.NewClient(&redis.Options{Addr: redisAddr(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { gc.Close() })
	rs := redisstore.New(gc, redisstore.Options{})
	for _, mo := range modes {
		t.Run(mo.name, func(t *testing.T) {
			s := New(newClient(t, "", nil, nil), mo.opts)
			prefix := testPrefix(t)
			t.Cleanup(func() { gc.Del(context.Background(), indexKey(prefix, "ivy"), indexKey(prefix, "max")) })
			rm, rlogin := loginManager(t, rs, prefix)
			um, ulogin := loginManager(t, s, prefix)

			// redisstore writes, rueidisstore reads
			a, b := rlogin("ivy"), rlogin("ivy")
			if got, err := um.Admin().ListUser(ctx, "ivy"); err != nil || !sameIDs(got, []string{a, b}) {
				t.Errorf("rueidisstore ListUser of redisstore's index = %v, %v; want [%s %s]", got, err, a, b)
			}
			// rueidisstore writes, redisstore reads
			c := ulogin("ivy")
			d := ulogin("max")
			if got, err := rm.Admin().ListUser(ctx, "ivy"); err != nil || !sameIDs(got, []string{a, b, c}) {
				t.Errorf("redisstore ListUser after a rueidisstore login = %v, %v; want [%s %s %s]", got, err, a, b, c)
			}
			if n, err := rm.Admin().RevokeUser(ctx, "max"); err != nil || n != 1 {
				t.Errorf("redisstore RevokeUser of rueidisstore's login = %d, %v; want 1", n, err)
			}
			if _, found, err := s.Get(ctx, prefix+d); err != nil || found {
				t.Errorf("the revoked session reads %v, %v through rueidisstore", found, err)
			}
			if n, err := um.Admin().RevokeUser(ctx, "ivy"); err != nil || n != 3 {
				t.Errorf("rueidisstore RevokeUser of the shared index = %d, %v; want 3", n, err)
			}
			for _, id := range []string{a, b, c} {
				if _, found, _ := rs.Get(ctx, prefix+id); found {
					t.Errorf("a session survived RevokeUser")
				}
			}

			// store level, both ways, with the batch methods
			ik, k1, k2 := prefix+"_user:ab", prefix+"k1", prefix+"k2"
			t.Cleanup(func() { gc.Del(context.Background(), ik, k1, k2) })
			hour := time.Now().Add(time.Hour)
			if err := rs.SetIndexed(ctx, k1, []byte("v1"), hour, "", "", ik); err != nil {
				t.Fatal(err)
			}
			if err := s.SetIndexed(ctx, k2, []byte("v2"), hour, "", "", ik); err != nil {
				t.Fatal(err)
			}
			if got, err := s.IndexList(ctx, ik); err != nil || !sameIDs(got, []string{k1, k2}) {
				t.Errorf("rueidisstore IndexList = %v, %v", got, err)
			}
			if err := s.DeleteIndexed(ctx, k1, ik); err != nil {
				t.Fatal(err)
			}
			if got, err := rs.IndexTake(ctx, ik); err != nil || !sameIDs(got, []string{k2}) {
				t.Errorf("redisstore IndexTake = %v, %v; want [%s]", got, err, k2)
			}
			if got, err := s.IndexList(ctx, ik); err != nil || len(got) != 0 {
				t.Errorf("rueidisstore IndexList after redisstore's IndexTake = %v, %v", got, err)
			}
		})
	}
}
