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
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/redis/go-redis/v9"
)

// tripHook counts the round trips a go-redis client makes (a pipeline or
// a transaction is one).
type tripHook struct{ n atomic.Int64 }

func (h *tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// loadScripts loads every script of the store into the cache of every
// server c reaches (each Cluster master has its own).
func loadScripts(t *testing.T, c redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	load := func(ctx context.Context, n redis.Scripter) error {
		for _, sc := range []*redis.Script{casScript, indexAddScript, indexHealScript, indexRemoveScript, indexListScript, indexTakeScript} {
			if err := sc.Load(ctx, n).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return load(ctx, n) })
	} else {
		err = load(ctx, c)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// casOnly hides the store's native index, so the Manager keeps the index
// as a compare-and-set JSON entry, as Coatcheck did before UserIndexer.
type casOnly struct{ s *Store }

func (c casOnly) Get(ctx context.Context, k string) ([]byte, bool, error) { return c.s.Get(ctx, k) }
func (c casOnly) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	return c.s.Set(ctx, k, d, e)
}
func (c casOnly) Delete(ctx context.Context, k string) error { return c.s.Delete(ctx, k) }
func (c casOnly) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	return c.s.CompareAndSet(ctx, k, old, d, e)
}

// TestUserIndexLegacyEntry: an index written the old way (a JSON string
// under the same key) is converted into the sorted set by the first native
// call, with every session it named: ListUser, a login and RevokeUser
// work (no WRONGTYPE) and lose no session.
func TestUserIndexLegacyEntry(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			prefix := testPrefix(t)
			manager := func(st coatcheck.Store) (*coatcheck.Manager, http.Handler) {
				m, err := coatcheck.New(coatcheck.Config{
					Store:  st,
					Server: coatcheck.ServerConfig{KeyPrefix: prefix},
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				})
				if err != nil {
					t.Fatal(err)
				}
				return m, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := coatcheck.FromRequest(r)
					s.Renew()
					s.Set("_user_id", r.FormValue("u"))
				}))
			}
			login := func(h http.Handler) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/login?u=leg", nil))
				if rec.Code != http.StatusOK {
					t.Fatalf("login: status %d: %s", rec.Code, rec.Body)
				}
			}
			ctx := context.Background()
			old, oldH := manager(casOnly{s})
			login(oldH)
			login(oldH)
			ids, err := old.Admin().ListUser(ctx, "leg")
			if err != nil || len(ids) != 2 {
				t.Fatalf("old-style ListUser = %v, %v", ids, err)
			}
			sum := sha256.Sum256([]byte("leg"))
			ik := prefix + "_user:" + hex.EncodeToString(sum[:])
			t.Cleanup(func() { c.Del(context.Background(), ik) })
			if typ := c.Type(ctx, ik).Val(); typ != "string" {
				t.Fatalf("old-style index is a %q, want string", typ)
			}

			m, h := manager(s)
			got, err := m.Admin().ListUser(ctx, "leg")
			sort.Strings(ids)
			sort.Strings(got)
			if err != nil || strings.Join(got, ",") != strings.Join(ids, ",") {
				t.Fatalf("native ListUser of a legacy index = %v, %v; want %v", got, err, ids)
			}
			if typ := c.Type(ctx, ik).Val(); typ != "zset" {
				t.Errorf("index after conversion is a %q, want zset", typ)
			}
			login(h)
			n, err := m.Admin().RevokeUser(ctx, "leg")
			if err != nil || n != 3 {
				t.Errorf("RevokeUser after conversion = %d, %v; want 3", n, err)
			}
			for _, id := range ids {
				if _, found, _ := s.Get(ctx, prefix+id); found {
					t.Errorf("session of the legacy index survived RevokeUser")
				}
			}
			if n := c.Exists(ctx, ik).Val(); n != 0 {
				t.Errorf("index still exists after RevokeUser")
			}

			// a damaged legacy value is replaced, not an error
			if err := c.Set(ctx, ik, "not json", 0).Err(); err != nil {
				t.Fatal(err)
			}
			login(h)
			if got, err := m.Admin().ListUser(ctx, "leg"); err != nil || len(got) != 1 {
				t.Errorf("ListUser after a damaged legacy value = %v, %v; want one id", got, err)
			}
			_, _ = m.Admin().RevokeUser(ctx, "leg")
		})
	}
}

// TestUserIndexScriptFlushed: the index scripts still run after SCRIPT
// FLUSH (EVALSHA's NOSCRIPT falls back to EVAL).
func TestUserIndexScriptFlushed(t *testing.T) {
	c := openSingle(t)
	s := New(c, Options{})
	ctx := context.Background()
	p := testPrefix(t)
	k, ik := p+"sid", p+"_user:ab"
	cleanupKeys(t, s, k, ik)
	if err := s.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"IndexAdd", func() error { return s.IndexAdd(ctx, ik, k, time.Now().Add(time.Hour)) }},
		{"IndexList", func() error {
			got, err := s.IndexList(ctx, ik)
			if err == nil && (len(got) != 1 || got[0] != k) {
				t.Errorf("IndexList = %v", got)
			}
			return err
		}},
		{"IndexRemove", func() error { return s.IndexRemove(ctx, ik, k) }},
		{"IndexAdd again", func() error { return s.IndexAdd(ctx, ik, k, time.Time{}) }},
		{"IndexTake", func() error {
			got, err := s.IndexTake(ctx, ik)
			if err == nil && (len(got) != 1 || got[0] != k) {
				t.Errorf("IndexTake = %v", got)
			}
			return err
		}},
	}
	for _, st := range steps {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.run(); err != nil {
			t.Errorf("%s after SCRIPT FLUSH: %v", st.name, err)
		}
	}
}

// TestUserIndexHeal: IndexAdd drops a member whose session is gone and
// whose score has passed, re-scores one whose session lives on (its TTL was
// moved), and leaves the index without a TTL of its own.
func TestUserIndexHeal(t *testing.T) {
	c := openSingle(t)
	s := New(c, Options{})
	ctx := context.Background()
	p := testPrefix(t)
	gone, slid, fresh, ik := p+"gone", p+"slid", p+"fresh", p+"_user:cd"
	cleanupKeys(t, s, gone, slid, fresh, ik)
	past := time.Now().Add(-time.Minute)
	for _, k := range []string{slid, fresh} {
		if err := s.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// recorded with expiries that have passed; gone has no entry at all
	for _, k := range []string{gone, slid} {
		if err := s.IndexAdd(ctx, ik, k, past); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.IndexAdd(ctx, ik, fresh, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.IndexList(ctx, ik)
	sort.Strings(got)
	if err != nil || strings.Join(got, ",") != fresh+","+slid {
		t.Errorf("IndexList after heal = %v, %v; want [%s %s]", got, err, fresh, slid)
	}
	sc, err := c.ZScore(ctx, ik, slid).Result()
	if err != nil || sc < float64(time.Now().Add(59*time.Minute).UnixMilli()) {
		t.Errorf("score of the slid session = %v, %v; want its real expiry, about an hour ahead", sc, err)
	}
	if ttl := c.PTTL(ctx, ik).Val(); ttl != -1 {
		t.Errorf("index PTTL = %v, want none (-1)", ttl)
	}
}
