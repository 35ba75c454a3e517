package flasklogin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flasklogin"
)

func ExampleRemember() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = flasklogin.LoginUser(r, "alice", true, flasklogin.LoginOptions{})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		id, ok := flasklogin.UserID(r)
		fmt.Fprint(w, id, " ", ok)
	})
	h := coatcheck.MustNew(coatcheck.Config{SecretKey: "dev"}).
		Handler(flasklogin.Remember(flasklogin.Config{SecretKey: "dev"}, mux))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	var remember *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "remember_token" {
			remember = c
		}
	}
	// A new browser session with only the remember cookie is logged in.
	r := httptest.NewRequest("GET", "/me", nil)
	r.AddCookie(remember)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Body.String())
	// Output: alice true
}
