package sqltest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/sqlstore"
)

// Refresh checks Options.RefreshInterval by counting the statements a
// store sends to the real server (newCounted: a store with the given
// options on a Counting *sql.DB of its own; two calls are two clients)
// and reading the expiry the server holds:
//
//   - RefreshInterval 0: every GetAndTouch writes, the expiry moves on
//     every call;
//   - 1 minute: 100 reads within the interval are 100 SELECTs and no
//     UPDATE, and the stored expiry stays at most the interval behind the
//     requested one; the first read past the interval refreshes once; a
//     session whose requested lifetime is not longer than the interval
//     refreshes on every read; a zero expiry clears the stored one once;
//     a stored expiry later than the requested one is kept; an expired row
//     is not revived; a passed expiry still reads and deletes;
//   - a writer that stores a later expiry between the SELECT and the
//     UPDATE keeps it (the UPDATE is conditional).
func Refresh(t *testing.T, r Raw, newCounted func(t *testing.T, opts sqlstore.Options) (*sqlstore.Store, *Counter)) {
	ctx := context.Background()
	r = NewTable(t, r)
	base := time.Now().UTC().Truncate(time.Microsecond)
	var offset atomic.Int64 // the fake clock: base + offset
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) time.Time { offset.Add(int64(d)); return now() }
	const iv = time.Minute
	opts := sqlstore.Options{Table: r.Table, CleanupInterval: -1, Now: now}
	every, ce := newCounted(t, opts)
	opts.NoCreateTable, opts.RefreshInterval = true, iv
	s, c := newCounted(t, opts)
	other, _ := newCounted(t, opts)

	stored := func(key string) time.Time {
		t.Helper()
		var exp time.Time
		found := false
		if err := other.Iterate(ctx, key, func(k string, e time.Time) bool {
			if k == key {
				exp, found = e, true
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("%q is not stored", key)
		}
		return exp
	}
	set := func(key string, exp time.Time) {
		t.Helper()
		if err := other.Set(ctx, key, []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
	}
	read := func(s *sqlstore.Store, key string, exp time.Time) {
		t.Helper()
		if data, found, err := s.GetAndTouch(ctx, key, exp); err != nil || !found || string(data) != "v" {
			t.Fatalf("GetAndTouch(%q) = %q, %v, %v", key, data, found, err)
		}
	}
	want := func(what string, got, want Counts) {
		t.Helper()
		if got != want {
			t.Errorf("%s: statements %+v, want %+v", what, got, want)
		}
	}

	// 0: every read writes.
	set("every", now().Add(time.Hour))
	ce.Take()
	for i := 1; i <= 5; i++ {
		exp := advance(time.Second).Add(time.Hour)
		read(every, "every", exp)
		got := ce.Take()
		if got.Update != 1 || got.Delete+got.Insert+got.Other != 0 || got.Select > 1 {
			t.Errorf("RefreshInterval 0, read %d: statements %+v, want one UPDATE (and at most one SELECT)", i, got)
		}
		if i == 1 {
			t.Logf("RefreshInterval 0: statements per read %+v", got)
		}
		if e := stored("every"); !e.Equal(exp) {
			t.Errorf("RefreshInterval 0, read %d: stored expiry %v, want %v", i, e, exp)
		}
	}

	// 1 minute: 100 reads within the interval write nothing.
	start := now()
	set("k", start.Add(time.Hour))
	c.Take()
	var last time.Time
	for i := 0; i < 100; i++ {
		last = advance(500 * time.Millisecond).Add(time.Hour) // 50 s in all
		read(s, "k", last)
	}
	want("100 reads within the interval", c.Take(), Counts{Select: 100})
	if e := stored("k"); !e.Equal(start.Add(time.Hour)) || last.Sub(e) > iv {
		t.Errorf("stored expiry %v after reads within the interval; want %v, at most %v behind %v", e, start.Add(time.Hour), iv, last)
	}
	// Past the interval: one refresh, then none again.
	exp := advance(11 * time.Second).Add(time.Hour)
	read(s, "k", exp)
	want("read past the interval", c.Take(), Counts{Select: 1, Update: 1})
	if e := stored("k"); !e.Equal(exp) {
		t.Errorf("stored expiry %v after the refresh, want %v", e, exp)
	}
	read(s, "k", advance(time.Second).Add(time.Hour))
	want("read after the refresh", c.Take(), Counts{Select: 1})

	// A lifetime not longer than the interval refreshes on every read.
	set("short", now().Add(30*time.Second))
	c.Take()
	for i := 0; i < 3; i++ {
		exp := advance(time.Second).Add(30 * time.Second)
		read(s, "short", exp)
		want("read of a short session", c.Take(), Counts{Select: 1, Update: 1})
		if e := stored("short"); !e.Equal(exp) {
			t.Errorf("short session: stored expiry %v, want %v", e, exp)
		}
	}

	// A zero expiry clears the stored one, once; an expiry on a row without
	// one is written.
	read(s, "k", time.Time{})
	want("zero expiry on a row with one", c.Take(), Counts{Select: 1, Update: 1})
	if e := stored("k"); !e.IsZero() {
		t.Errorf("stored expiry %v after GetAndTouch(zero), want none", e)
	}
	read(s, "k", time.Time{})
	want("zero expiry on a row without one", c.Take(), Counts{Select: 1})
	exp = now().Add(time.Hour)
	read(s, "k", exp)
	want("expiry on a row without one", c.Take(), Counts{Select: 1, Update: 1})
	if e := stored("k"); !e.Equal(exp) {
		t.Errorf("stored expiry %v, want %v", e, exp)
	}

	// A later stored expiry is kept.
	later := now().Add(2 * time.Hour)
	set("later", later)
	c.Take()
	read(s, "later", now().Add(time.Hour))
	want("stored expiry later than the requested one", c.Take(), Counts{Select: 1})
	if e := stored("later"); !e.Equal(later) {
		t.Errorf("stored expiry %v, want %v kept", e, later)
	}

	// A writer between the SELECT and the UPDATE: its later expiry stays.
	set("race", now().Add(time.Hour))
	raced := now().Add(3 * time.Hour)
	c.Before(func(q string) {
		c.Before(nil, "")
		if err := other.Set(ctx, "race", []byte("w"), raced); err != nil {
			t.Error(err)
		}
	}, "UPDATE")
	c.Take()
	read(s, "race", advance(2*iv).Add(time.Hour))
	c.Before(nil, "")
	want("read racing a writer", c.Take(), Counts{Select: 1, Update: 1})
	if e := stored("race"); !e.Equal(raced) {
		t.Errorf("stored expiry %v after a racing write, want the writer's %v", e, raced)
	}
	if data, _, _ := other.Get(ctx, "race"); string(data) != "w" {
		t.Errorf("racing writer's data %q, want w", data)
	}

	// An expired row is not found and not revived.
	set("dead", now().Add(time.Second))
	advance(2 * time.Second)
	c.Take()
	if _, found, err := s.GetAndTouch(ctx, "dead", now().Add(time.Hour)); found || err != nil {
		t.Errorf("GetAndTouch(expired) = %v, %v", found, err)
	}
	want("read of an expired row", c.Take(), Counts{Select: 1})
	if _, found, _ := other.Get(ctx, "dead"); found {
		t.Error("expired row revived")
	}

	// A passed expiry reads and deletes, as with RefreshInterval 0.
	read(s, "k", now().Add(-time.Second))
	if _, found, _ := other.Get(ctx, "k"); found {
		t.Error("entry survived GetAndTouch with a past expiry")
	}
}
