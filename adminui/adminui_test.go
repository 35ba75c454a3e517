package adminui_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/adminui"
	"github.com/coatcheck/coatcheck/memstore"
)

const token = "0123456789abcdef-admin"

type env struct {
	app, admin *httptest.Server
	m          *coatcheck.Manager
	stats      *adminui.Stats
}

func newEnv(t *testing.T) *env {
	t.Helper()
	stats := adminui.NewStats()
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	m := coatcheck.MustNew(coatcheck.Config{Store: st, Observer: stats.Observer(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Renew()
		s.Set("username", r.FormValue("u"))
		s.Set("secret", "hunter2")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if u, ok := coatcheck.Value[string](coatcheck.FromRequest(r), "username"); ok {
			io.WriteString(w, "Logged in as "+u)
			return
		}
		io.WriteString(w, "You are not logged in")
	})
	app := httptest.NewServer(m.Handler(mux))
	t.Cleanup(app.Close)
	h, err := adminui.New(adminui.Config{Manager: m, Token: token, Stats: stats, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(h)
	t.Cleanup(admin.Close)
	return &env{app: app, admin: admin, m: m, stats: stats}
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
var idRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

func TestRefusesWithoutToken(t *testing.T) {
	m := coatcheck.MustNew(coatcheck.Config{Store: memstore.New(memstore.Options{CleanupInterval: -1})})
	if _, err := adminui.New(adminui.Config{Manager: m}); !errors.Is(err, adminui.ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
	if _, err := adminui.New(adminui.Config{Manager: m, Token: "short"}); err == nil {
		t.Error("a short token was accepted")
	}
	if _, err := adminui.New(adminui.Config{Manager: coatcheck.MustNew(coatcheck.Config{SecretKey: "k"}), Token: token}); err == nil {
		t.Error("a cookie-session Manager was accepted")
	}
}

func TestOperatorPage(t *testing.T) {
	e := newEnv(t)
	users := []string{"alice", "alice", "bob"}
	var userClients []*http.Client
	for _, u := range users {
		c := client()
		get(t, c, e.app.URL+"/login?u="+u)
		userClients = append(userClients, c)
	}
	// anonymous: sent to the sign-in form; POSTs refused
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if res, _ := get(t, anon, e.admin.URL+"/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous GET: %d", res.StatusCode)
	}
	if res, _ := post(t, anon, e.admin.URL+"/revoke-user", url.Values{"user": {"alice"}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d", res.StatusCode)
	}
	// bearer works; security headers
	req, _ := http.NewRequest("GET", e.admin.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("bearer: %d %v", res.StatusCode, res.Header)
	}
	// sign in with the token
	op := client()
	if _, body := post(t, op, e.admin.URL+"/login", url.Values{"token": {"wrong-token-wrong-token"}}); !strings.Contains(body, "Wrong token") {
		t.Error("a wrong token was not refused")
	}
	_, body := post(t, op, e.admin.URL+"/login", url.Values{"token": {token}})
	if !strings.Contains(body, "3 sessions") || !strings.Contains(body, "Sessions per user") || !strings.Contains(body, "Store latency") {
		t.Fatalf("overview:\n%s", body)
	}
	if strings.Contains(body, "hunter2") {
		t.Error("a session value is shown on the overview")
	}
	for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		for _, id := range idRe.FindAllStringSubmatch(body, -1) {
			if strings.Contains(href[1], id[1]) {
				t.Errorf("a session id in a link: %s", href[1])
			}
		}
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]
	// paging: 2 per page
	if _, p2 := get(t, op, e.admin.URL+"/?page=2"); !strings.Contains(p2, "Page 2 of 2") {
		t.Errorf("page 2:\n%s", p2)
	}
	// filter by user, show one (redacted, then revealed)
	_, fb := get(t, op, e.admin.URL+"/?user=alice")
	if !strings.Contains(fb, "2 sessions of alice") {
		t.Fatalf("filter:\n%s", fb)
	}
	id := idRe.FindStringSubmatch(fb)[1]
	_, shown := post(t, op, e.admin.URL+"/session", url.Values{"csrf": {csrf}, "id": {id}})
	if strings.Contains(shown, "hunter2") || !strings.Contains(shown, "str, 7 characters") {
		t.Errorf("redacted view:\n%s", shown)
	}
	if _, rv := post(t, op, e.admin.URL+"/session", url.Values{"csrf": {csrf}, "id": {id}, "reveal": {"1"}}); !strings.Contains(rv, "hunter2") {
		t.Errorf("revealed view lacks the value")
	}
	// CSRF and cross-origin refused
	if res, _ := post(t, op, e.admin.URL+"/revoke-user", url.Values{"user": {"alice"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", res.StatusCode)
	}
	xo, _ := http.NewRequest("POST", e.admin.URL+"/revoke-user", strings.NewReader(url.Values{"csrf": {csrf}, "user": {"alice"}}.Encode()))
	xo.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	xo.Header.Set("Origin", "http://evil.example")
	if res, err := op.Do(xo); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin: %v %v", res, err)
	}
	// revoke alice everywhere: her clients are logged out, bob is not
	_, after := post(t, op, e.admin.URL+"/revoke-user", url.Values{"csrf": {csrf}, "user": {"alice"}})
	if !strings.Contains(after, "Revoked 2 sessions of alice") {
		t.Errorf("revoke-user:\n%s", after)
	}
	for i, c := range userClients {
		want := "You are not logged in"
		if users[i] == "bob" {
			want = "Logged in as bob"
		}
		if _, b := get(t, c, e.app.URL+"/"); b != want {
			t.Errorf("%s's client after revoke: %q", users[i], b)
		}
	}
	// revoke one session
	ids, _ := e.m.Admin().ListUser(context.Background(), "bob")
	post(t, op, e.admin.URL+"/revoke-session", url.Values{"csrf": {csrf}, "id": {ids[0]}})
	if _, b := get(t, userClients[2], e.app.URL+"/"); b != "You are not logged in" {
		t.Errorf("bob after revoke-session: %q", b)
	}
}
