package coatcheck

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
)

// Sentinel errors. Every error Coatcheck returns or records wraps one of
// these (or an itsdangerous error), so callers branch with errors.Is.
var (
	// ErrNoSession: the request carried no session cookie. Not a failure; it
	// is the Reason of a session that started fresh because none was sent.
	ErrNoSession = errors.New("coatcheck: no session cookie")

	// ErrInvalidSession: a cookie was sent but rejected: bad or missing
	// signature, wrong key, expired, timestamp in the future, malformed, idle
	// or absolute timeout passed, or a server-side id the store does not
	// know. The session starts fresh; errors.Is(reason,
	// itsdangerous.ErrSignatureExpired) and friends tell the exact cause for
	// cookie sessions.
	ErrInvalidSession = errors.New("coatcheck: invalid session")

	// ErrStoreUnavailable: the server-side store failed on load or save, or
	// did not answer within ServerConfig.StoreTimeout. The request goes to
	// the error handler (default: 503); a fresh session is never handed out
	// in its place.
	ErrStoreUnavailable = errors.New("coatcheck: session store unavailable")

	// ErrBadPayload: a correctly signed cookie (or a stored value) whose
	// content cannot be decoded. Only a holder of the key can produce one, so
	// it means a buggy writer; Flask answers it with a 500 and so do we.
	ErrBadPayload = errors.New("coatcheck: undecodable session payload")

	// ErrNoSecretKey: a write to a session while no SECRET_KEY is configured
	// (Flask's NullSession). Reads see an empty session.
	ErrNoSecretKey = errors.New("coatcheck: the session is unavailable because no secret key was set; set SECRET_KEY (Config.SecretKey) to something unique and secret")

	// ErrCookieTooLarge: the Set-Cookie value would exceed MaxCookieSize.
	// The response goes to the error handler instead of sending a cookie the
	// browser would silently drop. The error is a *CookieTooLargeError.
	ErrCookieTooLarge = errors.New("coatcheck: session cookie too large")

	// ErrNoMiddleware: the session was asked for on a request that did not
	// pass through (*Manager).Handler (or an adapter's middleware).
	ErrNoMiddleware = errors.New("coatcheck: no session in the request context; wrap the handler with (*Manager).Handler")

	// ErrConflict: a concurrent request changed the same session key
	// (ServerConfig.StrictConflicts), or the session kept changing under
	// every compare-and-set attempt of a save until StoreTimeout ran out.
	// The default error handler answers 409 Conflict; retrying the request
	// is safe.
	ErrConflict = errors.New("coatcheck: session changed concurrently")

	// ErrUnsupportedValue: a value the session cannot hold (a channel, a
	// func, a map with non-string keys, a cycle) or its codec cannot encode.
	// Set records it at once as an *UnsupportedValueError naming the key.
	ErrUnsupportedValue = errors.New("coatcheck: unsupported session value")

	// ErrResponseStarted: the session was changed after the response's
	// headers were sent, and the change needed them: a cookie session (the
	// data is the cookie), a renewed id, or a new server-side session whose
	// cookie was never sent. Session.Err reports it and the Manager logs it;
	// the response itself has already gone out. Server-side changes to a
	// session whose cookie the client already holds are still saved when the
	// handler returns, and are not this error.
	ErrResponseStarted = errors.New("coatcheck: session changed after the response started; change it before writing the body")

	// ErrNotSupported: the store cannot do what was asked (list keys of a
	// memcached, say).
	ErrNotSupported = errors.New("coatcheck: not supported by this store")
)

// errReplaced is returned to a handler writing after its response was
// replaced by the session error handler.
var errReplaced = errors.New("coatcheck: response replaced by the session error handler")

// CookieTooLargeError is the ErrCookieTooLarge failure with its numbers.
type CookieTooLargeError struct {
	Name        string
	Size, Limit int
}

func (e *CookieTooLargeError) Error() string {
	return "coatcheck: the " + strconv.Quote(e.Name) + " cookie is too large: " + strconv.Itoa(e.Size) +
		" bytes with its attributes, the limit (MAX_COOKIE_SIZE) is " + strconv.Itoa(e.Limit) +
		"; browsers would silently drop it — keep less in the session or use a server-side store"
}

// Is makes errors.Is(err, ErrCookieTooLarge) true.
func (e *CookieTooLargeError) Is(target error) bool { return target == ErrCookieTooLarge }

// UnsupportedValueError is the ErrUnsupportedValue failure of Session.Set:
// the key, the Go type that cannot be stored, and why.
type UnsupportedValueError struct {
	Key  string
	Type reflect.Type
	Err  error // the cause, when there is one
}

func (e *UnsupportedValueError) Error() string {
	s := "coatcheck: session key " + strconv.Quote(e.Key) + ": cannot store a value of type " + typeName(e.Type)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrUnsupportedValue) true.
func (e *UnsupportedValueError) Is(target error) bool { return target == ErrUnsupportedValue }

// Unwrap returns the cause.
func (e *UnsupportedValueError) Unwrap() error { return e.Err }

func typeName(t reflect.Type) string {
	if t == nil {
		return "<nil>"
	}
	return t.String()
}

// KeyFingerprint returns a short, non-reversible name for a store key or
// session id: the first 8 hex digits of its SHA-256. Coatcheck never puts a
// session id or store key in an error or a log line (an id is a bearer
// credential); where an operator needs to correlate, it logs this instead.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}
