package coatcheck

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/coatcheck/coatcheck/taggedjson"
)

// PermanentKey is where Flask keeps session.permanent: inside the data.
const PermanentKey = "_permanent"

// FlashesKey is where Flask's flash() keeps pending messages.
const FlashesKey = "_flashes"

// Session is the per-request session: a string-keyed map that survives
// between requests, like Flask's flask.session. Get one with FromRequest or
// FromContext inside a handler wrapped by (*Manager).Handler.
//
// A Session is loaded lazily: the cookie is verified (or the store read) the
// first time a method needs the data, so a request that never touches its
// session pays nothing. It is safe for concurrent use by the goroutines of
// one request.
//
// Mutators do not return errors. A failure (a store that cannot be read, a
// write to a session without a secret key, a value the codec cannot encode)
// is recorded: Err reports it, and the middleware answers the request through
// the error handler instead of the handler's response — a session is never
// silently replaced and a write is never silently dropped.
type Session struct {
	mu sync.Mutex

	// set by the middleware; the session opens itself through m on first use
	m *Manager
	r *http.Request

	data map[string]any
	err  error // load or write failure → error handler

	// cookie sessions: the cookie value the session was opened from, and,
	// while data is still the verified-cookie cache's shared copy, its
	// entry (see cookiecache.go; own gives the session its own copy)
	cookie string
	cached *cachedCookie

	reason error // why the session started empty (ErrNoSession, ErrInvalidSession…)

	// server-side
	id        string
	indexedAs string // the user the per-user index lists this session under

	// timeouts (both interfaces): the absolute deadline, zero when none
	deadline time.Time

	flashes []Flash

	// For lossless concurrent saves to a CompareAndSetter store: the bytes
	// the session was loaded from (or last saved as). At save the data is
	// diffed key by key against them, so changes inside nested values
	// (MarkModified) merge like any other.
	raw []byte

	// late writes: a change after the response's headers went out
	writes          int32 // mutations so far
	committedWrites int32 // writes when the session was saved into the headers

	loaded    bool
	null      bool // no secret key: reads see {}, writes fail
	isNew     bool
	modified  bool
	accessed  bool
	committed bool // the session was saved into the response headers
	finished  bool // the middleware is done with it: later writes are lost

	renewed     bool // Renew called: new id at save
	destroyed   bool
	fromStore   bool // data came from the store (refresh may Touch)
	cookieHasID bool // the client holds a cookie naming id (sent, or set by this response)
	touched     bool // the store expiry was already moved on load
	stamp       bool // deadline set on this load: persist it even if unmodified
	cleared     bool // Clear or Destroy: the base is empty
	lost        bool // deleted by another request: not saved again

	flashesLoaded bool
}

// NewSession returns a session holding data (which it takes ownership of),
// for SessionInterface implementations. isNew reports that no stored session
// was found for the request.
func NewSession(data map[string]any, isNew bool) *Session {
	return &Session{data: data, loaded: true, isNew: isNew}
}

// newNullSession is Flask's NullSession: empty and read-only.
func newNullSession() *Session {
	return &Session{loaded: true, null: true}
}

// detached is handed out when there is no middleware: every use fails.
func detachedSession() *Session {
	return &Session{loaded: true, null: true, err: ErrNoMiddleware}
}

// inPlaceOpener is implemented by the built-in interfaces: they open
// straight into the middleware's Session instead of allocating another.
type inPlaceOpener interface {
	openInto(r *http.Request, s *Session) error
}

// load runs the lazy open once. Callers hold s.mu. s.data may stay nil (an
// empty session) until the first write.
func (s *Session) load() {
	if s.loaded {
		return
	}
	s.loaded = true
	if s.m == nil {
		return
	}
	if o, ok := s.m.iface.(inPlaceOpener); ok {
		if err := o.openInto(s.r, s); err != nil {
			s.err, s.data = err, nil
		}
		return
	}
	loaded, err := s.m.iface.Open(s.r)
	switch {
	case err != nil:
		s.err = err
	case loaded == nil:
		s.null = true
	default:
		// a custom interface can only set what NewSession sets
		s.data, s.isNew = loaded.data, loaded.isNew
	}
}

// read prepares a read access. Callers hold s.mu.
func (s *Session) read() {
	s.load()
	s.accessed = true
}

// write prepares a write access and reports whether it may proceed.
// Callers hold s.mu.
func (s *Session) write() bool {
	s.load()
	s.accessed = true
	if s.null {
		if s.err == nil {
			s.err = ErrNoSecretKey
		}
		return false
	}
	if s.finished && s.err == nil {
		// after the middleware's last save (an outer middleware writing
		// once the inner chain returned): nothing will save it, so say so
		s.err = fmt.Errorf("%w: the session was changed after the middleware finished with it", ErrResponseStarted)
		if s.m != nil {
			s.m.logFailure(s.r, s.err, 0)
		}
	}
	if s.err != nil {
		return false
	}
	s.own()
	return true
}

// own gives the session its own copy of data shared with the
// verified-cookie cache, before anything could change it. Callers hold s.mu.
func (s *Session) own() {
	if s.cached != nil {
		s.cached = nil
		s.data = cloneData(s.data)
	}
}

// taggedJSON is the app's custom tagged-JSON serializer, if any.
func (s *Session) taggedJSON() *taggedjson.Serializer {
	if s.m == nil {
		return nil
	}
	return s.m.cfg.TaggedJSON
}

// changed marks a mutation. Callers hold s.mu.
func (s *Session) changed() {
	s.modified = true
	s.writes++
}

// Get returns the value stored under key.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	v, ok := s.data[key]
	if s.cached != nil && !immutable(v) {
		s.own() // the caller may change a list or dict in place
		v = s.data[key]
	}
	return v, ok
}

// Has reports whether key is in the session.
func (s *Session) Has(key string) bool {
	_, ok := s.Get(key)
	return ok
}

// Set stores value under key and marks the session modified.
//
// The values of package pyval's model (strings, bools, nil, every Go number
// type, []byte, []any, map[string]any, time.Time, pyval.Tuple, Markup, UUID,
// Date, Decimal) are stored as they are. Anything else — structs, typed maps
// and slices, pointers — is converted as encoding/json would encode it
// (honouring json tags) into that model, so Flask sees plain dicts and
// lists; Value[T] converts back. A value that cannot be represented (a
// channel, a func, a map with non-string keys, a cycle) is not stored: the
// failure, an *UnsupportedValueError naming key and type, is recorded in Err
// and the request goes to the error handler.
func (s *Session) Set(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.write() {
		return
	}
	v, err := value, error(nil)
	if tj := s.taggedJSON(); tj == nil || !tj.Claims(value) {
		v, err = normalize(value)
	}
	if err != nil {
		s.err = &UnsupportedValueError{Key: key, Type: reflect.TypeOf(value), Err: err}
		return
	}
	if s.data == nil {
		s.data = make(map[string]any, 1)
	}
	s.data[key] = v
	s.changed()
}

// Delete removes key. Deleting an absent key changes nothing.
func (s *Session) Delete(key string) {
	s.Pop(key)
}

// Pop removes key and returns its value. The session is marked modified only
// if the key was present.
func (s *Session) Pop(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	if s.null {
		s.write() // Flask's NullSession refuses pop, even of a missing key
		return nil, false
	}
	if _, ok := s.data[key]; !ok {
		return nil, false
	}
	if !s.write() {
		return nil, false
	}
	v := s.data[key] // after write: the session's own copy
	delete(s.data, key)
	s.changed()
	return v, true
}

// Clear removes every key and marks the session modified (even when it was
// already empty, as Flask does: the response then deletes the cookie).
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.write() {
		return
	}
	clear(s.data)
	s.cleared = true
	s.changed()
}

// Keys returns the keys in sorted order.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Len returns the number of keys.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	return len(s.data)
}

// All returns a shallow copy of the data.
func (s *Session) All() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	s.own() // the values may be changed in place
	m := make(map[string]any, len(s.data))
	for k, v := range s.data {
		m[k] = v
	}
	return m
}

// Permanent reports session.permanent: whether the cookie outlives the
// browser session (it then carries Expires = now + PermanentLifetime).
func (s *Session) Permanent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	return truthy(s.data[PermanentKey])
}

// SetPermanent sets session.permanent. Like Flask it is stored in the data as
// "_permanent" (false is stored too) and marks the session modified.
func (s *Session) SetPermanent(permanent bool) {
	s.Set(PermanentKey, permanent)
}

// Modified reports whether the session was changed during this request.
func (s *Session) Modified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modified
}

// MarkModified marks the session modified, for changes made inside nested
// values (a list or map stored in the session) that Set did not see. Such
// changes merge with concurrent requests key by key like any other: at
// save the session is compared with what it was loaded from.
func (s *Session) MarkModified() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.write() {
		s.changed()
	}
}

// Accessed reports whether the session was read or written during this
// request (then the response varies on Cookie).
func (s *Session) Accessed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accessed
}

// IsNew reports whether the session did not exist before this request: no
// cookie, a rejected cookie, or (server-side) an id the store does not know.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	return s.isNew
}

// ID returns the server-side session id ("" for cookie sessions, and for a
// new server-side session until it is saved). After Renew it is the new id.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	return s.id
}

// Reason tells why the session started empty: nil when it was loaded from the
// request, else an error matching ErrNoSession (no cookie) or
// ErrInvalidSession (rejected cookie or unknown id; for cookie sessions it
// also matches the itsdangerous error, e.g. itsdangerous.ErrSignatureExpired).
func (s *Session) Reason() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read()
	return s.reason
}

// Err reports a failure that makes the session unusable for this request:
// ErrStoreUnavailable, ErrBadPayload, ErrNoSecretKey (after a write),
// ErrNoMiddleware. The middleware sends such requests to the error handler.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.err
}

// Renew protects against session fixation: call it when the user logs in (or
// changes privilege). Server-side sessions get a new id at save, keep their
// data, and the old entry is deleted; cookie sessions are re-signed.
func (s *Session) Renew() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.write() {
		return
	}
	s.renewed = true
	s.changed()
}

// Destroy ends the session: the data is cleared, the stored entry deleted
// and the cookie removed.
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.write() {
		return
	}
	clear(s.data)
	s.destroyed, s.cleared = true, true
	s.changed()
}

// Context returns the context of the request the session belongs to.
func (s *Session) Context() context.Context {
	if s.r == nil {
		return context.Background()
	}
	return s.r.Context()
}

// String describes the session for logs without its data.
func (s *Session) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		return "coatcheck.Session(not loaded)"
	}
	return fmt.Sprintf("coatcheck.Session(%d keys, new=%v, modified=%v)", len(s.data), s.isNew, s.modified)
}

// truthy is Python's bool() for the values a session holds.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
