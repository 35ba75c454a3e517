package fibersession_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/fibersession"
	"github.com/gofiber/fiber/v3"
)

func ExampleMiddleware() {
	sessions := coatcheck.MustNew(coatcheck.Config{SecretKey: "the Flask app's SECRET_KEY"})
	app := fiber.New()
	app.Use(fibersession.Middleware(sessions))
	app.Get("/", func(c fiber.Ctx) error {
		s := fibersession.FromCtx(c)
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		return c.SendString(fmt.Sprintf("visit %d", n+1))
	})

	cookie := ""
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := app.Test(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		c := res.Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(string(body), res.Header.Get("Vary"))
	}
	// Output:
	// visit 1 Cookie
	// visit 2 Cookie
}
