package coatcheck

import "errors"

// Sentinel errors. Every error Coatcheck returns or records wraps one of
// these (or an itsdangerous error), so callers branch with errors.Is.
var (
	// ErrNoSession: the request carried no session cookie. Not a failure; it
	// is the Reason of a session that started fresh because none was sent.
	ErrNoSession = errors.New("coatcheck: no session cookie")

	// ErrInvalidSession: a cookie was sent but rejected: bad or missing
	// signature, wrong key, expired, timestamp in the future, malformed, or a
	// server-side id the store does not know. The session starts fresh;
	// errors.Is(reason, itsdangerous.ErrSignatureExpired) and friends tell
	// the exact cause for cookie sessions.
	ErrInvalidSession = errors.New("coatcheck: invalid session")

	// ErrStoreUnavailable: the server-side store failed on load or save. The
	// request goes to the error handler (default: 503); a fresh session is
	// never handed out in its place.
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
	// browser would silently drop.
	ErrCookieTooLarge = errors.New("coatcheck: session cookie too large")

	// ErrNoMiddleware: the session was asked for on a request that did not
	// pass through (*Manager).Handler.
	ErrNoMiddleware = errors.New("coatcheck: no session in the request context; wrap the handler with (*Manager).Handler")

	// ErrConflict: a concurrent request changed the same session key
	// (ServerConfig.StrictConflicts), or the session kept changing under
	// every compare-and-set attempt of a save. The default error handler
	// answers 409 Conflict; retrying the request is safe.
	ErrConflict = errors.New("coatcheck: session changed concurrently")

	// ErrUnsupportedValue: a value the session's codec cannot encode.
	ErrUnsupportedValue = errors.New("coatcheck: unsupported session value")
)
