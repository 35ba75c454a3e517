// Package adminui is Coatcheck's operator web page: list the sessions of a
// server-side store (paged, filtered by user), look at one (values redacted
// unless asked), revoke a session or every session of a user, and see at a
// glance the sessions per user, when sessions expire and how fast the store
// answers.
//
// It is never open by default: New refuses to build a handler without a
// token (COATCHECK_ADMIN_TOKEN for the coatcheck command) or an Authorize
// function. A token holder signs in with the token on the page's form (or
// sends it as a bearer token or as the Basic-auth password); the page then
// keeps an HttpOnly, SameSite=Strict cookie holding an HMAC of the token,
// never the token. Every form carries a CSRF token bound to that cookie and
// is checked against the Origin header; responses carry a strict Content
// Security Policy (no script at all), X-Frame-Options DENY, no-referrer and
// no-store. Session ids travel only in POST bodies, never in URLs, so they
// stay out of access logs.
//
// Mount it under a prefix with http.StripPrefix, behind your own TLS:
//
//	h, err := adminui.New(adminui.Config{Manager: sessions, Token: os.Getenv("COATCHECK_ADMIN_TOKEN")})
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
package adminui

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/pyval"
)

// Config configures the page.
type Config struct {
	// Manager is the server-side Manager whose store the page shows.
	Manager *coatcheck.Manager

	// Token is the shared secret an operator signs in with. Required unless
	// Authorize is set; at least 16 characters.
	Token string

	// Authorize, when set, decides instead of Token whether a request may
	// use the page (for apps with their own operator authentication).
	// Forms are still CSRF-protected.
	Authorize func(r *http.Request) bool

	// PageSize is the number of sessions a list page shows. Default 50.
	PageSize int

	// ScanLimit bounds how many sessions the overview reads for its
	// charts and list (each one a store read). Default 10,000.
	ScanLimit int

	// Stats, when set, supplies the store latency chart; install
	// Stats.Observer() as the Manager's Config.Observer.
	Stats *Stats

	// Now is the clock. nil: time.Now.
	Now func() time.Time
}

// ErrNoToken: New was given neither a token nor an Authorize function.
var ErrNoToken = errors.New("adminui: refusing to serve the operator page without a token (set COATCHECK_ADMIN_TOKEN) or an Authorize function")

type handler struct {
	cfg   Config
	admin *coatcheck.Admin
	key   []byte // HMAC key derived from the token (or random with Authorize)
	mux   *http.ServeMux
}

const cookieName = "coatcheck_admin"

// New returns the operator page's handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Manager == nil || cfg.Manager.Admin() == nil {
		return nil, errors.New("adminui: Config.Manager must be a Manager with a server-side Store")
	}
	if cfg.Authorize == nil {
		if cfg.Token == "" {
			return nil, ErrNoToken
		}
		if len(cfg.Token) < 16 {
			return nil, errors.New("adminui: the token must be at least 16 characters")
		}
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.ScanLimit <= 0 {
		cfg.ScanLimit = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sum := sha256.Sum256([]byte("coatcheck adminui v1\x00" + cfg.Token))
	h := &handler{cfg: cfg, admin: cfg.Manager.Admin(), key: sum[:], mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /login", h.loginForm)
	h.mux.HandleFunc("POST /login", h.login)
	h.mux.HandleFunc("POST /logout", h.logout)
	h.mux.HandleFunc("POST /session", h.show)
	h.mux.HandleFunc("POST /revoke-session", h.revokeSession)
	h.mux.HandleFunc("POST /revoke-user", h.revokeUser)
	h.mux.HandleFunc("GET /app.css", h.css)
	return h, nil
}

func (h *handler) mac(purpose string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// authorized reports whether r may use the page.
func (h *handler) authorized(r *http.Request) bool {
	if h.cfg.Authorize != nil {
		return h.cfg.Authorize(r)
	}
	if c, err := r.Cookie(cookieName); err == nil && hmac.Equal([]byte(c.Value), []byte(h.mac("session"))) {
		return true
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		return h.tokenOK(strings.TrimPrefix(a, "Bearer "))
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return h.tokenOK(pw)
	}
	return false
}

func (h *handler) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(h.cfg.Token)) == 1
}

// csrf is the form token: bound to the sign-in cookie (or, with Authorize,
// to the page's key).
func (h *handler) csrf() string { return h.mac("csrf") }

func (h *handler) checkForm(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-origin form refused", http.StatusForbidden)
			return false
		}
	}
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(h.csrf())) {
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return false
	}
	return true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if r.URL.Path != "/login" && r.URL.Path != "/app.css" && !h.authorized(r) {
		if r.Method == http.MethodGet && h.cfg.Authorize == nil {
			http.Redirect(w, r, "login", http.StatusSeeOther)
			return
		}
		hd.Set("WWW-Authenticate", `Bearer realm="coatcheck admin"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, "login", map[string]any{"Error": r.URL.Query().Get("e") != ""})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-origin form refused", http.StatusForbidden)
			return
		}
	}
	if h.cfg.Authorize != nil || !h.tokenOK(r.PostFormValue("token")) {
		http.Redirect(w, r, "login?e=1", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: h.mac("session"), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 8 * 3600})
	http.Redirect(w, r, "./", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.checkForm(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "login", http.StatusSeeOther)
}

// row is one session in the list.
type row struct {
	ID, Short, User string
	Keys            int
	Expires         string
	Bad             bool
}

// overview is the main page: charts and the (filtered, paged) list.
func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	user := strings.TrimSpace(q.Get("user"))
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	now := h.cfg.Now()
	var ids []string
	expiries := map[string]time.Time{}
	truncated := false
	var err error
	if user != "" {
		ids, err = h.admin.ListUser(ctx, user)
		if errors.Is(err, coatcheck.ErrNotSupported) {
			ids, err = h.scanUser(ctx, user)
		}
	} else {
		err = h.admin.List(ctx, func(id string, exp time.Time) bool {
			if len(ids) >= h.cfg.ScanLimit {
				truncated = true
				return false
			}
			ids = append(ids, id)
			expiries[id] = exp
			return true
		})
	}
	data := map[string]any{"User": user, "Msg": q.Get("msg"), "CSRF": h.csrf(), "Truncated": truncated,
		"ScanLimit": h.cfg.ScanLimit, "Authorize": h.cfg.Authorize != nil}
	if err != nil {
		data["Error"] = err.Error()
		h.render(w, "overview", data)
		return
	}
	sort.Strings(ids)
	// charts from every listed session (bounded by ScanLimit)
	perUser := map[string]int{}
	var buckets [5]int
	var rows []row
	start := (page - 1) * h.cfg.PageSize
	for i, id := range ids {
		inPage := i >= start && i < start+h.cfg.PageSize
		if !inPage && user != "" {
			continue
		}
		d, found, gerr := h.admin.Get(ctx, id)
		if !found && gerr == nil {
			continue
		}
		u := userOf(d)
		if u != "" {
			perUser[u]++
		}
		exp := expiries[id]
		buckets[bucket(exp, now)]++
		if inPage {
			rw := row{ID: id, Short: shortID(id), User: u, Keys: len(d), Bad: gerr != nil}
			if !exp.IsZero() {
				rw.Expires = exp.UTC().Format("2006-01-02 15:04 UTC")
			}
			rows = append(rows, rw)
		}
	}
	data["Rows"] = rows
	data["Total"] = len(ids)
	data["Page"], data["Pages"] = page, max(1, (len(ids)+h.cfg.PageSize-1)/h.cfg.PageSize)
	if page > 1 {
		data["Prev"] = pageURL(user, page-1)
	}
	if start+h.cfg.PageSize < len(ids) {
		data["Next"] = pageURL(user, page+1)
	}
	data["UserChart"] = barChart(topUsers(perUser, 10))
	data["ExpiryChart"] = barChart([]bar{{"< 1 hour", buckets[0]}, {"< 1 day", buckets[1]}, {"< 7 days", buckets[2]}, {"< 31 days", buckets[3]}, {"later / none", buckets[4]}})
	if h.cfg.Stats != nil {
		data["LatencyChart"] = h.cfg.Stats.chart()
	}
	h.render(w, "overview", data)
}

// scanUser finds a user's sessions by reading every session, for stores
// without the per-user index.
func (h *handler) scanUser(ctx context.Context, user string) ([]string, error) {
	var ids []string
	var all []string
	if err := h.admin.List(ctx, func(id string, _ time.Time) bool {
		all = append(all, id)
		return len(all) < h.cfg.ScanLimit
	}); err != nil {
		return nil, err
	}
	for _, id := range all {
		if d, found, err := h.admin.Get(ctx, id); err == nil && found && userOf(d) == user {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func pageURL(user string, page int) string {
	v := url.Values{"page": {strconv.Itoa(page)}}
	if user != "" {
		v.Set("user", user)
	}
	return "?" + v.Encode()
}

func bucket(exp, now time.Time) int {
	if exp.IsZero() {
		return 4
	}
	switch d := exp.Sub(now); {
	case d < time.Hour:
		return 0
	case d < 24*time.Hour:
		return 1
	case d < 7*24*time.Hour:
		return 2
	case d < 31*24*time.Hour:
		return 3
	}
	return 4
}

// userOf names the session's user as the per-user index does.
func userOf(d map[string]any) string {
	for _, k := range []string{"_user_id", "username"} {
		if v, ok := d[k]; ok && v != nil && v != "" {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// shortID shows the start of an id: enough to tell sessions apart on the
// page, not enough to use one.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:6] + "…"
	}
	return id
}

// detail is one key of a shown session.
type detail struct{ Key, Value string }

func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	if !h.checkForm(w, r) {
		return
	}
	id := r.PostFormValue("id")
	reveal := r.PostFormValue("reveal") == "1"
	d, found, err := h.admin.Get(r.Context(), id)
	data := map[string]any{"ID": id, "Short": shortID(id), "Reveal": reveal, "CSRF": h.csrf(), "Found": found, "User": userOf(d)}
	if err != nil {
		data["Error"] = err.Error()
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows []detail
	for _, k := range keys {
		v := redact(d[k])
		if reveal {
			v = pyval.Repr(d[k])
		}
		rows = append(rows, detail{k, v})
	}
	data["Rows"] = rows
	h.render(w, "session", data)
}

// redact describes a value without showing it.
func redact(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case string:
		return fmt.Sprintf("str, %d characters", len([]rune(x)))
	case []byte:
		return fmt.Sprintf("bytes, %d", len(x))
	case []any:
		return fmt.Sprintf("list, %d items", len(x))
	case map[string]any:
		return fmt.Sprintf("dict, %d keys", len(x))
	}
	return fmt.Sprintf("%T", v)
}

func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request) {
	if !h.checkForm(w, r) {
		return
	}
	msg := "Session revoked."
	if err := h.admin.Delete(r.Context(), r.PostFormValue("id")); err != nil {
		msg = "Revoke failed: " + err.Error()
	}
	http.Redirect(w, r, "./?"+url.Values{"msg": {msg}}.Encode(), http.StatusSeeOther)
}

func (h *handler) revokeUser(w http.ResponseWriter, r *http.Request) {
	if !h.checkForm(w, r) {
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	n, err := h.admin.RevokeUser(r.Context(), user)
	if errors.Is(err, coatcheck.ErrNotSupported) {
		n, err = h.admin.DeleteWhere(r.Context(), func(_ string, d map[string]any) bool { return userOf(d) == user })
	}
	msg := fmt.Sprintf("Revoked %d sessions of %s.", n, user)
	if err != nil {
		msg += " Error: " + err.Error()
	}
	http.Redirect(w, r, "./?"+url.Values{"msg": {msg}}.Encode(), http.StatusSeeOther)
}

func (h *handler) css(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write([]byte(css))
}

func (h *handler) render(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
	}
}

// --- charts -------------------------------------------------------------

type bar struct {
	Label string
	N     int
}

// chartBar is one drawn bar of an SVG chart.
type chartBar struct {
	Label    string
	N        int
	Y, Width int
	TextY    int
}

type chartData struct {
	Bars   []chartBar
	Height int
	Empty  bool
}

func barChart(bars []bar) chartData {
	max := 0
	for _, b := range bars {
		if b.N > max {
			max = b.N
		}
	}
	c := chartData{Height: 24*len(bars) + 4, Empty: max == 0}
	for i, b := range bars {
		wdt := 0
		if max > 0 {
			wdt = b.N * 280 / max
		}
		c.Bars = append(c.Bars, chartBar{Label: b.Label, N: b.N, Y: 24*i + 2, Width: wdt, TextY: 24*i + 17})
	}
	return c
}

func topUsers(per map[string]int, n int) []bar {
	var bars []bar
	for u, c := range per {
		bars = append(bars, bar{u, c})
	}
	sort.Slice(bars, func(i, j int) bool {
		if bars[i].N != bars[j].N {
			return bars[i].N > bars[j].N
		}
		return bars[i].Label < bars[j].Label
	})
	if len(bars) > n {
		bars = bars[:n]
	}
	return bars
}

// Stats collects store latencies for the page's latency chart. Install
// Observer() as the Manager's Config.Observer (or call Record from yours).
type Stats struct {
	mu  sync.Mutex
	ops map[coatcheck.StoreOp]*latencies
}

type latencies struct {
	n      int
	recent [256]time.Duration // a ring of the latest calls
	errs   int
}

// NewStats returns an empty collector.
func NewStats() *Stats { return &Stats{ops: map[coatcheck.StoreOp]*latencies{}} }

// Observer returns a coatcheck.Observer that records every store call.
func (s *Stats) Observer() *coatcheck.Observer {
	return &coatcheck.Observer{StoreCall: func(_ context.Context, c coatcheck.StoreCall) { s.Record(c) }}
}

// Record adds one store call.
func (s *Stats) Record(c coatcheck.StoreCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.ops[c.Op]
	if l == nil {
		l = &latencies{}
		s.ops[c.Op] = l
	}
	l.recent[l.n%len(l.recent)] = c.Duration
	l.n++
	if c.Err != nil {
		l.errs++
	}
}

// chart draws the p50 and p99 of the recent calls per operation, in
// microseconds.
func (s *Stats) chart() chartData {
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := make([]string, 0, len(s.ops))
	for op := range s.ops {
		ops = append(ops, string(op))
	}
	sort.Strings(ops)
	var bars []bar
	for _, op := range ops {
		l := s.ops[coatcheck.StoreOp(op)]
		n := min(l.n, len(l.recent))
		d := append([]time.Duration(nil), l.recent[:n]...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		p := func(q float64) int { return int(d[int(q*float64(n-1))] / time.Microsecond) }
		bars = append(bars, bar{op + " p50 µs", p(0.5)}, bar{op + " p99 µs", p(0.99)})
	}
	return barChart(bars)
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Coatcheck sessions</title><link rel="stylesheet" href="app.css"></head><body><header><h1>Coatcheck sessions</h1></header><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}
{{define "chart"}}{{if .Empty}}<p class="muted">No data yet.</p>{{else}}<svg class="chart" viewBox="0 0 520 {{.Height}}" width="100%" role="img">{{range .Bars}}<text x="0" y="{{.TextY}}" class="label">{{.Label}}</text><rect x="180" y="{{.Y}}" width="{{.Width}}" height="18" class="bar"></rect><text x="{{.Width}}" dx="186" y="{{.TextY}}" class="n">{{.N}}</text>{{end}}</svg>{{end}}{{end}}
{{define "login"}}{{template "head"}}
<section class="card"><h2>Sign in</h2>{{if .Error}}<p class="error" id="error">Wrong token.</p>{{end}}
<form method="post" action="login"><label>Admin token <input type="password" name="token" id="token" autocomplete="off" required></label> <button id="signin">Sign in</button></form></section>
{{template "foot"}}{{end}}
{{define "overview"}}{{template "head"}}
{{if not .Authorize}}<form method="post" action="logout" class="right"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Sign out</button></form>{{end}}
{{if .Msg}}<p class="msg" id="msg">{{.Msg}}</p>{{end}}
{{if .Error}}<p class="error">{{.Error}}</p>{{else}}
<div class="grid">
<section class="card"><h2>Sessions per user</h2>{{template "chart" .UserChart}}</section>
<section class="card"><h2>Expiry</h2>{{template "chart" .ExpiryChart}}</section>
{{with .LatencyChart}}<section class="card"><h2>Store latency</h2>{{template "chart" .}}</section>{{end}}
</div>
<section class="card"><h2 id="total">{{.Total}} sessions{{if .User}} of {{.User}}{{end}}</h2>{{if .Truncated}}<p class="muted">Only the first {{.ScanLimit}} are shown.</p>{{end}}
<form method="get" action="./" class="inline"><label>User <input name="user" id="user" value="{{.User}}"></label> <button id="filter">Filter</button></form>
{{if .User}}<form method="post" action="revoke-user" class="inline"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="user" value="{{.User}}"><button id="revoke-user" class="danger">Revoke every session of {{.User}}</button></form>{{end}}
<table><thead><tr><th>Session</th><th>User</th><th>Keys</th><th>Expires</th><th></th></tr></thead><tbody>
{{range .Rows}}<tr class="session"><td><code>{{.Short}}</code></td><td class="user">{{.User}}</td><td>{{.Keys}}{{if .Bad}} (undecodable){{end}}</td><td>{{.Expires}}</td>
<td><form method="post" action="session" class="inline"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button>Show</button></form>
<form method="post" action="revoke-session" class="inline"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button class="danger">Revoke</button></form></td></tr>{{end}}
</tbody></table>
<p>Page {{.Page}} of {{.Pages}} {{if .Prev}}<a href="{{.Prev}}">previous</a>{{end}} {{if .Next}}<a href="{{.Next}}" id="next">next</a>{{end}}</p></section>{{end}}
{{template "foot"}}{{end}}
{{define "session"}}{{template "head"}}
<p><a href="./">All sessions</a></p>
<section class="card"><h2>Session <code>{{.Short}}</code>{{if .User}} of {{.User}}{{end}}</h2>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}{{if not .Found}}<p>This session no longer exists.</p>{{else}}
<table><thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>{{range .Rows}}<tr><td><code>{{.Key}}</code></td><td class="value">{{.Value}}</td></tr>{{end}}</tbody></table>
{{if not .Reveal}}<form method="post" action="session"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="reveal" value="1"><button id="reveal">Show values</button></form>{{end}}
<form method="post" action="revoke-session"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button class="danger">Revoke this session</button></form>{{end}}</section>
{{template "foot"}}{{end}}
`))

const css = `body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 24px}header h1{font-size:18px;margin:0}
main{padding:16px 24px;max-width:1100px}.card{background:#fff;border-radius:8px;padding:12px 16px;margin:0 0 16px;box-shadow:0 1px 2px #0002}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:16px}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e5ea}
.inline{display:inline}.right{float:right}button{cursor:pointer}.danger{color:#a1161e}.msg{background:#e6f4ea;padding:8px;border-radius:6px}
.error{background:#fde7e9;padding:8px;border-radius:6px}.muted{color:#667}.chart .bar{fill:#3b6fd8}.chart text{font-size:12px;fill:#1d2330}
code{font-family:ui-monospace,monospace}`
