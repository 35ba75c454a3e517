package echosession_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/echosession"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
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
	adaptertest.LateWriteKeptServerSide(t, newManager, func(m *coatcheck.Manager, errs chan<- error) http.Handler { return lateWriter(m, errs) })
}

func TestLateWriteReportedOnCookie(t *testing.T) {
	adaptertest.LateWriteReportedOnCookie(t, secret, func(m *coatcheck.Manager, errs chan<- error) http.Handler { return lateWriter(m, errs) })
}

func TestStoreFailure(t *testing.T) {
	adaptertest.StoreFailure(t, newManager, func(m *coatcheck.Manager) http.Handler { return loginApp(m) })
}

// A cookie issued by the net/http middleware is read by the Echo adapter and
// the other way round (same Manager configuration).
func TestNetHTTPInterop(t *testing.T) {
	adaptertest.NetHTTPInterop(t, newManager, func(m *coatcheck.Manager) http.Handler { return loginApp(m) })
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
