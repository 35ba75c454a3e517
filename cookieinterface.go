package coatcheck

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unsafe"
)

// cookieCodec signs session data into a cookie value and back: Flask's
// URLSafeTimedSerializer over tagged JSON (package flaskcookie).
type cookieCodec interface {
	// appendEncode appends the cookie value of data signed at now to dst.
	appendEncode(dst []byte, data map[string]any, now time.Time) ([]byte, error)
	// decode verifies value at now and reports when it was signed. A
	// rejected cookie returns an error that is not ErrBadPayload; a verified
	// but undecodable one wraps ErrBadPayload.
	decode(value string, now time.Time) (map[string]any, time.Time, error)
	// fresh reports whether a cookie signed at signedAt is still young
	// enough at now: decode's age rule, for cached cookies.
	fresh(signedAt, now time.Time) bool
	// appendResign appends value, a cookie decode accepted, signed anew at
	// now without encoding the data again; false: encode instead.
	appendResign(dst []byte, value string, now time.Time) ([]byte, bool)
}

// cookieInterface is Flask's SecureCookieSessionInterface.
type cookieInterface struct {
	cfg   *Config
	codec cookieCodec  // nil without a secret key: null sessions
	cache *cookieCache // verified cookies; nil when disabled
	// sameKey: the signing key is the only key, so a cookie that verified
	// is signed with it (re-signing in the same second changes nothing)
	sameKey bool
}

func newCookieInterface(cfg *Config) (*cookieInterface, error) {
	ci := &cookieInterface{cfg: cfg}
	if cfg.SecretKey == "" {
		cfg.logger().Warn("coatcheck: no SECRET_KEY: sessions are read-only and empty")
		return ci, nil
	}
	newCodec := newFlaskCookieCodec
	if cfg.EncryptCookies {
		newCodec = newEncryptedCookieCodec
	}
	codec, err := newCodec(cfg)
	if err != nil {
		return nil, err
	}
	ci.codec = codec
	ci.cache = newCookieCache(cfg.CookieCacheSize)
	ci.sameKey = len(cfg.SecretKeyFallbacks) == 0
	return ci, nil
}

// Open implements SessionInterface.
func (ci *cookieInterface) Open(r *http.Request) (*Session, error) {
	s := &Session{loaded: true}
	if err := ci.openInto(r, s); err != nil {
		return nil, err
	}
	if s.null {
		return nil, nil
	}
	return s, nil
}

func (ci *cookieInterface) openInto(r *http.Request, s *Session) error {
	if ci.codec == nil {
		s.null = true
		return nil
	}
	value, e, ok := cachedCookieValue(r, ci.cfg.CookieName, ci.cache)
	if !ok || value == "" {
		s.isNew, s.reason = true, ErrNoSession
		ci.stampNew(s, ci.cfg.Now())
		ci.cfg.event(r.Context(), EventNew, ErrNoSession)
		return nil
	}
	cfg := ci.cfg
	now := cfg.Now()
	c, shared, err := ci.verify(value, e, now)
	if err == nil && cfg.IdleTimeout > 0 && now.Sub(c.signedAt) > cfg.IdleTimeout {
		err = fmt.Errorf("idle timeout: signed %s ago, SESSION_IDLE_TIMEOUT is %s",
			now.Sub(c.signedAt).Round(time.Second), cfg.IdleTimeout)
	}
	if err == nil && cfg.AbsoluteLifetime > 0 && !c.deadline.IsZero() && !now.Before(c.deadline) {
		err = errors.New("absolute session lifetime exceeded")
	}
	if err != nil {
		if errors.Is(err, ErrBadPayload) {
			return err
		}
		cfg.logger().Debug("coatcheck: session cookie rejected", "path", r.URL.Path, "err", err)
		s.isNew, s.reason = true, fmt.Errorf("%w: %w", ErrInvalidSession, err)
		ci.stampNew(s, now)
		cfg.event(r.Context(), EventNew, s.reason)
		return nil
	}
	s.data, s.deadline, s.cookie, s.cached = c.data, c.deadline, value, shared
	cfg.event(r.Context(), EventLoad, nil)
	if cfg.AbsoluteLifetime > 0 && c.deadline.IsZero() {
		// a cookie Flask (or an earlier setting) wrote: the lifetime counts
		// from this first use, and the stamp goes out with the cookie
		ci.stampNew(s, now)
	}
	return nil
}

// verify checks and decodes value at now; cached is its verified-cookie
// cache entry, if any. shared, when not nil, is the cache's entry holding
// the result, whose data the session must copy before any change.
func (ci *cookieInterface) verify(value string, cached *cachedCookie, now time.Time) (c cachedCookie, shared *cachedCookie, err error) {
	if cached != nil && ci.codec.fresh(cached.signedAt, now) {
		return *cached, cached, nil
	}
	data, signedAt, err := ci.codec.decode(value, now)
	if err != nil {
		return c, nil, err
	}
	deadline, _ := takeDeadline(data)
	c = cachedCookie{data: data, signedAt: signedAt, deadline: deadline}
	if ci.cache != nil {
		if size, ok := cacheCost(data); ok {
			shared = &cachedCookie{data: data, signedAt: signedAt, deadline: deadline, size: size}
			ci.cache.put(value, shared)
		}
	}
	return c, shared, nil
}

// stampNew starts the absolute lifetime of s at now.
func (ci *cookieInterface) stampNew(s *Session, now time.Time) {
	if ci.cfg.AbsoluteLifetime > 0 {
		s.deadline, s.stamp = now.Add(ci.cfg.AbsoluteLifetime), true
	}
}

// Save implements SessionInterface with Flask's save_session rules: Vary:
// Cookie when accessed; an emptied session deletes the cookie; otherwise the
// cookie is (re)sent when modified, or when permanent and
// RefreshEachRequest; permanent cookies carry Expires. With IdleTimeout the
// cookie of every opened session is re-signed (its signing time is the
// idle clock); with AbsoluteLifetime the deadline travels in the data.
func (ci *cookieInterface) Save(r *http.Request, s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ci.saveLocked(s, h)
}

// saveLocked is Save for a caller that holds s.mu (the middleware's commit).
func (ci *cookieInterface) saveLocked(s *Session, h http.Header) error {
	cfg := ci.cfg
	if s.accessed {
		addVaryCookie(h)
	}
	if len(s.data) == 0 {
		if s.modified {
			addVaryCookie(h)
			return cfg.setCookie(h, cookieSpec{name: cfg.CookieName, delete: true})
		}
		return nil
	}
	permanent := truthy(s.data[PermanentKey])
	if !s.modified && !s.stamp && !(permanent && cfg.refreshEach()) && cfg.IdleTimeout == 0 {
		return nil
	}
	now := cfg.Now()
	var expires time.Time
	if permanent {
		expires = now.Add(cfg.PermanentLifetime)
		if !s.deadline.IsZero() && s.deadline.Before(expires) {
			expires = s.deadline
		}
	}
	cl, line := cfg.cookieLine(cfg.CookieName)
	line, err := ci.appendSigned(line, s, now)
	if err != nil {
		return err
	}
	s.stamp = false
	if err := cfg.addCookieLine(h, cl, line, cookieSpec{name: cfg.CookieName, expires: expires}); err != nil {
		return err
	}
	addVaryCookie(h)
	return nil
}

// appendSigned appends the cookie value of s at now to dst. A session whose
// data is still the cached, verified cookie's (unchanged, not stamped) is
// re-signed from its cookie without encoding it again — or, in the second
// it was signed, sent back as it came — and the new value joins the cache.
func (ci *cookieInterface) appendSigned(dst []byte, s *Session, now time.Time) ([]byte, error) {
	if e := s.cached; e != nil && !s.modified && !s.stamp {
		if ci.sameKey && now.Unix() == e.signedAt.Unix() {
			return append(dst, s.cookie...), nil
		}
		start := len(dst)
		if b, ok := ci.codec.appendResign(dst, s.cookie, now); ok {
			v := string(b[start:]) // the cache's own copy: dst is the header's
			ci.cache.put(v, &cachedCookie{data: e.data, signedAt: now.Truncate(time.Second), deadline: e.deadline, size: e.size})
			return b, nil
		}
	}
	s.own() // the deadline stamp goes into the data for a moment
	if !s.deadline.IsZero() {
		s.data[deadlineKey] = s.deadline.Unix()
	}
	b, err := ci.codec.appendEncode(dst, s.data, now)
	delete(s.data, deadlineKey)
	return b, err
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
