package coatcheck_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coatcheck/coatcheck"
)

// The login example every Flask tutorial shows, with sessions Flask can read.
func Example() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "dev-secret-key"})

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if name, ok := coatcheck.Value[string](coatcheck.FromRequest(r), "username"); ok {
			fmt.Fprintf(w, "Logged in as %s", name)
			return
		}
		io.WriteString(w, "You are not logged in")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Renew() // new session on login (fixation)
		s.Set("username", r.FormValue("username"))
		http.Redirect(w, r, "/", http.StatusFound)
	})
	handler := sessions.Handler(mux)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login?username=alice", nil)
	handler.ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0]

	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: Logged in as alice
}

// A cookie is byte-identical to the one Flask sets for the same data, key
// and time.
func ExampleManager_Handler() {
	sessions := coatcheck.MustNew(coatcheck.Config{
		SecretKey: "dev-secret-key",
		Now:       func() time.Time { return time.Unix(1700000000, 0) },
	})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("user_id", 42)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Header().Get("Set-Cookie"))
	fmt.Println(rec.Header().Get("Vary"))
	// Output:
	// session=eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8; HttpOnly; Path=/
	// Cookie
}

// Flashed messages travel in the session exactly as Flask stores them.
func ExampleSession_Flashes() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "k"})
	rec := httptest.NewRecorder()
	sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).FlashCategory("error", "Invalid password")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range coatcheck.FromRequest(r).Flashes() {
			fmt.Println(f.Category, f.Message)
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
	// Output: error Invalid password
}

// Value converts stored numbers to the Go type asked for.
func ExampleValue() {
	s := coatcheck.NewSession(map[string]any{"user_id": int64(42)}, false)
	id, ok := coatcheck.Value[int](s, "user_id")
	fmt.Println(id, ok)
	// Output: 42 true
}
