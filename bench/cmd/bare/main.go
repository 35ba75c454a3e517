// Command bare serves the demo's home page for a logged-in user with plain
// net/http and no sessions: the ceiling the demo's `/` is measured against
// (see ../../run.sh). With -log it adds the demo's access log (one slog line
// per request), to separate the cost of logging from the cost of sessions.
package main

import (
	"flag"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// page is the demo's page template (cmd/coatcheck/demo.go), unchanged.
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

type flash struct{ Category, Message string }

type pageData struct {
	Title   string
	User    string
	Flashes []flash
	Body    template.HTML
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	withLog := flag.Bool("log", false, "log every request like the demo's access log (to stderr)")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		user := "alice"
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, pageData{Title: "Home", User: user,
			Body: template.HTML("<p>Logged in as " + template.HTMLEscapeString(user) + "</p>")})
	})
	var h http.Handler = mux
	if *withLog {
		h = accessLog(slog.New(slog.NewTextHandler(os.Stderr, nil)), mux)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// accessLog is the demo's access log.
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

var _ io.Writer = (*statusWriter)(nil)
