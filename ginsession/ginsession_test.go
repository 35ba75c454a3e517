package ginsession_test

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
	"github.com/coatcheck/coatcheck/ginsession"
	"github.com/coatcheck/coatcheck/memstore"
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

// A cookie issued by the net/http middleware is read by the Gin adapter and
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
				t.Fatalf("gin reading a net/http cookie: %q", b)
			}
			cl.Do("POST", "/login", url.Values{"username": {"carol"}})
			cl.H = std
			if _, b, _ := cl.Do("GET", "/", nil); b != "Logged in as carol" {
				t.Fatalf("net/http reading a gin cookie: %q", b)
			}
		})
	}
}
