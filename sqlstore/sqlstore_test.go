package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	want := time.Date(2026, 12, 1, 22, 0, 5, 123456000, time.UTC)
	for _, c := range []struct {
		in   any
		want time.Time
		ok   bool
	}{
		{nil, time.Time{}, true},
		{"2026-12-01 22:00:05.123456", want, true},
		{[]byte("2026-12-01 22:00:05.123456"), want, true},
		{"2026-12-01 22:00:05", want.Truncate(time.Second), true}, // SQLAlchemy DATETIME on MySQL
		{want.In(time.FixedZone("x", 3600)), want, true},
		{"2026-12-01T22:00:05Z", time.Time{}, false},
		{"", time.Time{}, false},
		{int64(5), time.Time{}, false},
	} {
		got, err := parseExpiry(c.in)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("parseExpiry(%#v) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzParseExpiry: stored expiry text is untrusted (Flask or another
// program writes the table); decoding never panics, and what decodes is
// naive UTC that round-trips through TextTime.
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"2026-12-01 22:00:05.123456", "2026-12-01 22:00:05", "0000-00-00 00:00:00", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiry([]byte(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bad expiry") {
				t.Fatalf("error %q lacks context", err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q decoded in %v", s, got.Location())
		}
		if back, err := parseExpiry(TextTime(got)); err != nil || !back.Equal(got) {
			t.Fatalf("%q: round trip %v -> %v, %v", s, got, back, err)
		}
	})
}

func TestBind(t *testing.T) {
	s := &Store{d: Dialect{Numbered: true}}
	if got := s.bind(`a = ? AND b LIKE ? ESCAPE '!' AND c > ?`); got != `a = $1 AND b LIKE $2 ESCAPE '!' AND c > $3` {
		t.Errorf("bind = %q", got)
	}
	s.d.Numbered = false
	if got := s.bind(`a = ?`); got != `a = ?` {
		t.Errorf("bind without numbering = %q", got)
	}
}

// TestNeedsRefresh: rueidisstore's rule, with RefreshInterval 1 minute.
func TestNeedsRefresh(t *testing.T) {
	s := &Store{refresh: time.Minute}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h := now.Add(time.Hour)
	for _, c := range []struct {
		name      string
		cur, want time.Time
		refresh   bool
	}{
		{"zero wanted, none stored", time.Time{}, time.Time{}, false},
		{"zero wanted, one stored", h, time.Time{}, true},
		{"none stored, one wanted", time.Time{}, h, true},
		{"same", h, h, false},
		{"within the interval", h.Add(-time.Minute), h, false},
		{"past the interval", h.Add(-time.Minute - time.Microsecond), h, true},
		{"stored later", h.Add(time.Hour), h, false},
		{"short life", now.Add(50 * time.Second), now.Add(time.Minute), true},
		{"short life, stored later", now.Add(2 * time.Minute), now.Add(time.Minute), true},
	} {
		if got := s.needsRefresh(c.cur, c.want, now); got != c.refresh {
			t.Errorf("%s: needsRefresh = %v, want %v", c.name, got, c.refresh)
		}
	}
}

func TestNegativeRefreshInterval(t *testing.T) {
	if _, err := New(context.Background(), new(sql.DB), Dialect{Name: "x"}, Options{RefreshInterval: -time.Second}); err == nil {
		t.Error("negative RefreshInterval accepted")
	}
}
