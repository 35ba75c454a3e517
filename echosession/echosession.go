// Package echosession adapts coatcheck sessions to the Echo web framework
// (v4).
//
//	e := echo.New()
//	e.Use(echosession.Middleware(sessions))
//	e.GET("/", func(c echo.Context) error {
//		s := coatcheck.FromRequest(c.Request())
//		user, _ := coatcheck.Value[string](s, "username")
//		...
//	})
//
// The session is loaded lazily when a handler touches it and committed
// (Set-Cookie, Vary, the store write) just before Echo writes the
// response's first byte, or when the chain returns without writing. An
// error returned by the handler is answered (c.Error, Echo's
// HTTPErrorHandler) inside the middleware, so its response carries the
// session too. Changes made after the commit (for example by a middleware
// registered after this one, once its next returned) are saved to the store
// on server-side sessions and reported as coatcheck.ErrResponseStarted on
// cookie sessions, where the cookie has already gone out. A session failure
// (store unavailable, conflict) is answered by the Manager's error handler
// instead of the handler's response.
//
// Register Middleware before every middleware that uses the session.
package echosession

import (
	"bufio"
	"net"
	"net/http"

	"github.com/coatcheck/coatcheck"
	"github.com/labstack/echo/v4"
)

// Middleware returns Echo middleware that gives every request a session of
// m: coatcheck.FromRequest(c.Request()) in the handlers.
func Middleware(m *coatcheck.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := m.Attach(c.Request())
			c.SetRequest(r)
			res := c.Response()
			w := &writer{ResponseWriter: res.Writer, m: m, r: r}
			res.Writer = w
			err := next(c)
			if err != nil && !res.Committed {
				c.Error(err) // the error page carries the session too
			}
			w.commit()
			if !w.failed {
				_ = m.Finish(r) // logged and recorded in Session.Err by the Manager
			}
			return err
		}
	}
}

// writer commits the session just before the first byte goes out. After a
// failed commit the error handler has answered and the handler's own
// output is dropped.
type writer struct {
	http.ResponseWriter
	m         *coatcheck.Manager
	r         *http.Request
	committed bool
	failed    bool
}

func (w *writer) commit() {
	if w.committed {
		return
	}
	w.committed = true
	if err := w.m.Commit(w.r, w.ResponseWriter.Header()); err != nil {
		w.failed = true
		w.m.HandleError(w.ResponseWriter, w.r, err)
	}
}

func (w *writer) WriteHeader(code int) {
	w.commit()
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	w.commit()
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *writer) Flush() {
	w.commit()
	if !w.failed {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
