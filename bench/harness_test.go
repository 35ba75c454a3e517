package bench

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The logical session every contender carries: {"username": "alice"}.
const (
	secretKey = "bench-secret-key-0123456789abcdef"
	wantUser  = "alice"
	cookieHdr = "Cookie"
)

var body = []byte("<p>Logged in as alice</p>\n")

// discardWriter is the minimal http.ResponseWriter every contender writes
// into: it keeps the header map (reset, not reallocated, per iteration) and
// counts body bytes. httptest.ResponseRecorder would add its own allocations
// to every contender.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header, 4)} }

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// setCookieValue returns the value of the cookie named name in the
// Set-Cookie headers w received.
func (w *discardWriter) setCookieValue(name string) string {
	for _, line := range w.h.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			v, _, _ = strings.Cut(v, ";")
			return v
		}
	}
	return ""
}

// template builds the request every iteration copies: GET / with, when
// cookie is not empty, a Cookie header. Every benchmark serves a shallow copy
// of it per iteration (one allocation, the same for every contender,
// including the bare handler), sharing the read-only header map. gorilla's
// registry rewrites *r, which is why a copy is needed at all.
func template(cookie string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	if err != nil {
		panic(err)
	}
	if cookie != "" {
		r.Header.Set(cookieHdr, cookie)
	}
	return r
}

// seen records what the handler read from the session; every benchmark
// checks it so a broken contender cannot look fast.
type seen struct{ user string }

func (s *seen) check(b *testing.B, want string) {
	if s.user != want {
		b.Fatalf("handler saw username %q, want %q", s.user, want)
	}
	s.user = ""
}

// serve runs one request through h and returns the writer (for setup).
func serve(h http.Handler, tmpl *http.Request) *discardWriter {
	w := newDiscardWriter()
	r := new(http.Request)
	*r = *tmpl
	h.ServeHTTP(w, r)
	return w
}

// run is the measured loop shared by every HTTP benchmark.
// post, when not nil, checks each response (e.g. that a Set-Cookie was sent).
func run(b *testing.B, h http.Handler, tmpl *http.Request, s *seen, want string, hook *countHook, post func(*discardWriter) bool) {
	b.Helper()
	w := newDiscardWriter()
	// one warm-up request outside the timer, checked like the others
	{
		r := new(http.Request)
		*r = *tmpl
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK || w.n != len(body) {
			b.Fatalf("warm-up: status %d, %d body bytes", w.code, w.n)
		}
		s.check(b, want)
		if post != nil && !post(w) {
			b.Fatalf("warm-up: unexpected response headers %v", w.h)
		}
		w.reset()
	}
	var before int64
	if hook != nil {
		before = hook.n.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := new(http.Request)
		*r = *tmpl
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
		s.check(b, want)
		if post != nil && !post(w) {
			b.Fatalf("unexpected response headers %v", w.h)
		}
		w.reset()
	}
	b.StopTimer()
	if hook != nil {
		b.ReportMetric(float64(hook.n.Load()-before)/float64(b.N), "roundtrips/op")
	}
}

// --- Redis -----------------------------------------------------------------

// countHook counts the commands (round trips) a go-redis client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisClient returns a client for COATCHECK_REDIS_URL with a counting hook,
// and deletes every key under prefix when the benchmark ends. It skips the
// benchmark when the variable is unset.
func redisClient(b *testing.B, prefix string) (*redis.Client, *countHook) {
	b.Helper()
	url := os.Getenv("COATCHECK_REDIS_URL")
	if url == "" {
		b.Skip("COATCHECK_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true // as redisstore recommends; scs gets the same client options
	c := redis.NewClient(opt)
	if err := c.Ping(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	hook := &countHook{}
	c.AddHook(hook)
	b.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				c.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			c.Unlink(ctx, keys...)
		}
		c.Close()
	})
	return c, hook
}

// setsCookie and noCookie are post checks.
func setsCookie(w *discardWriter) bool { return len(w.h["Set-Cookie"]) == 1 }
func noCookie(w *discardWriter) bool   { return len(w.h["Set-Cookie"]) == 0 }
