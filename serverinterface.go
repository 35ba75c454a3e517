package coatcheck

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Codec turns session data into the bytes a Store keeps, and back. Package
// flasksession provides Flask-Session's formats (msgpack, json, pickle).
type Codec interface {
	Name() string
	Encode(data map[string]any) ([]byte, error)
	Decode(data []byte) (map[string]any, error)
}

// idSigner signs server-side session ids (SESSION_USE_SIGNER).
type idSigner interface {
	sign(id string) string
	unsign(value string) (string, error)
}

// serverInterface is Flask-Session's server-side session interface, with
// Coatcheck's fixes: lazy loading, no stored empty sessions, never adopting an
// unknown id, store failures reported, refresh without rewriting, Renew and
// Destroy, idle and absolute timeouts.
type serverInterface struct {
	cfg     *Config
	store   Store
	codec   Codec
	signer  idSigner // nil unless UseSigner
	prefix  string
	newID   func() (string, error)
	validID func(string) bool
}

func newServerInterface(cfg *Config) (*serverInterface, error) {
	sc := &cfg.Server
	si := &serverInterface{cfg: cfg, store: cfg.Store, prefix: sc.KeyPrefix}
	if si.prefix == "" && !sc.NoKeyPrefix {
		si.prefix = "session:"
	}
	if err := bindServer(cfg, si); err != nil {
		return nil, err
	}
	return si, nil
}

// Prefix returns the store key prefix (SESSION_KEY_PREFIX).
func (si *serverInterface) key(id string) string { return si.prefix + id }

func (si *serverInterface) refreshes() bool {
	return si.cfg.refreshEach() || si.cfg.Server.IdleTimeout > 0
}

// expiry is when a session used now expires in the store: now plus the idle
// timeout (or PermanentLifetime), never past the absolute deadline.
func (si *serverInterface) expiry(now, deadline time.Time) time.Time {
	life := si.cfg.PermanentLifetime
	if si.cfg.Server.IdleTimeout > 0 {
		life = si.cfg.Server.IdleTimeout
	}
	e := now.Add(life)
	if !deadline.IsZero() && deadline.Before(e) {
		e = deadline
	}
	return e
}

// fresh makes s a new session with a new id.
func (si *serverInterface) fresh(s *Session, reason error) error {
	id, err := si.newID()
	if err != nil {
		return fmt.Errorf("coatcheck: generating a session id: %w", err)
	}
	s.data = nil
	if si.cfg.Server.permanent() {
		s.data = map[string]any{PermanentKey: true}
	}
	s.isNew, s.id, s.reason, s.fromStore = true, id, reason, false
	if si.cfg.Server.AbsoluteLifetime > 0 {
		s.deadline = si.cfg.Now().Add(si.cfg.Server.AbsoluteLifetime)
	}
	return nil
}

func storeErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
}

// Open implements SessionInterface.
func (si *serverInterface) Open(r *http.Request) (*Session, error) {
	s := &Session{loaded: true}
	if err := si.openInto(r, s); err != nil {
		return nil, err
	}
	if s.null {
		return nil, nil
	}
	return s, nil
}

func (si *serverInterface) openInto(r *http.Request, s *Session) error {
	cfg := si.cfg
	if cfg.Server.UseSigner && si.signer == nil {
		s.null = true // no SECRET_KEY: null session, like Flask-Session 0.3
		return nil
	}
	id, ok := cookieValue(r, cfg.CookieName)
	if !ok || id == "" {
		return si.fresh(s, ErrNoSession)
	}
	if si.signer != nil {
		var err error
		if id, err = si.signer.unsign(id); err != nil {
			return si.fresh(s, fmt.Errorf("%w: %w", ErrInvalidSession, err))
		}
	}
	if !si.validID(id) {
		return si.fresh(s, fmt.Errorf("%w: malformed session id", ErrInvalidSession))
	}
	ctx := r.Context()
	now := cfg.Now()
	key := si.key(id)
	var data []byte
	var found, touched bool
	var err error
	if gt, ok := si.store.(GetToucher); ok && si.refreshes() && cfg.Server.AbsoluteLifetime == 0 {
		data, found, err = gt.GetAndTouch(ctx, key, si.expiry(now, time.Time{}))
		touched = true
	} else {
		data, found, err = si.store.Get(ctx, key)
	}
	if err != nil {
		return storeErr("load", err)
	}
	if !found {
		// never adopt an id the store does not know (session fixation)
		return si.fresh(s, fmt.Errorf("%w: unknown or expired session id", ErrInvalidSession))
	}
	m, err := si.codec.Decode(data)
	if err != nil {
		return fmt.Errorf("%w: stored session %q: %w", ErrBadPayload, key, err)
	}
	var deadline time.Time
	if v, ok := m[deadlineKey]; ok {
		delete(m, deadlineKey)
		if n, ok := toInt64(v); ok {
			deadline = time.Unix(n, 0)
		}
		if !deadline.IsZero() && !now.Before(deadline) {
			if err := si.store.Delete(ctx, key); err != nil {
				return storeErr("delete", err)
			}
			return si.fresh(s, fmt.Errorf("%w: absolute session lifetime exceeded", ErrInvalidSession))
		}
	}
	s.data, s.id, s.fromStore, s.touched, s.deadline = m, id, true, touched, deadline
	if _, ok := si.store.(CompareAndSetter); ok {
		s.track, s.raw = true, data
	}
	return nil
}

// empty reports Flask-Session 0.8's falsy session: no keys but _permanent.
func serverEmpty(m map[string]any) bool {
	n := len(m)
	if _, ok := m[PermanentKey]; ok {
		n--
	}
	return n == 0
}

// Save implements SessionInterface.
func (si *serverInterface) Save(r *http.Request, s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := si.cfg
	ctx := context.WithoutCancel(r.Context()) // the response is committed: finish the write
	if s.accessed {
		addVaryCookie(h)
	}
	if s.destroyed || (serverEmpty(s.data) && s.modified) {
		if s.fromStore {
			if err := si.store.Delete(ctx, si.key(s.id)); err != nil {
				return storeErr("delete", err)
			}
		}
		if _, sent := cookieValue(r, cfg.CookieName); sent || s.modified {
			addVaryCookie(h)
			return cfg.setCookie(h, cookieSpec{name: cfg.CookieName, delete: true})
		}
		return nil
	}
	if serverEmpty(s.data) {
		return nil // never store an empty session (no row per cookieless request)
	}
	now := cfg.Now()
	permanent := truthy(s.data[PermanentKey])
	if s.renewed {
		oldKey, wasStored := si.key(s.id), s.fromStore
		id, err := si.newID()
		if err != nil {
			return fmt.Errorf("coatcheck: generating a session id: %w", err)
		}
		s.id = id
		if err := si.write(ctx, s, now); err != nil {
			return err
		}
		if wasStored {
			if err := si.store.Delete(ctx, oldKey); err != nil {
				return storeErr("delete old id", err)
			}
		}
		s.fromStore, s.renewed = true, false
	} else if s.modified && s.track {
		if err := si.writeMerged(ctx, s, now); err != nil {
			return err
		}
		if s.lost {
			// another request ended this session meanwhile (logout):
			// saving would resurrect it
			addVaryCookie(h)
			return cfg.setCookie(h, cookieSpec{name: cfg.CookieName, delete: true})
		}
	} else if s.modified {
		if err := si.write(ctx, s, now); err != nil {
			return err
		}
	} else if s.fromStore && si.refreshes() && !s.touched {
		if err := si.touch(ctx, s, now); err != nil {
			return err
		}
	}
	if !s.modified && !(permanent && cfg.refreshEach()) {
		return nil
	}
	value := s.id
	if si.signer != nil {
		value = si.signer.sign(s.id)
	}
	var expires time.Time
	if permanent {
		expires = si.expiry(now, s.deadline)
	}
	if err := cfg.setCookie(h, cookieSpec{name: cfg.CookieName, value: value, expires: expires}); err != nil {
		return err
	}
	addVaryCookie(h)
	return nil
}

// encode encodes data with the session's absolute deadline.
func (si *serverInterface) encode(s *Session, data map[string]any) ([]byte, error) {
	if !s.deadline.IsZero() {
		data[deadlineKey] = s.deadline.Unix()
		defer delete(data, deadlineKey)
	}
	b, err := si.codec.Encode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return b, nil
}

func (si *serverInterface) write(ctx context.Context, s *Session, now time.Time) error {
	b, err := si.encode(s, s.data)
	if err != nil {
		return err
	}
	if err := si.store.Set(ctx, si.key(s.id), b, si.expiry(now, s.deadline)); err != nil {
		return storeErr("save", err)
	}
	return nil
}

// maxMergeAttempts bounds the compare-and-set retries of one save.
const maxMergeAttempts = 16

// writeMerged saves a modified session without losing what concurrent
// requests saved since it was loaded: compare-and-set against the bytes it
// was loaded from; on a conflict, re-read, replay this request's changes on
// the newer data, and try again. If the session was deleted meanwhile
// (logout in another request) it is not written back: s.lost.
func (si *serverInterface) writeMerged(ctx context.Context, s *Session, now time.Time) error {
	cas := si.store.(CompareAndSetter)
	key := si.key(s.id)
	old, data := s.raw, s.data
	for attempt := 0; attempt < maxMergeAttempts; attempt++ {
		b, err := si.encode(s, data)
		if err != nil {
			return err
		}
		swapped, err := cas.CompareAndSet(ctx, key, old, b, si.expiry(now, s.deadline))
		if err != nil {
			return storeErr("save", err)
		}
		if swapped {
			s.data, s.raw = data, b
			return nil
		}
		cur, found, err := si.store.Get(ctx, key)
		if err != nil {
			return storeErr("load for merge", err)
		}
		if !found {
			s.lost = true
			return nil
		}
		newer, err := si.codec.Decode(cur)
		if err != nil {
			return fmt.Errorf("%w: stored session %q: %w", ErrBadPayload, key, err)
		}
		delete(newer, deadlineKey)
		merged, conflicts := s.merge(newer)
		if len(conflicts) > 0 && si.cfg.Server.StrictConflicts {
			sort.Strings(conflicts)
			return fmt.Errorf("%w: another request changed %q meanwhile", ErrConflict, conflicts)
		}
		old, data = cur, merged
	}
	return fmt.Errorf("%w: %d conflicting concurrent saves in a row", ErrConflict, maxMergeAttempts)
}

// touch extends the expiry of an unmodified session: Touch where the store
// can, else a rewrite.
func (si *serverInterface) touch(ctx context.Context, s *Session, now time.Time) error {
	if t, ok := si.store.(Toucher); ok {
		found, err := t.Touch(ctx, si.key(s.id), si.expiry(now, s.deadline))
		if err != nil {
			return storeErr("touch", err)
		}
		if found {
			return nil
		}
		// deleted meanwhile (logout elsewhere): do not resurrect it
		return nil
	}
	return si.write(ctx, s, now)
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
