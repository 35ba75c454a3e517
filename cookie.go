package coatcheck

import (
	"encoding/binary"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// This file holds the cookie header code shared by every session interface:
// finding the session cookie in a request, rendering Set-Cookie in
// Werkzeug's form, and Vary.

// cookieValue returns the value of the first valid cookie called name,
// exactly as r.Cookie finds it (FuzzCookieValue checks the two agree), but
// without allocating.
func cookieValue(r *http.Request, name string) (string, bool) {
	v, _, ok := cachedCookieValue(r, name, nil)
	return v, ok
}

// cachedCookieValue is cookieValue looking each candidate up in cache
// first: a value the cache holds was valid when it went in (it verified),
// so its bytes need no second check, and its entry comes back with it.
func cachedCookieValue(r *http.Request, name string, cache *cookieCache) (string, *cachedCookie, bool) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return "", nil, false
	}
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxCookies {
		return "", nil, false // net/http ignores every cookie past its limit
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
			if cache != nil {
				if e := cache.get(v); e != nil {
					return v, e, true
				}
			}
			if validCookieValue(v) {
				return v, nil, true
			}
		}
	}
	return "", nil, false
}

// maxCookies is net/http's default limit of cookies per request
// (GODEBUG httpcookiemaxnum).
const maxCookies = 3000

// validCookieValue is net/http's rule for the bytes of a cookie value: no
// control bytes, no DEL or non-ASCII, no '"', ';' or '\\'. It tests eight
// bytes at a time (a session cookie is hundreds of bytes, and every request
// that opens a session checks it).
func validCookieValue(v string) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	b := unsafe.Slice(unsafe.StringData(v), len(v))
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, semi, bs, del := x^('"'*ones), x^(';'*ones), x^('\\'*ones), x^(0x7f*ones)
		bad := (x - 0x20*ones) &^ x // a byte < 0x20 (exact for "any")
		bad |= x                    // a byte >= 0x80
		bad |= (q - ones) &^ q      // a byte equal to '"'
		bad |= (semi - ones) &^ semi
		bad |= (bs - ones) &^ bs
		bad |= (del - ones) &^ del
		if bad&high != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// cookieSpec is what a session interface asks the response to carry.
type cookieSpec struct {
	name, value string
	expires     time.Time // zero: session cookie
	delete      bool
}

// appendCookieAttrs appends the attributes after name=value, in Werkzeug's
// order: Domain; Expires; Max-Age; Secure; HttpOnly; Path; SameSite;
// Partitioned.
func (c *Config) appendCookieAttrs(dst []byte, sp cookieSpec) []byte {
	if c.CookieDomain != "" {
		dst = append(dst, "; Domain="...)
		dst = append(dst, c.CookieDomain...)
	}
	switch {
	case sp.delete:
		dst = append(dst, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"...)
	case !sp.expires.IsZero():
		dst = append(dst, "; Expires="...)
		dst = appendHTTPDate(dst, sp.expires)
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

// lastHTTPDate is the last Expires rendered: every permanent cookie set in
// the same second carries the same date, and formatting one costs more than
// the rest of the line.
var lastHTTPDate atomic.Pointer[httpDate]

type httpDate struct {
	sec  int64
	text string
}

// appendHTTPDate appends t in http.TimeFormat (whole seconds, GMT).
func appendHTTPDate(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	if d := lastHTTPDate.Load(); d != nil && d.sec == sec {
		return append(dst, d.text...)
	}
	start := len(dst)
	dst = t.UTC().AppendFormat(dst, http.TimeFormat)
	lastHTTPDate.Store(&httpDate{sec: sec, text: string(dst[start:])})
	return dst
}

// cookieLine is one Set-Cookie header value, with the header's value slice
// and the text's buffer in one allocation (a logged-in session's line fits;
// a longer one grows into a second).
type cookieLine struct {
	vals [1]string
	buf  [448]byte
}

// cookieLine starts a Set-Cookie line: the caller appends the value to
// line, then hands both to addCookieLine.
func (c *Config) cookieLine(name string) (cl *cookieLine, line []byte) {
	cl = new(cookieLine)
	line = append(cl.buf[:0], name...)
	return cl, append(line, '=')
}

// setCookie adds the Set-Cookie header for sp, enforcing MaxCookieSize.
func (c *Config) setCookie(h http.Header, sp cookieSpec) error {
	cl, line := c.cookieLine(sp.name)
	return c.addCookieLine(h, cl, append(line, sp.value...), sp)
}

// addCookieLine finishes line (name=value so far) with sp's attributes and
// adds it to h, enforcing MaxCookieSize.
func (c *Config) addCookieLine(h http.Header, cl *cookieLine, line []byte, sp cookieSpec) error {
	line = c.appendCookieAttrs(line, sp)
	if c.MaxCookieSize > 0 && len(line) > c.MaxCookieSize {
		return &CookieTooLargeError{Name: sp.name, Size: len(line), Limit: c.MaxCookieSize}
	}
	// line is a buffer nothing writes again: the header value is a view of
	// it, not a copy
	v := unsafe.String(unsafe.SliceData(line), len(line))
	if old := h["Set-Cookie"]; len(old) > 0 {
		h["Set-Cookie"] = append(old, v)
		return nil
	}
	cl.vals[0] = v
	h["Set-Cookie"] = cl.vals[:1:1] // capped: a later Add copies it
	return nil
}

// varyCookie is the Vary value of most responses, shared so that saving a
// session does not allocate it. Header values are never modified in place
// (net/http replaces or appends), and the capacity cap makes an append copy.
var varyCookie = []string{"Cookie"}

// addVaryCookie adds "Cookie" to Vary, merged into the existing header as
// Werkzeug's response.vary.add does: a response that already says
// "Vary: Accept-Encoding" answers one line "Vary: Accept-Encoding, Cookie".
// Nothing changes when Vary already names Cookie or is "*".
func addVaryCookie(h http.Header) {
	vs := h["Vary"]
	if len(vs) == 0 {
		h["Vary"] = varyCookie[:1:1] // shared, capped: an Add copies it
		return
	}
	for _, v := range vs {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			if p = textproto.TrimString(p); p == "*" || strings.EqualFold(p, "Cookie") {
				return
			}
		}
	}
	var b strings.Builder
	for _, v := range vs {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			if p = textproto.TrimString(p); p != "" {
				b.WriteString(p)
				b.WriteString(", ")
			}
		}
	}
	b.WriteString("Cookie")
	h["Vary"] = []string{b.String()}
}
