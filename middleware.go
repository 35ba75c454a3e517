package coatcheck

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
)

// reqState is everything the middleware keeps for one request, in one
// allocation: it is the request's context (carrying the session), the
// session and the response writer wrapper.
type reqState struct {
	context.Context // the incoming request's context
	s               Session
	w               responseWriter
}

// Value returns the session for ctxKey and defers every other key.
func (st *reqState) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return &st.s
	}
	return st.Context.Value(key)
}

// attach gives r a new, lazily loaded session.
func (m *Manager) attach(r *http.Request) (*http.Request, *reqState) {
	st := &reqState{Context: r.Context()}
	r = r.WithContext(st)
	st.s.m, st.s.r = m, r
	return r, st
}

// Handler wraps next with session handling: the session is loaded lazily
// when next touches it, and saved just before the first byte of the
// response is written (or when next returns without writing). Changes made
// after the first byte are kept when next returns (server-side sessions
// whose cookie the client holds) or reported (ErrResponseStarted, logged).
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, st := m.attach(r)
		st.w = responseWriter{ResponseWriter: w, m: m, r: r, s: &st.s}
		next.ServeHTTP(&st.w, r)
		st.w.commit()
		if !st.w.failed {
			_ = m.finish(r, &st.s)
		}
	})
}

// save commits the session into the headers h: the interface's Save, run
// once, at the first byte. Its error is for the error handler.
func (m *Manager) save(r *http.Request, s *Session, h http.Header) error {
	s.mu.Lock()
	if !s.loaded && m.needsSaveUnopened(r) {
		s.load() // e.g. a permanent cookie re-issued on an untouched request
	}
	opened, err, null := s.loaded, s.err, s.null
	s.committed, s.committedWrites = true, s.writes
	if m.cookie != nil && m.iface == SessionInterface(m.cookie) {
		// the built-in cookie interface saves under the same lock
		if err == nil && opened && !null {
			err = m.cookie.saveLocked(s, h)
		}
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()
	if err == nil && opened && !null {
		err = m.iface.Save(r, s, h)
	}
	return err
}

// finish runs when the handler has returned: changes made after save are
// written to the store where the client's cookie already names the
// session, and reported otherwise. It logs and records what it reports.
func (m *Manager) finish(r *http.Request, s *Session) error {
	s.mu.Lock()
	late := s.committed && s.writes > s.committedWrites && s.err == nil && !s.null
	if !late {
		s.finished = true
	}
	s.mu.Unlock()
	if !late {
		return nil
	}
	var err error
	if m.server != nil {
		err = m.server.saveLate(r, s)
	} else {
		err = ErrResponseStarted
	}
	s.mu.Lock()
	s.finished = true
	if err != nil && s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	if err == nil {
		return nil
	}
	m.logFailure(r, err, 0)
	return err
}

// needsSaveUnopened reports whether a request that never touched its session
// must still open it at commit. Flask re-issues a permanent cookie on every
// request when SESSION_REFRESH_EACH_REQUEST is on; knowing whether the cookie
// is permanent takes a decode, paid only when a cookie was sent.
func (m *Manager) needsSaveUnopened(r *http.Request) bool {
	if m.cookie == nil || !m.cfg.refreshEach() {
		return false
	}
	v, e, ok := cachedCookieValue(r, m.cfg.CookieName, m.cookie.cache)
	if e != nil {
		// a cookie verified before: its data says (the age checks are
		// the load's business)
		return truthy(e.data[PermanentKey])
	}
	// an encrypted cookie cannot be peeked into
	return ok && v != "" && (m.cfg.EncryptCookies || mayBePermanent(v))
}

// responseWriter commits the session just before the first byte of the
// response. Flush, Hijack and ReadFrom commit first too; everything else
// (deadlines, EnableFullDuplex, …) is reached by http.ResponseController
// through Unwrap.
type responseWriter struct {
	http.ResponseWriter
	m         *Manager
	r         *http.Request
	s         *Session
	committed bool
	failed    bool // the error handler answered; drop the handler's output
}

func (w *responseWriter) commit() {
	if w.committed {
		return
	}
	w.committed = true
	if err := w.m.save(w.r, w.s, w.ResponseWriter.Header()); err != nil {
		w.failed = true
		w.m.fail(w.ResponseWriter, w.r, err)
	}
}

func (w *responseWriter) WriteHeader(code int) {
	w.commit()
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.commit()
	if w.failed {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps io.Copy on the fast path (sendfile) after committing.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.commit()
	if w.failed {
		return 0, errReplaced
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// Flush commits, then flushes the underlying writer if it can.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush reporting errors, used by http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.commit()
	if w.failed {
		return errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session (the store write happens; headers can no
// longer be sent by the server), then hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	if w.failed {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type writerOnly struct{ io.Writer }
