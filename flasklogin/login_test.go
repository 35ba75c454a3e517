package flasklogin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

const secret = "s\u00e9cret"

// server: POST /login?u=&remember=&dur=, GET /logout, GET /me → "id fresh remember-pending".
func server(t *testing.T, c Config) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d, _ := time.ParseDuration(q.Get("dur") + "s")
		if err := LoginUser(r, q.Get("u"), q.Get("remember") == "1", LoginOptions{Duration: d}); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := LogoutUser(r); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		id, _ := UserID(r)
		f, _ := coatcheck.FromRequest(r).Get(KeyFresh)
		fmt.Fprintf(w, "%s %v", id, f)
	})
	srv := httptest.NewServer(coatcheck.MustNew(coatcheck.Config{SecretKey: secret}).Handler(Remember(c, mux)))
	t.Cleanup(srv.Close)
	return srv
}

type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
	ua  string
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar}, ua: "UA-1"}
}

func (b *browser) get(method, path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, nil)
	req.Header.Set("User-Agent", b.ua)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func remembered(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "remember_token" {
			return c
		}
	}
	return nil
}

func TestLoginRemember(t *testing.T) {
	srv := server(t, Config{SecretKey: secret})
	b := newBrowser(t, srv)
	if resp, _ := b.get("POST", "/login?u=alice"); remembered(resp) != nil {
		t.Error("remember cookie without remember")
	}
	if _, me := b.get("GET", "/me"); me != "alice true" {
		t.Errorf("after login: %q", me)
	}
	resp, _ := b.get("POST", "/login?u=alice&remember=1")
	rc := remembered(resp)
	want, _ := EncodeCookie("alice", secret)
	if rc == nil || rc.Value != want || !rc.HttpOnly || rc.Path != "/" || rc.Secure ||
		rc.Expires.Sub(time.Now()) < 364*24*time.Hour || rc.Expires.Sub(time.Now()) > 366*24*time.Hour {
		t.Fatalf("remember cookie: %+v", rc)
	}
	if resp, _ := b.get("GET", "/me"); remembered(resp) != nil {
		t.Error("remember cookie set again: _remember not popped")
	}

	// The remember cookie alone logs alice in, not fresh.
	b2 := newBrowser(t, srv)
	u, _ := url.Parse(srv.URL)
	b2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "remember_token", Value: rc.Value}})
	if _, me := b2.get("GET", "/me"); me != "alice false" {
		t.Errorf("from remember cookie: %q", me)
	}
	// A tampered one does not.
	b3 := newBrowser(t, srv)
	b3.c.Jar.SetCookies(u, []*http.Cookie{{Name: "remember_token", Value: strings.Replace(rc.Value, "alice", "alicf", 1)}})
	if _, me := b3.get("GET", "/me"); me != " <nil>" {
		t.Errorf("tampered cookie: %q", me)
	}

	// Logout clears the remember cookie and the login.
	resp, _ = b2.get("GET", "/logout")
	if rc := remembered(resp); rc == nil || rc.MaxAge >= 0 && !rc.Expires.Before(time.Unix(1, 0)) {
		t.Errorf("logout did not delete the cookie: %+v", rc)
	}
	if _, me := b2.get("GET", "/me"); me != " <nil>" || b2.cookie("remember_token") != nil {
		t.Errorf("after logout: %q %v", me, b2.cookie("remember_token"))
	}

	// login_user's duration.
	resp, _ = newBrowser(t, srv).get("POST", "/login?u=bob&remember=1&dur=60")
	if rc := remembered(resp); rc == nil || rc.Expires.Sub(time.Now()) > 61*time.Second || rc.Expires.Sub(time.Now()) < 55*time.Second {
		t.Errorf("duration 60 s: %+v", rc)
	}
}

func TestRememberConfig(t *testing.T) {
	srv := server(t, Config{SecretKey: secret, CookieName: "rt", Duration: time.Hour, Domain: "", Path: "/app",
		Secure: true, NoHTTPOnly: true, SameSite: http.SameSiteLaxMode})
	resp, _ := newBrowser(t, srv).get("POST", "/login?u=alice&remember=1")
	var rc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "rt" {
			rc = c
		}
	}
	if rc == nil || rc.Path != "/app" || !rc.Secure || rc.HttpOnly || rc.SameSite != http.SameSiteLaxMode ||
		rc.Expires.Sub(time.Now()) > time.Hour+time.Second {
		t.Errorf("cookie: %+v", rc)
	}
}

func TestSessionProtection(t *testing.T) {
	for _, c := range []struct{ mode, want string }{{"", "alice false"}, {"basic", "alice false"}, {"strong", " <nil>"}, {"none", "alice true"}} {
		srv := server(t, Config{SecretKey: secret, SessionProtection: c.mode})
		b := newBrowser(t, srv)
		b.get("POST", "/login?u=alice&remember=1")
		if _, me := b.get("GET", "/me"); me != "alice true" {
			t.Errorf("%s same client: %q", c.mode, me)
		}
		b.ua = "UA-2"
		resp, me := b.get("GET", "/me")
		if me != c.want {
			t.Errorf("%s other client: %q, want %q", c.mode, me, c.want)
		}
		if cleared := remembered(resp) != nil; cleared != (c.mode == "strong") {
			t.Errorf("%s: remember cookie cleared %v", c.mode, cleared)
		}
	}
}

// TestLiveRemember: Flask-Login 0.6's remember cookie alone logs the user in
// on Go, Go's logs the user in on Flask-Login, and Go's login session is
// Flask-Login's logged-in (and fresh) user.
func TestLiveRemember(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	srv := server(t, Config{SecretKey: secret})
	g := newBrowser(t, srv)
	g.ua = "werkzeug/2.2.2"
	resp, _ := g.get("POST", "/login?u=bob&remember=1")
	goRemember := remembered(resp)
	if goRemember == nil {
		t.Fatal("no Go remember cookie")
	}
	goSession := g.cookie("session").Value
	script := `
import sys
from flask import Flask, session
from flask_login import LoginManager, UserMixin, login_user, current_user
app = Flask("t"); app.config["SECRET_KEY"] = "s\xe9cret"
lm = LoginManager(app)
class U(UserMixin):
    def __init__(self, id): self.id = id
lm.user_loader(lambda i: U(i))
@app.post("/login")
def login(): login_user(U("alice"), remember=True); return "ok"
@app.get("/me")
def me(): return "%s %s" % (current_user.get_id(), session.get("_fresh"))
c = app.test_client()
r = c.post("/login")
print([h.split(";")[0].split("=", 1)[1] for h in r.headers.getlist("Set-Cookie") if h.startswith("remember_token=")][0])
c = app.test_client(); c.set_cookie("localhost", "remember_token", sys.argv[1])
print(c.get("/me").get_data(as_text=True))
c = app.test_client(); c.set_cookie("localhost", "session", sys.argv[2])
print(c.get("/me", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, goRemember.Value, goSession).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	l := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(l) != 3 {
		t.Fatalf("python output:\n%s", out)
	}
	if l[1] != "bob False" {
		t.Errorf("Go remember cookie on Flask-Login: %q", l[1])
	}
	if l[2] != "bob True" {
		t.Errorf("Go session on Flask-Login: %q", l[2])
	}
	b := newBrowser(t, srv)
	u, _ := url.Parse(srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "remember_token", Value: l[0]}})
	if _, me := b.get("GET", "/me"); me != "alice false" {
		t.Errorf("Flask-Login remember cookie on Go: %q", me)
	}
}
