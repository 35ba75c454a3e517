package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/echosession"
	"github.com/labstack/echo/v4"
)

func ExampleMiddleware() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "the Flask app's SECRET_KEY"})
	r := echo.New()
	r.Use(echosession.Middleware(sessions))
	r.GET("/", func(c echo.Context) error {
		s := coatcheck.FromRequest(c.Request())
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
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
