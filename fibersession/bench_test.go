package fibersession_test

import (
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/fibersession"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/valyala/fasthttp"
)

// benchApp serves GET /login (sets the session) and GET / (reads it, and
// with ?w=1 writes a counter), through fasthttp's handler directly.
func benchFiber(b *testing.B, mw fiber.Handler, get func(fiber.Ctx, string) (any, bool), set func(fiber.Ctx, string, any)) {
	app := fiber.New()
	app.Use(mw)
	app.Get("/login", func(c fiber.Ctx) error {
		set(c, "username", "alice")
		return c.SendString("ok")
	})
	app.Get("/", func(c fiber.Ctx) error {
		v, _ := get(c, "username")
		if c.Query("w") != "" {
			set(c, "n", len(c.Path()))
		}
		s, _ := v.(string)
		return c.SendString(s)
	})
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/login")
	h(&ctx)
	raw := string(ctx.Response.Header.Peek("Set-Cookie"))
	cookie, _, _ := strings.Cut(raw, ";")
	name, value, _ := strings.Cut(cookie, "=")
	if value == "" {
		b.Fatalf("no session cookie: %q", raw)
	}
	for _, path := range []string{"/", "/?w=1"} {
		b.Run(map[string]string{"/": "read", "/?w=1": "write"}[path], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(path)
				ctx.Request.Header.SetCookie(name, value)
				h(&ctx)
				if string(ctx.Response.Body()) != "alice" {
					b.Fatalf("body %q", ctx.Response.Body())
				}
			}
		})
	}
}

func coatcheckAccess(c fiber.Ctx, k string) (any, bool) { return fibersession.FromCtx(c).Get(k) }
func coatcheckSet(c fiber.Ctx, k string, v any)         { fibersession.FromCtx(c).Set(k, v) }

func BenchmarkCoatcheckCookie(b *testing.B) {
	benchFiber(b, fibersession.Middleware(newManager(b, nil)), coatcheckAccess, coatcheckSet)
}

func BenchmarkCoatcheckMemstore(b *testing.B) {
	benchFiber(b, fibersession.Middleware(newManager(b, memstore.New(memstore.Options{}))), coatcheckAccess, coatcheckSet)
}

// Fiber's own session middleware, default in-memory storage.
func BenchmarkFiberSession(b *testing.B) {
	benchFiber(b, session.New(),
		func(c fiber.Ctx, k string) (any, bool) {
			v := session.FromContext(c).Get(k)
			return v, v != nil
		},
		func(c fiber.Ctx, k string, v any) { session.FromContext(c).Set(k, v) })
}
