package flaskwtf_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskwtf"
)

func ExampleProtect() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := flaskwtf.Token(r) // {{ csrf_token() }}
		fmt.Fprint(w, tok)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "saved") })
	cfg := flaskwtf.Config{SecretKey: "dev"}
	h := coatcheck.MustNew(coatcheck.Config{SecretKey: "dev"}).Handler(flaskwtf.Protect(cfg, mux))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/form", nil))
	tok, cookie := w.Body.String(), w.Result().Cookies()[0]

	post := func(form url.Values) string {
		r := httptest.NewRequest("POST", "/form", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return fmt.Sprint(w.Code, " ", strings.TrimSpace(w.Body.String()))
	}
	fmt.Println(post(url.Values{}))
	fmt.Println(post(url.Values{"csrf_token": {tok}}))
	// Output:
	// 400 Bad Request: The CSRF token is missing.
	// 200 saved
}
