package rueidisstore

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
	"github.com/redis/rueidis"
)

var (
	_ coatcheck.Store            = (*Store)(nil)
	_ coatcheck.Toucher          = (*Store)(nil)
	_ coatcheck.Iterator         = (*Store)(nil)
	_ coatcheck.GetToucher       = (*Store)(nil)
	_ coatcheck.CompareAndSetter = (*Store)(nil)
	_ coatcheck.BackendNamer     = (*Store)(nil)
)

// modes are the two ways the store runs; every integration test runs both.
var modes = []struct {
	name string
	opts Options
}{
	{"uncached", Options{}},
	{"cached", Options{RefreshInterval: time.Minute}},
}

// redisAddr is the host:port of COATCHECK_REDIS_URL.
func redisAddr(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(storetest.RequireEnv(t, "COATCHECK_REDIS_URL"))
	if err != nil {
		t.Fatalf("COATCHECK_REDIS_URL: %v", err)
	}
	return u.Host
}

// counter counts the bytes a client writes to Redis: a read served from
// the client-side cache writes none.
type counter struct{ writes, bytes, getex atomic.Int64 }

type tlsConfig = tls.Config

type countingConn struct {
	net.Conn
	c *counter
}

func (c countingConn) Write(b []byte) (int, error) {
	c.c.writes.Add(1)
	c.c.bytes.Add(int64(len(b)))
	return c.Conn.Write(b)
}

// newClient builds a rueidis client of addr (COATCHECK_REDIS_URL's when
// empty), closed when the test ends; cnt, when not nil, counts its writes.
func newClient(t testing.TB, addr string, cnt *counter, tweak func(*rueidis.ClientOption)) rueidis.Client {
	t.Helper()
	if addr == "" {
		addr = redisAddr(t)
	}
	opt := rueidis.ClientOption{InitAddress: []string{addr}}
	if cnt != nil {
		opt.DialCtxFn = func(ctx context.Context, a string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
			c, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return nil, err
			}
			return countingConn{c, cnt}, nil
		}
	}
	if tweak != nil {
		tweak(&opt)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("rueidis.NewClient: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func testPrefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "coatcheck-test:" + hex.EncodeToString(b) + ":"
}

func TestConformance(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := newClient(t, "", nil, nil)
			storetest.Run(t, func(t *testing.T) coatcheck.Store { return New(c, m.opts) })
		})
	}
}

func TestFaults(t *testing.T) {
	target := redisAddr(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			storetest.RunFaults(t, target, func(t *testing.T, addr string) coatcheck.Store {
				return New(newClient(t, addr, nil, nil), m.opts)
			})
		})
	}
}

func TestTwoClients(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			storetest.RunTwoClients(t,
				func(t *testing.T) coatcheck.Store { return New(newClient(t, "", nil, nil), m.opts) },
				func(t *testing.T) coatcheck.Store { return New(newClient(t, "", nil, nil), m.opts) })
		})
	}
}

func TestSessions(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := newClient(t, "", nil, nil)
			storetest.RunSessions(t, func(t *testing.T) coatcheck.Store { return New(c, m.opts) })
		})
	}
}

func TestUserIndex(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := newClient(t, "", nil, nil)
			storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return New(c, m.opts) })
		})
	}
}

func TestNewPanics(t *testing.T) {
	c := newClient(t, "", nil, nil)
	for _, o := range []Options{{RefreshInterval: -1}, {CacheTTL: -1}, {ScanCount: -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			New(c, o)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("New(nil) did not panic")
			}
		}()
		New(nil, Options{})
	}()
	if got := New(c, Options{}).FlaskSessionBackend(); got != "redis" {
		t.Errorf("FlaskSessionBackend() = %q", got)
	}
}

// TestRedisstoreLayout: what this store writes reads back with plain
// commands exactly as redisstore leaves it (value as given, PTTL from the
// expiry), in both modes.
func TestRedisstoreLayout(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := New(newClient(t, "", nil, nil), m.opts)
			k := testPrefix(t) + "sid"
			t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
			v := []byte("\x80\x04}\x94.binary\x00pickle")
			if err := s.Set(ctx, k, v, time.Now().Add(2678400*time.Second)); err != nil {
				t.Fatal(err)
			}
			got, err := raw.Do(ctx, raw.B().Get().Key(k).Build()).ToString()
			if err != nil || got != string(v) {
				t.Fatalf("GET = %q, %v", got, err)
			}
			ttl, _ := raw.Do(ctx, raw.B().Ttl().Key(k).Build()).AsInt64()
			if ttl != 2678400 {
				t.Errorf("TTL = %d, want 2678400", ttl)
			}
			// GetAndTouch with a zero expiry persists, like GETEX PERSIST.
			if _, found, err := s.GetAndTouch(ctx, k, time.Time{}); err != nil || !found {
				t.Fatalf("GetAndTouch: %v %v", found, err)
			}
			if ttl, _ := raw.Do(ctx, raw.B().Ttl().Key(k).Build()).AsInt64(); ttl != -1 {
				t.Errorf("TTL after GetAndTouch(zero) = %d, want -1", ttl)
			}
		})
	}
}

// TestErrorsOmitKey: a WRONGTYPE reply and a connection error never carry
// the key.
func TestErrorsOmitKey(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	ctx := context.Background()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := New(raw, m.opts)
			k := testPrefix(t) + "secret-session-id-4f1c"
			t.Cleanup(func() { raw.Do(ctx, raw.B().Del().Key(k).Build()) })
			if err := raw.Do(ctx, raw.B().Lpush().Key(k).Element("x").Build()).Error(); err != nil {
				t.Fatal(err)
			}
			check := func(op string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s on a list: no error", op)
				} else if strings.Contains(err.Error(), "secret-session-id") {
					t.Errorf("%s: error %q contains the key", op, err)
				} else if !strings.HasPrefix(err.Error(), "rueidisstore: ") {
					t.Errorf("%s: error %q lacks the prefix", op, err)
				}
			}
			time.Sleep(ownWriteWindow) // let reads go through the cache
			_, _, err := s.Get(ctx, k)
			check("Get", err)
			_, _, err = s.GetAndTouch(ctx, k, time.Now().Add(time.Hour))
			check("GetAndTouch", err)
			_, err = s.CompareAndSet(ctx, k, []byte("x"), []byte("y"), time.Now().Add(time.Hour))
			check("CompareAndSet", err)
		})
	}
}
