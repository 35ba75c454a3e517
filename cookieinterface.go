package coatcheck

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// cookieCodec signs session data into a cookie value and back: Flask's
// URLSafeTimedSerializer over tagged JSON (package flaskcookie).
type cookieCodec interface {
	// encode signs data at now.
	encode(data map[string]any, now time.Time) (string, error)
	// decode verifies value at now. A rejected cookie returns an error that
	// is not ErrBadPayload; a verified but undecodable one wraps ErrBadPayload.
	decode(value string, now time.Time) (map[string]any, error)
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
	codec, err := newFlaskCookieCodec(cfg)
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
		return nil
	}
	data, err := ci.codec.decode(value, ci.cfg.Now())
	if err != nil {
		if errors.Is(err, ErrBadPayload) {
			return err
		}
		ci.cfg.logger().Debug("coatcheck: session cookie rejected", "path", r.URL.Path, "err", err)
		s.isNew, s.reason = true, fmt.Errorf("%w: %w", ErrInvalidSession, err)
		return nil
	}
	s.data = data
	return nil
}

// Save implements SessionInterface with Flask's save_session rules: Vary:
// Cookie when accessed; an emptied session deletes the cookie; otherwise the
// cookie is (re)sent when modified, or when permanent and
// RefreshEachRequest; permanent cookies carry Expires.
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
	if !s.modified && !(permanent && cfg.refreshEach()) {
		return nil
	}
	now := cfg.Now()
	value, err := ci.codec.encode(s.data, now)
	if err != nil {
		return err
	}
	var expires time.Time
	if permanent {
		expires = now.Add(cfg.PermanentLifetime)
	}
	if err := cfg.setCookie(h, cookieSpec{name: cfg.CookieName, value: value, expires: expires}); err != nil {
		return err
	}
	addVaryCookie(h)
	return nil
}
