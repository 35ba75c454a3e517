package coatcheck

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
)

func encryptedManager(t testing.TB, key string, fallbacks ...string) *Manager {
	t.Helper()
	m, err := New(Config{SecretKey: key, SecretKeyFallbacks: fallbacks, EncryptCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// roundTrip sets user via m1 and reads it back via m2.
func roundTrip(t *testing.T, m1, m2 *Manager, tamper func(string) string) (string, error, string) {
	t.Helper()
	var cookie string
	rec := httptest.NewRecorder()
	m1.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("user", "ann")
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if c := rec.Result().Cookies(); len(c) == 1 {
		cookie = c[0].Value
	}
	if tamper != nil {
		cookie = tamper(cookie)
	}
	var got string
	var reason error
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "session="+cookie)
	m2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		got, _ = Value[string](s, "user")
		reason = s.Reason()
	})).ServeHTTP(httptest.NewRecorder(), req)
	return got, reason, cookie
}

func TestEncryptedCookies(t *testing.T) {
	m := encryptedManager(t, "k1")
	got, reason, cookie := roundTrip(t, m, m, nil)
	if got != "ann" || reason != nil || !strings.HasPrefix(cookie, "e1.") {
		t.Fatalf("round trip: %q %v cookie %q", got, reason, cookie)
	}
	if strings.Contains(cookie, "ann") {
		t.Error("the value is readable in the cookie")
	}
	// the same data twice: different cookies (a nonce per write)
	if _, _, c2 := roundTrip(t, m, m, nil); c2 == cookie {
		t.Error("two writes gave the same cookie")
	}
	// tampering: every flipped character is rejected
	for i := len("e1."); i < len(cookie); i += 7 {
		flip := func(c string) string {
			b := []byte(c)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		if got, reason, _ := roundTrip(t, m, m, flip); got != "" || !errors.Is(reason, ErrInvalidSession) {
			t.Fatalf("tampered at %d: %q %v", i, got, reason)
		}
	}
	// rotation: the old key as a fallback still opens; without it, not
	rotated := encryptedManager(t, "k2", "k1")
	if got, _, _ := roundTrip(t, m, rotated, nil); got != "ann" {
		t.Errorf("rotation with fallback: %q", got)
	}
	if got, _, _ := roundTrip(t, m, encryptedManager(t, "k2"), nil); got != "" {
		t.Errorf("another key opened the cookie: %q", got)
	}
	// Flask (a signed-cookie reader) cannot read it
	fc, _ := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("k1")})
	if _, _, err := fc.Decode(cookie, time.Now()); err == nil {
		t.Error("Flask's codec read an encrypted cookie")
	}
	// refused with the Flask-compatibility settings
	for _, cfg := range []Config{
		{SecretKey: "k", EncryptCookies: true, Store: mapStore{}},
		{SecretKey: "k", EncryptCookies: true, Server: ServerConfig{FlaskSessionCompat: "0.8"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("EncryptCookies accepted with %+v", cfg.Server)
		}
	}
}

// mapStore is the smallest Store, for configuration checks.
type mapStore struct{}

func (mapStore) Get(_ context.Context, _ string) ([]byte, bool, error)        { return nil, false, nil }
func (mapStore) Set(_ context.Context, _ string, _ []byte, _ time.Time) error { return nil }
func (mapStore) Delete(_ context.Context, _ string) error                     { return nil }

func FuzzEncryptedCookieDecode(f *testing.F) {
	m := encryptedManager(f, "fuzz-key")
	codec := m.cookie.codec
	now := time.Unix(1700000000, 0)
	for _, d := range []map[string]any{{"user": "ann"}, {"_permanent": true, "n": int64(3)}, {}} {
		v, err := encodeString(codec, d, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Add("e1.")
	f.Add("e1.AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		m, _, err := codec.decode(v, now)
		if err == nil && m == nil {
			t.Fatal("nil session without an error")
		}
	})
}

func BenchmarkEncryptedCookieRead(b *testing.B) {
	m := encryptedManager(b, "bench-key")
	v, _ := encodeString(m.cookie.codec, map[string]any{"user_id": int64(42)}, time.Now())
	benchServe(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := Value[int](FromRequest(r), "user_id"); !ok || v != 42 {
			panic("bad session")
		}
	})), "session="+v)
}

func BenchmarkEncryptedCookieWrite(b *testing.B) {
	m := encryptedManager(b, "bench-key")
	benchServe(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("user_id", 42)
	})), "")
}

// encodeString is the cookie value of data signed at now.
func encodeString(c cookieCodec, data map[string]any, now time.Time) (string, error) {
	b, err := c.appendEncode(nil, data, now)
	if err != nil || len(b) == 0 {
		return "", err
	}
	return string(b), nil
}
