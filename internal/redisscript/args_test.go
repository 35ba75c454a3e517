package redisscript

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTTLFor(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		expiry time.Time
		ttl    time.Duration
		del    bool
	}{
		{"zero", time.Time{}, 0, false},
		{"past", now.Add(-time.Second), 0, true},
		{"now", now, 0, true},
		{"1ns", now.Add(time.Nanosecond), time.Millisecond, false},
		{"1ms", now.Add(time.Millisecond), time.Millisecond, false},
		{"1.0001ms", now.Add(time.Millisecond + 100*time.Nanosecond), 2 * time.Millisecond, false},
		{"31 days", now.Add(2678400 * time.Second), 2678400 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ttl, del := TTLFor(tt.expiry, now)
			if ttl != tt.ttl || del != tt.del {
				t.Errorf("TTLFor = %v, %v; want %v, %v", ttl, del, tt.ttl, tt.del)
			}
		})
	}
}

func TestCASArgs(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		old    []byte
		expiry time.Time
		mode   string
		ms     int64
	}{
		{"absent, no TTL", nil, time.Time{}, "0", 0},
		{"compare, no TTL", []byte("v"), time.Time{}, "1", 0},
		{"empty old compares", []byte{}, time.Time{}, "1", 0},
		{"passed: delete", []byte("v"), now, "1", -1},
		{"absent, passed", nil, now.Add(-time.Hour), "0", -1},
		{"rounded up", nil, now.Add(1500 * time.Microsecond), "0", 2},
		{"an hour", []byte("v"), now.Add(time.Hour), "1", 3600000},
	}
	for _, tt := range tests {
		mode, ms := CASArgs(tt.old, tt.expiry, now)
		if mode != tt.mode || ms != tt.ms {
			t.Errorf("%s: CASArgs = %q, %d; want %q, %d", tt.name, mode, ms, tt.mode, tt.ms)
		}
	}
}

func TestAddArgs(t *testing.T) {
	now := time.UnixMilli(1700000000123)
	if got := strings.Join(AddArgs("p:k", now.Add(time.Second), now), " "); got != "p:k 1700000001123 1700000000123 16" {
		t.Errorf("AddArgs = %q", got)
	}
	if got := strings.Join(AddArgs("p:k", time.Time{}, now), " "); got != "p:k +inf 1700000000123 16" {
		t.Errorf("AddArgs with no expiry = %q", got)
	}
}

func TestEscapeGlob(t *testing.T) {
	tests := []struct{ in, want string }{
		{"session:", "session:"},
		{"", ""},
		{`a*b?c[d]e\f`, `a\*b\?c\[d\]e\\f`},
		{"^-", "^-"},
	}
	for _, tt := range tests {
		if got := EscapeGlob(tt.in); got != tt.want {
			t.Errorf("EscapeGlob(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	base := errors.New("i/o timeout")
	if err := Wrap(context.Background(), "redisstore", "get", base); err.Error() != "redisstore: get: i/o timeout" || !errors.Is(err, base) {
		t.Errorf("Wrap with a live ctx = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wrap(ctx, "rueidisstore", "set", base); !errors.Is(err, context.Canceled) || !errors.Is(err, base) ||
		err.Error() != "rueidisstore: set: context canceled: i/o timeout" {
		t.Errorf("Wrap with a cancelled ctx = %v", err)
	}
	if err := Wrap(ctx, "p", "op", context.Canceled); err.Error() != "p: op: context canceled" {
		t.Errorf("Wrap of ctx's own error = %v", err)
	}
	// a deadline that has passed counts before ctx's timer fires
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer dcancel()
	if err := Wrap(dctx, "p", "op", base); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, base) {
		t.Errorf("Wrap with a passed deadline = %v", err)
	}
}
