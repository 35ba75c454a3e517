package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coatcheck/coatcheck"
)

// The checks of coatcheck.UserIndexer, the store's own per-user session
// index. They run as part of Run (UserIndex, UserIndexConcurrent,
// Expiry/UserIndex) and are skipped for stores without it.

// indexer returns the store as a UserIndexer, or a skip.
func (c *checker) indexer() (coatcheck.UserIndexer, error) {
	ux, ok := c.store.(coatcheck.UserIndexer)
	if !ok {
		return nil, skipError("store does not implement coatcheck.UserIndexer")
	}
	return ux, nil
}

// indexKey returns an index key in this check's namespace (shaped like the
// Manager's: never a session key) and empties the index when the check
// ends.
func (c *checker) indexKey(ux coatcheck.UserIndexer, name string) string {
	ik := c.ns + "_user:" + name
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := ux.IndexTake(ctx, ik); err != nil {
			c.t.Logf("storetest: cleanup: IndexTake(%q): %v", ik, err)
		}
	})
	return ik
}

// entries stores a live entry under each name and returns their keys.
func (c *checker) entries(names ...string) ([]string, error) {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = c.key(n)
		if err := c.set(keys[i], []byte("v "+n), hour()); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func (c *checker) indexAdd(ux coatcheck.UserIndexer, ik, key string, expiry time.Time) {
	if err := ux.IndexAdd(c.ctx, ik, key, expiry); err != nil {
		c.errorf("IndexAdd(%q, %q, %s): %v", ik, key, showExpiry(expiry), err)
	}
}

// wantMembers reports a failure unless IndexList(ik) is exactly want.
func (c *checker) wantMembers(ux coatcheck.UserIndexer, ik string, want []string, why string) {
	got, err := ux.IndexList(c.ctx, ik)
	if err != nil {
		c.errorf("IndexList(%q) %s: %v", ik, why, err)
		return
	}
	if g, w := sortedSet(got), sortedSet(want); g != w {
		c.errorf("IndexList(%q) %s = [%s], want [%s]", ik, why, g, w)
	}
}

func sortedSet(keys []string) string {
	s := append([]string(nil), keys...)
	sort.Strings(s)
	return strings.Join(s, " ")
}

// checkUserIndex: add, re-add, remove, list and take, on independent
// indexes; absent indexes read as empty; a cancelled context is an error.
func checkUserIndex(c *checker) error {
	ux, err := c.indexer()
	if err != nil {
		return err
	}
	k, err := c.entries("uix:a", "uix:b", "uix:c")
	if err != nil {
		return err
	}
	ix, other := c.indexKey(ux, "ix"), c.indexKey(ux, "other")
	c.wantMembers(ux, ix, nil, "of an index never written")
	c.indexAdd(ux, ix, k[0], hour())
	c.indexAdd(ux, ix, k[1], time.Time{})
	c.indexAdd(ux, ix, k[2], hour())
	c.indexAdd(ux, ix, k[0], hour().Add(time.Minute))
	c.indexAdd(ux, other, k[2], hour())
	c.wantMembers(ux, ix, k, "after three adds and a re-add (a member is listed once)")
	c.wantMembers(ux, other, k[2:], "of a second index sharing a member")
	if err := ux.IndexRemove(c.ctx, ix, k[1]); err != nil {
		c.errorf("IndexRemove(%q, %q): %v", ix, k[1], err)
	}
	for _, why := range []string{"twice", "from an index never written"} {
		target := ix
		if why != "twice" {
			target = c.ns + "_user:never"
		}
		if err := ux.IndexRemove(c.ctx, target, k[1]); err != nil {
			c.errorf("IndexRemove %s: %v, want nil", why, err)
		}
	}
	c.wantMembers(ux, ix, []string{k[0], k[2]}, "after IndexRemove")
	if err := ux.IndexRemove(c.ctx, other, k[2]); err != nil {
		c.errorf("IndexRemove(%q, %q): %v", other, k[2], err)
	}
	c.wantMembers(ux, ix, []string{k[0], k[2]}, "after removing the shared member from the other index")
	c.wantMembers(ux, other, nil, "after removing its only member")
	got, err := ux.IndexTake(c.ctx, ix)
	if err != nil {
		c.errorf("IndexTake(%q): %v", ix, err)
	} else if g, w := sortedSet(got), sortedSet([]string{k[0], k[2]}); g != w {
		c.errorf("IndexTake(%q) = [%s], want [%s]", ix, g, w)
	}
	c.wantMembers(ux, ix, nil, "after IndexTake")
	if got, err := ux.IndexTake(c.ctx, ix); err != nil || len(got) != 0 {
		c.errorf("IndexTake of an emptied index = %v, %v; want [], nil", got, err)
	}
	for _, k := range k {
		c.wantValue(k, []byte("v "+strings.TrimPrefix(k, c.ns)), "after the index operations (an index never touches entries)")
	}

	cctx, cancel := context.WithCancel(c.ctx)
	cancel()
	calls := map[string]func() error{
		"IndexAdd":    func() error { return ux.IndexAdd(cctx, ix, k[0], hour()) },
		"IndexRemove": func() error { return ux.IndexRemove(cctx, ix, k[0]) },
		"IndexList":   func() error { _, err := ux.IndexList(cctx, ix); return err },
		"IndexTake":   func() error { _, err := ux.IndexTake(cctx, ix); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			c.errorf("%s with a cancelled context: %v, want an error wrapping context.Canceled", name, err)
		}
	}
	c.wantMembers(ux, ix, nil, "after a cancelled IndexAdd")
	return nil
}

// checkUserIndexConcurrent: 20 concurrent adds to one index are all kept,
// and a take racing further adds loses none of them.
func checkUserIndexConcurrent(c *checker) error {
	ux, err := c.indexer()
	if err != nil {
		return err
	}
	const n = 20
	names := make([]string, 2*n)
	for i := range names {
		names[i] = fmt.Sprintf("uixc:%02d", i)
	}
	k, err := c.entries(names...)
	if err != nil {
		return err
	}
	ix := c.indexKey(ux, "conc")
	var wg sync.WaitGroup
	for _, key := range k[:n] {
		wg.Add(1)
		go func() { defer wg.Done(); c.indexAdd(ux, ix, key, hour()) }()
	}
	wg.Wait()
	c.wantMembers(ux, ix, k[:n], fmt.Sprintf("after %d concurrent IndexAdds (a lost add shows as a missing key)", n))

	var taken []string
	var takeErr error
	wg.Add(1)
	go func() { defer wg.Done(); taken, takeErr = ux.IndexTake(c.ctx, ix) }()
	for _, key := range k[n:] {
		wg.Add(1)
		go func() { defer wg.Done(); c.indexAdd(ux, ix, key, hour()) }()
	}
	wg.Wait()
	if takeErr != nil {
		return fmt.Errorf("IndexTake(%q): %v", ix, takeErr)
	}
	rest, err := ux.IndexList(c.ctx, ix)
	if err != nil {
		return fmt.Errorf("IndexList(%q): %v", ix, err)
	}
	seen := map[string]int{}
	for _, key := range append(taken, rest...) {
		seen[key]++
	}
	for _, key := range k {
		if seen[key] != 1 {
			c.errorf("IndexTake racing %d IndexAdds: %q was taken or kept %d times, want once", n, key, seen[key])
		}
	}
	return nil
}

// checkExpiryUserIndex: a member stays while its entry lives, though the
// expiry it was added with has passed (the entry's expiry moved); a member
// whose entry and expiry have both passed is dropped by the next IndexAdd,
// so an index does not grow without bound.
func checkExpiryUserIndex(c *checker) error {
	ux, err := c.indexer()
	if err != nil {
		return err
	}
	exp := time.Now().Add(c.opts.lead())
	live, moved, dead, fresh := c.key("euix:live"), c.key("euix:moved"), c.key("euix:dead"), c.key("euix:fresh")
	for k, e := range map[string]time.Time{live: hour(), moved: exp, dead: exp} {
		if err := c.set(k, []byte("v "+k), e); err != nil {
			return err
		}
	}
	ix := c.indexKey(ux, "exp")
	for _, k := range []string{live, moved, dead} {
		c.indexAdd(ux, ix, k, exp)
	}
	// moved's entry now lives an hour; its index member is not told
	if err := c.set(moved, []byte("v "+moved), hour()); err != nil {
		return err
	}
	c.opts.sleepPast(exp)
	if err := c.set(fresh, []byte("v "+fresh), hour()); err != nil {
		return err
	}
	c.indexAdd(ux, ix, fresh, hour())
	c.wantMembers(ux, ix, []string{live, moved, fresh},
		"after the members' expiry passed (live and moved still hold live entries, dead's entry expired)")
	return nil
}

// checkUserIndexBatch: SetIndexed, CompareAndSetIndexed and DeleteIndexed
// (coatcheck.IndexBatcher) do what the calls they stand for do: a write
// with an add; a renewal (the old key deleted, its member moved to the
// new key in another index); a compare that does not match (the value
// kept; the index may go either way); one that matches (the value and the
// index changed); oldKey equal to key (no delete); a delete with its
// remove; and nothing at all with a cancelled context.
func checkUserIndexBatch(c *checker) error {
	bx, ok := c.store.(coatcheck.IndexBatcher)
	if !ok {
		return skipError("store does not implement coatcheck.IndexBatcher")
	}
	ixA, ixB := c.indexKey(bx, "batch-a"), c.indexKey(bx, "batch-b")
	k1, k2, k3 := c.key("uib:one"), c.key("uib:two"), c.key("uib:three")
	must := func(what string, err error) {
		if err != nil {
			c.errorf("%s: %v", what, err)
		}
	}
	must("SetIndexed(one, v1, hour, \"\", \"\", A)", bx.SetIndexed(c.ctx, k1, []byte("v1"), hour(), "", "", ixA))
	c.wantValue(k1, []byte("v1"), "after SetIndexed")
	c.wantMembers(bx, ixA, []string{k1}, "after SetIndexed with an add")

	must("SetIndexed(two, v2, hour, one, A, B) (a renewal)", bx.SetIndexed(c.ctx, k2, []byte("v2"), hour(), k1, ixA, ixB))
	c.wantAbsent(k1, "after a renewal's SetIndexed named it the old key")
	c.wantValue(k2, []byte("v2"), "after a renewal's SetIndexed")
	c.wantMembers(bx, ixA, nil, "after a renewal's SetIndexed removed the old key from it")
	c.wantMembers(bx, ixB, []string{k2}, "after a renewal's SetIndexed added the new key to it")

	swapped, err := bx.CompareAndSetIndexed(c.ctx, k2, []byte("stale"), []byte("v3"), hour(), ixB, ixA)
	if err != nil || swapped {
		c.errorf("CompareAndSetIndexed with an old value that does not match = %v, %v; want false, nil", swapped, err)
	}
	c.wantValue(k2, []byte("v2"), "after a CompareAndSetIndexed that did not match")
	// the index may have changed or not: put it back
	must("IndexRemove", bx.IndexRemove(c.ctx, ixA, k2))
	must("IndexAdd", bx.IndexAdd(c.ctx, ixB, k2, hour()))

	swapped, err = bx.CompareAndSetIndexed(c.ctx, k2, []byte("v2"), []byte("v3"), hour(), ixB, ixA)
	if err != nil || !swapped {
		c.errorf("CompareAndSetIndexed with the live old value = %v, %v; want true, nil", swapped, err)
	}
	c.wantValue(k2, []byte("v3"), "after a CompareAndSetIndexed that swapped")
	c.wantMembers(bx, ixA, []string{k2}, "after a CompareAndSetIndexed that swapped added to it")
	c.wantMembers(bx, ixB, nil, "after a CompareAndSetIndexed that swapped removed from it")

	must("SetIndexed(two, v4, hour, two, A, B)", bx.SetIndexed(c.ctx, k2, []byte("v4"), hour(), k2, ixA, ixB))
	c.wantValue(k2, []byte("v4"), "after SetIndexed with oldKey equal to key (not a renewal: nothing deleted)")
	c.wantMembers(bx, ixA, nil, "after SetIndexed moved the key out of it")
	c.wantMembers(bx, ixB, []string{k2}, "after SetIndexed moved the key into it")

	must("SetIndexed(three, v, hour, \"\", \"\", \"\")", bx.SetIndexed(c.ctx, k3, []byte("v"), hour(), "", "", ""))
	c.wantValue(k3, []byte("v"), "after SetIndexed without index changes")

	must("DeleteIndexed(two, B)", bx.DeleteIndexed(c.ctx, k2, ixB))
	c.wantAbsent(k2, "after DeleteIndexed")
	c.wantMembers(bx, ixB, nil, "after DeleteIndexed removed its key")
	c.wantValue(k3, []byte("v"), "after DeleteIndexed of another key")

	cctx, cancel := context.WithCancel(c.ctx)
	cancel()
	calls := map[string]func() error{
		"SetIndexed": func() error { return bx.SetIndexed(cctx, k1, []byte("x"), hour(), k3, "", ixA) },
		"CompareAndSetIndexed": func() error {
			_, err := bx.CompareAndSetIndexed(cctx, k3, []byte("v"), []byte("x"), hour(), "", ixA)
			return err
		},
		"DeleteIndexed": func() error { return bx.DeleteIndexed(cctx, k3, "") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			c.errorf("%s with a cancelled context: %v, want an error wrapping context.Canceled", name, err)
		}
	}
	c.wantAbsent(k1, "after a cancelled SetIndexed")
	c.wantValue(k3, []byte("v"), "after cancelled batch calls")
	c.wantMembers(bx, ixA, nil, "after cancelled batch calls")
	return c.del(k3)
}
