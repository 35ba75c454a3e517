package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/rueidisstore"
	"github.com/redis/rueidis"
)

// rueidisConn counts the writes a rueidis client makes to its sockets in
// a countHook: with one request at a time, each write is one round trip,
// and a read served from the client-side cache writes nothing. (rueidis
// has no per-command hook in its main module; the socket is exact.)
type rueidisConn struct {
	net.Conn
	hook *countHook
}

func (c rueidisConn) Write(p []byte) (int, error) {
	c.hook.n.Add(1)
	return c.Conn.Write(p)
}

// rueidisClient returns a rueidis client of COATCHECK_REDIS_URL (client-side
// caching available) with a counting socket, and deletes every key under
// prefix when the benchmark ends. It skips when the variable is unset.
func rueidisClient(b *testing.B, prefix string) (rueidis.Client, *countHook) {
	b.Helper()
	raw := os.Getenv("COATCHECK_REDIS_URL")
	if raw == "" {
		b.Skip("COATCHECK_REDIS_URL not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	hook := &countHook{}
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{u.Host},
		DialCtxFn: func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return rueidisConn{conn, hook}, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				break
			}
			if len(e.Elements) > 0 {
				c.Do(ctx, c.B().Unlink().Key(e.Elements...).Build())
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
		c.Close()
	})
	return c, hook
}

func ccRueidisManager(b *testing.B, opts rueidisstore.Options) (*coatcheck.Manager, *countHook) {
	prefix := "ccbench:" + rand.Text()[:8] + ":"
	c, hook := rueidisClient(b, prefix)
	return ccManager(b, coatcheck.Config{
		Store:  rueidisstore.New(c, opts),
		Server: coatcheck.ServerConfig{KeyPrefix: prefix},
	}), hook
}

// BenchmarkCoatcheckRueidisRead: rueidisstore without caching: one GETEX
// per read, as BenchmarkCoatcheckRedisRead on go-redis.
func BenchmarkCoatcheckRueidisRead(b *testing.B) {
	m, hook := ccRueidisManager(b, rueidisstore.Options{})
	ccServerRead(b, m, hook)
}

// BenchmarkCoatcheckRueidisReadCached: rueidisstore with client-side
// caching (RefreshInterval 1 minute): the session is served from the
// cache; the TTL is slid once a minute, and Redis is asked at least once a
// second (rueidisstore's MaxSilence), so round trips/op is about 0. The
// store reads a key it wrote itself less than a second ago uncached (its
// own invalidation may still be in flight), so the benchmark lets the
// freshly written session age by a second before the measured reads, as
// a session read on later requests would be.
func BenchmarkCoatcheckRueidisReadCached(b *testing.B) {
	m, hook := ccRueidisManager(b, rueidisstore.Options{RefreshInterval: time.Minute})
	s := &seen{}
	tmpl := template(ccCookie(b, m, false))
	time.Sleep(1100 * time.Millisecond)
	run(b, m.Handler(ccRead(s)), tmpl, s, wantUser, hook, nil)
}
