// Package ginsession adapts coatcheck sessions to the Gin web framework.
//
//	r := gin.New()
//	r.Use(ginsession.Middleware(sessions))
//	r.GET("/", func(c *gin.Context) {
//		s := coatcheck.FromRequest(c.Request)
//		user, _ := coatcheck.Value[string](s, "username")
//		...
//	})
//
// The session is loaded lazily when a handler touches it and committed
// (Set-Cookie, Vary, the store write) just before Gin writes the response's
// first byte, or when the chain returns without writing. Changes made after
// that (for example by a middleware registered after this one, after its
// c.Next()) are saved to the store on server-side sessions and reported as
// coatcheck.ErrResponseStarted on cookie sessions, where the cookie has
// already gone out. A session failure (store unavailable, conflict) is
// answered by the Manager's error handler instead of the handler's response.
//
// Register Middleware before every middleware that uses the session: a
// middleware that runs before it sees no session, and its code after
// c.Next() runs after the session was finished.
package ginsession

import (
	"bufio"
	"net"
	"net/http"

	"github.com/coatcheck/coatcheck"
	"github.com/gin-gonic/gin"
)

// Middleware returns Gin middleware that gives every request a session of m:
// coatcheck.FromRequest(c.Request) in the handlers.
func Middleware(m *coatcheck.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := m.Attach(c.Request)
		c.Request = r
		w := &writer{ResponseWriter: c.Writer, m: m, r: r}
		c.Writer = w
		c.Next()
		w.commit()
		if !w.failed {
			_ = m.Finish(r) // logged and recorded in Session.Err by the Manager
		}
	}
}

// writer commits the session just before the first byte goes out. After a
// failed commit the error handler has answered and the handler's own
// output is dropped.
type writer struct {
	gin.ResponseWriter
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
		w.ResponseWriter.WriteHeaderNow()
	}
}

// WriteHeader records the status, as Gin's own writer does; the header is
// written with the first byte.
func (w *writer) WriteHeader(code int) {
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) WriteHeaderNow() {
	w.commit()
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeaderNow()
}

func (w *writer) Write(b []byte) (int, error) {
	w.commit()
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	w.commit()
	if w.failed {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

func (w *writer) Flush() {
	w.commit()
	w.ResponseWriter.Flush()
}

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	return w.ResponseWriter.Hijack()
}

// Unwrap returns Gin's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
