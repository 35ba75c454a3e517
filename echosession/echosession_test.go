package echosession_test

import (
	"context"
	"fmt"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/echosession"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/labstack/echo/v4"
)

const secret = "the Flask app's SECRET_KEY"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newManager(t testing.TB, store coatcheck.Store) *coatcheck.Manager {
	t.Helper()
	m, err := coatcheck.New(coatcheck.Config{SecretKey: secret, Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loginApp is the seeds' login example in Echo.
func loginApp(m *coatcheck.Manager) *echo.Echo {
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error {
		s := coatcheck.FromRequest(c.Request())
		var b strings.Builder
		for _, f := range s.Flashes() {
			fmt.Fprintf(&b, "[%s] ", f.Message)
		}
		if user, ok := coatcheck.Value[string](s, "username"); ok {
			b.WriteString("Logged in as " + user)
		} else {
			b.WriteString("You are not logged in")
		}
		return c.String(http.StatusOK, b.String())
	})
	e.POST("/login", func(c echo.Context) error {
		name := strings.TrimSpace(c.FormValue("username"))
		if name == "" {
			return echo.NewHTTPError(http.StatusBadRequest, "a username is required")
		}
		s := coatcheck.FromRequest(c.Request())
		s.Renew()
		s.Set("username", name)
		s.Flash("You were logged in")
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c echo.Context) error {
		coatcheck.FromRequest(c.Request()).Destroy()
		return c.Redirect(http.StatusSeeOther, "/")
	})
	return e
}

// client keeps the session cookie between requests.
type client = adaptertest.Client

func TestLogin(t *testing.T) {
	adaptertest.LoginStory(t, func(t *testing.T, store coatcheck.Store) http.Handler {
		return loginApp(newManager(t, store))
	})
}

// An Echo middleware registered after the session middleware that writes
// the session once next returned, after the handler wrote the body: the
// write must reach the store (server-side) or be reported (cookie).
func lateWriter(m *coatcheck.Manager, errs chan<- error) *echo.Echo {
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			s := coatcheck.FromRequest(c.Request())
			s.Set("audited", true)
			errs <- s.Err()
			return err
		}
	})
	e.GET("/", func(c echo.Context) error {
		s := coatcheck.FromRequest(c.Request())
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		_, audited := s.Get("audited")
		return c.String(http.StatusOK, fmt.Sprintf("audited=%v", audited))
	})
	return e
}

func TestLateWriteKeptServerSide(t *testing.T) {
	errs := make(chan error, 4)
	cl := &client{H: lateWriter(newManager(t, memstore.New(memstore.Options{})), errs)}
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=false" {
		t.Fatalf("first request: %q", b)
	}
	<-errs
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=true" {
		t.Fatalf("the write made after c.Next() was dropped: %q", b)
	}
	<-errs
}

func TestLateWriteReportedOnCookie(t *testing.T) {
	var logs strings.Builder
	m, err := coatcheck.New(coatcheck.Config{SecretKey: secret,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	cl := &client{H: lateWriter(m, errs)}
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

func TestStoreFailure(t *testing.T) {
	cl := &client{H: loginApp(newManager(t, failStore{}))}
	code, body, h := cl.Do("POST", "/login", url.Values{"username": {"alice"}})
	if code != http.StatusServiceUnavailable || h.Get("Location") != "" || h.Get("Set-Cookie") != "" {
		t.Fatalf("login on a failing store = %d %q %v, want 503 without the redirect", code, body, h)
	}
	cl.Cookie = "session=" + strings.Repeat("a", 43) // a session id to look up
	if code, _, _ := cl.Do("GET", "/", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("GET on a failing store = %d, want 503", code)
	}
}

// A cookie issued by the net/http middleware is read by the Echo adapter and
// the other way round (same Manager configuration).
func TestNetHTTPInterop(t *testing.T) {
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
			g := loginApp(m)
			cl := &client{H: std}
			cl.Do("POST", "/login", url.Values{"username": {"bob"}})
			cl.H = g
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as bob" {
				t.Fatalf("echo reading a net/http cookie: %q", b)
			}
			cl.Do("POST", "/login", url.Values{"username": {"carol"}})
			cl.H = std
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as carol" {
				t.Fatalf("net/http reading an echo cookie: %q", b)
			}
		})
	}
}

// A handler's error is answered inside the middleware: the error page
// carries the session written before the error.
func TestHandlerErrorKeepsSession(t *testing.T) {
	m := newManager(t, nil)
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/fail", func(c echo.Context) error {
		coatcheck.FromRequest(c.Request()).Set("tried", true)
		return echo.NewHTTPError(http.StatusTeapot, "no")
	})
	e.GET("/", func(c echo.Context) error {
		_, tried := coatcheck.FromRequest(c.Request()).Get("tried")
		return c.String(http.StatusOK, fmt.Sprint(tried))
	})
	cl := &client{H: e}
	if code, _, _ := cl.Do("GET", "/fail", nil); code != http.StatusTeapot || cl.Cookie == "" {
		t.Fatalf("error page = %d, cookie %q", code, cl.Cookie)
	}
	if _, b, _ := cl.Do("GET", "/", nil); b != "true" {
		t.Fatalf("session written before the handler's error: %q", b)
	}
}
