package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/internal/redistest"
	"github.com/redis/go-redis/v9"
)

var _ coatcheck.IndexBatcher = (*Store)(nil)

// TestSaveRoundTrips: with the write and its index change in one pipeline
// (coatcheck.IndexBatcher), a login's save, a logout's, a login or logout
// without Renew and a Renew of a logged-in session each cost one round
// trip (plus the request's load, GETEX, when it has a cookie), on every
// deployment; the index follows each; and the 1000th login of one user
// costs what the first did (redistest.SaveRoundTrips).
func TestSaveRoundTrips(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			hook := &tripHook{}
			c.AddHook(hook)
			loadScripts(t, c)
			redistest.SaveRoundTrips(t, redistest.Target{
				Store:     New(c, Options{}),
				Prefix:    testPrefix(t),
				Trips:     hook.n.Load,
				LoadTrips: 1,
				Exists:    func(ctx context.Context, k string) bool { return c.Exists(ctx, k).Val() != 0 },
				Logins:    1000,
			})
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
