package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatcheck/coatcheck"
)

// checks run one after the other; expiryChecks wait for entries to expire
// and run in parallel with each other under the "Expiry" subtest.
var checks = []check{
	{"RoundTrip", checkRoundTrip},
	{"NotFound", checkNotFound},
	{"ZeroExpiry", checkZeroExpiry},
	{"PastExpiry", checkPastExpiry},
	{"Overwrite", checkOverwrite},
	{"DeleteIdempotent", checkDeleteIdempotent},
	{"NoAliasing", checkNoAliasing},
	{"EmptyValue", checkEmptyValue},
	{"BinaryValue", checkBinaryValue},
	{"LargeValue", checkLargeValue},
	{"Concurrent", checkConcurrent},
	{"PrefixIsolation", checkPrefixIsolation},
	{"CancelledContext", checkCancelledContext},
	{"Touch", checkTouch},
	{"Iterate", checkIterate},
	{"IterateStop", checkIterateStop},
	{"CompareAndSet", checkCompareAndSet},
	{"CompareAndSetConcurrent", checkCompareAndSetConcurrent},
	{"UserIndex", checkUserIndex},
	{"UserIndexConcurrent", checkUserIndexConcurrent},
	{"UserIndexBatch", checkUserIndexBatch},
}

var expiryChecks = []check{
	{"Read", checkExpiryRead},
	{"Overwrite", checkExpiryOverwrite},
	{"Touch", checkExpiryTouch},
	{"Iterate", checkExpiryIterate},
	{"DeleteExpired", checkExpiryDeleteExpired},
	{"CompareAndSet", checkExpiryCompareAndSet},
	{"UserIndex", checkExpiryUserIndex},
}

// ---- helpers ----

// show formats a value for a failure message.
func show(b []byte) string {
	if b == nil {
		return "nil"
	}
	if len(b) <= 48 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%d bytes %q…", len(b), b[:32])
}

// diff describes how got differs from want.
func diff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%s (len %d), want %s (len %d)", show(got), len(got), show(want), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("%s, want %s (first difference at byte %d: %#02x, want %#02x)", show(got), show(want), i, got[i], want[i])
		}
	}
	return "equal"
}

func showExpiry(t time.Time) string {
	if t.IsZero() {
		return "zero (none)"
	}
	return fmt.Sprintf("%s (now%+.3fs)", t.UTC().Format(time.RFC3339Nano), time.Until(t).Seconds())
}

func (c *checker) set(key string, data []byte, expiry time.Time) error {
	if err := c.store.Set(c.ctx, key, data, expiry); err != nil {
		return fmt.Errorf("Set(%q, %s, expiry %s): unexpected error: %v", key, show(data), showExpiry(expiry), err)
	}
	return nil
}

func (c *checker) del(key string) error {
	if err := c.store.Delete(c.ctx, key); err != nil {
		return fmt.Errorf("Delete(%q): unexpected error: %v", key, err)
	}
	return nil
}

// wantValue reports a failure unless Get(key) returns want.
func (c *checker) wantValue(key string, want []byte, why string) {
	got, found, err := c.store.Get(c.ctx, key)
	switch {
	case err != nil:
		c.errorf("Get(%q) %s: error = %v, want nil", key, why, err)
	case !found:
		c.errorf("Get(%q) %s: found = false, want true (value %s)", key, why, show(want))
	case !bytes.Equal(got, want):
		c.errorf("Get(%q) %s: value = %s", key, why, diff(got, want))
	}
}

// wantAbsent reports a failure unless Get(key) returns (nil, false, nil).
func (c *checker) wantAbsent(key string, why string) {
	got, found, err := c.store.Get(c.ctx, key)
	switch {
	case err != nil:
		c.errorf("Get(%q) %s: error = %v, want nil (not found is not an error)", key, why, err)
	case found:
		c.errorf("Get(%q) %s: found = true (value %s), want false", key, why, show(got))
	case got != nil:
		c.errorf("Get(%q) %s: (%s, false, nil), want (nil, false, nil)", key, why, show(got))
	}
}

// iterate collects what Iterate reports under prefix, reporting duplicates
// and keys outside the prefix as failures.
func (c *checker) iterate(it coatcheck.Iterator, prefix string) (map[string]time.Time, error) {
	got := map[string]time.Time{}
	err := it.Iterate(c.ctx, prefix, func(key string, expiry time.Time) bool {
		if !strings.HasPrefix(key, prefix) {
			c.errorf("Iterate(%q) reported key %q, which lacks the prefix", prefix, key)
		}
		if _, dup := got[key]; dup {
			c.errorf("Iterate(%q) reported key %q twice", prefix, key)
		}
		got[key] = expiry
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("Iterate(%q): unexpected error: %v", prefix, err)
	}
	return got, nil
}

// wantExpiry reports a failure unless got is want within the tolerance.
func (c *checker) wantExpiry(what string, got, want time.Time) {
	if want.IsZero() || got.IsZero() {
		if want.IsZero() != got.IsZero() {
			c.errorf("%s: expiry = %s, want %s", what, showExpiry(got), showExpiry(want))
		}
		return
	}
	d := got.Sub(want)
	if d < 0 {
		d = -d
	}
	if tol := c.opts.tolerance(); d > tol {
		c.errorf("%s: expiry = %s, want %s (±%v)", what, showExpiry(got), showExpiry(want), tol)
	}
}

// wantIterate reports a failure unless Iterate(prefix) reports exactly the
// keys of want with their expiries.
func (c *checker) wantIterate(it coatcheck.Iterator, prefix string, want map[string]time.Time, why string) error {
	got, err := c.iterate(it, prefix)
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if !ok {
			c.errorf("Iterate(%q) %s: key %q not reported, want it (expiry %s)", prefix, why, k, showExpiry(want[k]))
			continue
		}
		c.wantExpiry(fmt.Sprintf("Iterate(%q) %s: key %q", prefix, why, k), g, want[k])
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			c.errorf("Iterate(%q) %s: reported key %q (expiry %s), want only %q", prefix, why, k, showExpiry(got[k]), sortedKeys(want))
		}
	}
	return nil
}

func sortedKeys(m map[string]time.Time) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func hour() time.Time { return time.Now().Add(time.Hour) }

// ---- checks that do not wait ----

func checkRoundTrip(c *checker) error {
	k, other := c.key("rt:k"), c.key("rt:other")
	v := []byte("hello, coatcheck")
	if err := c.set(k, v, hour()); err != nil {
		return err
	}
	c.wantValue(k, v, "after Set")
	c.wantAbsent(other, "of a key never set")
	return nil
}

func checkNotFound(c *checker) error {
	c.wantAbsent(c.key("nf:never"), "of a key never set")
	k := c.key("nf:deleted")
	if err := c.set(k, []byte("v"), hour()); err != nil {
		return err
	}
	if err := c.del(k); err != nil {
		return err
	}
	c.wantAbsent(k, "after Delete")
	return nil
}

func checkZeroExpiry(c *checker) error {
	k := c.key("zero:k")
	v := []byte("forever")
	if err := c.set(k, v, time.Time{}); err != nil {
		return err
	}
	c.wantValue(k, v, "after Set with a zero expiry (zero means none)")
	if it, ok := c.store.(coatcheck.Iterator); ok {
		return c.wantIterate(it, c.ns+"zero:", map[string]time.Time{k: {}}, "after Set with a zero expiry")
	}
	return nil
}

func checkPastExpiry(c *checker) error {
	k, fresh := c.key("past:existing"), c.key("past:new")
	if err := c.set(k, []byte("live"), hour()); err != nil {
		return err
	}
	past := time.Now().Add(-time.Hour)
	if err := c.store.Set(c.ctx, k, []byte("dead"), past); err != nil {
		c.errorf("Set(%q) with a past expiry: error = %v, want nil (it behaves like Delete)", k, err)
	}
	c.wantAbsent(k, "after Set with a past expiry over a live entry (must behave like Delete)")
	if err := c.store.Set(c.ctx, fresh, []byte("dead"), past); err != nil {
		c.errorf("Set(%q) of a new key with a past expiry: error = %v, want nil", fresh, err)
	}
	c.wantAbsent(fresh, "after Set of a new key with a past expiry")
	if it, ok := c.store.(coatcheck.Iterator); ok {
		return c.wantIterate(it, c.ns+"past:", map[string]time.Time{}, "after Sets with past expiries")
	}
	return nil
}

func checkOverwrite(c *checker) error {
	k := c.key("ow:k")
	it, isIter := c.store.(coatcheck.Iterator)
	if err := c.set(k, []byte("first value, quite long"), hour()); err != nil {
		return err
	}
	if err := c.set(k, []byte("second"), time.Time{}); err != nil {
		return err
	}
	c.wantValue(k, []byte("second"), "after overwriting a longer value")
	if isIter {
		if err := c.wantIterate(it, c.ns+"ow:", map[string]time.Time{k: {}}, "after overwriting with a zero expiry"); err != nil {
			return err
		}
	}
	exp := time.Now().Add(2 * time.Hour)
	if err := c.set(k, []byte("3"), exp); err != nil {
		return err
	}
	c.wantValue(k, []byte("3"), "after a second overwrite")
	if isIter {
		return c.wantIterate(it, c.ns+"ow:", map[string]time.Time{k: exp}, "after overwriting a zero expiry with one in 2h")
	}
	return nil
}

func checkDeleteIdempotent(c *checker) error {
	k := c.key("del:k")
	if err := c.store.Delete(c.ctx, c.key("del:never")); err != nil {
		c.errorf("Delete of a key never set: error = %v, want nil (Delete is idempotent)", err)
	}
	if err := c.set(k, []byte("v"), hour()); err != nil {
		return err
	}
	if err := c.store.Delete(c.ctx, k); err != nil {
		c.errorf("Delete(%q): error = %v, want nil", k, err)
	}
	c.wantAbsent(k, "after Delete")
	if err := c.store.Delete(c.ctx, k); err != nil {
		c.errorf("second Delete(%q): error = %v, want nil (Delete is idempotent)", k, err)
	}
	return nil
}

func checkNoAliasing(c *checker) error {
	k := c.key("alias:k")
	in := []byte("original")
	if err := c.set(k, in, hour()); err != nil {
		return err
	}
	copy(in, "XXXXXXXX")
	c.wantValue(k, []byte("original"), "after the caller overwrote the slice it passed to Set")
	got, found, err := c.store.Get(c.ctx, k)
	if err != nil || !found {
		return fmt.Errorf("Get(%q) = found %v, error %v; want found, nil", k, found, err)
	}
	for i := range got {
		got[i] = 'Y'
	}
	c.wantValue(k, []byte("original"), "after the caller overwrote the slice Get returned")
	return nil
}

func checkEmptyValue(c *checker) error {
	k := c.key("empty:k")
	if err := c.set(k, []byte{}, hour()); err != nil {
		return err
	}
	got, found, err := c.store.Get(c.ctx, k)
	if err != nil || !found || len(got) != 0 {
		c.errorf("Get(%q) of an empty value = (%s, %v, %v), want ([]byte{}, true, nil)", k, show(got), found, err)
	}
	return nil
}

func checkBinaryValue(c *checker) error {
	k := c.key("bin:k")
	v := make([]byte, 0, 512)
	for i := 0; i < 256; i++ {
		v = append(v, byte(i))
	}
	for i := 255; i >= 0; i-- {
		v = append(v, byte(i))
	}
	if err := c.set(k, v, hour()); err != nil {
		return err
	}
	c.wantValue(k, v, "of all 256 byte values")
	return nil
}

func checkLargeValue(c *checker) error {
	k := c.key("large:k")
	n := c.opts.valueSize()
	v := make([]byte, n)
	x := uint32(2463534242)
	for i := range v {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = byte(x)
	}
	if err := c.set(k, v, hour()); err != nil {
		return err
	}
	c.wantValue(k, v, fmt.Sprintf("of a %d-byte value", n))
	return nil
}

const (
	workers = 200
	nshared = 4
)

// concValue is worker id's value for round r: a header naming both, then a
// body of a length and a byte that depend on id, so a torn or mixed value
// fails parseConc.
func concValue(id, r int) []byte {
	return append([]byte(fmt.Sprintf("%03d:%d:", id, r)), bytes.Repeat([]byte{byte(id)}, 64+id)...)
}

// parseConc returns the writer of v, or ok=false when v is not a value
// concValue could have produced.
func parseConc(v []byte) (id, r int, ok bool) {
	parts := bytes.SplitN(v, []byte(":"), 3)
	if len(parts) != 3 {
		return 0, 0, false
	}
	id, err1 := strconv.Atoi(string(parts[0]))
	r, err2 := strconv.Atoi(string(parts[1]))
	if err1 != nil || err2 != nil || id < 0 || id >= workers {
		return 0, 0, false
	}
	return id, r, bytes.Equal(v, concValue(id, r))
}

func checkConcurrent(c *checker) error {
	shared := make([]string, nshared)
	for i := range shared {
		shared[i] = c.key(fmt.Sprintf("conc:shared%d", i))
	}
	flap := c.key("conc:flap")
	own := make([]string, workers)
	for i := range own {
		own[i] = c.key(fmt.Sprintf("conc:own%03d", i))
	}
	exp := hour()
	var wg sync.WaitGroup
	for id := 0; id < workers; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			k := own[id]
			for r := 0; r < 3; r++ {
				if err := c.set(k, concValue(id, r), exp); err != nil {
					c.errorf("worker %d: %v", id, err)
					return
				}
				c.wantValue(k, concValue(id, r), fmt.Sprintf("by worker %d (the only writer of that key) after its Set", id))
			}
			if err := c.del(k); err != nil {
				c.errorf("worker %d: %v", id, err)
				return
			}
			c.wantAbsent(k, fmt.Sprintf("by worker %d (the only writer of that key) after its Delete", id))
			if err := c.set(k, concValue(id, 9), exp); err != nil {
				c.errorf("worker %d: %v", id, err)
				return
			}

			sk := shared[id%nshared]
			if err := c.set(sk, concValue(id, 0), exp); err != nil {
				c.errorf("worker %d: %v", id, err)
				return
			}
			got, found, err := c.store.Get(c.ctx, sk)
			if err != nil || !found {
				c.errorf("worker %d: Get(%q) of a shared key that is never deleted = found %v, error %v; want found, nil", id, sk, found, err)
			} else if _, _, ok := parseConc(got); !ok {
				c.errorf("worker %d: Get(%q) of a shared key = %s, which no worker wrote (torn or mixed value)", id, sk, show(got))
			}

			if id%2 == 0 {
				err = c.store.Set(c.ctx, flap, concValue(id, 0), exp)
			} else {
				err = c.store.Delete(c.ctx, flap)
			}
			if err != nil {
				c.errorf("worker %d: Set/Delete(%q): %v", id, flap, err)
				return
			}
			got, found, err = c.store.Get(c.ctx, flap)
			if err != nil {
				c.errorf("worker %d: Get(%q): %v", id, flap, err)
			} else if found {
				if _, _, ok := parseConc(got); !ok {
					c.errorf("worker %d: Get(%q) = %s, which no worker wrote (torn or mixed value)", id, flap, show(got))
				}
			}
		}(id)
	}
	wg.Wait()
	if c.failed() {
		return nil
	}
	// Final state.
	for id, k := range own {
		c.wantValue(k, concValue(id, 9), fmt.Sprintf("after all %d workers finished (worker %d's last write)", workers, id))
	}
	for i, k := range shared {
		got, found, err := c.store.Get(c.ctx, k)
		if err != nil || !found {
			c.errorf("Get(%q) of a shared key after all workers finished = found %v, error %v; want found, nil", k, found, err)
			continue
		}
		id, _, ok := parseConc(got)
		if !ok || id%nshared != i {
			c.errorf("Get(%q) of a shared key after all workers finished = %s, want a value written by a worker of that key", k, show(got))
		}
	}
	got, found, err := c.store.Get(c.ctx, flap)
	if err != nil {
		c.errorf("Get(%q) after all workers finished: %v", flap, err)
	} else if found {
		if id, _, ok := parseConc(got); !ok || id%2 != 0 {
			c.errorf("Get(%q) after all workers finished = %s, want absent or a value written by an even worker", flap, show(got))
		}
	}
	return nil
}

func checkPrefixIsolation(c *checker) error {
	a, ab, b := c.key("a:x"), c.key("ab:x"), c.key("b:x")
	vals := map[string][]byte{a: []byte("value a:x"), ab: []byte("value ab:x"), b: []byte("value b:x")}
	exp := hour()
	for _, k := range []string{a, ab, b} {
		if err := c.set(k, vals[k], exp); err != nil {
			return err
		}
	}
	for _, k := range []string{a, ab, b} {
		c.wantValue(k, vals[k], "with keys sharing a prefix")
	}
	if it, ok := c.store.(coatcheck.Iterator); ok {
		if err := c.wantIterate(it, c.ns+"a:", map[string]time.Time{a: exp}, "with keys a:x, ab:x, b:x"); err != nil {
			return err
		}
		if err := c.wantIterate(it, c.ns+"ab:", map[string]time.Time{ab: exp}, "with keys a:x, ab:x, b:x"); err != nil {
			return err
		}
	}
	if err := c.del(a); err != nil {
		return err
	}
	c.wantAbsent(a, "after Delete")
	c.wantValue(ab, vals[ab], fmt.Sprintf("after Delete(%q)", a))
	c.wantValue(b, vals[b], fmt.Sprintf("after Delete(%q)", a))
	if it, ok := c.store.(coatcheck.Iterator); ok {
		return c.wantIterate(it, c.ns, map[string]time.Time{ab: exp, b: exp}, fmt.Sprintf("after Delete(%q)", a))
	}
	return nil
}

func checkCancelledContext(c *checker) error {
	k := c.key("ctx:k")
	fresh := c.key("ctx:new")
	before := []byte("before")
	if err := c.set(k, before, hour()); err != nil {
		return err
	}
	cancelled, cancel := context.WithCancel(c.ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(c.ctx, time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"a cancelled context", cancelled, context.Canceled},
		{"a context past its deadline", expired, context.DeadlineExceeded},
	} {
		ctx, want := tc.ctx, tc.want
		wantErr := func(op string, err error) {
			if !errors.Is(err, want) {
				c.errorf("%s with %s: error = %v, want an error wrapping %v", op, tc.name, err, want)
			}
		}
		_, _, err := c.store.Get(ctx, k)
		wantErr(fmt.Sprintf("Get(%q)", k), err)
		wantErr(fmt.Sprintf("Set(%q)", k), c.store.Set(ctx, k, []byte("after"), hour()))
		c.wantValue(k, before, fmt.Sprintf("after a Set with %s (it must leave the previous value)", tc.name))
		wantErr(fmt.Sprintf("Set(%q)", fresh), c.store.Set(ctx, fresh, []byte("after"), hour()))
		c.wantAbsent(fresh, fmt.Sprintf("after a Set of a new key with %s", tc.name))
		wantErr(fmt.Sprintf("Delete(%q)", k), c.store.Delete(ctx, k))
		c.wantValue(k, before, fmt.Sprintf("after a Delete with %s", tc.name))
		if to, ok := c.store.(coatcheck.Toucher); ok {
			_, err := to.Touch(ctx, k, hour())
			wantErr(fmt.Sprintf("Touch(%q)", k), err)
		}
		if it, ok := c.store.(coatcheck.Iterator); ok {
			wantErr(fmt.Sprintf("Iterate(%q)", c.ns), it.Iterate(ctx, c.ns, func(string, time.Time) bool { return true }))
		}
		if cl, ok := c.store.(coatcheck.Cleaner); ok {
			_, err := cl.DeleteExpired(ctx)
			wantErr("DeleteExpired", err)
		}
	}
	return nil
}

func checkTouch(c *checker) error {
	to, ok := c.store.(coatcheck.Toucher)
	if !ok {
		return skipError("store does not implement coatcheck.Toucher")
	}
	it, isIter := c.store.(coatcheck.Iterator)
	missing := c.key("touch:missing")
	found, err := to.Touch(c.ctx, missing, hour())
	if err != nil || found {
		c.errorf("Touch(%q) of an absent key = (%v, %v), want (false, nil)", missing, found, err)
	}
	c.wantAbsent(missing, "after Touch of an absent key (Touch must not create it)")

	k := c.key("touch:k")
	v := []byte("touched data")
	if err := c.set(k, v, hour()); err != nil {
		return err
	}
	exp := time.Now().Add(2 * time.Hour)
	found, err = to.Touch(c.ctx, k, exp)
	if err != nil || !found {
		c.errorf("Touch(%q) of a live key = (%v, %v), want (true, nil)", k, found, err)
	}
	c.wantValue(k, v, "after Touch (Touch must not change the data)")
	if isIter {
		if err := c.wantIterate(it, c.ns+"touch:", map[string]time.Time{k: exp}, "after Touch to 2h ahead"); err != nil {
			return err
		}
	}
	found, err = to.Touch(c.ctx, k, time.Time{})
	if err != nil || !found {
		c.errorf("Touch(%q, zero expiry) of a live key = (%v, %v), want (true, nil)", k, found, err)
	}
	c.wantValue(k, v, "after Touch with a zero expiry")
	if isIter {
		if err := c.wantIterate(it, c.ns+"touch:", map[string]time.Time{k: {}}, "after Touch with a zero expiry"); err != nil {
			return err
		}
	}
	if err := c.del(k); err != nil {
		return err
	}
	found, err = to.Touch(c.ctx, k, hour())
	if err != nil || found {
		c.errorf("Touch(%q) of a deleted key = (%v, %v), want (false, nil)", k, found, err)
	}
	c.wantAbsent(k, "after Touch of a deleted key (Touch must not revive it)")
	return nil
}

func checkIterate(c *checker) error {
	it, ok := c.store.(coatcheck.Iterator)
	if !ok {
		return skipError("store does not implement coatcheck.Iterator")
	}
	want := map[string]time.Time{
		c.key("it:one"):   hour(),
		c.key("it:two"):   {},
		c.key("it:three"): time.Now().Add(48 * time.Hour),
	}
	for k, exp := range want {
		if err := c.set(k, []byte("v "+k), exp); err != nil {
			return err
		}
	}
	deleted, past, sibling := c.key("it:deleted"), c.key("it:past"), c.key("itx:sibling")
	if err := c.set(deleted, []byte("d"), hour()); err != nil {
		return err
	}
	if err := c.del(deleted); err != nil {
		return err
	}
	if err := c.store.Set(c.ctx, past, []byte("p"), time.Now().Add(-time.Hour)); err != nil {
		c.errorf("Set(%q) with a past expiry: error = %v, want nil", past, err)
	}
	if err := c.set(sibling, []byte("s"), hour()); err != nil {
		return err
	}
	if err := c.wantIterate(it, c.ns+"it:", want, "with a deleted key, a key set with a past expiry and a sibling prefix"); err != nil {
		return err
	}
	return c.wantIterate(it, c.ns+"none:", map[string]time.Time{}, "of a prefix with no keys")
}

func checkIterateStop(c *checker) error {
	it, ok := c.store.(coatcheck.Iterator)
	if !ok {
		return skipError("store does not implement coatcheck.Iterator")
	}
	for i := 0; i < 5; i++ {
		if err := c.set(c.key(fmt.Sprintf("stop:%d", i)), []byte("v"), hour()); err != nil {
			return err
		}
	}
	calls := 0
	err := it.Iterate(c.ctx, c.ns+"stop:", func(string, time.Time) bool {
		calls++
		return false
	})
	if err != nil {
		c.errorf("Iterate(%q) stopped by fn: error = %v, want nil", c.ns+"stop:", err)
	}
	if calls != 1 {
		c.errorf("Iterate(%q) over 5 keys with fn returning false: fn called %d times, want 1", c.ns+"stop:", calls)
	}
	calls = 0
	err = it.Iterate(c.ctx, c.ns+"stop:", func(string, time.Time) bool {
		calls++
		return calls < 3
	})
	if err != nil {
		c.errorf("Iterate(%q) stopped by fn: error = %v, want nil", c.ns+"stop:", err)
	}
	if calls != 3 {
		c.errorf("Iterate(%q) over 5 keys with fn returning false on its 3rd call: fn called %d times, want 3", c.ns+"stop:", calls)
	}
	return nil
}

// ---- checks that wait for an expiry ----

func checkExpiryRead(c *checker) error {
	exp := time.Now().Add(c.opts.lead())
	short, long, none := c.key("exp:short"), c.key("exp:long"), c.key("exp:none")
	for k, e := range map[string]time.Time{short: exp, long: hour(), none: {}} {
		if err := c.set(k, []byte("v "+k), e); err != nil {
			return err
		}
	}
	c.wantValue(short, []byte("v "+short), fmt.Sprintf("right after Set with expiry %s", showExpiry(exp)))
	c.opts.sleepPast(exp)
	c.wantAbsent(short, fmt.Sprintf("after its expiry %s passed (expiry must be honoured on read)", showExpiry(exp)))
	c.wantValue(long, []byte("v "+long), "of a key expiring in an hour, after another key expired")
	c.wantValue(none, []byte("v "+none), "of a key with no expiry, after another key expired")
	return nil
}

func checkExpiryOverwrite(c *checker) error {
	exp := time.Now().Add(c.opts.lead())
	shortened, lengthened, cleared := c.key("eow:shortened"), c.key("eow:lengthened"), c.key("eow:cleared")
	steps := []struct {
		k   string
		v   string
		exp time.Time
	}{
		{shortened, "1", hour()}, {shortened, "2", exp},
		{lengthened, "1", exp}, {lengthened, "2", hour()},
		{cleared, "1", exp}, {cleared, "2", time.Time{}},
	}
	for _, s := range steps {
		if err := c.set(s.k, []byte(s.v), s.exp); err != nil {
			return err
		}
	}
	c.opts.sleepPast(exp)
	c.wantAbsent(shortened, "after the expiry of the Set that overwrote a later one passed")
	c.wantValue(lengthened, []byte("2"), "after the expiry it was first set with passed (an overwrite moved it 1h ahead)")
	c.wantValue(cleared, []byte("2"), "after the expiry it was first set with passed (an overwrite removed it)")
	return nil
}

func checkExpiryTouch(c *checker) error {
	to, ok := c.store.(coatcheck.Toucher)
	if !ok {
		return skipError("store does not implement coatcheck.Toucher")
	}
	exp := time.Now().Add(c.opts.lead())
	extended, shortened, expired := c.key("etouch:extended"), c.key("etouch:shortened"), c.key("etouch:expired")
	for k, e := range map[string]time.Time{extended: exp, shortened: hour(), expired: exp} {
		if err := c.set(k, []byte("v "+k), e); err != nil {
			return err
		}
	}
	for k, e := range map[string]time.Time{extended: hour(), shortened: exp} {
		found, err := to.Touch(c.ctx, k, e)
		if err != nil || !found {
			c.errorf("Touch(%q, %s) of a live key = (%v, %v), want (true, nil)", k, showExpiry(e), found, err)
		}
	}
	c.opts.sleepPast(exp)
	c.wantValue(extended, []byte("v "+extended), "after its original expiry passed (Touch moved it 1h ahead)")
	c.wantAbsent(shortened, "after the expiry Touch gave it passed")
	found, err := to.Touch(c.ctx, expired, hour())
	if err != nil || found {
		c.errorf("Touch(%q) of an expired key = (%v, %v), want (false, nil)", expired, found, err)
	}
	c.wantAbsent(expired, "after Touch of an expired key (Touch must not revive it)")
	return nil
}

func checkExpiryIterate(c *checker) error {
	it, ok := c.store.(coatcheck.Iterator)
	if !ok {
		return skipError("store does not implement coatcheck.Iterator")
	}
	exp := time.Now().Add(c.opts.lead())
	all := map[string]time.Time{
		c.key("eit:short1"): exp,
		c.key("eit:short2"): exp,
		c.key("eit:long"):   hour(),
		c.key("eit:none"):   {},
	}
	for k, e := range all {
		if err := c.set(k, []byte("v"), e); err != nil {
			return err
		}
	}
	if err := c.wantIterate(it, c.ns+"eit:", all, "before any expiry"); err != nil {
		return err
	}
	c.opts.sleepPast(exp)
	live := map[string]time.Time{c.ns + "eit:long": all[c.ns+"eit:long"], c.ns + "eit:none": {}}
	return c.wantIterate(it, c.ns+"eit:", live, fmt.Sprintf("after %s passed (expired entries must be skipped)", showExpiry(exp)))
}

func checkExpiryDeleteExpired(c *checker) error {
	cl, ok := c.store.(coatcheck.Cleaner)
	if !ok {
		return skipError("store does not implement coatcheck.Cleaner")
	}
	// Another client of a shared backend may sweep our expired entries
	// between our sleep and our DeleteExpired, making the count fall short
	// through no fault of the store; so a short count is retried with fresh
	// keys before it is reported. A store that miscounts fails every time.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		short, err := c.deleteExpiredOnce(cl, fmt.Sprintf("eclean%d:", attempt), attempt == attempts)
		if err != nil || !short || attempt == attempts {
			return err
		}
		c.t.Logf("DeleteExpired removed fewer entries than the suite expired (attempt %d of %d); retrying in case another client swept them", attempt, attempts)
	}
}

// deleteExpiredOnce runs one DeleteExpired experiment under prefix and
// reports whether the count fell short; a short count is reported as a
// failure only when final is set.
func (c *checker) deleteExpiredOnce(cl coatcheck.Cleaner, prefix string, final bool) (short bool, err error) {
	exp := time.Now().Add(c.opts.lead())
	e1, e2, long, none := c.key(prefix+"expired1"), c.key(prefix+"expired2"), c.key(prefix+"long"), c.key(prefix+"none")
	longExp := hour()
	for k, e := range map[string]time.Time{e1: exp, e2: exp, long: longExp, none: {}} {
		if err := c.set(k, []byte("v "+k), e); err != nil {
			return false, err
		}
	}
	c.opts.sleepPast(exp)
	n, err := cl.DeleteExpired(c.ctx)
	if err != nil {
		return false, fmt.Errorf("DeleteExpired: unexpected error: %v", err)
	}
	switch {
	case n < 0:
		c.errorf("DeleteExpired removed %d entries, want a count >= 0", n)
	case n < 2 && !c.opts.BackgroundCleanup:
		if !final {
			return true, nil
		}
		c.errorf("DeleteExpired removed %d entries, want at least 2 (the suite's own two expired entries; if the store also sweeps on its own, set Options.BackgroundCleanup)", n)
	}
	c.wantAbsent(e1, "after DeleteExpired")
	c.wantAbsent(e2, "after DeleteExpired")
	c.wantValue(long, []byte("v "+long), "after DeleteExpired (it must keep live entries)")
	c.wantValue(none, []byte("v "+none), "after DeleteExpired (it must keep entries without expiry)")
	if it, ok := c.store.(coatcheck.Iterator); ok {
		return false, c.wantIterate(it, c.ns+prefix, map[string]time.Time{long: longExp, none: {}}, "after DeleteExpired")
	}
	return false, nil
}

// ---- compare-and-set ----

func checkCompareAndSet(c *checker) error {
	cas, ok := c.store.(coatcheck.CompareAndSetter)
	if !ok {
		return skipError("store does not implement coatcheck.CompareAndSetter")
	}
	k := c.key("cas:k")
	swap := func(old, data []byte, why string, want bool) {
		got, err := cas.CompareAndSet(c.ctx, k, old, data, hour())
		if err != nil || got != want {
			c.errorf("CompareAndSet(%q, old=%s, new=%s) %s = (%v, %v), want (%v, nil)", k, show(old), show(data), why, got, err, want)
		}
	}
	swap(nil, []byte("v1"), "on an absent key with nil old", true)
	c.wantValue(k, []byte("v1"), "after an insert by CompareAndSet")
	swap(nil, []byte("clobber"), "with nil old on a present key", false)
	c.wantValue(k, []byte("v1"), "after a CompareAndSet that must fail (nil old, key present)")
	swap([]byte("v0"), []byte("clobber"), "with a stale old value", false)
	swap([]byte("v"), []byte("clobber"), "with a prefix of the value as old", false)
	c.wantValue(k, []byte("v1"), "after a CompareAndSet with a stale old value")
	swap([]byte("v1"), []byte("v2"), "with the current value as old", true)
	c.wantValue(k, []byte("v2"), "after a successful CompareAndSet")
	swap([]byte("v2"), []byte{}, "to an empty value", true)
	swap([]byte{}, []byte("v3"), "from an empty (non-nil) old value", true)
	c.wantValue(k, []byte("v3"), "after swapping from the empty value")
	if err := c.del(k); err != nil {
		return err
	}
	swap([]byte("v3"), []byte("resurrected"), "on a deleted key with its last value as old", false)
	c.wantAbsent(k, "after a CompareAndSet on a deleted key (it must not resurrect it)")

	cctx, cancel := context.WithCancel(c.ctx)
	cancel()
	if err := c.set(k, []byte("kept"), hour()); err != nil {
		return err
	}
	if _, err := cas.CompareAndSet(cctx, k, []byte("kept"), []byte("lost"), hour()); !errors.Is(err, context.Canceled) {
		c.errorf("CompareAndSet with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	c.wantValue(k, []byte("kept"), "after a CompareAndSet with a cancelled context")
	return nil
}

// checkCompareAndSetConcurrent: goroutines increment one counter with
// read-modify-write loops; none of the increments may be lost.
func checkCompareAndSetConcurrent(c *checker) error {
	cas, ok := c.store.(coatcheck.CompareAndSetter)
	if !ok {
		return skipError("store does not implement coatcheck.CompareAndSetter")
	}
	k := c.key("cas:counter")
	if err := c.set(k, []byte("0"), hour()); err != nil {
		return err
	}
	const workers, each = 20, 5
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for attempt := 0; ; attempt++ {
					old, found, err := c.store.Get(c.ctx, k)
					if err != nil || !found || attempt > 1000 {
						failed.Add(1)
						return
					}
					n, _ := strconv.Atoi(string(old))
					ok, err := cas.CompareAndSet(c.ctx, k, old, []byte(strconv.Itoa(n+1)), hour())
					if err != nil {
						failed.Add(1)
						return
					}
					if ok {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		c.errorf("%d read-modify-write loops failed (error, key vanished, or 1000 conflicts in a row)", n)
	}
	c.wantValue(k, []byte(strconv.Itoa(workers*each)), fmt.Sprintf("after %d concurrent CompareAndSet increments (a lost update shows as a smaller count)", workers*each))
	return nil
}

// checkExpiryCompareAndSet: an expired entry counts as absent.
func checkExpiryCompareAndSet(c *checker) error {
	cas, ok := c.store.(coatcheck.CompareAndSetter)
	if !ok {
		return skipError("store does not implement coatcheck.CompareAndSetter")
	}
	exp := time.Now().Add(c.opts.lead())
	stale, insert := c.key("ecas:stale"), c.key("ecas:insert")
	for _, k := range []string{stale, insert} {
		if err := c.set(k, []byte("old"), exp); err != nil {
			return err
		}
	}
	c.opts.sleepPast(exp)
	got, err := cas.CompareAndSet(c.ctx, stale, []byte("old"), []byte("revived"), hour())
	if err != nil || got {
		c.errorf("CompareAndSet(%q, old=the expired value) = (%v, %v), want (false, nil): an expired entry is absent", stale, got, err)
	}
	c.wantAbsent(stale, "after a CompareAndSet against an expired entry")
	got, err = cas.CompareAndSet(c.ctx, insert, nil, []byte("new"), hour())
	if err != nil || !got {
		c.errorf("CompareAndSet(%q, nil old) over an expired entry = (%v, %v), want (true, nil): an expired entry is absent", insert, got, err)
	}
	c.wantValue(insert, []byte("new"), "after inserting over an expired entry")
	return nil
}
