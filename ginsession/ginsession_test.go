package ginsession_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/ginsession"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.ReleaseMode) }

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

// loginApp is the seeds' login example in Gin.
func loginApp(m *coatcheck.Manager) *gin.Engine {
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		s := coatcheck.FromRequest(c.Request)
		var b strings.Builder
		for _, f := range s.Flashes() {
			fmt.Fprintf(&b, "[%s] ", f.Message)
		}
		if user, ok := coatcheck.Value[string](s, "username"); ok {
			b.WriteString("Logged in as " + user)
		} else {
			b.WriteString("You are not logged in")
		}
		c.String(http.StatusOK, b.String())
	})
	r.POST("/login", func(c *gin.Context) {
		name := strings.TrimSpace(c.PostForm("username"))
		if name == "" {
			c.String(http.StatusBadRequest, "a username is required")
			return
		}
		s := coatcheck.FromRequest(c.Request)
		s.Renew()
		s.Set("username", name)
		s.Flash("You were logged in")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		coatcheck.FromRequest(c.Request).Destroy()
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}

// client keeps the session cookie between requests.
type client = adaptertest.Client

func TestLogin(t *testing.T) {
	adaptertest.LoginStory(t, func(t *testing.T, store coatcheck.Store) http.Handler {
		return loginApp(newManager(t, store))
	})
}

// A Gin middleware registered after the session middleware that writes the
// session after c.Next(), once the handler has written the body: the write
// must reach the store (server-side) or be reported (cookie).
func lateWriter(m *coatcheck.Manager, errs chan<- error) *gin.Engine {
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.Use(func(c *gin.Context) {
		c.Next()
		s := coatcheck.FromRequest(c.Request)
		s.Set("audited", true)
		errs <- s.Err()
	})
	r.GET("/", func(c *gin.Context) {
		s := coatcheck.FromRequest(c.Request)
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		_, audited := s.Get("audited")
		c.String(http.StatusOK, "audited=%v", audited)
	})
	return r
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

// A cookie issued by the net/http middleware is read by the Gin adapter and
// the other way round (same Manager configuration).
func TestNetHTTPInterop(t *testing.T) {
	adaptertest.NetHTTPInterop(t, newManager, func(m *coatcheck.Manager) http.Handler { return loginApp(m) })
}
