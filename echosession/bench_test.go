package echosession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/echosession"
	"github.com/labstack/echo/v4"
)

// BenchmarkRead: a request reading a signed-cookie session, through Echo,
// beside the same handler behind the net/http middleware.
func BenchmarkRead(b *testing.B) {
	m := newManager(b, nil)
	read := func(r *http.Request) string {
		u, _ := coatcheck.Value[string](coatcheck.FromRequest(r), "username")
		return u
	}
	g := echo.New()
	g.Use(echosession.Middleware(m))
	g.GET("/", func(c echo.Context) error { return c.String(200, read(c.Request())) })
	std := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("login") {
			coatcheck.FromRequest(r).Set("username", "alice")
		}
		w.Write([]byte(read(r)))
	}))
	rec := httptest.NewRecorder()
	std.ServeHTTP(rec, httptest.NewRequest("GET", "/?login=1", nil))
	c := rec.Result().Cookies()[0]
	for name, h := range map[string]http.Handler{"echo": g, "net-http": std} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(c)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Body.String() != "alice" {
					b.Fatalf("body %q", rec.Body)
				}
			}
		})
	}
}
