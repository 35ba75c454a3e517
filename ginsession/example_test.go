package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/ginsession"
	"github.com/gin-gonic/gin"
)

func ExampleMiddleware() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "the Flask app's SECRET_KEY"})
	r := gin.New()
	r.Use(ginsession.Middleware(sessions))
	r.GET("/", func(c *gin.Context) {
		s := coatcheck.FromRequest(c.Request)
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		c.String(http.StatusOK, "visit %d", n+1)
	})

	cookie := ""
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		c := rec.Result().Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(rec.Body.String(), rec.Header().Get("Vary"))
	}
	// Output:
	// visit 1 Cookie
	// visit 2 Cookie
}
