package coatcheck

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"time"
	"unsafe"
)

// SessionInterface is Flask's SessionInterface: how a session is read from a
// request and written into a response. The signed-cookie interface (the
// default) and the server-side interface (Config.Store) are the built-in
// implementations; Config.Interface plugs in your own.
type SessionInterface interface {
	// Open loads the session of r. It runs lazily, the first time the
	// handler touches the session. Returning (nil, nil) gives a null session
	// (read-only and empty). An error is a failure (the request goes to the
	// error handler); a rejected cookie is not an error but a new session
	// whose Reason says why (see NewSession and SessionState).
	Open(r *http.Request) (*Session, error)

	// Save writes the session into the response headers h (Set-Cookie,
	// Vary) and persists it. It runs just before the response's first byte
	// (or when the handler returns), only for sessions that were opened.
	Save(r *http.Request, s *Session, h http.Header) error
}

// Manager holds the configuration and provides the middleware.
type Manager struct {
	cfg     Config
	iface   SessionInterface
	onError func(w http.ResponseWriter, r *http.Request, err error)
	log     *slog.Logger
	cookie  *cookieInterface // the built-in signed-cookie interface, if used
	server  *serverInterface // the built-in server-side interface, if used
}

// New returns a Manager for cfg, filling Flask's defaults. It fails on an
// invalid configuration (bad cookie name, bad codec name, unusable key).
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.logger(), onError: cfg.ErrorHandler}
	switch {
	case cfg.Interface != nil:
		m.iface = cfg.Interface
	case cfg.Store != nil:
		si, err := newServerInterface(&m.cfg)
		if err != nil {
			return nil, err
		}
		m.server, m.iface = si, si
	default:
		ci, err := newCookieInterface(&m.cfg)
		if err != nil {
			return nil, err
		}
		m.cookie, m.iface = ci, ci
	}
	if m.onError == nil {
		m.onError = m.defaultErrorHandler
	}
	return m, nil
}

// MustNew is New that panics on error, for package-level setup.
func MustNew(cfg Config) *Manager {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// Config returns the effective configuration, defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Interface returns the session interface in use.
func (m *Manager) Interface() SessionInterface { return m.iface }

type ctxKey struct{}

// FromContext returns the session of the request whose context ctx is. With
// no middleware it returns a session whose every use fails with
// ErrNoMiddleware (it never panics).
func FromContext(ctx context.Context) *Session {
	if s, ok := ctx.Value(ctxKey{}).(*Session); ok {
		return s
	}
	return detachedSession()
}

// FromRequest is FromContext(r.Context()).
func FromRequest(r *http.Request) *Session { return FromContext(r.Context()) }

// reqState is everything the middleware keeps for one request, in one
// allocation: it is the request's context (carrying the session), the
// session and the response writer wrapper.
type reqState struct {
	context.Context // the incoming request's context
	s               Session
	w               responseWriter
}

// Value returns the session for ctxKey and defers every other key.
func (st *reqState) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return &st.s
	}
	return st.Context.Value(key)
}

// Handler wraps next with session handling: the session is loaded lazily
// when next touches it, and saved just before the first byte of the
// response is written (or when next returns without writing).
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{Context: r.Context()}
		r = r.WithContext(st)
		st.s.m, st.s.r = m, r
		st.w = responseWriter{ResponseWriter: w, m: m, r: r, s: &st.s}
		next.ServeHTTP(&st.w, r)
		st.w.commit()
	})
}

// commit saves the session into the headers. It reports false when the
// session failed and the error handler answered instead.
func (m *Manager) commit(w http.ResponseWriter, r *http.Request, s *Session) bool {
	s.mu.Lock()
	if !s.loaded && m.needsSaveUnopened(r) {
		s.load() // e.g. a permanent cookie re-issued on an untouched request
	}
	opened, err, null := s.loaded, s.err, s.null
	s.mu.Unlock()
	if err == nil && opened && !null {
		err = m.iface.Save(r, s, w.Header())
	}
	if err == nil {
		return true
	}
	m.fail(w, r, err)
	return false
}

// needsSaveUnopened reports whether a request that never touched its session
// must still open it at commit. Flask re-issues a permanent cookie on every
// request when SESSION_REFRESH_EACH_REQUEST is on; knowing whether the cookie
// is permanent takes a decode, paid only when a cookie was sent.
func (m *Manager) needsSaveUnopened(r *http.Request) bool {
	if m.cookie == nil || !m.cfg.refreshEach() {
		return false
	}
	v, ok := cookieValue(r, m.cfg.CookieName)
	return ok && v != "" && mayBePermanent(v)
}

// permanentTrue is how Flask's compact tagged JSON spells a permanent session.
var permanentTrue = []byte(`"_permanent":true`)

// mayBePermanent peeks, without verifying, into an uncompressed cookie
// payload: a cookie whose JSON does not say "_permanent":true is never
// re-issued on a request that did not touch it (invalid or not, permanent or
// not), so its verification can be skipped. Compressed or unusual payloads
// report true and take the full path.
func mayBePermanent(v string) bool {
	end := strings.IndexByte(v, '.')
	if end <= 0 {
		return end == 0 // "." + zlib: decode to know; no dot: rejected anyway
	}
	p := v[:end]
	var buf [512]byte
	n := base64.RawURLEncoding.DecodedLen(len(p))
	if n > len(buf) {
		return true
	}
	n, err := base64.RawURLEncoding.Decode(buf[:n], unsafe.Slice(unsafe.StringData(p), len(p)))
	if err != nil {
		return true
	}
	return bytes.Contains(buf[:n], permanentTrue)
}

// cookieValue returns the value of the first valid cookie called name,
// exactly as r.Cookie finds it (FuzzCookieValue checks the two agree), but
// without allocating.
func cookieValue(r *http.Request, name string) (string, bool) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return "", false
	}
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxCookies {
		return "", false // net/http ignores every cookie past its limit
	}
	for _, line := range lines {
		line = textproto.TrimString(line)
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// maxCookies is net/http's default limit of cookies per request
// (GODEBUG httpcookiemaxnum).
const maxCookies = 3000

// validCookieValue is net/http's rule for the bytes of a cookie value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	m.onError(w, r, err)
}

// DefaultErrorHandler answers a failed session: 503 Service Unavailable when
// the store failed (ErrStoreUnavailable), 500 otherwise; the cause is logged,
// not shown.
func (m *Manager) defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	text := "Internal Server Error: the session could not be saved or loaded."
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		status = http.StatusServiceUnavailable
		text = "Service Unavailable: the session store cannot be reached. Please retry shortly."
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
		text = "Conflict: the session was changed by another request at the same time. Please retry."
	}
	m.log.Error("coatcheck: session failure", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}

// --- cookie headers --------------------------------------------------------

// cookieSpec is what a session interface asks the response to carry.
type cookieSpec struct {
	name, value string
	expires     time.Time // zero: session cookie
	delete      bool
}

// formatSetCookie renders a Set-Cookie value in Werkzeug's attribute order:
// name=value; Domain; Expires; Max-Age; Secure; HttpOnly; Path; SameSite;
// Partitioned.
func (c *Config) formatSetCookie(dst []byte, sp cookieSpec) []byte {
	dst = append(dst, sp.name...)
	dst = append(dst, '=')
	dst = append(dst, sp.value...)
	if c.CookieDomain != "" {
		dst = append(dst, "; Domain="...)
		dst = append(dst, c.CookieDomain...)
	}
	switch {
	case sp.delete:
		dst = append(dst, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"...)
	case !sp.expires.IsZero():
		dst = append(dst, "; Expires="...)
		dst = sp.expires.UTC().AppendFormat(dst, http.TimeFormat)
	}
	if c.CookieSecure {
		dst = append(dst, "; Secure"...)
	}
	if c.httpOnly() {
		dst = append(dst, "; HttpOnly"...)
	}
	dst = append(dst, "; Path="...)
	dst = append(dst, c.CookiePath...)
	switch c.CookieSameSite {
	case http.SameSiteStrictMode:
		dst = append(dst, "; SameSite=Strict"...)
	case http.SameSiteLaxMode:
		dst = append(dst, "; SameSite=Lax"...)
	case http.SameSiteNoneMode:
		dst = append(dst, "; SameSite=None"...)
	}
	if c.CookiePartitioned {
		dst = append(dst, "; Partitioned"...)
	}
	return dst
}

// setCookie adds the Set-Cookie header, enforcing MaxCookieSize.
func (c *Config) setCookie(h http.Header, sp cookieSpec) error {
	line := c.formatSetCookie(make([]byte, 0, len(sp.value)+128), sp)
	if c.MaxCookieSize > 0 && len(line) > c.MaxCookieSize {
		return &CookieTooLargeError{Name: sp.name, Size: len(line), Limit: c.MaxCookieSize}
	}
	h.Add("Set-Cookie", string(line))
	return nil
}

// CookieTooLargeError is the ErrCookieTooLarge failure with its numbers.
type CookieTooLargeError struct {
	Name        string
	Size, Limit int
}

func (e *CookieTooLargeError) Error() string {
	return "coatcheck: the " + strconvQuote(e.Name) + " cookie is too large: " + itoa(e.Size) +
		" bytes with its attributes, the limit (MAX_COOKIE_SIZE) is " + itoa(e.Limit) +
		"; browsers would silently drop it — keep less in the session or use a server-side store"
}

// Is makes errors.Is(err, ErrCookieTooLarge) true.
func (e *CookieTooLargeError) Is(target error) bool { return target == ErrCookieTooLarge }

// addVaryCookie adds "Cookie" to Vary once.
func addVaryCookie(h http.Header) {
	vs := h["Vary"]
	for _, v := range vs {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			if p = textproto.TrimString(p); p == "*" || strings.EqualFold(p, "Cookie") {
				return
			}
		}
	}
	h["Vary"] = append(vs, "Cookie")
}
