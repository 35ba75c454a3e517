package flaskwtf

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coatcheck/coatcheck"
)

// The SSL-strict referrer reasons, as CSRFProtect.protect gives them.
var (
	ErrReferrerMissing  = errors.New("The referrer header is missing.")
	ErrReferrerMismatch = errors.New("The referrer does not match the host.")
)

// ErrNoSecretKey is returned when Config has no secret key.
var ErrNoSecretKey = errors.New("flaskwtf: no WTF_CSRF_SECRET_KEY or SECRET_KEY")

// ErrNoConfig is returned by Token when the request did not pass Protect.
var ErrNoConfig = errors.New("flaskwtf: Token called outside Protect (use TokenFor)")

// ErrConfig wraps a bad value given to ConfigFromMap.
var ErrConfig = errors.New("flaskwtf: bad config")

// Config is Flask-WTF's CSRFProtect configuration. Every zero value means
// Flask-WTF's default.
type Config struct {
	// SecretKey is WTF_CSRF_SECRET_KEY, else SECRET_KEY. Required.
	SecretKey string
	// TimeLimit is WTF_CSRF_TIME_LIMIT; 0 means 3600 s.
	TimeLimit time.Duration
	// NoTimeLimit is WTF_CSRF_TIME_LIMIT = None: tokens never expire.
	NoTimeLimit bool
	// FieldName is WTF_CSRF_FIELD_NAME, the form field and the session key;
	// "" means "csrf_token".
	FieldName string
	// Headers is WTF_CSRF_HEADERS; nil means X-CSRFToken, X-CSRF-Token.
	Headers []string
	// Methods is WTF_CSRF_METHODS; nil means POST, PUT, PATCH, DELETE.
	Methods []string
	// NoSSLStrict is WTF_CSRF_SSL_STRICT = False; by default (false) an
	// HTTPS request must carry a same-origin Referer.
	NoSSLStrict bool
	// ExemptPaths are URL paths never checked (csrf.exempt).
	ExemptPaths []string
	// ErrorHandler answers a rejected request; nil writes 400 with the
	// reason as text/plain, like CSRFError's default page. err is one of
	// the Err* reasons above (errors.Is).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

func (c Config) fieldName() string {
	if c.FieldName == "" {
		return "csrf_token"
	}
	return c.FieldName
}

func (c Config) timeLimit() time.Duration {
	switch {
	case c.NoTimeLimit:
		return 0
	case c.TimeLimit == 0:
		return 3600 * time.Second
	}
	return c.TimeLimit
}

func (c Config) headers() []string {
	if c.Headers == nil {
		return []string{"X-CSRFToken", "X-CSRF-Token"}
	}
	return c.Headers
}

func (c Config) protected(method string) bool {
	ms := c.Methods
	if ms == nil {
		ms = []string{"POST", "PUT", "PATCH", "DELETE"}
	}
	for _, m := range ms {
		if strings.EqualFold(m, method) {
			return true
		}
	}
	return false
}

// ConfigFromMap reads the Flask config names WTF_CSRF_SECRET_KEY,
// SECRET_KEY, WTF_CSRF_TIME_LIMIT (seconds, or "none"), WTF_CSRF_FIELD_NAME,
// WTF_CSRF_HEADERS and WTF_CSRF_METHODS (comma-separated) and
// WTF_CSRF_SSL_STRICT (true/false). Absent names keep the defaults.
func ConfigFromMap(m map[string]string) (Config, error) {
	var c Config
	c.SecretKey = m["SECRET_KEY"]
	if v, ok := m["WTF_CSRF_SECRET_KEY"]; ok && v != "" {
		c.SecretKey = v
	}
	if v, ok := m["WTF_CSRF_TIME_LIMIT"]; ok {
		if strings.EqualFold(v, "none") {
			c.NoTimeLimit = true
		} else {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("%w: WTF_CSRF_TIME_LIMIT %q: seconds > 0 or none", ErrConfig, v)
			}
			c.TimeLimit = time.Duration(n * float64(time.Second))
		}
	}
	if v, ok := m["WTF_CSRF_FIELD_NAME"]; ok && v != "" {
		c.FieldName = v
	}
	list := func(v string) []string {
		var out []string
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		if out == nil {
			out = []string{}
		}
		return out
	}
	if v, ok := m["WTF_CSRF_HEADERS"]; ok {
		c.Headers = list(v)
	}
	if v, ok := m["WTF_CSRF_METHODS"]; ok {
		c.Methods = list(strings.ToUpper(v))
	}
	if v, ok := m["WTF_CSRF_SSL_STRICT"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%w: WTF_CSRF_SSL_STRICT %q", ErrConfig, v)
		}
		c.NoSSLStrict = !b
	}
	return c, nil
}

type cfgKey struct{}

// Token is generate_csrf for a request that passed Protect: it stores a raw
// token in the session under the field name unless one is there, and
// returns the signed form token.
func Token(r *http.Request) (string, error) {
	c, ok := r.Context().Value(cfgKey{}).(*Config)
	if !ok {
		return "", ErrNoConfig
	}
	return TokenFor(r, *c)
}

// TokenFor is Token with an explicit Config (no Protect needed).
func TokenFor(r *http.Request, c Config) (string, error) {
	if c.SecretKey == "" {
		return "", ErrNoSecretKey
	}
	s := coatcheck.FromRequest(r)
	key := c.fieldName()
	v, _ := s.Get(key)
	raw, ok := v.(string)
	if !ok || raw == "" {
		raw = NewRaw()
		s.Set(key, raw)
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("flaskwtf: session: %w", err)
	}
	return Sign(raw, c.SecretKey, time.Now())
}

// Protect is CSRFProtect: for the protected methods it reads the token from
// the form field (or a field ending in the field name), then the headers,
// validates it against the session in validate_csrf's order and, on HTTPS
// unless NoSSLStrict, checks the Referer is same-origin. It must run inside
// coatcheck's middleware. It panics if c has no secret key (a setup error).
func Protect(c Config, next http.Handler) http.Handler {
	if c.SecretKey == "" {
		panic(ErrNoSecretKey)
	}
	exempt := make(map[string]bool, len(c.ExemptPaths))
	for _, p := range c.ExemptPaths {
		exempt[p] = true
	}
	fail := c.ErrorHandler
	if fail == nil {
		fail = func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "Bad Request: "+err.Error(), http.StatusBadRequest)
		}
	}
	cp := c
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), cfgKey{}, &cp))
		if c.protected(r.Method) && !exempt[r.URL.Path] {
			if err := c.check(r); err != nil {
				fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c Config) submitted(r *http.Request) string {
	name := c.fieldName()
	_ = r.ParseMultipartForm(32 << 20) // also parses urlencoded bodies
	if v := r.PostForm.Get(name); v != "" {
		return v
	}
	for k, vs := range r.PostForm {
		if strings.HasSuffix(k, name) && len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	for _, h := range c.headers() {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	return ""
}

func (c Config) check(r *http.Request) error {
	v, _ := coatcheck.FromRequest(r).Get(c.fieldName())
	raw, _ := v.(string)
	if err := Validate(c.submitted(r), raw, c.SecretKey, c.timeLimit(), time.Now()); err != nil {
		return err
	}
	if r.TLS != nil && !c.NoSSLStrict {
		ref := r.Referer()
		if ref == "" {
			return ErrReferrerMissing
		}
		if !sameOrigin(ref, "https://"+r.Host+"/") {
			return ErrReferrerMismatch
		}
	}
	return nil
}

// sameOrigin is Flask-WTF's same_origin: scheme, host name and port equal.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) &&
		strings.EqualFold(ua.Hostname(), ub.Hostname()) && ua.Port() == ub.Port()
}
