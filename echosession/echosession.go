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
	"net/http"

	"github.com/coatcheck/coatcheck"
	"github.com/labstack/echo/v4"
)

// Middleware returns Echo middleware that gives every request a session of
// m: coatcheck.FromRequest(c.Request()) in the handlers. It is m.Handler
// around the rest of Echo's chain: the Manager's own response writer
// commits the session before the first byte and keeps or reports later
// changes, so Echo gets exactly net/http's guarantees.
func Middleware(m *coatcheck.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			res := c.Response()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				res.Writer = w
				if err = next(c); err != nil && !res.Committed {
					c.Error(err) // the error page carries the session too
				}
			})).ServeHTTP(res.Writer, c.Request())
			return err
		}
	}
}
