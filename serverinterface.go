package coatcheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"time"

	"github.com/coatcheck/coatcheck/flasksession"
)

// Codec turns session data into the bytes a Store keeps, and back. It is
// flasksession.Codec (Flask-Session's formats: msgpack, json, pickle); the
// name is repeated here so that ServerConfig reads on its own.
type Codec = flasksession.Codec

// idSigner signs server-side session ids (SESSION_USE_SIGNER).
type idSigner interface {
	sign(id string) string
	unsign(value string) (string, error)
}

// serverInterface is Flask-Session's server-side session interface, with
// Coatcheck's fixes: lazy loading, no stored empty sessions, never adopting an
// unknown id, store failures reported within a deadline, refresh without
// rewriting, lossless concurrent saves, Renew and Destroy, idle and absolute
// timeouts, late writes kept.
type serverInterface struct {
	cfg     *Config
	store   Store
	cas     CompareAndSetter // nil when the store cannot compare-and-set
	codec   Codec
	signer  idSigner // nil unless UseSigner
	prefix  string
	newID   func() (string, error)
	validID func(string) bool
}

func newServerInterface(cfg *Config) (*serverInterface, error) {
	sc := &cfg.Server
	si := &serverInterface{cfg: cfg, store: cfg.Store, prefix: sc.KeyPrefix}
	si.cas, _ = cfg.Store.(CompareAndSetter)
	if si.prefix == "" && !sc.NoKeyPrefix {
		si.prefix = "session:"
	}
	if err := wireServer(cfg, si); err != nil {
		return nil, err
	}
	return si, nil
}

// key returns the store key of session id: the prefix, then the id.
func (si *serverInterface) key(id string) string { return si.prefix + id }

func (si *serverInterface) refreshes() bool {
	return si.cfg.refreshEach() || si.cfg.IdleTimeout > 0
}

// expiry is when a session used now expires in the store: now plus the idle
// timeout (or PermanentLifetime), never past the absolute deadline.
func (si *serverInterface) expiry(now, deadline time.Time) time.Time {
	life := si.cfg.PermanentLifetime
	if si.cfg.IdleTimeout > 0 {
		life = si.cfg.IdleTimeout
	}
	e := now.Add(life)
	if !deadline.IsZero() && deadline.Before(e) {
		e = deadline
	}
	return e
}

// loadContext bounds the store calls of a load by StoreTimeout; the
// client's cancellation still ends them.
func (si *serverInterface) loadContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), si.cfg.Server.StoreTimeout)
}

// saveContext bounds a save by StoreTimeout but not by the client: once the
// response is committed the write is finished even if the client went away.
func (si *serverInterface) saveContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), si.cfg.Server.StoreTimeout)
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
	s.isNew, s.id, s.reason, s.fromStore, s.cookieHasID, s.indexedAs = true, id, reason, false, false, ""
	if si.cfg.Observer != nil {
		si.cfg.event(context.Background(), EventNew, reason)
	}
	if si.cfg.AbsoluteLifetime > 0 {
		s.deadline = si.cfg.Now().Add(si.cfg.AbsoluteLifetime)
	}
	return nil
}

// storeErr wraps a store failure. Store errors never name the key (the
// store contract), and neither does this.
func storeErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
}

// payloadErr wraps an undecodable stored value, naming the key only by its
// fingerprint.
func (si *serverInterface) payloadErr(key string, err error) error {
	return fmt.Errorf("%w: stored session (key fingerprint %s): %w", ErrBadPayload, KeyFingerprint(key), err)
}

// decode decodes stored bytes and takes the absolute deadline out of them.
func (si *serverInterface) decode(key string, b []byte) (map[string]any, time.Time, error) {
	m, err := si.codec.Decode(b)
	if err != nil {
		return nil, time.Time{}, si.payloadErr(key, err)
	}
	deadline, _ := takeDeadline(m)
	return m, deadline, nil
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
	ctx, cancel := si.loadContext(r)
	defer cancel()
	now := cfg.Now()
	key := si.key(id)
	var data []byte
	var found, touched bool
	var err error
	if gt, ok := si.store.(GetToucher); ok && si.refreshes() && cfg.AbsoluteLifetime == 0 {
		err = cfg.observe(ctx, OpGetAndTouch, func() (err error) {
			data, found, err = gt.GetAndTouch(ctx, key, si.expiry(now, time.Time{}))
			return err
		})
		touched = true
	} else {
		err = cfg.observe(ctx, OpGet, func() (err error) {
			data, found, err = si.store.Get(ctx, key)
			return err
		})
	}
	if err != nil {
		return storeErr("load", err)
	}
	if !found {
		// never adopt an id the store does not know (session fixation)
		return si.fresh(s, fmt.Errorf("%w: unknown or expired session id", ErrInvalidSession))
	}
	m, deadline, err := si.decode(key, data)
	if err != nil {
		return err
	}
	stamp := false
	if cfg.AbsoluteLifetime > 0 {
		if deadline.IsZero() {
			// written by Flask-Session or before the setting: the lifetime
			// counts from this first load, and the stamp is saved
			deadline, stamp = now.Add(cfg.AbsoluteLifetime), true
		} else if !now.Before(deadline) {
			if err := si.delete(ctx, key); err != nil {
				return err
			}
			return si.fresh(s, fmt.Errorf("%w: absolute session lifetime exceeded", ErrInvalidSession))
		}
	}
	s.data, s.id, s.fromStore, s.cookieHasID, s.touched = m, id, true, true, touched
	s.deadline, s.stamp = deadline, stamp
	if si.indexing() {
		s.indexedAs = si.userOf(m)
	}
	cfg.event(ctx, EventLoad, nil)
	if si.cas != nil {
		s.raw = data
	}
	return nil
}

// serverEmpty reports Flask-Session 0.8's falsy session: no keys but
// _permanent.
func serverEmpty(m map[string]any) bool {
	n := len(m)
	if _, ok := m[PermanentKey]; ok {
		n--
	}
	return n == 0
}

// saveAction is what a save does to the store.
type saveAction uint8

const (
	saveNothing saveAction = iota // empty and never stored, or unchanged
	saveDelete                    // destroyed, or emptied
	saveRenew                     // write under a new id, delete the old entry
	saveMerge                     // compare-and-set, merging concurrent saves
	saveWrite                     // plain write
	saveTouch                     // unchanged: slide the expiry
)

// decide chooses the store action of a save. Callers hold s.mu.
func (si *serverInterface) decide(s *Session) saveAction {
	dirty := s.modified || s.stamp
	switch {
	case s.destroyed || (serverEmpty(s.data) && s.modified):
		return saveDelete
	case serverEmpty(s.data):
		return saveNothing // never store an empty session (no row per cookieless request)
	case s.renewed:
		return saveRenew
	case dirty && s.raw != nil && s.fromStore:
		return saveMerge
	case dirty:
		return saveWrite
	case s.fromStore && si.refreshes() && !s.touched:
		return saveTouch
	}
	return saveNothing
}

// Save implements SessionInterface: decide what the store needs, write the
// store within StoreTimeout, then write the cookie.
func (si *serverInterface) Save(r *http.Request, s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := si.saveContext(r)
	defer cancel()
	act := si.decide(s)
	if err := si.persist(ctx, s, act); err != nil {
		return err
	}
	return si.writeCookie(r, s, h, act)
}

// saveLate keeps the changes made after the response's headers went out:
// the store is written when the client already holds a cookie naming the
// session; what would need a new cookie is ErrResponseStarted.
func (si *serverInterface) saveLate(r *http.Request, s *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	act := si.decide(s)
	switch {
	case act == saveRenew:
		return fmt.Errorf("%w: Renew needs a new cookie", ErrResponseStarted)
	case (act == saveWrite || act == saveMerge) && !s.cookieHasID:
		return fmt.Errorf("%w: the new session's cookie was not sent", ErrResponseStarted)
	case act == saveTouch || act == saveNothing:
		return nil
	}
	ctx, cancel := si.saveContext(r)
	defer cancel()
	return si.persist(ctx, s, act)
}

// persist carries out act on the store, then keeps the per-user index in
// step: in one call when the store takes both together (IndexBatcher, see
// persistBatched), else one call after the other. Callers hold s.mu.
func (si *serverInterface) persist(ctx context.Context, s *Session, act saveAction) error {
	if bx := si.batcher(); bx != nil {
		if handled, err := si.persistBatched(ctx, bx, s, act); handled {
			return err
		}
	}
	oldID := s.id
	if err := si.persistSession(ctx, s, act); err != nil {
		return err
	}
	if !si.indexing() || act == saveNothing || act == saveTouch {
		return nil
	}
	user := ""
	if act != saveDelete && !s.lost {
		user = si.userOf(s.data)
	}
	if err := si.reindex(ctx, s, s.indexedAs, oldID, user, si.expiry(si.cfg.Now(), s.deadline)); err != nil {
		return err
	}
	s.indexedAs = user
	return nil
}

// persistSession carries out act on the session's own entry.
func (si *serverInterface) persistSession(ctx context.Context, s *Session, act saveAction) error {
	now := si.cfg.Now()
	switch act {
	case saveDelete:
		if s.fromStore {
			if err := si.delete(ctx, si.key(s.id)); err != nil {
				return err
			}
			si.cfg.event(ctx, EventDestroy, nil)
			s.fromStore = false
		}
	case saveRenew:
		oldKey, wasStored := si.key(s.id), s.fromStore
		id, err := si.newID()
		if err != nil {
			return fmt.Errorf("coatcheck: generating a session id: %w", err)
		}
		s.id, s.cookieHasID = id, false
		if err := si.write(ctx, s, now); err != nil {
			return err
		}
		if wasStored {
			if err := si.delete(ctx, oldKey); err != nil {
				return err
			}
		}
		s.renewed = false
	case saveMerge:
		if err := si.writeMerged(ctx, s, now); err != nil {
			return err
		}
	case saveWrite:
		if err := si.write(ctx, s, now); err != nil {
			return err
		}
	case saveTouch:
		if err := si.touch(ctx, s, now); err != nil {
			return err
		}
		s.touched = true
	}
	s.stamp = false
	return nil
}

// writeCookie sets or deletes the session cookie and Vary after persist.
// Callers hold s.mu.
func (si *serverInterface) writeCookie(r *http.Request, s *Session, h http.Header, act saveAction) error {
	cfg := si.cfg
	if s.accessed {
		addVaryCookie(h)
	}
	if act == saveDelete || s.lost {
		// deleted here, or ended by another request meanwhile (logout):
		// saving would resurrect it
		s.cookieHasID = false
		if _, sent := cookieValue(r, cfg.CookieName); sent || s.modified {
			addVaryCookie(h)
			return cfg.setCookie(h, cookieSpec{name: cfg.CookieName, delete: true})
		}
		return nil
	}
	if act == saveNothing && serverEmpty(s.data) {
		return nil
	}
	permanent := truthy(s.data[PermanentKey])
	if !s.modified && !(permanent && cfg.refreshEach()) {
		return nil
	}
	value := s.id
	if si.signer != nil {
		value = si.signer.sign(s.id)
	}
	var expires time.Time
	if permanent {
		expires = si.expiry(cfg.Now(), s.deadline)
	}
	if err := cfg.setCookie(h, cookieSpec{name: cfg.CookieName, value: value, expires: expires}); err != nil {
		return err
	}
	s.cookieHasID = true
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
	err = si.cfg.observe(ctx, OpSet, func() error {
		return si.store.Set(ctx, si.key(s.id), b, si.expiry(now, s.deadline))
	})
	if err != nil {
		return storeErr("save", err)
	}
	si.cfg.event(ctx, EventSave, nil)
	s.fromStore = true
	if si.cas != nil {
		s.raw = b
	}
	return nil
}

// Backoff between compare-and-set attempts of one save: jittered,
// exponential from minBackoff to maxBackoff, within StoreTimeout.
const (
	minBackoff = 500 * time.Microsecond
	maxBackoff = 50 * time.Millisecond
)

// writeMerged saves a modified session without losing what concurrent
// requests saved since it was loaded: the data is diffed key by key (deep
// equality) against the bytes it was loaded from, then written with
// compare-and-set against those bytes; on a conflict it waits a jittered
// backoff, re-reads, replays this request's changes on the newer data and
// tries again, until StoreTimeout. If the session was deleted meanwhile
// (logout in another request) it is not written back: s.lost.
func (si *serverInterface) writeMerged(ctx context.Context, s *Session, now time.Time) error {
	key := si.key(s.id)
	base, _, err := si.decode(key, s.raw)
	if err != nil {
		return err
	}
	changes := diffSession(base, s.data)
	old, data := s.raw, s.data
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		b, err := si.encode(s, data)
		if err != nil {
			return err
		}
		var swapped bool
		err = si.cfg.observe(ctx, OpCompareAndSet, func() (err error) {
			swapped, err = si.cas.CompareAndSet(ctx, key, old, b, si.expiry(now, s.deadline))
			return err
		})
		if err != nil {
			return storeErr("save", err)
		}
		if swapped {
			s.data, s.raw = data, b
			si.cfg.event(ctx, EventSave, nil)
			return nil
		}
		si.cfg.event(ctx, EventCASRetry, nil)
		if err := sleepCtx(ctx, backoff/2+rand.N(backoff)); err != nil {
			return fmt.Errorf("%w: the session changed under each of %d compare-and-set attempts within StoreTimeout: %w", ErrConflict, attempt, err)
		}
		backoff = min(2*backoff, maxBackoff)
		var cur []byte
		var found bool
		err = si.cfg.observe(ctx, OpGet, func() (err error) {
			cur, found, err = si.store.Get(ctx, key)
			return err
		})
		if err != nil {
			return storeErr("load for merge", err)
		}
		if !found {
			s.lost = true
			return nil
		}
		newer, _, err := si.decode(key, cur)
		if err != nil {
			return err
		}
		merged, conflicts := mergeSession(newer, base, changes, s.cleared)
		if len(conflicts) > 0 {
			si.cfg.event(ctx, EventConflict, nil)
		}
		if len(conflicts) > 0 && si.cfg.Server.StrictConflicts {
			sort.Strings(conflicts)
			return fmt.Errorf("%w: another request changed %q meanwhile", ErrConflict, conflicts)
		}
		old, data = cur, merged
	}
}

// delete removes key from the store.
func (si *serverInterface) delete(ctx context.Context, key string) error {
	if err := si.cfg.observe(ctx, OpDelete, func() error { return si.store.Delete(ctx, key) }); err != nil {
		return storeErr("delete", err)
	}
	return nil
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// touch extends the expiry of an unmodified session: Touch where the store
// can, else a rewrite.
func (si *serverInterface) touch(ctx context.Context, s *Session, now time.Time) error {
	if t, ok := si.store.(Toucher); ok {
		// found=false: deleted meanwhile (logout elsewhere); do not
		// resurrect it
		err := si.cfg.observe(ctx, OpTouch, func() error {
			_, err := t.Touch(ctx, si.key(s.id), si.expiry(now, s.deadline))
			return err
		})
		if err != nil {
			return storeErr("touch", err)
		}
		si.cfg.event(ctx, EventTouch, nil)
		return nil
	}
	return si.write(ctx, s, now)
}

// clientGone reports whether err is the request's own client going away
// (a cancelled request context), not a failure of the store.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}
