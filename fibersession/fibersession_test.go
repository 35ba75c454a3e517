package fibersession_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/fibersession"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/gofiber/fiber/v3"
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

// loginApp is the seeds' login example in Fiber.
func loginApp(m *coatcheck.Manager) *fiber.App {
	app := fiber.New()
	app.Use(fibersession.Middleware(m))
	app.Get("/", func(c fiber.Ctx) error {
		s := fibersession.FromCtx(c)
		var b strings.Builder
		for _, f := range s.Flashes() {
			fmt.Fprintf(&b, "[%s] ", f.Message)
		}
		if user, ok := coatcheck.Value[string](s, "username"); ok {
			b.WriteString("Logged in as " + user)
		} else {
			b.WriteString("You are not logged in")
		}
		return c.SendString(b.String())
	})
	app.Post("/login", func(c fiber.Ctx) error {
		name := strings.TrimSpace(c.FormValue("username"))
		if name == "" {
			return c.Status(http.StatusBadRequest).SendString("a username is required")
		}
		s := fibersession.FromCtx(c)
		s.Renew()
		s.Set("username", name)
		s.Flash("You were logged in")
		return c.Redirect().Status(http.StatusSeeOther).To("/")
	})
	app.Post("/logout", func(c fiber.Ctx) error {
		fibersession.FromCtx(c).Destroy()
		return c.Redirect().Status(http.StatusSeeOther).To("/")
	})
	return app
}

// fiberHandler runs an app as an http.Handler, through app.Test (the test
// client only: the adapter itself never touches net/http).
type fiberHandler struct{ app *fiber.App }

func (f fiberHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := f.app.Test(r)
	if err != nil {
		http.Error(w, err.Error(), 599)
		return
	}
	defer res.Body.Close()
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
}

// client keeps the session cookie between requests.
type client = adaptertest.Client

func TestLogin(t *testing.T) {
	adaptertest.LoginStory(t, func(t *testing.T, store coatcheck.Store) http.Handler {
		return fiberHandler{loginApp(newManager(t, store))}
	})
}

// A Fiber middleware registered after the session middleware writes the
// session once c.Next() returned, after the handler set the body.
func lateWriter(m *coatcheck.Manager, errs chan<- error) http.Handler {
	app := fiber.New()
	app.Use(fibersession.Middleware(m))
	app.Use(func(c fiber.Ctx) error {
		err := c.Next()
		s := fibersession.FromCtx(c)
		s.Set("audited", true)
		errs <- s.Err()
		return err
	})
	app.Get("/", func(c fiber.Ctx) error {
		s := fibersession.FromCtx(c)
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		_, audited := s.Get("audited")
		return c.SendString(fmt.Sprintf("audited=%v", audited))
	})
	return fiberHandler{app}
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

// Fiber buffers the response, so the session is committed when the chain
// below Middleware returned: a middleware's write after its c.Next() is
// kept on cookie sessions too.
func TestLateWriteKeptOnCookie(t *testing.T) {
	errs := make(chan error, 4)
	cl := &client{H: lateWriter(newManager(t, nil), errs)}
	cl.Do("GET", "/", nil)
	<-errs
	if _, b, _ := cl.Do("GET", "/", nil); b != "audited=true" {
		t.Fatalf("cookie session: %q", b)
	}
	<-errs
}

// failStore fails every call, as an unreachable backend does.
type failStore struct{}

var errDown = fmt.Errorf("failstore: %w", coatcheck.ErrStoreUnavailable)

func (failStore) Get(context.Context, string) ([]byte, bool, error)    { return nil, false, errDown }
func (failStore) Set(context.Context, string, []byte, time.Time) error { return errDown }
func (failStore) Delete(context.Context, string) error                 { return errDown }

func TestStoreFailure(t *testing.T) {
	cl := &client{H: fiberHandler{loginApp(newManager(t, failStore{}))}}
	code, body, h := cl.Do("POST", "/login", url.Values{"username": {"alice"}})
	if code != http.StatusServiceUnavailable || h.Get("Location") != "" || h.Get("Set-Cookie") != "" {
		t.Fatalf("login on a failing store = %d %q %v, want 503 without the redirect", code, body, h)
	}
	cl.Cookie = "session=" + strings.Repeat("a", 43) // a session id to look up
	if code, _, _ := cl.Do("GET", "/", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("GET on a failing store = %d, want 503", code)
	}
}

// A cookie issued by the net/http middleware is read by the Fiber adapter and
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
			g := fiberHandler{loginApp(m)}
			cl := &client{H: std}
			cl.Do("POST", "/login", url.Values{"username": {"bob"}})
			cl.H = g
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as bob" {
				t.Fatalf("fiber reading a net/http cookie: %q", b)
			}
			cl.Do("POST", "/login", url.Values{"username": {"carol"}})
			cl.H = std
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as carol" {
				t.Fatalf("net/http reading a fiber cookie: %q", b)
			}
		})
	}
}

// Vary set by the handler is merged with the session's, not replaced.
func TestVaryMerged(t *testing.T) {
	app := fiber.New()
	app.Use(fibersession.Middleware(newManager(t, nil)))
	app.Get("/", func(c fiber.Ctx) error {
		c.Set("Vary", "Accept-Encoding")
		fibersession.FromCtx(c).Set("k", "v")
		return c.SendString("ok")
	})
	_, _, h := (&client{H: fiberHandler{app}}).Do("GET", "/", nil)
	if v := h.Get("Vary"); v != "Accept-Encoding, Cookie" || len(h["Set-Cookie"]) != 1 {
		t.Fatalf("Vary %q, Set-Cookie %q", v, h["Set-Cookie"])
	}
}

func TestFromCtxWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error {
		s := fibersession.FromCtx(c)
		s.Set("k", "v")
		return c.SendString(fmt.Sprint(errors.Is(s.Err(), coatcheck.ErrNoMiddleware)))
	})
	if _, b, _ := (&client{H: fiberHandler{app}}).Do("GET", "/", nil); b != "true" {
		t.Fatalf("FromCtx without Middleware: %q", b)
	}
}
