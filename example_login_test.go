package coatcheck_test

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/coatcheck/coatcheck"
)

// loginPage is the tutorial's page: flashed messages, then who is logged in
// or the login form.
var loginPage = template.Must(template.New("page").Parse(
	`{{range .Flashes}}<p class="flash">{{.Message}}</p>{{end}}` +
		`{{if .User}}Logged in as {{.User}} <form method="post" action="/logout"><button>Log out</button></form>` +
		`{{else}}You are not logged in <a href="/login">Log in</a>{{end}}`))

// newLoginApp is the complete login app of the README's quick start: a
// login form, Renew on login (no session fixation), flashes, Destroy on
// logout, and every template error checked.
func newLoginApp(sessions *coatcheck.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		user, _ := coatcheck.Value[string](s, "username")
		data := struct {
			User    string
			Flashes []coatcheck.Flash
		}{user, s.Flashes()}
		if err := loginPage.Execute(w, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<form method="post"><input name="username"><button>Log in</button></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.FormValue("username"))
		if name == "" {
			http.Error(w, "a username is required", http.StatusBadRequest)
			return
		}
		s := coatcheck.FromRequest(r)
		s.Renew() // a new session id (or signature) on login
		s.Set("username", name)
		s.Flash("You were logged in")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Destroy() // the stored entry and the cookie go
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return mux
}

// The complete login app of the README: log in, see the flash, log out.
func Example_loginApp() {
	sessions, err := coatcheck.New(coatcheck.Config{SecretKey: "the Flask app's SECRET_KEY"})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(sessions.Handler(newLoginApp(sessions)))
	defer srv.Close()

	var cookie string
	do := func(method, path string, form url.Values) string {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		if c := res.Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
			if c[0].MaxAge < 0 {
				cookie = ""
			}
		}
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprint(res.StatusCode, " ", string(b))
	}
	fmt.Println(do("POST", "/login", url.Values{"username": {"alice"}})[:3])
	fmt.Println(do("GET", "/", nil))
	fmt.Println(do("GET", "/", nil))
	fmt.Println(do("POST", "/logout", nil)[:3])
	fmt.Println(do("GET", "/", nil))
	// Output:
	// 303
	// 200 <p class="flash">You were logged in</p>Logged in as alice <form method="post" action="/logout"><button>Log out</button></form>
	// 200 Logged in as alice <form method="post" action="/logout"><button>Log out</button></form>
	// 303
	// 200 You are not logged in <a href="/login">Log in</a>
}

// chi, and any router whose middleware is func(http.Handler) http.Handler,
// takes Handler as it is: r.Use(sessions.Handler). This shows the same
// composition with the standard library only (the root module has no
// dependencies): with chi it is
//
//	r := chi.NewRouter()
//	r.Use(sessions.Handler)
//	r.Get("/", home)
func ExampleManager_Handler_chi() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "dev"})
	var middleware func(http.Handler) http.Handler = sessions.Handler // chi.Middlewares element type
	h := middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("visits", 1)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(strings.HasPrefix(rec.Header().Get("Set-Cookie"), "session="))
	// Output: true
}
