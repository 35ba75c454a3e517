// Package fibersession adapts coatcheck sessions to Fiber v3, natively: no
// net/http adaptor runs on the request path. For each request the
// middleware builds a minimal *http.Request (method, URL path, the Cookie
// header and c.Context()) for the Manager, runs the chain, then copies the
// session's Set-Cookie and Vary lines into the fasthttp response (Vary
// merged into one the handler set).
//
//	app := fiber.New()
//	app.Use(fibersession.Middleware(sessions))
//	app.Get("/", func(c fiber.Ctx) error {
//		s := fibersession.FromCtx(c)
//		user, _ := coatcheck.Value[string](s, "username")
//		...
//	})
//
// Fiber buffers the response until the handler chain returns, so the
// session is committed (cookie, store write) when this middleware's
// c.Next() returns, before the first byte. Changes made after that (by a
// middleware registered before this one, once its c.Next() returned) are
// saved to the store on server-side sessions and reported as
// coatcheck.ErrResponseStarted on cookie sessions. A session failure (store
// unavailable, conflict) replaces the handler's response with the
// Manager's error handler's.
//
// The request handed to the Manager carries only the method, the path, the
// Cookie header and the context: a custom SessionInterface or ErrorHandler
// that reads other request fields does not see them under Fiber.
package fibersession

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/coatcheck/coatcheck"
	"github.com/gofiber/fiber/v3"
)

type localsKey struct{}

// reqState is the request handed to the Manager, in one allocation.
type reqState struct {
	r      http.Request
	u      url.URL
	cookie [1]string
}

// Middleware returns Fiber middleware that gives every request a session of
// m: FromCtx(c) in the handlers.
func Middleware(m *coatcheck.Manager) fiber.Handler {
	return func(c fiber.Ctx) error {
		st := &reqState{}
		st.u.Path = c.Path()
		st.r = http.Request{Method: c.Method(), URL: &st.u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		if ck := c.Request().Header.Peek("Cookie"); len(ck) > 0 {
			// copied: the session id may outlive fasthttp's buffer
			st.cookie[0] = string(ck)
			st.r.Header = http.Header{"Cookie": st.cookie[:]}
		} else {
			st.r.Header = http.Header{}
		}
		r := m.Attach(st.r.WithContext(c.Context()))
		c.Locals(localsKey{}, r)

		err := c.Next()

		h := make(http.Header, 2)
		if cerr := m.Commit(r, h); cerr != nil {
			answerError(c, m, r, cerr)
			return nil
		}
		copyHeader(c, h)
		_ = m.Finish(r) // logged and recorded in Session.Err by the Manager
		return err
	}
}

// FromCtx returns the session of the request c. Without Middleware it
// returns a session whose every use fails with coatcheck.ErrNoMiddleware.
func FromCtx(c fiber.Ctx) *coatcheck.Session {
	if r, ok := c.Locals(localsKey{}).(*http.Request); ok {
		return coatcheck.FromRequest(r)
	}
	return coatcheck.FromContext(c.Context())
}

// copyHeader adds the session's header lines to the response; Vary is
// merged into the one the handler set.
func copyHeader(c fiber.Ctx, h http.Header) {
	res := &c.Response().Header
	for k, vs := range h {
		if k != "Vary" {
			for _, v := range vs {
				res.Add(k, v)
			}
			continue
		}
		vary := string(res.Peek("Vary"))
		merged := vary
		for _, v := range vs {
			if !hasToken(vary, v) {
				if merged != "" {
					merged += ", "
				}
				merged += v
			}
		}
		if merged != vary {
			res.Set("Vary", merged)
		}
	}
}

// hasToken reports whether the comma-separated list holds tok.
func hasToken(list, tok string) bool {
	for list != "" {
		var t string
		t, list, _ = strings.Cut(list, ",")
		if strings.EqualFold(strings.TrimSpace(t), tok) || strings.TrimSpace(t) == "*" {
			return true
		}
	}
	return false
}

// answerError replaces the response with the Manager's error handler's.
func answerError(c fiber.Ctx, m *coatcheck.Manager, r *http.Request, err error) {
	rec := &recorder{h: http.Header{}}
	m.HandleError(rec, r, err)
	res := c.Response()
	res.Reset()
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	res.SetStatusCode(rec.code)
	for k, vs := range rec.h {
		for _, v := range vs {
			res.Header.Add(k, v)
		}
	}
	res.SetBody(rec.body.Bytes())
}

// recorder is the http.ResponseWriter the error handler writes to.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.h }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
