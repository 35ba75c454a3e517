package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/storetest"
)

type demoClient struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func startDemo(t *testing.T, env map[string]string) *demoClient {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, st, err := loadConfig(context.Background(), lookup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.close)
	cfg.Logger = quietLogger()
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := demoOptionsFromEnv(lookup, cfg.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(demoHandlerWith(m, opts))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &demoClient{t: t, srv: srv, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (d *demoClient) do(method, path string, form url.Values) (*http.Response, string) {
	d.t.Helper()
	var res *http.Response
	var err error
	if method == "POST" {
		res, err = d.c.PostForm(d.srv.URL+path, form)
	} else {
		res, err = d.c.Get(d.srv.URL + path)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (d *demoClient) sessionCookie() string {
	u, _ := url.Parse(d.srv.URL)
	for _, c := range d.c.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// loginLogout is the demo's whole story; it runs over every SESSION_TYPE.
func loginLogout(t *testing.T, d *demoClient) {
	t.Helper()
	if _, body := d.do("GET", "/", nil); !strings.Contains(body, "You are not logged in") || !strings.Contains(body, `href="/login"`) {
		t.Fatalf("home: %s", body)
	}
	if res, _ := d.do("GET", "/dashboard", nil); res.Request.URL.Path != "/login" {
		t.Errorf("dashboard did not redirect to /login: %s", res.Request.URL)
	}
	if _, body := d.do("GET", "/login", nil); !strings.Contains(body, `name="username"`) {
		t.Fatalf("login form: %s", body)
	}
	res, body := d.do("POST", "/login", url.Values{"username": {"<b>alice</b>"}})
	if res.Request.URL.Path != "/" || !strings.Contains(body, "Logged in as &lt;b&gt;alice&lt;/b&gt;") || !strings.Contains(body, "You were logged in") {
		t.Fatalf("after login (%s): %s", res.Request.URL, body)
	}
	if strings.Contains(body, "<b>alice</b>") {
		t.Error("username not HTML-escaped")
	}
	if _, body := d.do("GET", "/", nil); strings.Contains(body, "You were logged in") {
		t.Error("flash shown twice")
	}
	if _, body := d.do("GET", "/dashboard", nil); !strings.Contains(body, "dashboard, &lt;b&gt;alice") {
		t.Errorf("dashboard: %s", body)
	}
	for i := 1; i <= 3; i++ {
		if _, body := d.do("GET", "/counter", nil); !strings.Contains(body, fmt.Sprintf("visited this page %d times", i)) {
			t.Errorf("counter %d: %s", i, body)
		}
	}
	d.do("GET", "/set_session?key=color&value=blue", nil)
	res, body = d.do("GET", "/get_session", nil)
	var got map[string]any
	if res.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &got) != nil ||
		got["color"] != "blue" || got["username"] != "<b>alice</b>" || got["_permanent"] != true {
		t.Errorf("get_session: %s %s", res.Header.Get("Content-Type"), body)
	}
	d.do("GET", "/delete_session?key=color", nil)
	if _, body := d.do("GET", "/get_session", nil); strings.Contains(body, "color") {
		t.Errorf("delete_session: %s", body)
	}
	res, body = d.do("GET", "/logout", nil)
	if res.Request.URL.Path != "/" || !strings.Contains(body, "You were logged out") || !strings.Contains(body, "You are not logged in") {
		t.Fatalf("after logout: %s", body)
	}
	d.do("GET", "/clear_session", nil)
	// a cleared cookie session is gone; a cleared server-side one is deleted, and
	// the next request starts a fresh one, permanent by default (SESSION_PERMANENT)
	if _, body := d.do("GET", "/get_session", nil); strings.TrimSpace(body) != "{}" && strings.TrimSpace(body) != `{"_permanent":true}` {
		t.Errorf("after clear_session: %s", body)
	}
}

func TestDemoCookieSessions(t *testing.T) {
	d := startDemo(t, map[string]string{"SECRET_KEY": "dev-secret-key"})
	loginLogout(t, d)
}

func TestDemoPlainCookies(t *testing.T) {
	d := startDemo(t, map[string]string{"SECRET_KEY": "k"})
	res, _ := d.do("GET", "/set_cookie", nil)
	sc := res.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "demo_cookie=cookie-value") || !strings.Contains(sc, "Max-Age=3600") || !strings.Contains(sc, "Expires=") {
		t.Errorf("set_cookie: %q", sc)
	}
	res, _ = d.do("GET", "/delete_cookie", nil)
	if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("delete_cookie: %q", sc)
	}
}

// TestDemoEverySessionType runs the demo's login/logout on each store.
func TestDemoEverySessionType(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"memory", func(*testing.T) map[string]string { return map[string]string{} }},
		{"filesystem", func(*testing.T) map[string]string {
			return map[string]string{"SESSION_FILE_DIR": filepath.Join(dir, "fs")}
		}},
		{"sqlite", func(*testing.T) map[string]string {
			return map[string]string{"SESSION_SQLITE": filepath.Join(dir, "s.db")}
		}},
		{"redis", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_REDIS": storetest.RequireEnv(t, "COATCHECK_REDIS_URL"), "SESSION_KEY_PREFIX": "demotest:"}
		}},
		{"memcached", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_MEMCACHED": storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")}
		}},
		{"postgresql", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_SQLALCHEMY": storetest.RequireEnv(t, "COATCHECK_POSTGRES_URL"), "SESSION_SQLALCHEMY_TABLE": "demo_sessions"}
		}},
		{"mysql", func(t *testing.T) map[string]string {
			storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
			return map[string]string{"SESSION_SQLALCHEMY": "mysql+pymysql://root@127.0.0.1:3306/test", "SESSION_SQLALCHEMY_TABLE": "demo_sessions"}
		}},
		{"mongodb", func(t *testing.T) map[string]string {
			// FerretDB (the test server) has no TTL indexes
			return map[string]string{"SESSION_MONGODB": storetest.RequireEnv(t, "COATCHECK_MONGO_URL"), "SESSION_MONGODB_DB": "coatcheck_demo_test", "SESSION_MONGODB_TTL_INDEX": "false"}
		}},
	}
	for _, tc := range cases {
		for _, signer := range []bool{false, true} {
			name := tc.name
			if signer {
				name += "/signed"
			}
			t.Run(name, func(t *testing.T) {
				env := tc.env(t)
				env["SESSION_TYPE"] = tc.name
				env["SECRET_KEY"] = "dev-secret-key"
				if signer {
					env["SESSION_USE_SIGNER"] = "true"
				}
				d := startDemo(t, env)
				loginLogout(t, d)
				// the cookie carries only an id (signed: id.signature)
				d.do("POST", "/login", url.Values{"username": {"bob"}})
				v := d.sessionCookie()
				id, _, hasSig := strings.Cut(v, ".")
				if hasSig != signer || (tc.name != "filesystem" && len(id) != 43) || len(v) > 80 {
					t.Errorf("cookie %q: want a 43-character id (signed: %v)", v, signer)
				}
			})
		}
	}
}

func TestDemoFlaskCompatIDs(t *testing.T) {
	d := startDemo(t, map[string]string{"SESSION_TYPE": "memory", "SECRET_KEY": "k", "SESSION_FLASK_COMPAT": "0.3"})
	d.do("POST", "/login", url.Values{"username": {"x"}})
	if v := d.sessionCookie(); len(v) != 36 || strings.Count(v, "-") != 4 {
		t.Errorf("0.3 compat id %q: want str(uuid4())", v)
	}
}

// A Redis outage during a request is a clear error, never a new session.
func TestDemoRedisOutage(t *testing.T) {
	d := startDemo(t, map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": "redis://127.0.0.1:1/0?dial_timeout=200ms", "SECRET_KEY": "k"})
	u, _ := url.Parse(d.srv.URL)
	d.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "a-session-id-the-user-holds"}})
	res, body := d.do("GET", "/", nil)
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "not logged in") {
		t.Errorf("outage: status %d body %q; want 503 and no fresh session", res.StatusCode, body)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("outage replaced the cookie: %q", res.Header.Get("Set-Cookie"))
	}
	if !strings.Contains(body, "session store") {
		t.Errorf("error text %q does not say what failed", body)
	}
}

func TestSessionsCommand(t *testing.T) {
	env := map[string]string{"SESSION_TYPE": "sqlite", "SESSION_SQLITE": filepath.Join(t.TempDir(), "ops.db"), "SECRET_KEY": "k"}
	d := startDemo(t, env)
	d.do("POST", "/login", url.Values{"username": {"carol"}})
	id := d.sessionCookie()
	d.srv.Close()

	code, out, errs := runCLI(t, env, "sessions", "list")
	if code != 0 || !strings.HasPrefix(out, id+"\t") || !strings.Contains(errs, "1 sessions") {
		t.Fatalf("list: %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, env, "sessions", "show", id)
	if code != 0 || !strings.Contains(out, `"username":"carol"`) {
		t.Errorf("show: %d %q %q", code, out, errs)
	}
	if code, _, errs = runCLI(t, env, "sessions", "purge-expired"); code != 0 {
		t.Errorf("purge-expired: %d %q", code, errs)
	}
	if code, _, errs = runCLI(t, env, "sessions", "delete", id); code != 0 {
		t.Errorf("delete: %d %q", code, errs)
	}
	if code, _, _ = runCLI(t, env, "sessions", "show", id); code != 1 {
		t.Errorf("show after delete: exit %d", code)
	}
	if code, _, errs = runCLI(t, map[string]string{}, "sessions", "list"); code != 1 || !strings.Contains(errs, "SESSION_TYPE") {
		t.Errorf("cookie sessions cannot be listed: %d %q", code, errs)
	}
	_ = os.Remove
}

// TestDemoLogoutDestroys is issue 8.10: /logout must delete the server-side
// entry and the cookie, not only pop "username" (which left the session in
// the store for its whole lifetime). Replaying the pre-logout cookie must find
// nothing.
func TestDemoLogoutDestroys(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T) map[string]string
	}{
		{"memory", func(*testing.T) map[string]string { return map[string]string{"SESSION_TYPE": "memory"} }},
		{"redis", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": storetest.RequireEnv(t, "COATCHECK_REDIS_URL"), "SESSION_KEY_PREFIX": "demologout:"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env(t)
			env["SECRET_KEY"] = "dev-secret-key"
			d := startDemo(t, env)
			d.do("POST", "/login", url.Values{"username": {"carol"}})
			d.do("GET", "/set_session?key=marker&value=still-here", nil)
			old := d.sessionCookie()
			if old == "" {
				t.Fatal("no session cookie after login")
			}
			res, body := d.do("GET", "/logout", nil)
			if !strings.Contains(body, "You were logged out") || !strings.Contains(body, "You are not logged in") {
				t.Fatalf("after logout (%s): %s", res.Request.URL, body)
			}
			if v := d.sessionCookie(); v == old {
				t.Error("logout left the old session cookie in the browser")
			}
			// replay the old cookie: the stored entry must be gone
			req, _ := http.NewRequest("GET", d.srv.URL+"/get_session", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: old})
			r2, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r2.Body)
			r2.Body.Close()
			if strings.Contains(string(b), "carol") || strings.Contains(string(b), "still-here") {
				t.Errorf("old session still in the store after logout: %s", b)
			}
		})
	}
}

func csrfField(t *testing.T, body string) string {
	t.Helper()
	const p = `name="csrf_token" value="`
	i := strings.Index(body, p)
	if i < 0 {
		t.Fatalf("no csrf_token in the login form: %s", body)
	}
	v := body[i+len(p):]
	return v[:strings.IndexByte(v, '"')]
}

// TestDemoCSRF: WTF_CSRF_ENABLED=true puts Flask-WTF's token into the login
// form and rejects a POST without it (400 with Flask-WTF's reason).
func TestDemoCSRF(t *testing.T) {
	d := startDemo(t, map[string]string{"SECRET_KEY": "dev-secret-key", "WTF_CSRF_ENABLED": "true"})
	_, body := d.do("GET", "/login", nil)
	tok := csrfField(t, body)
	if res, body := d.do("POST", "/login", url.Values{"username": {"alice"}}); res.StatusCode != 400 ||
		!strings.Contains(body, "The CSRF token is missing.") {
		t.Errorf("no token: %d %s", res.StatusCode, body)
	}
	if res, body := d.do("POST", "/login", url.Values{"username": {"alice"}, "csrf_token": {tok + "x"}}); res.StatusCode != 400 ||
		!strings.Contains(body, "The CSRF token is invalid.") {
		t.Errorf("bad token: %d %s", res.StatusCode, body)
	}
	other := startDemoClient(d)
	if res, body := other.do("POST", "/login", url.Values{"username": {"mallory"}, "csrf_token": {tok}}); res.StatusCode != 400 ||
		!strings.Contains(body, "The CSRF session token is missing.") {
		t.Errorf("token without its session: %d %s", res.StatusCode, body)
	}
	if _, body := d.do("POST", "/login", url.Values{"username": {"alice"}, "csrf_token": {tok}}); !strings.Contains(body, "Logged in as alice") {
		t.Errorf("with token: %s", body)
	}
	// The raw token survives the login's Renew (it is session data), so
	// the same form token still works, as in Flask-WTF.
	if _, body := d.do("GET", "/login", nil); csrfField(t, body) == "" {
		t.Error("no token after login")
	}
	// Off by default; a bad value is an error.
	if _, body := startDemo(t, map[string]string{"SECRET_KEY": "k"}).do("GET", "/login", nil); strings.Contains(body, "csrf_token") {
		t.Error("token in the form without WTF_CSRF_ENABLED")
	}
	if _, err := demoOptionsFromEnv(func(k string) (string, bool) {
		return map[string]string{"WTF_CSRF_ENABLED": "maybe"}[k], k == "WTF_CSRF_ENABLED"
	}, "k"); err == nil {
		t.Error("WTF_CSRF_ENABLED=maybe accepted")
	}
}

// startDemoClient is a second browser (own cookie jar) on d's server.
func startDemoClient(d *demoClient) *demoClient {
	jar, _ := cookiejar.New(nil)
	return &demoClient{t: d.t, srv: d.srv, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (d *demoClient) cookie(name string) *http.Cookie {
	u, _ := url.Parse(d.srv.URL)
	for _, c := range d.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestDemoRemember: "Remember me" sets Flask-Login's remember cookie; that
// cookie alone logs the user in; /logout deletes it.
func TestDemoRemember(t *testing.T) {
	d := startDemo(t, map[string]string{"SECRET_KEY": "dev-secret-key"})
	d.do("POST", "/login", url.Values{"username": {"bob"}})
	if d.cookie("remember_token") != nil {
		t.Error("remember cookie without remember=1")
	}
	d.do("POST", "/login", url.Values{"username": {"alice"}, "remember": {"1"}})
	rc := d.cookie("remember_token")
	if rc == nil || !strings.HasPrefix(rc.Value, "alice|") {
		t.Fatalf("remember cookie: %+v", rc)
	}
	b := startDemoClient(d)
	u, _ := url.Parse(d.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "remember_token", Value: rc.Value}})
	if _, body := b.do("GET", "/", nil); !strings.Contains(body, "Logged in as alice") {
		t.Errorf("remember cookie alone: %s", body)
	}
	if _, body := b.do("GET", "/logout", nil); !strings.Contains(body, "You are not logged in") || b.cookie("remember_token") != nil {
		t.Errorf("after logout: cookie %v, %s", b.cookie("remember_token"), body)
	}
	c := startDemoClient(d)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "remember_token", Value: "alice|" + strings.Repeat("0", 128)}})
	if _, body := c.do("GET", "/", nil); !strings.Contains(body, "You are not logged in") {
		t.Errorf("forged remember cookie: %s", body)
	}
}
