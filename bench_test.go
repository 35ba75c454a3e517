package coatcheck

import (
	"net/http"
	"testing"
	"time"
)

// discardWriter is a minimal ResponseWriter, reset per iteration.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

const benchCookie = "session=eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8"

func benchManager(b *testing.B) *Manager {
	now := time.Unix(1700000000, 0)
	m, err := New(Config{SecretKey: "dev-secret-key", Logger: discardLogger(), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchServe(b *testing.B, h http.Handler, cookie string) {
	req, _ := http.NewRequest("GET", "http://example.com/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkBare(b *testing.B) {
	benchServe(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), benchCookie)
}

func BenchmarkUntouchedNoCookie(b *testing.B) {
	m := benchManager(b)
	benchServe(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})), "")
}

func BenchmarkCookieRead(b *testing.B) {
	m := benchManager(b)
	benchServe(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := Value[int](FromRequest(r), "user_id"); !ok || v != 42 {
			panic("bad session")
		}
	})), benchCookie)
}

func BenchmarkCookieWrite(b *testing.B) {
	m := benchManager(b)
	benchServe(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("user_id", 42)
	})), "")
}
