package flaskwtf

import (
	"errors"
	"fmt"
	"github.com/coatcheck/coatcheck/itsdangerous"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

const key = "k"

// app is a Flask-like app behind coatcheck and Protect: GET /form mints a
// token, GET /set?raw= stores a raw token, POST anything answers "ok".
func app(t *testing.T, c Config) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		tok, err := Token(r)
		if err != nil {
			t.Errorf("Token: %v", err)
		}
		io.WriteString(w, tok)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("csrf_token", r.URL.Query().Get("raw"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return coatcheck.MustNew(coatcheck.Config{SecretKey: key}).Handler(Protect(c, mux))
}

type client struct {
	h      http.Handler
	cookie string
}

func (c *client) do(method, target string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.cookie != "" {
		r.Header.Set("Cookie", "session="+c.cookie)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == "session" {
			c.cookie = ck.Value
		}
	}
	return w
}

func TestProtect(t *testing.T) {
	h := app(t, Config{SecretKey: key})
	c := &client{h: h}
	tok := c.do("GET", "/form", nil, nil).Body.String()
	if tok == "" || c.cookie == "" {
		t.Fatal("no token or no session cookie")
	}
	if again := c.do("GET", "/form", nil, nil).Body.String(); again == "" {
		t.Fatal("no second token")
	} else if err := Validate(again, rawOf(t, tok), key, time.Hour, time.Now()); err != nil {
		t.Errorf("second token does not reuse the session's raw token: %v", err)
	}
	ok := func(w *httptest.ResponseRecorder, what string) {
		t.Helper()
		if w.Code != 200 || w.Body.String() != "ok" {
			t.Errorf("%s: %d %q", what, w.Code, w.Body.String())
		}
	}
	bad := func(w *httptest.ResponseRecorder, want error, what string) {
		t.Helper()
		if w.Code != 400 || !strings.Contains(w.Body.String(), want.Error()) {
			t.Errorf("%s: want 400 %q, got %d %q", what, want, w.Code, w.Body.String())
		}
	}
	ok(c.do("POST", "/x", url.Values{"csrf_token": {tok}}, nil), "form field")
	ok(c.do("POST", "/x", url.Values{"login-csrf_token": {tok}}, nil), "prefixed field")
	ok(c.do("PUT", "/x", nil, map[string]string{"X-CSRFToken": tok}), "X-CSRFToken")
	ok(c.do("DELETE", "/x", nil, map[string]string{"X-CSRF-Token": tok}), "X-CSRF-Token")
	ok(c.do("GET", "/x", nil, nil), "GET is not protected")
	bad(c.do("POST", "/x", url.Values{"a": {"b"}}, nil), ErrMissing, "no token")
	bad(c.do("PATCH", "/x", nil, nil), ErrMissing, "PATCH no token")
	bad((&client{h: h}).do("POST", "/x", url.Values{"csrf_token": {tok}}, nil), ErrSessionMissing, "no session")
	bad(c.do("POST", "/x", url.Values{"csrf_token": {tok + "x"}}, nil), ErrInvalid, "tampered")
	other := &client{h: h}
	other.do("GET", "/form", nil, nil)
	bad(other.do("POST", "/x", url.Values{"csrf_token": {tok}}, nil), ErrMismatch, "other session's token")
	raw := NewRaw()
	c.do("GET", "/set?raw="+raw, nil, nil)
	old, _ := Sign(raw, key, time.Now().Add(-3601*time.Second))
	bad(c.do("POST", "/x", url.Values{"csrf_token": {old}}, nil), ErrExpired, "expired")
	fresh, _ := Sign(raw, key, time.Now())
	ok(c.do("POST", "/x", url.Values{"csrf_token": {fresh}}, nil), "fresh")

	// HTTPS, SSL_STRICT.
	bad(c.do("POST", "https://example.com/x", url.Values{"csrf_token": {fresh}}, nil), ErrReferrerMissing, "no referrer")
	bad(c.do("POST", "https://example.com/x", url.Values{"csrf_token": {fresh}},
		map[string]string{"Referer": "https://evil.com/form"}), ErrReferrerMismatch, "foreign referrer")
	bad(c.do("POST", "https://example.com/x", url.Values{"csrf_token": {fresh}},
		map[string]string{"Referer": "http://example.com/form"}), ErrReferrerMismatch, "http referrer")
	ok(c.do("POST", "https://example.com/x", url.Values{"csrf_token": {fresh}},
		map[string]string{"Referer": "https://EXAMPLE.com/form"}), "same-origin referrer")
	// The token is checked before the referrer, as in protect().
	bad(c.do("POST", "https://example.com/x", nil, nil), ErrMissing, "https no token")

	// Exempt paths, no time limit, custom error handler, SSL_STRICT off.
	var got error
	h2 := app(t, Config{SecretKey: key, NoTimeLimit: true, NoSSLStrict: true, ExemptPaths: []string{"/hook"},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { got = err; w.WriteHeader(403) }})
	c2 := &client{h: h2}
	c2.do("GET", "/set?raw="+raw, nil, nil)
	ancient, _ := Sign(raw, key, time.Now().Add(-1000*time.Hour))
	ok(c2.do("POST", "https://example.com/x", url.Values{"csrf_token": {ancient}}, nil), "no limit, no ssl strict")
	ok(c2.do("POST", "/hook", nil, nil), "exempt")
	ok(c2.do("POST", "https://example.com/x", url.Values{"csrf_token": {ancient}}, nil), fmt.Sprint("no limit, no ssl strict ", got))
	if w := c2.do("POST", "/x", nil, nil); w.Code != 403 || !errors.Is(got, ErrMissing) {
		t.Errorf("ErrorHandler: %d %v", w.Code, got)
	}
}

// rawOf recovers the raw token from a form token (test helper).
func rawOf(t *testing.T, tok string) string {
	t.Helper()
	s, _ := serializer(key)
	j, _, err := s.Loads([]byte(tok), itsdangerous.NoMaxAge, time.Now()) // 0 would mean "0 seconds old": flaky across a second boundary
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(string(j), `"`)
}

func TestTokenOutsideProtect(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := Token(r); !errors.Is(err, ErrNoConfig) {
		t.Errorf("Token: %v", err)
	}
	if _, err := TokenFor(r, Config{}); !errors.Is(err, ErrNoSecretKey) {
		t.Errorf("TokenFor: %v", err)
	}
	if _, err := TokenFor(r, Config{SecretKey: "k"}); err == nil {
		t.Error("TokenFor without session middleware: no error")
	}
}

func TestConfigFromMap(t *testing.T) {
	c, err := ConfigFromMap(map[string]string{"SECRET_KEY": "a", "WTF_CSRF_SECRET_KEY": "b",
		"WTF_CSRF_TIME_LIMIT": "60", "WTF_CSRF_HEADERS": "X-A, X-B", "WTF_CSRF_METHODS": "post",
		"WTF_CSRF_SSL_STRICT": "false", "WTF_CSRF_FIELD_NAME": "tok"})
	if err != nil || c.SecretKey != "b" || c.timeLimit() != time.Minute || len(c.headers()) != 2 ||
		!c.protected("POST") || c.protected("DELETE") || !c.NoSSLStrict || c.fieldName() != "tok" {
		t.Errorf("%+v %v", c, err)
	}
	c, err = ConfigFromMap(map[string]string{"SECRET_KEY": "a", "WTF_CSRF_TIME_LIMIT": "None"})
	if err != nil || c.SecretKey != "a" || c.timeLimit() != 0 || c.fieldName() != "csrf_token" ||
		c.NoSSLStrict || !c.protected("PATCH") || c.timeLimit() != 0 {
		t.Errorf("%+v %v", c, err)
	}
	if d, _ := ConfigFromMap(nil); d.timeLimit() != time.Hour {
		t.Errorf("default limit %v", d.timeLimit())
	}
	for _, m := range []map[string]string{{"WTF_CSRF_TIME_LIMIT": "x"}, {"WTF_CSRF_SSL_STRICT": "maybe"}} {
		if _, err := ConfigFromMap(m); !errors.Is(err, ErrConfig) {
			t.Errorf("%v: %v", m, err)
		}
	}
}

// TestLiveProtect: a Flask-WTF app's token + session cookie pass Protect,
// and a token Go minted under coatcheck passes Flask-WTF's validate_csrf
// with Go's session cookie (shared SECRET_KEY, Flask cookie sessions).
func TestLiveProtect(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	h := app(t, Config{SecretKey: key})
	g := &client{h: h}
	goTok := g.do("GET", "/form", nil, nil).Body.String()
	script := `
import sys
from flask import Flask
from flask_wtf.csrf import generate_csrf, validate_csrf
app = Flask("t"); app.config["SECRET_KEY"] = "k"
@app.get("/form")
def form(): return generate_csrf()
with app.test_request_context("/", method="POST", headers={"Cookie": "session=" + sys.argv[1]}):
    validate_csrf(sys.argv[2]); print("200 ok")
c = app.test_client()
r = c.get("/form")
print(r.get_data(as_text=True))
print(r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1])
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, g.cookie, goTok).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	l := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(l) != 3 {
		t.Fatalf("python output: %s", out)
	}
	if l[0] != "200 ok" {
		t.Errorf("Flask-WTF rejected Go's token+session: %s", l[0])
	}
	f := &client{h: h, cookie: l[2]}
	if w := f.do("POST", "/x", url.Values{"csrf_token": {l[1]}}, nil); w.Code != 200 {
		t.Errorf("Protect rejected Flask-WTF's token+session: %d %s", w.Code, w.Body.String())
	}
	if w := f.do("POST", "/x", url.Values{"csrf_token": {goTok}}, nil); w.Code != 400 ||
		!strings.Contains(w.Body.String(), ErrMismatch.Error()) {
		t.Errorf("Go token in Flask session: %d %s", w.Code, w.Body.String())
	}
}
