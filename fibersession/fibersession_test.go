package fibersession_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/fibersession"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
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
	adaptertest.LateWriteKeptServerSide(t, newManager, lateWriter)
}

// Fiber buffers the response, so the session is committed when the chain
// below Middleware returned: a middleware's write after its c.Next() is
// kept on cookie sessions too.
func TestLateWriteKeptOnCookie(t *testing.T) {
	adaptertest.LateWriteKeptOnCookie(t, newManager, lateWriter)
}

func TestStoreFailure(t *testing.T) {
	adaptertest.StoreFailure(t, newManager, func(m *coatcheck.Manager) http.Handler { return fiberHandler{loginApp(m)} })
}

// A cookie issued by the net/http middleware is read by the Fiber adapter and
// the other way round (same Manager configuration).
func TestNetHTTPInterop(t *testing.T) {
	adaptertest.NetHTTPInterop(t, newManager, func(m *coatcheck.Manager) http.Handler { return fiberHandler{loginApp(m)} })
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
