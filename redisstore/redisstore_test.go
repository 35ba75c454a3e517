package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/redis/go-redis/v9"
)

var (
	_ coatcheck.Store    = (*Store)(nil)
	_ coatcheck.Toucher  = (*Store)(nil)
	_ coatcheck.Iterator = (*Store)(nil)

	_ coatcheck.GetToucher       = (*Store)(nil)
	_ coatcheck.CompareAndSetter = (*Store)(nil)
	_ coatcheck.UserIndexer      = (*Store)(nil)
)

func requireEnv(t *testing.T, name string) string {
	t.Helper()
	return storetest.RequireEnv(t, name)
}

// TestConformance runs the storetest suite against every deployment.
func TestConformance(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			storetest.Run(t, func(t *testing.T) coatcheck.Store {
				// One client for all subtests: it is safe for concurrent
				// use, and the suite namespaces its keys itself.
				return New(c, Options{})
			})
		})
	}
}

// deployments are the three ways the store meets Redis; every integration
// test runs against each one whose environment variables are set.
var deployments = []struct {
	name string
	open func(t *testing.T) redis.UniversalClient
}{
	{"single", openSingle},
	{"cluster", openCluster},
	{"sentinel", openSentinel},
}

func openSingle(t *testing.T) redis.UniversalClient {
	t.Helper()
	u := requireEnv(t, "COATCHECK_REDIS_URL")
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("COATCHECK_REDIS_URL: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	return register(t, redis.NewClient(opt))
}

func openCluster(t *testing.T) redis.UniversalClient {
	t.Helper()
	addrs := strings.Split(requireEnv(t, "COATCHECK_REDIS_CLUSTER_ADDRS"), ",")
	return register(t, redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true}))
}

func openSentinel(t *testing.T) redis.UniversalClient {
	t.Helper()
	addrs := strings.Split(requireEnv(t, "COATCHECK_REDIS_SENTINEL_ADDRS"), ",")
	master := requireEnv(t, "COATCHECK_REDIS_SENTINEL_MASTER")
	return register(t, redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    master,
		SentinelAddrs: addrs,

		ContextTimeoutEnabled: true,
	}))
}

// register pings c (so a missing server fails the test clearly) and closes
// it when the test ends.
func register(t *testing.T, c redis.UniversalClient) redis.UniversalClient {
	t.Helper()
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return c
}

// testPrefix returns a key prefix unique to this run, so tests can share a
// live server with other runs.
func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "coatcheck-test:" + hex.EncodeToString(b) + ":"
}

// cleanupKeys deletes keys when the test ends.
func cleanupKeys(t *testing.T, s *Store, keys ...string) {
	t.Cleanup(func() {
		for _, k := range keys {
			_ = s.Delete(context.Background(), k)
		}
	})
}

func TestNewPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil client":     func() { New(nil, Options{}) },
		"negative count": func() { New(redis.NewClient(&redis.Options{}), Options{ScanCount: -1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("New did not panic")
				}
			}()
			f()
		})
	}
}

// TestFlaskLayout checks that an entry lands exactly where and how
// Flask-Session 0.3.2 writes it: the key as given, the bytes as given, and a
// TTL of the lifetime in seconds (the vectors record redis_ttl 2678400).
func TestFlaskLayout(t *testing.T) {
	// From ../../shared/vectors/flask_session_redis_vectors.json,
	// unsigned_permanent/simple_int.
	const key = "session:00000000-0000-4000-8000-000000000001"
	value, _ := hex.DecodeString("8004951f000000000000007d94288c0a5f7065726d616e656e7494888c07757365725f6964944b2a752e")
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			ctx := context.Background()
			// The vector's key is fixed, so it is namespaced per run here.
			k := testPrefix(t) + key
			cleanupKeys(t, s, k)
			if err := s.Set(ctx, k, value, time.Now().Add(2678400*time.Second)); err != nil {
				t.Fatal(err)
			}
			raw, err := c.Get(ctx, k).Bytes()
			if err != nil {
				t.Fatalf("raw GET: %v", err)
			}
			if !bytes.Equal(raw, value) {
				t.Errorf("raw value = %x, want %x", raw, value)
			}
			ttl, err := c.TTL(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl < 2678399*time.Second || ttl > 2678400*time.Second {
				t.Errorf("TTL = %v, want 2678400s", ttl)
			}
			// And a Flask-written entry (SETEX) reads back through the store.
			if err := c.SetEx(ctx, k, value, 2678400*time.Second).Err(); err != nil {
				t.Fatal(err)
			}
			got, found, err := s.Get(ctx, k)
			if err != nil || !found || !bytes.Equal(got, value) {
				t.Errorf("Get = %x, %v, %v; want the SETEX value", got, found, err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			ctx := context.Background()
			p := testPrefix(t)
			k := p + "sid"
			cleanupKeys(t, s, k)

			if _, found, err := s.Get(ctx, k); found || err != nil {
				t.Fatalf("Get absent = %v, %v", found, err)
			}
			if err := s.Set(ctx, k, []byte("v1"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			if ttl := c.PTTL(ctx, k).Val(); ttl != -1 {
				t.Errorf("zero expiry: PTTL = %v, want -1 (no TTL)", ttl)
			}
			got, found, err := s.Get(ctx, k)
			if err != nil || !found || string(got) != "v1" {
				t.Fatalf("Get = %q, %v, %v", got, found, err)
			}
			// A past expiry deletes.
			if err := s.Set(ctx, k, []byte("v2"), time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, found, err := s.Get(ctx, k); found || err != nil {
				t.Fatalf("after past-expiry Set: found=%v err=%v", found, err)
			}
			if err := s.Delete(ctx, k); err != nil {
				t.Fatalf("Delete absent: %v", err)
			}
		})
	}
}

func TestTouch(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			ctx := context.Background()
			k := testPrefix(t) + "sid"
			cleanupKeys(t, s, k)

			if found, err := s.Touch(ctx, k, time.Now().Add(time.Hour)); found || err != nil {
				t.Fatalf("Touch absent = %v, %v", found, err)
			}
			if n := c.Exists(ctx, k).Val(); n != 0 {
				t.Fatal("Touch created the key")
			}
			if err := s.Set(ctx, k, []byte("v"), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if found, err := s.Touch(ctx, k, time.Now().Add(time.Hour)); !found || err != nil {
				t.Fatalf("Touch = %v, %v", found, err)
			}
			if ttl := c.TTL(ctx, k).Val(); ttl < 59*time.Minute || ttl > time.Hour {
				t.Errorf("TTL after Touch = %v, want ~1h", ttl)
			}
			// Zero expiry: PERSIST, found even though PERSIST of a key
			// without a TTL replies 0.
			for i := 0; i < 2; i++ {
				if found, err := s.Touch(ctx, k, time.Time{}); !found || err != nil {
					t.Fatalf("Touch(zero) #%d = %v, %v", i, found, err)
				}
				if ttl := c.PTTL(ctx, k).Val(); ttl != -1 {
					t.Errorf("PTTL after Touch(zero) = %v, want -1", ttl)
				}
			}
			if found, err := s.Touch(ctx, k, time.Now().Add(-time.Second)); !found || err != nil {
				t.Fatalf("Touch(past) = %v, %v", found, err)
			}
			if _, found, _ := s.Get(ctx, k); found {
				t.Error("entry survived a Touch into the past")
			}
		})
	}
}

func TestGetAndTouch(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			s := New(c, Options{})
			ctx := context.Background()
			k := testPrefix(t) + "sid"
			cleanupKeys(t, s, k)

			if _, found, err := s.GetAndTouch(ctx, k, time.Now().Add(time.Hour)); found || err != nil {
				t.Fatalf("absent = %v, %v", found, err)
			}
			if err := s.Set(ctx, k, []byte("v"), time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, found, err := s.GetAndTouch(ctx, k, time.Now().Add(time.Hour))
			if err != nil || !found || string(got) != "v" {
				t.Fatalf("GetAndTouch = %q, %v, %v", got, found, err)
			}
			if ttl := c.TTL(ctx, k).Val(); ttl < 59*time.Minute || ttl > time.Hour {
				t.Errorf("TTL = %v, want ~1h", ttl)
			}
			if _, found, err := s.GetAndTouch(ctx, k, time.Time{}); !found || err != nil {
				t.Fatalf("zero expiry = %v, %v", found, err)
			}
			if ttl := c.PTTL(ctx, k).Val(); ttl != -1 {
				t.Errorf("PTTL after zero expiry = %v, want -1", ttl)
			}
			if _, found, err := s.GetAndTouch(ctx, k, time.Now().Add(-time.Second)); found || err != nil {
				t.Fatalf("past expiry = %v, %v; want not found", found, err)
			}
			if n := c.Exists(ctx, k).Val(); n != 0 {
				t.Error("past expiry left the key")
			}
		})
	}
}

func TestIterate(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c := d.open(t)
			// A small COUNT makes SCAN take several pages.
			s := New(c, Options{ScanCount: 3})
			ctx := context.Background()
			base := testPrefix(t)
			// Glob metacharacters in the prefix must match literally.
			prefix := base + `a*[b]?\`
			var want, all []string
			for i := 0; i < 40; i++ {
				k := prefix + hex.EncodeToString([]byte{byte(i)})
				want = append(want, k)
			}
			// These match the unescaped pattern, not the literal prefix.
			decoys := []string{base + `aXbY\x`, base + `a*b?\x`, base + `a*[b]!x`}
			all = append(append(all, want...), decoys...)
			cleanupKeys(t, s, all...)
			start := time.Now()
			for i, k := range all {
				exp := time.Time{}
				if i%2 == 0 {
					exp = start.Add(time.Hour)
				}
				if err := s.Set(ctx, k, []byte("v"), exp); err != nil {
					t.Fatal(err)
				}
			}

			var got []string
			err := s.Iterate(ctx, prefix, func(key string, expiry time.Time) bool {
				got = append(got, key)
				i := indexOf(want, key)
				switch {
				case i < 0:
					t.Errorf("Iterate reported %q, outside the prefix", key)
				case i%2 == 0 && (expiry.Before(start.Add(59*time.Minute)) || expiry.After(time.Now().Add(time.Hour))):
					t.Errorf("%q: expiry %v, want ~1h from %v", key, expiry, start)
				case i%2 == 1 && !expiry.IsZero():
					t.Errorf("%q: expiry %v, want zero (no TTL)", key, expiry)
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("Iterate saw %d keys, want %d:\ngot  %q\nwant %q", len(got), len(want), got, want)
			}

			// Stopping early: fn is not called again after it returns false.
			n := 0
			err = s.Iterate(ctx, prefix, func(string, time.Time) bool { n++; return n < 5 })
			if err != nil || n != 5 {
				t.Errorf("early stop: %d calls, err %v; want 5, nil", n, err)
			}
		})
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestCompareAndSetScriptFlushed: the store still works after SCRIPT FLUSH
// empties the server's script cache (EVALSHA fails with NOSCRIPT and
// go-redis falls back to EVAL).
func TestCompareAndSetScriptFlushed(t *testing.T) {
	c := openSingle(t)
	s := New(c, Options{})
	ctx := context.Background()
	k := testPrefix(t) + "sid"
	cleanupKeys(t, s, k)
	if ok, err := s.CompareAndSet(ctx, k, nil, []byte("a"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("CompareAndSet = %v, %v", ok, err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, k, []byte("a"), []byte("b"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("CompareAndSet after SCRIPT FLUSH = %v, %v", ok, err)
	}
}
