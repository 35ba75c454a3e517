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
	// encode signs data at now.
	encode(data map[string]any, now time.Time) (string, error)
	// decode verifies value at now and reports when it was signed. A
	// rejected cookie returns an error that is not ErrBadPayload; a verified
	// but undecodable one wraps ErrBadPayload.
	decode(value string, now time.Time) (map[string]any, time.Time, error)
}

// cookieInterface is Flask's SecureCookieSessionInterface.
type cookieInterface struct {
	cfg   *Config
	codec cookieCodec // nil without a secret key: null sessions
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
	value, ok := cookieValue(r, ci.cfg.CookieName)
	if !ok || value == "" {
		s.isNew, s.reason = true, ErrNoSession
		ci.stampNew(s, ci.cfg.Now())
		ci.cfg.event(r.Context(), EventNew, ErrNoSession)
		return nil
	}
	cfg := ci.cfg
	now := cfg.Now()
	data, signedAt, err := ci.codec.decode(value, now)
	if err == nil && cfg.IdleTimeout > 0 && now.Sub(signedAt) > cfg.IdleTimeout {
		err = fmt.Errorf("idle timeout: signed %s ago, SESSION_IDLE_TIMEOUT is %s",
			now.Sub(signedAt).Round(time.Second), cfg.IdleTimeout)
	}
	var deadline time.Time
	if err == nil {
		deadline, _ = takeDeadline(data)
		if cfg.AbsoluteLifetime > 0 && !deadline.IsZero() && !now.Before(deadline) {
			err = errors.New("absolute session lifetime exceeded")
		}
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
	s.data, s.deadline = data, deadline
	cfg.event(r.Context(), EventLoad, nil)
	if cfg.AbsoluteLifetime > 0 && deadline.IsZero() {
		// a cookie Flask (or an earlier setting) wrote: the lifetime counts
		// from this first use, and the stamp goes out with the cookie
		ci.stampNew(s, now)
	}
	return nil
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
	if !s.deadline.IsZero() {
		s.data[deadlineKey] = s.deadline.Unix()
	}
	value, err := ci.codec.encode(s.data, now)
	delete(s.data, deadlineKey)
	if err != nil {
		return err
	}
	s.stamp = false
	var expires time.Time
	if permanent {
		expires = now.Add(cfg.PermanentLifetime)
		if !s.deadline.IsZero() && s.deadline.Before(expires) {
			expires = s.deadline
		}
	}
	if err := cfg.setCookie(h, cookieSpec{name: cfg.CookieName, value: value, expires: expires}); err != nil {
		return err
	}
	addVaryCookie(h)
	return nil
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
