package echosession_test

import (
	"testing"

	"github.com/coatcheck/coatcheck/echosession"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
	"github.com/labstack/echo/v4"
)

// BenchmarkRead: a request reading a signed-cookie session, through Echo,
// beside the same handler behind the net/http middleware.
func BenchmarkRead(b *testing.B) {
	m := newManager(b, nil)
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/", func(c echo.Context) error { return c.String(200, adaptertest.ReadUser(c.Request())) })
	adaptertest.BenchRead(b, m, "echo", e)
}
