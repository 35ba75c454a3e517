package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/redis/go-redis/v9"
)

// singleAddr is the host:port of COATCHECK_REDIS_URL.
func singleAddr(t *testing.T) (string, *redis.Options) {
	t.Helper()
	opt, err := redis.ParseURL(requireEnv(t, "COATCHECK_REDIS_URL"))
	if err != nil {
		t.Fatalf("COATCHECK_REDIS_URL: %v", err)
	}
	return opt.Addr, opt
}

// TestFaults: behind a proxy that blackholes or cuts the connection, every
// method errors within the caller's deadline (the client is built with
// ContextTimeoutEnabled, as the package documentation requires), and the
// store recovers after Restore. DEBUG SLEEP would show the same for a busy
// server, but the test server refuses DEBUG (enable-debug-command no).
func TestFaults(t *testing.T) {
	target, base := singleAddr(t)
	storetest.RunFaults(t, target, func(t *testing.T, addr string) coatcheck.Store {
		opt := *base
		opt.Addr = addr
		opt.ContextTimeoutEnabled = true
		c := redis.NewClient(&opt)
		t.Cleanup(func() { _ = c.Close() })
		return New(c, Options{})
	})
}

func TestTwoClients(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			storetest.RunTwoClients(t,
				func(t *testing.T) coatcheck.Store { return New(d.open(t), Options{}) },
				func(t *testing.T) coatcheck.Store { return New(d.open(t), Options{}) })
		})
	}
}

func TestSessions(t *testing.T) {
	c := openSingle(t)
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store { return New(c, Options{}) })
}

// TestUserIndex: the per-user index (compare-and-set entries) on Redis.
func TestUserIndex(t *testing.T) {
	c := openSingle(t)
	storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return New(c, Options{}) })
}

// TestContextTimeoutWarning: New warns about a client built without
// ContextTimeoutEnabled, of every type whose options it can read, and
// stays quiet with it.
func TestContextTimeoutWarning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client redis.UniversalClient
		want   bool
	}{
		{"client", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), false},
		{"client-enabled", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true}), true},
		{"failover", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}}), false},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), false},
		{"cluster-enabled", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true}), true},
		{"ring", redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.client.Close()
			var buf bytes.Buffer
			s := New(tc.client, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
			if s.ContextTimeoutEnabled() != tc.want {
				t.Errorf("ContextTimeoutEnabled() = %v, want %v", s.ContextTimeoutEnabled(), tc.want)
			}
			warned := strings.Contains(buf.String(), "ContextTimeoutEnabled")
			if warned == tc.want {
				t.Errorf("warning logged = %v with ContextTimeoutEnabled %v: %q", warned, tc.want, buf.String())
			}
		})
	}
}

// TestErrorsOmitKey: a Redis error about a key (WRONGTYPE on a list) and a
// connection error never carry the key.
func TestErrorsOmitKey(t *testing.T) {
	c := openSingle(t)
	s := New(c, Options{})
	ctx := context.Background()
	k := testPrefix(t) + "secret-session-id-4f1c"
	t.Cleanup(func() { c.Del(context.Background(), k) })
	if err := c.LPush(ctx, k, "x").Err(); err != nil {
		t.Fatal(err)
	}
	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s on a list: no error", op)
		} else if strings.Contains(err.Error(), "secret-session-id") || strings.Contains(err.Error(), url.QueryEscape(k)) {
			t.Errorf("%s: error %q contains the key", op, err)
		} else if !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s: error %q lacks the prefix", op, err)
		}
	}
	_, _, err := s.Get(ctx, k)
	check("Get", err)
	_, _, err = s.GetAndTouch(ctx, k, time.Now().Add(time.Hour))
	check("GetAndTouch", err)
	_, err = s.CompareAndSet(ctx, k, []byte("x"), []byte("y"), time.Now().Add(time.Hour))
	check("CompareAndSet", err)

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, ContextTimeoutEnabled: true})
	defer dead.Close()
	ds := New(dead, Options{})
	check("Set (unreachable)", ds.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)))
	check("Delete (unreachable)", ds.Delete(ctx, k))
}

func TestFlaskSessionBackend(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	if got := New(c, Options{}).FlaskSessionBackend(); got != "redis" {
		t.Errorf("FlaskSessionBackend() = %q, want \"redis\"", got)
	}
}
