package coatcheck

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// SessionInterface is Flask's SessionInterface: how a session is read from a
// request and written into a response. The signed-cookie interface (the
// default) and the server-side interface (Config.Store) are the built-in
// implementations; Config.Interface plugs in your own.
type SessionInterface interface {
	// Open loads the session of r. It runs lazily, the first time the
	// handler touches the session. Returning (nil, nil) gives a null session
	// (read-only and empty). An error is a failure (the request goes to the
	// error handler); a rejected cookie is not an error but a new session
	// whose Reason says why (see NewSession and SessionState).
	Open(r *http.Request) (*Session, error)

	// Save writes the session into the response headers h (Set-Cookie,
	// Vary) and persists it. It runs just before the response's first byte
	// (or when the handler returns), only for sessions that were opened.
	Save(r *http.Request, s *Session, h http.Header) error
}

// Manager holds the configuration and provides the middleware.
type Manager struct {
	cfg     Config
	iface   SessionInterface
	onError func(w http.ResponseWriter, r *http.Request, err error)
	log     *slog.Logger
	cookie  *cookieInterface // the built-in signed-cookie interface, if used
	server  *serverInterface // the built-in server-side interface, if used
}

// New returns a Manager for cfg, filling Flask's defaults. It fails on an
// invalid configuration (bad cookie name, bad codec name, unusable key).
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.logger(), onError: cfg.ErrorHandler}
	switch {
	case cfg.Interface != nil:
		m.iface = cfg.Interface
	case cfg.Store != nil:
		si, err := newServerInterface(&m.cfg)
		if err != nil {
			return nil, err
		}
		m.server, m.iface = si, si
	default:
		ci, err := newCookieInterface(&m.cfg)
		if err != nil {
			return nil, err
		}
		m.cookie, m.iface = ci, ci
	}
	if m.onError == nil {
		m.onError = DefaultErrorHandler
	}
	return m, nil
}

// MustNew is New that panics on error, for package-level setup.
func MustNew(cfg Config) *Manager {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// Config returns the effective configuration, defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Interface returns the session interface in use.
func (m *Manager) Interface() SessionInterface { return m.iface }

type ctxKey struct{}

// FromContext returns the session of the request whose context ctx is. With
// no middleware it returns a session whose every use fails with
// ErrNoMiddleware (it never panics).
func FromContext(ctx context.Context) *Session {
	if s, ok := ctx.Value(ctxKey{}).(*Session); ok {
		return s
	}
	return detachedSession()
}

// FromRequest is FromContext(r.Context()).
func FromRequest(r *http.Request) *Session { return FromContext(r.Context()) }

// The four methods below are the middleware taken apart, for adapters of
// frameworks whose handlers are not an http.Handler chain (Fiber, or a
// framework whose middleware runs code after the response started). An
// adapter calls Attach on the way in, Commit just before the response's
// first byte (answering a non-nil error with HandleError instead of the
// handler's response), and Finish after the handler returned.

// Attach returns a shallow copy of r carrying a new, lazily loaded session
// of m: FromRequest of the result is that session.
func (m *Manager) Attach(r *http.Request) *http.Request {
	r, _ = m.attach(r)
	return r
}

// Commit writes the session of r (attached by Attach) into h — Set-Cookie
// and Vary — and persists it, as the middleware does just before the
// response's first byte. Call it once per request. A non-nil error must be
// answered with HandleError instead of the handler's response.
func (m *Manager) Commit(r *http.Request, h http.Header) error {
	s := FromRequest(r)
	if s.m != m {
		return ErrNoMiddleware
	}
	return m.save(r, s, h)
}

// Finish runs after the handler returned and the response went out: changes
// made to a server-side session after Commit are saved to the store (the
// client's cookie already names it); changes that needed the headers are
// reported as ErrResponseStarted, recorded in Session.Err and logged. It
// returns that error, nil when nothing was lost.
func (m *Manager) Finish(r *http.Request) error {
	s := FromRequest(r)
	if s.m != m {
		return ErrNoMiddleware
	}
	return m.finish(r, s)
}

// HandleError logs err and answers the request with the configured error
// handler, as the middleware does when a session fails. The headers already
// set on w are dropped first (they may carry a half-written session).
func (m *Manager) HandleError(w http.ResponseWriter, r *http.Request, err error) {
	m.fail(w, r, err)
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	m.logFailure(r, err, ErrorStatus(err))
	m.onError(w, r, err)
}

// logFailure logs a session failure: at debug level when the request's own
// client went away (not a store failure), else at error level. Errors never
// carry a session id or a store key, so neither does the log.
func (m *Manager) logFailure(r *http.Request, err error, status int) {
	m.cfg.event(r.Context(), EventError, err)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
	if status != 0 {
		attrs = append(attrs, "status", status)
	}
	if clientGone(r, err) {
		m.log.Debug("coatcheck: session not loaded or saved: the client went away", attrs...)
		return
	}
	if errors.Is(err, ErrResponseStarted) {
		m.log.Warn("coatcheck: session change lost", attrs...)
		return
	}
	m.log.Error("coatcheck: session failure", attrs...)
}

// ErrorStatus is the HTTP status DefaultErrorHandler answers err with: 503
// Service Unavailable for ErrStoreUnavailable, 409 Conflict for
// ErrConflict, 500 otherwise.
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// DefaultErrorHandler is the error handler a Manager uses when
// Config.ErrorHandler is nil, exported so that a custom handler can fall
// back to it. It answers with ErrorStatus(err) and a short plain-text
// message that does not show the cause (the Manager has logged it before
// calling any error handler), with Cache-Control: no-store.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	status := ErrorStatus(err)
	text := "Internal Server Error: the session could not be saved or loaded."
	switch status {
	case http.StatusServiceUnavailable:
		text = "Service Unavailable: the session store cannot be reached. Please retry shortly."
	case http.StatusConflict:
		text = "Conflict: the session was changed by another request at the same time. Please retry."
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}
