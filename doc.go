// Package coatcheck is Flask's session system for net/http: a per-request
// session dict that survives between requests, kept either in a signed cookie
// byte-compatible with Flask's, or in a server-side store in Flask-Session's
// layouts, so Go and Flask services can share one login.
//
// # Quick start
//
//	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "the Flask app's SECRET_KEY"})
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
//	// in a handler
//	s := coatcheck.FromRequest(r)
//	s.Set("username", "alice")
//	name, ok := coatcheck.Value[string](s, "username")
//
// # How a request goes
//
// (*Manager).Handler puts an unopened Session in the request context. The
// first method that needs the data opens it (SessionInterface.Open): the
// cookie is verified, or the store read. Just before the first byte of the
// response (WriteHeader, Write, Flush, Hijack, ReadFrom), or when the handler
// returns without writing, the session is saved (SessionInterface.Save):
// Set-Cookie and Vary: Cookie are added by Flask's rules and the store is
// written if the session was modified. A request that never touches its
// session costs no decode and no store round trip — except that, as in
// Flask, a permanent cookie is re-issued on every request while
// RefreshEachRequest is on, which needs its content.
//
// # Failures
//
// A rejected cookie (bad signature, expired, tampered, unknown server-side id)
// gives an empty new session, as in Flask; Session.Reason says why
// (ErrNoSession, ErrInvalidSession, and for cookies the itsdangerous error).
// A failure — the store unreachable or silent past ServerConfig.StoreTimeout
// (ErrStoreUnavailable), a validly signed but undecodable payload
// (ErrBadPayload), a write without a secret key (ErrNoSecretKey), a cookie
// larger than MaxCookieSize (ErrCookieTooLarge), a value that cannot be
// stored (ErrUnsupportedValue, named at Set), saves that kept conflicting
// (ErrConflict) — never hands out a fresh session or drops a write: the
// Manager logs it (never with a session id: KeyFingerprint names a key when
// one is needed; a client that went away is logged at debug) and the
// response is replaced by Config.ErrorHandler (DefaultErrorHandler: 503 for
// the store, 409 for conflicts, 500 otherwise), and Session.Err reports it
// to the handler.
//
// A change made after the response's first byte is kept when the handler
// returns if the client's cookie already names a server-side session;
// otherwise it is ErrResponseStarted, reported by Session.Err and logged.
//
// # Other frameworks
//
// Manager.Attach, Commit, Finish and HandleError are the middleware taken
// apart, for adapters (the ginsession, echosession and fibersession
// modules). chi and other net/http routers use Handler directly:
// r.Use(sessions.Handler).
//
// # Server-side sessions
//
// With Config.Store set, the cookie carries only a random session id (32
// bytes from crypto/rand, base64url, optionally signed as Flask-Session's
// SESSION_USE_SIGNER does) and the data lives in the store under
// SESSION_KEY_PREFIX + id, encoded as Flask-Session 0.8 does (msgpack) or as
// chosen (json, pickle). An id the store does not know is never adopted;
// empty sessions are never stored; an unmodified session's expiry is moved
// with Touch (or GetAndTouch in the same round trip) instead of a rewrite.
// Session.Renew gives a new id at login, Session.Destroy deletes the entry,
// Config.IdleTimeout and AbsoluteLifetime bound a session's life (cookie
// sessions too). Every load and every save of the store is bounded by
// ServerConfig.StoreTimeout (3 s by default).
// Config.Server.FlaskSessionCompat ("0.3" … "0.8") matches a Flask-Session
// version's ids and formats. The Store contract is in store.go; package
// storetest checks any implementation against it.
//
// # Concurrency
//
// A Session is safe for use by the goroutines of one request. Concurrent
// requests of one client each load their own copy. With a store that
// implements CompareAndSetter (every built-in store: memstore, filestore,
// redisstore, memcachestore, the SQL stores, mongostore, dynamostore) a save is a compare-and-set against the bytes the
// request loaded; the request's changes are found by comparing each key
// with what was loaded (so changes inside nested values, marked with
// MarkModified, count), and on a conflict they are replayed, key by key, on
// the newer data and the save retried after a jittered backoff, within
// StoreTimeout — so concurrent changes to
// different keys are never lost, and a session another request destroyed
// (logout) is never written back by a slower one. When two requests change
// the same key, the later save wins by default, or fails with ErrConflict
// under ServerConfig.StrictConflicts. Stores without CompareAndSet and cookie
// sessions keep Flask's rule: the last response wins.
package coatcheck
