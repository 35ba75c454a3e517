package flasklogin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coatcheck/coatcheck"
)

// Session keys Flask-Login uses.
const (
	KeyUserID          = "_user_id"
	KeyFresh           = "_fresh"
	KeyID              = "_id"
	KeyRemember        = "_remember"
	KeyRememberSeconds = "_remember_seconds"
)

// ErrNoSecretKey is returned when Config has no SECRET_KEY.
var ErrNoSecretKey = errors.New("flasklogin: no SECRET_KEY")

// Config is Flask-Login's remember-cookie and session-protection
// configuration. Every zero value means Flask-Login's default.
type Config struct {
	// SecretKey is SECRET_KEY (latin-1). Required.
	SecretKey string
	// CookieName is REMEMBER_COOKIE_NAME; "" means "remember_token".
	CookieName string
	// Duration is REMEMBER_COOKIE_DURATION; 0 means 365 days. A login's
	// own duration (_remember_seconds) wins.
	Duration time.Duration
	// Domain is REMEMBER_COOKIE_DOMAIN; "" means none.
	Domain string
	// Path is REMEMBER_COOKIE_PATH; "" means "/".
	Path string
	// Secure is REMEMBER_COOKIE_SECURE (default false).
	Secure bool
	// NoHTTPOnly is REMEMBER_COOKIE_HTTPONLY = False; by default the
	// cookie is HttpOnly.
	NoHTTPOnly bool
	// SameSite is REMEMBER_COOKIE_SAMESITE; 0 means no attribute.
	SameSite http.SameSite
	// RefreshEachRequest is REMEMBER_COOKIE_REFRESH_EACH_REQUEST.
	RefreshEachRequest bool
	// SessionProtection is SESSION_PROTECTION: "" or "basic" (Flask-Login's
	// default) marks a session whose _id does not match the client not
	// fresh; "strong" logs it out (unless the session is permanent, which
	// is treated as basic, as in Flask-Login); "none" disables the check.
	SessionProtection string
}

func (c Config) cookieName() string {
	if c.CookieName == "" {
		return "remember_token"
	}
	return c.CookieName
}

func (c Config) path() string {
	if c.Path == "" {
		return "/"
	}
	return c.Path
}

type cfgKey struct{}

// RequestIdentifier is Identifier for r: X-Forwarded-For, else the host
// part of RemoteAddr, and the User-Agent header (absent → None).
func RequestIdentifier(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	var ua *string
	if v := r.Header.Values("User-Agent"); len(v) > 0 {
		ua = &v[0]
	}
	return Identifier(r.Header.Get("X-Forwarded-For"), host, ua)
}

// LoginOptions are login_user's optional arguments.
type LoginOptions struct {
	// Duration is login_user's duration: the remember cookie's lifetime
	// for this login (stored as _remember_seconds); 0 means the Config's.
	Duration time.Duration
	// NotFresh is fresh=False.
	NotFresh bool
}

// LoginUser is login_user: it stores _user_id, _fresh and _id (from r's
// address and User-Agent) and, with remember, _remember = "set" (and
// _remember_seconds for a Duration), for Remember to turn into a cookie.
func LoginUser(r *http.Request, userID string, remember bool, opts LoginOptions) error {
	s := coatcheck.FromRequest(r)
	s.Set(KeyUserID, userID)
	s.Set(KeyFresh, !opts.NotFresh)
	s.Set(KeyID, RequestIdentifier(r))
	if remember {
		s.Set(KeyRemember, "set")
		if opts.Duration > 0 {
			s.Set(KeyRememberSeconds, opts.Duration.Seconds())
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("flasklogin: session: %w", err)
	}
	return nil
}

// LogoutUser is logout_user: it removes _user_id, _fresh and _id and, when
// the request carries a remember cookie, sets _remember = "clear" (and drops
// _remember_seconds) so Remember deletes it. The cookie name is the one of
// the Remember middleware r passed through ("remember_token" otherwise).
func LogoutUser(r *http.Request) error {
	s := coatcheck.FromRequest(r)
	for _, k := range []string{KeyUserID, KeyFresh, KeyID} {
		if s.Has(k) {
			s.Delete(k)
		}
	}
	name := "remember_token"
	if c, ok := r.Context().Value(cfgKey{}).(*Config); ok {
		name = c.cookieName()
	}
	if _, err := r.Cookie(name); err == nil {
		s.Set(KeyRemember, "clear")
		if s.Has(KeyRememberSeconds) {
			s.Delete(KeyRememberSeconds)
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("flasklogin: session: %w", err)
	}
	return nil
}

// UserID returns the session's _user_id ("" and false when not logged in).
func UserID(r *http.Request) (string, bool) {
	v, ok := coatcheck.FromRequest(r).Get(KeyUserID)
	if !ok || v == nil {
		return "", false
	}
	if s, ok := v.(string); ok {
		return s, true
	}
	return fmt.Sprint(v), true
}

// Remember is Flask-Login's request handling around next, which must run
// inside coatcheck's middleware. Before next: SESSION_PROTECTION
// (_session_protection_failed), then, when the session has no _user_id and
// a remember cookie arrives (and _remember is not "clear"), a valid cookie
// logs its user in (_user_id, _fresh = False, as
// _load_user_from_remember_cookie). Before the first byte of the response
// (or when next returns): _remember "set" (with a _user_id) sets the
// remember cookie, "clear" deletes it (_update_remember_cookie). Unlike
// Flask-Login, which does this lazily when current_user is read, it runs on
// every request. It panics if c has no secret key (a setup error).
func Remember(c Config, next http.Handler) http.Handler {
	if c.SecretKey == "" {
		panic(ErrNoSecretKey)
	}
	if _, err := latin1(c.SecretKey); err != nil {
		panic(err)
	}
	cp := c
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), cfgKey{}, &cp))
		s := coatcheck.FromRequest(r)
		if !c.protectionFailed(r, s) {
			if _, ok := UserID(r); !ok {
				if ck, err := r.Cookie(c.cookieName()); err == nil && !isClear(s) {
					if id, err := DecodeCookie(ck.Value, c.SecretKey); err == nil {
						s.Set(KeyUserID, id)
						s.Set(KeyFresh, false)
					}
				}
			}
		}
		rw := &rememberWriter{ResponseWriter: w, c: &cp, r: r}
		next.ServeHTTP(rw, r)
		rw.before()
	})
}

// protectionFailed is _session_protection_failed.
func (c Config) protectionFailed(r *http.Request, s *coatcheck.Session) bool {
	mode := c.SessionProtection
	if mode == "" {
		mode = "basic"
	}
	if mode != "basic" && mode != "strong" {
		return false
	}
	if s.Len() == 0 {
		return false
	}
	id, _ := s.Get(KeyID)
	if sid, ok := id.(string); ok && sid == RequestIdentifier(r) {
		return false
	}
	if mode == "basic" || s.Permanent() {
		if f, ok := s.Get(KeyFresh); !ok || f != false {
			s.Set(KeyFresh, false)
		}
		return false
	}
	for _, k := range []string{KeyUserID, KeyRemember, KeyRememberSeconds, KeyID, KeyFresh, "next"} {
		s.Delete(k)
	}
	s.Set(KeyRemember, "clear")
	return true
}

type rememberWriter struct {
	http.ResponseWriter
	c    *Config
	r    *http.Request
	done bool
}

func (w *rememberWriter) before() {
	if w.done {
		return
	}
	w.done = true
	s := coatcheck.FromRequest(w.r)
	if !s.Has(KeyRemember) && w.c.RefreshEachRequest {
		s.Set(KeyRemember, "set")
	}
	if !s.Has(KeyRemember) {
		return
	}
	op, _ := s.Pop(KeyRemember)
	switch op {
	case "set":
		id, ok := UserID(w.r)
		if !ok {
			return
		}
		d := w.c.Duration
		if d == 0 {
			d = 365 * 24 * time.Hour
		}
		if v, ok := s.Get(KeyRememberSeconds); ok {
			if sec, ok := seconds(v); ok {
				d = time.Duration(sec * float64(time.Second))
			}
		}
		val, err := EncodeCookie(id, w.c.SecretKey)
		if err != nil {
			return
		}
		http.SetCookie(w.ResponseWriter, &http.Cookie{Name: w.c.cookieName(), Value: val,
			Expires: time.Now().Add(d).UTC(), Domain: w.c.Domain, Path: w.c.path(),
			Secure: w.c.Secure, HttpOnly: !w.c.NoHTTPOnly, SameSite: w.c.SameSite})
	case "clear":
		http.SetCookie(w.ResponseWriter, &http.Cookie{Name: w.c.cookieName(), Value: "",
			Expires: time.Unix(0, 0), MaxAge: -1, Domain: w.c.Domain, Path: w.c.path()})
	}
}

func seconds(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func (w *rememberWriter) WriteHeader(code int) {
	w.before()
	w.ResponseWriter.WriteHeader(code)
}

func (w *rememberWriter) Write(b []byte) (int, error) {
	w.before()
	return w.ResponseWriter.Write(b)
}

// Flush sends the cookie first, then flushes if the writer can.
func (w *rememberWriter) Flush() {
	w.before()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *rememberWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func isClear(s *coatcheck.Session) bool {
	v, _ := s.Get(KeyRemember)
	return v == "clear"
}
