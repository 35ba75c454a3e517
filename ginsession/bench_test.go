package ginsession_test

import (
	"testing"

	"github.com/coatcheck/coatcheck/ginsession"
	"github.com/coatcheck/coatcheck/internal/adaptertest"
	"github.com/gin-gonic/gin"
)

// BenchmarkRead: a request reading a signed-cookie session, through Gin,
// beside the same handler behind the net/http middleware.
func BenchmarkRead(b *testing.B) {
	m := newManager(b, nil)
	g := gin.New()
	g.Use(ginsession.Middleware(m))
	g.GET("/", func(c *gin.Context) { c.String(200, adaptertest.ReadUser(c.Request)) })
	adaptertest.BenchRead(b, m, "gin", g)
}
