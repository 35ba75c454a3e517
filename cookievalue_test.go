package coatcheck

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// cookieValue must agree with net/http's (*Request).Cookie, which it
// replaces on the hot path.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{
		"session=abc", "a=1; session=eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8",
		`session="quoted"`, "session=", "session", "session=a b", "session=a;session=b",
		" session = x ", "session=x\\y", "other=1;;; session=2", `session="`, "session=\"a\"b",
		"session=é", "SESSION=x", "session=a=b", "session=\x7f",
	} {
		f.Add(s, "")
	}
	f.Add("session=a", "session=b")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		r := &http.Request{Header: http.Header{}}
		r.Header.Add("Cookie", line1)
		if line2 != "" {
			r.Header.Add("Cookie", line2)
		}
		got, gotOK := cookieValue(r, "session")
		c, err := r.Cookie("session")
		wantOK := err == nil
		if gotOK != wantOK || (wantOK && got != c.Value) {
			t.Fatalf("cookieValue(%q, %q) = %q, %v; net/http: %+v, %v", line1, line2, got, gotOK, c, err)
		}
	})
}

func TestMayBePermanent(t *testing.T) {
	for _, tt := range []struct {
		cookie string
		want   bool
	}{
		{"eyJfcGVybWFuZW50Ijp0cnVlLCJ1c2VyX2lkIjo0Mn0.ZVPxAA.x", true},    // {"_permanent":true,"user_id":42}
		{"eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8", false}, // {"user_id":42}
		{"eyJfcGVybWFuZW50IjpmYWxzZX0.ZVPxAA.x", false},                   // {"_permanent":false}
		{".eJyrVkpJLElUslJKHAWjgAZAqRYQAAD__yOI5q0.ZVPxAA.x", true},       // compressed: decode to know
		{"garbage", false},
		{"!!!.ZVPxAA.x", true}, // undecodable: let verification decide
	} {
		if got := mayBePermanent(tt.cookie); got != tt.want {
			t.Errorf("mayBePermanent(%q) = %v, want %v", tt.cookie, got, tt.want)
		}
	}
}

// TestValidCookieValueEveryByte: the eight-bytes-at-a-time check agrees
// with net/http's byte rule for every byte value at every position of a
// word and of the tail.
func TestValidCookieValueEveryByte(t *testing.T) {
	want := func(c byte) bool { return c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' }
	for n := 1; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				if got := validCookieValue(string(b)); got != want(byte(c)) {
					t.Fatalf("validCookieValue(%q) = %v, want %v", b, got, want(byte(c)))
				}
			}
		}
	}
}

// TestAppendHTTPDate: the per-second reuse renders what AppendFormat does,
// for the same second again, the next one, and an earlier one.
func TestAppendHTTPDate(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, d := range []time.Duration{0, 0, 400 * time.Millisecond, time.Second, -time.Hour, 0} {
		tm := base.Add(d)
		want := tm.UTC().Format(http.TimeFormat)
		if got := string(appendHTTPDate([]byte("x"), tm)); got != "x"+want {
			t.Errorf("appendHTTPDate(%v) = %q, want %q", tm, got, "x"+want)
		}
	}
}
