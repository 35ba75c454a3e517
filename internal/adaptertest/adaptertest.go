// Package adaptertest holds the tests every framework adapter module
// (ginsession, echosession, fibersession) shares: a cookie-keeping client
// and the seeds' login story. It is internal to the repository's modules.
package adaptertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/memstore"
)

// Client sends requests to H and keeps the session cookie between them.
type Client struct {
	H      http.Handler
	Cookie string
}

// Do sends one request (form encoded in the body) and returns the status,
// the body and the response headers.
func (cl *Client) Do(method, path string, form url.Values) (int, string, http.Header) {
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cl.Cookie != "" {
		req.Header.Set("Cookie", cl.Cookie)
	}
	rec := httptest.NewRecorder()
	cl.H.ServeHTTP(rec, req)
	res := rec.Result()
	if c := res.Cookies(); len(c) > 0 {
		cl.Cookie = c[0].Name + "=" + c[0].Value
		if c[0].MaxAge < 0 {
			cl.Cookie = ""
		}
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

// LoginStory runs the seeds' login example against the app newApp builds,
// on cookie sessions and on a memstore: not logged in, POST /login (Renew,
// Set, Flash) → 303, the flash shown once, /logout (Destroy) deletes the
// cookie; every Set-Cookie carries Vary: Cookie. The app shows flashes as
// "[msg] " before "Logged in as NAME".
func LoginStory(t *testing.T, newApp func(t *testing.T, store coatcheck.Store) http.Handler) {
	for _, tc := range []struct {
		name  string
		store coatcheck.Store
	}{{"cookie", nil}, {"memstore", memstore.New(memstore.Options{})}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := &Client{H: newApp(t, tc.store)}
			want := func(method, path string, form url.Values, code int, body string) {
				t.Helper()
				got, b, h := cl.Do(method, path, form)
				if got != code || !strings.Contains(b, body) {
					t.Fatalf("%s %s = %d %q, want %d %q", method, path, got, b, code, body)
				}
				if h.Get("Set-Cookie") != "" && !strings.Contains(h.Get("Vary"), "Cookie") {
					t.Fatalf("%s %s: Set-Cookie without Vary: Cookie: %v", method, path, h)
				}
			}
			want("GET", "/", nil, 200, "You are not logged in")
			want("POST", "/login", url.Values{"username": {"alice"}}, 303, "")
			if cl.Cookie == "" {
				t.Fatal("no session cookie after login")
			}
			want("GET", "/", nil, 200, "[You were logged in] Logged in as alice")
			want("GET", "/", nil, 200, "Logged in as alice")
			if _, b, _ := cl.Do("GET", "/", nil); strings.Contains(b, "You were logged in") {
				t.Fatalf("flash shown twice: %q", b)
			}
			want("POST", "/logout", nil, 303, "")
			if cl.Cookie != "" {
				t.Fatal("cookie kept after logout")
			}
			want("GET", "/", nil, 200, "You are not logged in")
		})
	}
}
