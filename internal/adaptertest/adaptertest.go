// Package adaptertest holds the tests every framework adapter module
// (ginsession, echosession, fibersession) shares: a cookie-keeping client,
// the seeds' login story, late writes, a failing store, interop with the
// net/http middleware. It is internal to the repository's modules.
package adaptertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/memstore"
)

// Client sends requests to H and keeps the session cookie between them.
type Client struct {
	H      http.Handler
	Cookie string
}

// Do sends one request (form encoded in the body) and returns the status,
// the body and the response headers.
func (cl *Client) Do(method, path string, form url.Values) (int, string, http.Header) {
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cl.Cookie != "" {
		req.Header.Set("Cookie", cl.Cookie)
	}
	rec := httptest.NewRecorder()
	cl.H.ServeHTTP(rec, req)
	res := rec.Result()
	if c := res.Cookies(); len(c) > 0 {
		cl.Cookie = c[0].Name + "=" + c[0].Value
		if c[0].MaxAge < 0 {
			cl.Cookie = ""
		}
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// LoginStory runs the seeds' login example against the app newApp builds,
// on cookie sessions and on a memstore: not logged in, POST /login (Renew,
// Set, Flash) → 303, the flash shown once, /logout (Destroy) deletes the
// cookie; every Set-Cookie carries Vary: Cookie. The app shows flashes as
// "[msg] " before "Logged in as NAME".
func LoginStory(t *testing.T, newApp func(t *testing.T, store coatcheck.Store) http.Handler) {
	for _, tc := range []struct {
		name  string
		store coatcheck.Store
	}{{"cookie", nil}, {"memstore", memstore.New(memstore.Options{})}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := &Client{H: newApp(t, tc.store)}
			want := func(method, path string, form url.Values, code int, body string) {
				t.Helper()
				got, b, h := cl.Do(method, path, form)
				if got != code || !strings.Contains(b, body) {
					t.Fatalf("%s %s = %d %q, want %d %q", method, path, got, b, code, body)
				}
				if h.Get("Set-Cookie") != "" && !strings.Contains(h.Get("Vary"), "Cookie") {
					t.Fatalf("%s %s: Set-Cookie without Vary: Cookie: %v", method, path, h)
				}
			}
			want("GET", "/", nil, 200, "You are not logged in")
			want("POST", "/login", url.Values{"username": {"alice"}}, 303, "")
			if cl.Cookie == "" {
				t.Fatal("no session cookie after login")
			}
			want("GET", "/", nil, 200, "[You were logged in] Logged in as alice")
			want("GET", "/", nil, 200, "Logged in as alice")
			if _, b, _ := cl.Do("GET", "/", nil); strings.Contains(b, "You were logged in") {
				t.Fatalf("flash shown twice: %q", b)
			}
			want("POST", "/logout", nil, 303, "")
			if cl.Cookie != "" {
				t.Fatal("cookie kept after logout")
			}
			want("GET", "/", nil, 200, "You are not logged in")
		})
	}
}

// NewManager builds a Manager for an adapter's test app (nil store: cookie
// sessions).
type NewManager func(t testing.TB, store coatcheck.Store) *coatcheck.Manager

// LateApp builds an app over m whose GET / increments "visits" and answers
// "audited=<whether the session has audited>", behind a middleware that,
// once the chain below it returned, sets "audited" and sends the session's
// Err to errs.
type LateApp func(m *coatcheck.Manager, errs chan<- error) http.Handler

// LateWriteKeptServerSide: on a server-side session, the middleware's write
// after the handler is saved (the client's cookie already names the
// session).
func LateWriteKeptServerSide(t *testing.T, newManager NewManager, late LateApp) {
	lateWriteKept(t, newManager(t, memstore.New(memstore.Options{})), late)
}

// LateWriteKeptOnCookie: the same on cookie sessions, for an adapter that
// commits only once the whole chain returned (Fiber buffers the response).
func LateWriteKeptOnCookie(t *testing.T, newManager NewManager, late LateApp) {
	lateWriteKept(t, newManager(t, nil), late)
}

func lateWriteKept(t *testing.T, m *coatcheck.Manager, late LateApp) {
	t.Helper()
	errs := make(chan error, 4)
	cl := &Client{H: late(m, errs)}
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=false" {
		t.Fatalf("first request: %q", b)
	}
	<-errs // the late middleware is done
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=true" {
		t.Fatalf("the write made after the chain returned was dropped: %q", b)
	}
	<-errs
}

// LateWriteReportedOnCookie: on cookie sessions whose cookie went out with
// the first byte, the late write is lost and says so: a WARN log line, and
// the next request does not see it.
func LateWriteReportedOnCookie(t *testing.T, secret string, late LateApp) {
	var logs strings.Builder
	m, err := coatcheck.New(coatcheck.Config{SecretKey: secret,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	cl := &Client{H: late(m, errs)}
	cl.Do("GET", "/", nil)
	<-errs
	if !strings.Contains(logs.String(), "session change lost") {
		t.Fatalf("the lost cookie write was not reported; log: %q", logs.String())
	}
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=false" {
		t.Fatalf("cookie session: %q", b)
	}
	<-errs
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// failStore fails every call, as an unreachable backend does.
type failStore struct{}

var errDown = fmt.Errorf("failstore: %w", coatcheck.ErrStoreUnavailable)

func (failStore) Get(context.Context, string) ([]byte, bool, error)    { return nil, false, errDown }
func (failStore) Set(context.Context, string, []byte, time.Time) error { return errDown }
func (failStore) Delete(context.Context, string) error                 { return errDown }

// StoreFailure: the login app (as LoginStory's) on a store that fails
// every call answers 503, without the redirect and without a cookie, for a
// write and for a read of a session id.
func StoreFailure(t *testing.T, newManager NewManager, app func(m *coatcheck.Manager) http.Handler) {
	cl := &Client{H: app(newManager(t, failStore{}))}
	code, body, h := cl.Do("POST", "/login", url.Values{"username": {"alice"}})
	if code != http.StatusServiceUnavailable || h.Get("Location") != "" || h.Get("Set-Cookie") != "" {
		t.Fatalf("login on a failing store = %d %q %v, want 503 without the redirect", code, body, h)
	}
	cl.Cookie = "session=" + strings.Repeat("a", 43) // a session id to look up
	if code, _, _ := cl.Do("GET", "/", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("GET on a failing store = %d, want 503", code)
	}
}

// NetHTTPInterop: a cookie issued by the net/http middleware is read by
// the adapter's login app and the other way round (same Manager), on
// cookie sessions and on a memstore.
func NetHTTPInterop(t *testing.T, newManager NewManager, app func(m *coatcheck.Manager) http.Handler) {
	for _, tc := range []struct {
		name  string
		store coatcheck.Store
	}{{"cookie", nil}, {"memstore", memstore.New(memstore.Options{})}} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, tc.store)
			std := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := coatcheck.FromRequest(r)
				if r.Method == "POST" {
					s.Set("username", r.FormValue("username"))
					return
				}
				user, _ := coatcheck.Value[string](s, "username")
				io.WriteString(w, "Logged in as "+user)
			}))
			cl := &Client{H: std}
			cl.Do("POST", "/login", url.Values{"username": {"bob"}})
			cl.H = app(m)
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as bob" {
				t.Fatalf("the adapter reading a net/http cookie: %q", b)
			}
			cl.Do("POST", "/login", url.Values{"username": {"carol"}})
			cl.H = std
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as carol" {
				t.Fatalf("net/http reading the adapter's cookie: %q", b)
			}
		})
	}
}

// ReadUser is the session read every adapter's BenchmarkRead serves.
func ReadUser(r *http.Request) string {
	u, _ := coatcheck.Value[string](coatcheck.FromRequest(r), "username")
	return u
}

// BenchRead benchmarks a request reading a signed-cookie session through
// the adapter's handler (serving ReadUser at GET /), beside the same read
// behind m's net/http middleware, with a cookie that middleware issued.
func BenchRead(b *testing.B, m *coatcheck.Manager, name string, adapter http.Handler) {
	std := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("login") {
			coatcheck.FromRequest(r).Set("username", "alice")
		}
		w.Write([]byte(ReadUser(r)))
	}))
	rec := httptest.NewRecorder()
	std.ServeHTTP(rec, httptest.NewRequest("GET", "/?login=1", nil))
	c := rec.Result().Cookies()[0]
	for name, h := range map[string]http.Handler{name: adapter, "net-http": std} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(c)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Body.String() != "alice" {
					b.Fatalf("body %q", rec.Body)
				}
			}
		})
	}
}
