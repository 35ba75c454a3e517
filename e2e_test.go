package coatcheck

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/itsdangerous"
)

// loginApp is Flask's canonical login example, in Go.
func loginApp(m *Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		for _, f := range s.Flashes() {
			fmt.Fprintf(w, "[%s] %s\n", f.Category, f.Message)
		}
		if name, ok := Value[string](s, "username"); ok {
			fmt.Fprintf(w, "Logged in as %s", name)
			return
		}
		io.WriteString(w, "You are not logged in")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		s.Renew()
		s.Set("username", r.FormValue("username"))
		s.Flash("You were logged in")
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		s.Pop("username")
		s.Flash("You were logged out")
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/reason", func(w http.ResponseWriter, r *http.Request) {
		reason := FromRequest(r).Reason()
		switch {
		case reason == nil:
			io.WriteString(w, "loaded")
		case errors.Is(reason, itsdangerous.ErrSignatureExpired):
			io.WriteString(w, "expired")
		case errors.Is(reason, ErrInvalidSession):
			io.WriteString(w, "invalid")
		case errors.Is(reason, ErrNoSession):
			io.WriteString(w, "none")
		}
	})
	return m.Handler(mux)
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestCookieLoginLogoutEndToEnd(t *testing.T) {
	m := MustNew(Config{SecretKey: "dev-secret-key", CookieSecure: true, Logger: discardLogger()})
	srv := httptest.NewTLSServer(loginApp(m))
	defer srv.Close()
	c := srv.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar

	if got := get(t, c, srv.URL+"/"); got != "You are not logged in" {
		t.Fatalf("anonymous: %q", got)
	}
	res, err := c.PostForm(srv.URL+"/login", url.Values{"username": {"<alice>"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := "[message] You were logged in\nLogged in as <alice>"; string(b) != want {
		t.Fatalf("after login: %q, want %q", b, want)
	}
	if got := get(t, c, srv.URL+"/"); got != "Logged in as <alice>" {
		t.Fatalf("flash shown twice or login lost: %q", got)
	}
	if got := get(t, c, srv.URL+"/reason"); got != "loaded" {
		t.Errorf("reason %q", got)
	}
	if got := get(t, c, srv.URL+"/logout"); got != "[message] You were logged out\nYou are not logged in" {
		t.Fatalf("after logout: %q", got)
	}
}

func TestRejectedCookieReasons(t *testing.T) {
	now := time.Unix(1700000000, 0)
	m := MustNew(Config{SecretKey: "dev-secret-key", Logger: discardLogger(), Now: func() time.Time { return now }})
	h := loginApp(m)
	for _, tt := range []struct{ cookie, want string }{
		{"", "none"},
		{"eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8", "loaded"},
		{"eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-uA", "invalid"},
		{"eyJ1c2VyX2lkIjo0Mn0.ZSsSfw.tmU2glo_wKqKw__NIsPG8hfXPaA", "expired"}, // max_age + 1 s old
		{"garbage", "invalid"},
	} {
		req := httptest.NewRequest("GET", "/reason", nil)
		if tt.cookie != "" {
			req.AddCookie(&http.Cookie{Name: "session", Value: tt.cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Body.String() != tt.want {
			t.Errorf("cookie %q: reason %q, want %q", tt.cookie, rec.Body.String(), tt.want)
		}
		if rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("cookie %q: a rejected or read-only cookie must not be re-set", tt.cookie)
		}
	}
}

func TestValidlySignedBadPayloadIs500(t *testing.T) {
	m := MustNew(Config{SecretKey: "dev-secret-key", Logger: discardLogger(), Now: func() time.Time { return time.Unix(1700000000, 0) }})
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: "e25vdCBqc29u.ZVPxAA.I1iGvtY89HXk74B-suYf6PiXH70"})
	rec := httptest.NewRecorder()
	loginApp(m).ServeHTTP(rec, req)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "not logged in") {
		t.Errorf("status %d body %q: a validly signed undecodable cookie must fail like Flask", rec.Code, rec.Body.String())
	}
}

func TestKeyRotationEndToEnd(t *testing.T) {
	old := MustNew(Config{SecretKey: "old-key-1", Logger: discardLogger()})
	rotated := MustNew(Config{SecretKey: "new-key", SecretKeyFallbacks: []string{"old-key-1"}, Logger: discardLogger()})
	cut := MustNew(Config{SecretKey: "new-key", Logger: discardLogger()})

	rec := httptest.NewRecorder()
	old.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("username", "bob")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]

	read := func(m *Manager) (string, string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		var name string
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, _ = Value[string](FromRequest(r), "username")
			FromRequest(r).MarkModified()
		})).ServeHTTP(rec, req)
		return name, rec.Result().Cookies()[0].Value
	}
	if name, resigned := read(rotated); name != "bob" {
		t.Errorf("fallback key not accepted")
	} else if n, _ := readWith(cut, resigned); n != "bob" {
		t.Errorf("re-signed cookie is not signed with the new key")
	}
	if name, _ := read(cut); name != "" {
		t.Errorf("old key accepted without fallbacks")
	}
}

func readWith(m *Manager, value string) (string, error) {
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: value})
	var name string
	var err error
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _ = Value[string](FromRequest(r), "username")
		err = FromRequest(r).Reason()
	})).ServeHTTP(httptest.NewRecorder(), req)
	return name, err
}

func TestCookieTooLarge(t *testing.T) {
	m := MustNew(Config{SecretKey: "k", Logger: discardLogger()})
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 6 KB that zlib cannot shrink below the limit
		b := make([]byte, 4500)
		_, _ = rand.Read(b)
		FromRequest(r).Set("blob", base64.StdEncoding.EncodeToString(b))
		io.WriteString(w, "ok")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || rec.Header().Get("Set-Cookie") != "" || rec.Body.String() == "ok" {
		t.Errorf("status %d, Set-Cookie %q: an oversized cookie must fail, not be sent", rec.Code, rec.Header().Get("Set-Cookie"))
	}
}

func TestUnsupportedValueFails(t *testing.T) {
	m := MustNew(Config{SecretKey: "k", Logger: discardLogger()})
	var got error
	m.onError = func(w http.ResponseWriter, r *http.Request, err error) { got = err; w.WriteHeader(500) }
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("ch", make(chan int))
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !errors.Is(got, ErrUnsupportedValue) {
		t.Errorf("status %d err %v", rec.Code, got)
	}
}
