package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flasklogin"
	"github.com/coatcheck/coatcheck/flaskwtf"
	"github.com/coatcheck/coatcheck/taggedjson"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func demoCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	withMetrics := fs.Bool("metrics", false, "serve the session layer's OpenTelemetry metrics as Prometheus text at /metrics")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, st, err := loadConfig(ctx, env)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	defer st.close()
	decodeHint := `coatcheck cookie decode --key "$SECRET_KEY" COOKIE`
	if cfg.SecretKey == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		cfg.SecretKey = hex.EncodeToString(b)
		log.Warn("no SECRET_KEY set: using a random key; sessions will not survive a restart")
		decodeHint = "coatcheck cookie decode --key " + cfg.SecretKey + " COOKIE"
	}
	cfg.Logger = log
	var metrics http.Handler
	if *withMetrics {
		obs, h, stop, err := demoMetrics()
		if err != nil {
			fmt.Fprintln(stderr, "coatcheck:", err)
			return 1
		}
		defer stop()
		cfg.Observer, metrics = obs, h
	}
	m, err := coatcheck.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	opts, err := demoOptionsFromEnv(env, cfg.SecretKey)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	app := demoHandlerWith(m, opts)
	if metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		mux.Handle("/", app)
		app = mux
	}
	srv := &http.Server{Handler: accessLog(log, app), ReadHeaderTimeout: 10 * time.Second}
	log.Info("coatcheck demo listening", "url", "http://"+ln.Addr().String()+"/", "sessions", st.desc)
	if st.store == nil {
		fmt.Fprintln(stderr, "coatcheck: the session lives in the signed cookie; to read one: "+decodeHint)
	} else {
		fmt.Fprintln(stderr, "coatcheck: sessions are stored in "+st.desc+"; list them: coatcheck sessions list (same environment)")
	}
	if metrics != nil {
		fmt.Fprintln(stderr, "coatcheck: metrics at http://"+ln.Addr().String()+"/metrics")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return 0
	}
}

// accessLog logs one line per request.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes, "duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status, bytes int
	wrote         bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} · Coatcheck demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}
.flash{padding:.5em 1em;border-radius:4px;background:#eef6ee;border:1px solid #9c9}
.flash.error{background:#fbeaea;border-color:#d99}nav a{margin-right:1em}</style></head>
<body>
<nav><a href="/">Home</a><a href="/dashboard">Dashboard</a><a href="/counter">Counter</a><a href="/get_session">Session JSON</a>{{if .User}}<a href="/logout">Log out</a>{{else}}<a href="/login">Log in</a>{{end}}</nav>
{{range .Flashes}}<p class="flash {{.Category}}" role="status">{{.Message}}</p>{{end}}
<h1>{{.Title}}</h1>
{{.Body}}
</body></html>
`))

type pageData struct {
	Title   string
	User    string
	Flashes []coatcheck.Flash
	Body    template.HTML
}

func render(w http.ResponseWriter, s *coatcheck.Session, title string, body template.HTML) {
	user, _ := currentUser(s)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, pageData{Title: title, User: user, Flashes: s.Flashes(), Body: body})
}

// currentUser reads the demo's "username", or Flask-Login's "_user_id".
func currentUser(s *coatcheck.Session) (string, bool) {
	if name, ok := coatcheck.Value[string](s, "username"); ok && name != "" {
		return name, true
	}
	if id, ok := s.Get("_user_id"); ok && id != nil {
		return fmt.Sprint(id), true
	}
	return "", false
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// demoOptions are the demo's optional Flask extensions.
type demoOptions struct {
	// csrf, when set (WTF_CSRF_ENABLED=true), wraps the routes in
	// flaskwtf.Protect and puts the token into the login form.
	csrf *flaskwtf.Config
}

// demoOptionsFromEnv reads WTF_CSRF_ENABLED (default false) and, when it is
// true, the WTF_CSRF_* settings (flaskwtf.ConfigFromMap; the key is
// WTF_CSRF_SECRET_KEY or the session's SECRET_KEY).
func demoOptionsFromEnv(env lookupEnv, secretKey string) (demoOptions, error) {
	var opts demoOptions
	v, ok := env("WTF_CSRF_ENABLED")
	if !ok || v == "" {
		return opts, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return opts, fmt.Errorf("WTF_CSRF_ENABLED %q: want true or false", v)
	}
	if !on {
		return opts, nil
	}
	vals := map[string]string{"SECRET_KEY": secretKey}
	for _, k := range []string{"WTF_CSRF_SECRET_KEY", "WTF_CSRF_TIME_LIMIT", "WTF_CSRF_FIELD_NAME",
		"WTF_CSRF_HEADERS", "WTF_CSRF_METHODS", "WTF_CSRF_SSL_STRICT"} {
		if v, ok := env(k); ok {
			vals[k] = v
		}
	}
	c, err := flaskwtf.ConfigFromMap(vals)
	if err != nil {
		return opts, err
	}
	opts.csrf = &c
	return opts, nil
}

// demoHandler is the login/logout example of Flask's tutorials, and a few
// routes to look at the session.
func demoHandler(m *coatcheck.Manager) http.Handler { return demoHandlerWith(m, demoOptions{}) }

// demoHandlerWith is demoHandler with options. Flask-Login's remember cookie
// (flasklogin.Remember, SESSION_PROTECTION off so sessions without a login
// are left as they are) is always on when SECRET_KEY is latin-1.
func demoHandlerWith(m *coatcheck.Manager, opts demoOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		if user, ok := currentUser(s); ok {
			render(w, s, "Home", template.HTML("<p>Logged in as "+esc(user)+"</p>"))
			return
		}
		render(w, s, "Home", `<p>You are not logged in</p><p><a href="/login">Log in</a></p>`)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		hidden := ""
		if opts.csrf != nil {
			tok, err := flaskwtf.Token(r)
			if err != nil {
				http.Error(w, "CSRF token: "+err.Error(), http.StatusInternalServerError)
				return
			}
			hidden = `<input type="hidden" name="csrf_token" value="` + esc(tok) + `">` + "\n"
		}
		render(w, coatcheck.FromRequest(r), "Log in", template.HTML(`<form method="post" action="/login">
`+hidden+`<label>Username <input type="text" name="username" autofocus required></label>
<label><input type="checkbox" name="remember" value="1"> Remember me</label>
<button type="submit">Log in</button></form>`))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("username")
		s := coatcheck.FromRequest(r)
		if name == "" {
			s.FlashCategory("error", "Please enter a username")
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		s.Renew() // a new session id at login (session fixation)
		s.Set("username", name)
		s.SetPermanent(true)
		if r.FormValue("remember") == "1" {
			// Flask-Login's login_user(user, remember=True), user id = name.
			if err := flasklogin.LoginUser(r, name, true, flasklogin.LoginOptions{}); err != nil {
				m.HandleError(w, r, err)
				return
			}
		}
		s.Flash("You were logged in")
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		// Issue 8.10: the logged-in session must not outlive the logout. Clear
		// + Renew deletes the stored entry (and its id) at save; the new
		// session carries only the flash, which Flask apps sharing the
		// session also show. (Destroy would drop the flash with the entry.)
		s := coatcheck.FromRequest(r)
		s.Clear()
		s.Renew()
		_ = flasklogin.LogoutUser(r) // _remember = "clear" if a remember cookie came
		s.Flash("You were logged out")
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		user, ok := currentUser(s)
		if !ok {
			s.FlashCategory("error", "Please log in to see the dashboard")
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		render(w, s, "Dashboard", template.HTML("<p>Welcome to your dashboard, "+esc(user)+".</p>"))
	})
	mux.HandleFunc("/counter", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		n, _ := coatcheck.Value[int64](s, "counter")
		n++
		s.Set("counter", n)
		render(w, s, "Counter", template.HTML("<p>You have visited this page "+strconv.FormatInt(n, 10)+" times.</p>"))
	})
	mux.HandleFunc("/set_session", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		key, value := r.FormValue("key"), r.FormValue("value")
		if key == "" {
			key, value = "example", "Hello from Coatcheck"
		}
		s.Set(key, value)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "session[%q] = %q\n", key, value)
	})
	mux.HandleFunc("/get_session", func(w http.ResponseWriter, r *http.Request) {
		b, err := taggedjson.Marshal(coatcheck.FromRequest(r).All())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
	})
	mux.HandleFunc("/delete_session", func(w http.ResponseWriter, r *http.Request) {
		key := r.FormValue("key")
		if key == "" {
			key = "example"
		}
		_, ok := coatcheck.FromRequest(r).Pop(key)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "deleted %q: %v\n", key, ok)
	})
	mux.HandleFunc("/clear_session", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Clear()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "session cleared\n")
	})
	mux.HandleFunc("/set_cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "demo_cookie", Value: "cookie-value", Path: "/", MaxAge: 3600,
			Expires: time.Now().Add(time.Hour), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "demo_cookie set (Max-Age 3600 and Expires in one hour)\n")
	})
	mux.HandleFunc("/delete_cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "demo_cookie", Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0)})
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "demo_cookie deleted\n")
	})
	var h http.Handler = mux
	if opts.csrf != nil {
		h = flaskwtf.Protect(*opts.csrf, h)
	}
	key := m.Config().SecretKey
	if _, err := flasklogin.EncodeCookie("", key); err == nil && key != "" {
		h = flasklogin.Remember(flasklogin.Config{SecretKey: key, SessionProtection: "none"}, h)
	}
	return m.Handler(h)
}
