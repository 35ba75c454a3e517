package storetest

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

// bug selects one deliberate defect of refStore.
type bug int

const (
	noBug               bug = iota
	bugIgnoreExpiry         // Get and Iterate return expired entries; past Sets store
	bugZeroIsExpired        // a zero expiry is treated as already expired
	bugNotFoundErr          // Get of an absent key returns an error
	bugNotFoundEmpty        // Get of an absent key returns []byte{}, false, nil
	bugAliasSet             // Set keeps the caller's slice
	bugAliasGet             // Get returns the stored slice
	bugDeleteAbsentErr      // Delete of an absent key returns an error
	bugIgnoreCtx            // methods ignore ctx
	bugSetDespiteCtx        // Set writes, then reports ctx.Err()
	bugKeepExpiry           // overwriting keeps the old expiry
	bugEmptyIsAbsent        // an empty value reads as not found
	bugSevenBit             // values are stored with the high bit cleared
	bugTruncate64K          // values are truncated to 64 KiB
	bugDeleteByPrefix       // Delete("p:a:x") deletes every key starting with "p:a"
	bugLoseWrites           // every 97th Set is silently dropped
	bugTouchCreates         // Touch of an absent key creates it
	bugTouchRevives         // Touch of an expired key revives it
	bugTouchClobbers        // Touch empties the data
	bugTouchIgnored         // Touch reports found but does nothing
	bugIterAll              // Iterate ignores the prefix
	bugIterNoStop           // Iterate ignores fn's result
	bugIterZeroUnix         // Iterate reports time.Unix(0, 0) for no expiry
	bugIterSeconds          // Iterate reports the expiry 1000× too far
	bugCleanAll             // DeleteExpired removes every entry
	bugCleanCountZero       // DeleteExpired removes but reports 0
	bugCASIgnoresOld        // CompareAndSet always swaps
	bugCASNilOverwrites     // a nil old swaps even when the key is present
	bugCASRevives           // an expired entry matches its old value
	bugCASNotAtomic         // compare and write under separate locks (lost updates)
	bugIndexNotAtomic       // IndexAdd reads, then writes the index under separate locks
	bugIndexByExpiry        // the index drops members whose given expiry passed, live or not
	bugIndexNeverHeals      // the index keeps members whose entry is gone
	bugIndexTakeKeeps       // IndexTake returns the members but does not empty the index
	bugIndexDupes           // a re-added member is listed twice
	bugBatchKeepsOld        // SetIndexed of a renewal does not delete the old key
	bugBatchWrongMember     // SetIndexed of a renewal removes the new key, not the old, from fromIndex
	bugBatchDeletesKey      // SetIndexed deletes oldKey even when it is key
	bugBatchNoAdd           // CompareAndSetIndexed that swapped skips IndexAdd
)

type entry struct {
	data   []byte
	expiry time.Time
}

// refStore is a minimal correct store (when bug == noBug) implementing
// every optional interface.
type refStore struct {
	bug  bug
	mu   sync.Mutex
	m    map[string]entry
	sets int
	idx  map[string][]indexed // the per-user indexes (coatcheck.UserIndexer)
}

type indexed struct {
	key    string
	expiry time.Time
}

func newRef(b bug) *refStore {
	return &refStore{bug: b, m: map[string]entry{}, idx: map[string][]indexed{}}
}

// IndexAdd adds key, first dropping the members whose expiry passed and
// whose entry is gone.
func (s *refStore) IndexAdd(ctx context.Context, ik, key string, expiry time.Time) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	list := append([]indexed(nil), s.idx[ik]...)
	if s.bug == bugIndexNotAtomic {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	now := time.Now()
	kept := list[:0]
	for _, m := range list {
		e, ok := s.m[m.key]
		alive := ok && s.live(e, now)
		passed := !m.expiry.IsZero() && !now.Before(m.expiry)
		switch {
		case m.key == key && s.bug != bugIndexDupes:
		case passed && s.bug == bugIndexByExpiry:
		case passed && !alive && s.bug != bugIndexNeverHeals:
		default:
			kept = append(kept, m)
		}
	}
	s.idx[ik] = append(kept, indexed{key, expiry})
	return nil
}

// SetIndexed, CompareAndSetIndexed and DeleteIndexed (coatcheck.IndexBatcher)
// are the calls they stand for, one after the other: the contract does
// not ask for atomicity.
func (s *refStore) SetIndexed(ctx context.Context, key string, data []byte, expiry time.Time, oldKey, from, to string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	if err := s.Set(ctx, key, data, expiry); err != nil {
		return err
	}
	member := key
	if oldKey != "" && (oldKey != key || s.bug == bugBatchDeletesKey) {
		if s.bug != bugBatchKeepsOld {
			if err := s.Delete(ctx, oldKey); err != nil {
				return err
			}
		}
		if s.bug != bugBatchWrongMember {
			member = oldKey
		}
	}
	return s.reindex(ctx, member, key, expiry, from, to)
}

func (s *refStore) reindex(ctx context.Context, member, key string, expiry time.Time, from, to string) error {
	if from != "" {
		if err := s.IndexRemove(ctx, from, member); err != nil {
			return err
		}
	}
	if to != "" {
		return s.IndexAdd(ctx, to, key, expiry)
	}
	return nil
}

func (s *refStore) CompareAndSetIndexed(ctx context.Context, key string, old, data []byte, expiry time.Time, from, to string) (bool, error) {
	swapped, err := s.CompareAndSet(ctx, key, old, data, expiry)
	if err != nil || !swapped {
		return swapped, err
	}
	if s.bug == bugBatchNoAdd {
		to = ""
	}
	return true, s.reindex(ctx, key, key, expiry, from, to)
}

func (s *refStore) DeleteIndexed(ctx context.Context, key, from string) error {
	if err := s.Delete(ctx, key); err != nil {
		return err
	}
	return s.reindex(ctx, key, key, time.Time{}, from, "")
}

func (s *refStore) IndexRemove(ctx context.Context, ik, key string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.idx[ik][:0]
	for _, m := range s.idx[ik] {
		if m.key != key {
			list = append(list, m)
		}
	}
	s.idx[ik] = list
	if len(list) == 0 {
		delete(s.idx, ik)
	}
	return nil
}

func (s *refStore) IndexList(ctx context.Context, ik string) ([]string, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, m := range s.idx[ik] {
		keys = append(keys, m.key)
	}
	return keys, nil
}

func (s *refStore) IndexTake(ctx context.Context, ik string) ([]string, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock() // list and empty under one lock: an add in between is not lost
	defer s.mu.Unlock()
	var keys []string
	for _, m := range s.idx[ik] {
		keys = append(keys, m.key)
	}
	if s.bug != bugIndexTakeKeeps {
		delete(s.idx, ik)
	}
	return keys, nil
}

func (s *refStore) ctxErr(ctx context.Context) error {
	if s.bug == bugIgnoreCtx {
		return nil
	}
	return ctx.Err()
}

func (s *refStore) live(e entry, now time.Time) bool {
	if s.bug == bugIgnoreExpiry {
		return true
	}
	if e.expiry.IsZero() {
		return s.bug != bugZeroIsExpired
	}
	return now.Before(e.expiry)
}

func (s *refStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.live(e, time.Now()) || (s.bug == bugEmptyIsAbsent && len(e.data) == 0) {
		switch s.bug {
		case bugNotFoundErr:
			return nil, false, errors.New("not found")
		case bugNotFoundEmpty:
			return []byte{}, false, nil
		}
		return nil, false, nil
	}
	if s.bug == bugAliasGet {
		return e.data, true, nil
	}
	return append([]byte{}, e.data...), true, nil
}

func (s *refStore) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if s.bug == bugSetDespiteCtx {
		defer s.set(key, data, expiry)
		return ctx.Err()
	}
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.set(key, data, expiry)
	return nil
}

func (s *refStore) set(key string, data []byte, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, data, expiry)
}

func (s *refStore) setLocked(key string, data []byte, expiry time.Time) {
	s.sets++
	if s.bug == bugLoseWrites && s.sets%97 == 0 {
		return
	}
	if !expiry.IsZero() && !expiry.After(time.Now()) && s.bug != bugIgnoreExpiry {
		delete(s.m, key)
		return
	}
	if s.bug != bugAliasSet {
		data = append([]byte{}, data...)
	}
	switch s.bug {
	case bugSevenBit:
		for i := range data {
			data[i] &= 0x7f
		}
	case bugTruncate64K:
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
	case bugKeepExpiry:
		if old, ok := s.m[key]; ok {
			expiry = old.expiry
		}
	}
	s.m[key] = entry{data, expiry}
}

func (s *refStore) Delete(ctx context.Context, key string) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && s.bug == bugDeleteAbsentErr {
		return errors.New("no such key")
	}
	if s.bug == bugDeleteByPrefix {
		p := key[:strings.LastIndexByte(key, ':')]
		for k := range s.m {
			if strings.HasPrefix(k, p) {
				delete(s.m, k)
			}
		}
	}
	delete(s.m, key)
	return nil
}

func (s *refStore) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	switch {
	case s.bug == bugTouchCreates && !ok:
		s.m[key] = entry{nil, expiry}
		return true, nil
	case s.bug == bugTouchRevives && ok:
	case !ok || !s.live(e, time.Now()):
		return false, nil
	}
	switch s.bug {
	case bugTouchIgnored:
		return true, nil
	case bugTouchClobbers:
		e.data = nil
	}
	e.expiry = expiry
	s.m[key] = e
	return true, nil
}

func (s *refStore) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := s.ctxErr(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	e, ok := s.m[key]
	live := ok && (s.bug == bugCASRevives || s.live(e, time.Now()))
	match := old == nil && !live || old != nil && live && bytes.Equal(e.data, old)
	switch s.bug {
	case bugCASIgnoresOld:
		match = true
	case bugCASNilOverwrites:
		match = match || old == nil
	case bugCASNotAtomic:
		s.mu.Unlock()
		time.Sleep(50 * time.Microsecond) // let another writer in between
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if !match {
		return false, nil
	}
	s.setLocked(key, data, expiry)
	return true, nil
}

func (s *refStore) Iterate(ctx context.Context, prefix string, fn func(string, time.Time) bool) error {
	if err := s.ctxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	var keys []string
	var exps []time.Time
	now := time.Now()
	for k, e := range s.m {
		if (strings.HasPrefix(k, prefix) || s.bug == bugIterAll) && s.live(e, now) {
			exp := e.expiry
			switch {
			case s.bug == bugIterZeroUnix && exp.IsZero():
				exp = time.Unix(0, 0)
			case s.bug == bugIterSeconds && !exp.IsZero():
				exp = now.Add(exp.Sub(now) * 1000)
			}
			keys = append(keys, k)
			exps = append(exps, exp)
		}
	}
	s.mu.Unlock()
	for i, k := range keys {
		if !fn(k, exps[i]) && s.bug != bugIterNoStop {
			return nil
		}
	}
	return nil
}

func (s *refStore) DeleteExpired(ctx context.Context) (int, error) {
	if err := s.ctxErr(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	now := time.Now()
	for k, e := range s.m {
		if s.bug == bugCleanAll || !s.live(e, now) {
			delete(s.m, k)
			n++
		}
	}
	if s.bug == bugCleanCountZero {
		return 0, nil
	}
	return n, nil
}

// basicStore hides refStore's optional interfaces.
type basicStore struct{ s *refStore }

func (b basicStore) Get(ctx context.Context, k string) ([]byte, bool, error) { return b.s.Get(ctx, k) }
func (b basicStore) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	return b.s.Set(ctx, k, d, e)
}
func (b basicStore) Delete(ctx context.Context, k string) error { return b.s.Delete(ctx, k) }

var (
	_ coatcheck.Toucher  = (*refStore)(nil)
	_ coatcheck.Iterator = (*refStore)(nil)
	_ coatcheck.Cleaner  = (*refStore)(nil)

	_ coatcheck.UserIndexer  = (*refStore)(nil)
	_ coatcheck.IndexBatcher = (*refStore)(nil)
)

func TestRunReference(t *testing.T) {
	Run(t, func(t *testing.T) coatcheck.Store { return newRef(noBug) })
}

func TestRunBasicStore(t *testing.T) {
	RunWithOptions(t, func(t *testing.T) coatcheck.Store { return basicStore{newRef(noBug)} }, Options{MaxValueSize: 1000})
}

func findCheck(name string) (check, bool) {
	if rest, ok := strings.CutPrefix(name, "Expiry/"); ok {
		for _, c := range expiryChecks {
			if c.name == rest {
				return c, true
			}
		}
		return check{}, false
	}
	for _, c := range checks {
		if c.name == name {
			return c, true
		}
	}
	return check{}, false
}

// TestSuiteCatchesBrokenStores runs checks against stores with one defect
// each and requires every listed check to report a failure: a check that
// cannot fail is itself a defect.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	cases := []struct {
		name   string
		bug    bug
		checks []string
	}{
		{"IgnoreExpiry", bugIgnoreExpiry, []string{"PastExpiry", "Expiry/Read", "Expiry/Overwrite", "Expiry/Touch", "Expiry/Iterate", "Expiry/DeleteExpired"}},
		{"ZeroIsExpired", bugZeroIsExpired, []string{"ZeroExpiry", "Overwrite", "Expiry/Read", "Expiry/Iterate", "Expiry/DeleteExpired"}},
		{"NotFoundErr", bugNotFoundErr, []string{"RoundTrip", "NotFound", "DeleteIdempotent"}},
		{"NotFoundEmpty", bugNotFoundEmpty, []string{"NotFound"}},
		{"AliasSet", bugAliasSet, []string{"NoAliasing"}},
		{"AliasGet", bugAliasGet, []string{"NoAliasing"}},
		{"DeleteAbsentErr", bugDeleteAbsentErr, []string{"DeleteIdempotent"}},
		{"IgnoreCtx", bugIgnoreCtx, []string{"CancelledContext"}},
		{"SetDespiteCtx", bugSetDespiteCtx, []string{"CancelledContext"}},
		{"KeepExpiry", bugKeepExpiry, []string{"Overwrite", "Expiry/Overwrite"}},
		{"EmptyIsAbsent", bugEmptyIsAbsent, []string{"EmptyValue"}},
		{"SevenBit", bugSevenBit, []string{"BinaryValue", "LargeValue"}},
		{"Truncate64K", bugTruncate64K, []string{"LargeValue"}},
		{"DeleteByPrefix", bugDeleteByPrefix, []string{"PrefixIsolation"}},
		{"LoseWrites", bugLoseWrites, []string{"Concurrent"}},
		{"TouchCreates", bugTouchCreates, []string{"Touch"}},
		{"TouchRevives", bugTouchRevives, []string{"Expiry/Touch"}},
		{"TouchClobbers", bugTouchClobbers, []string{"Touch", "Expiry/Touch"}},
		{"TouchIgnored", bugTouchIgnored, []string{"Touch", "Expiry/Touch"}},
		{"IterAll", bugIterAll, []string{"Iterate", "PrefixIsolation"}},
		{"IterNoStop", bugIterNoStop, []string{"IterateStop"}},
		{"IterZeroUnix", bugIterZeroUnix, []string{"ZeroExpiry", "Iterate"}},
		{"IterSeconds", bugIterSeconds, []string{"Iterate", "Expiry/Iterate"}},
		{"CleanAll", bugCleanAll, []string{"Expiry/DeleteExpired"}},
		{"CleanCountZero", bugCleanCountZero, []string{"Expiry/DeleteExpired"}},
		{"CASIgnoresOld", bugCASIgnoresOld, []string{"CompareAndSet", "Expiry/CompareAndSet"}},
		{"CASNilOverwrites", bugCASNilOverwrites, []string{"CompareAndSet"}},
		{"CASRevives", bugCASRevives, []string{"Expiry/CompareAndSet"}},
		{"CASNotAtomic", bugCASNotAtomic, []string{"CompareAndSetConcurrent"}},
		{"IndexNotAtomic", bugIndexNotAtomic, []string{"UserIndexConcurrent"}},
		{"IndexByExpiry", bugIndexByExpiry, []string{"Expiry/UserIndex"}},
		{"IndexNeverHeals", bugIndexNeverHeals, []string{"Expiry/UserIndex"}},
		{"IndexTakeKeeps", bugIndexTakeKeeps, []string{"UserIndex", "UserIndexConcurrent"}},
		{"IndexDupes", bugIndexDupes, []string{"UserIndex"}},
		{"IgnoreCtxIndex", bugIgnoreCtx, []string{"UserIndex", "UserIndexBatch"}},
		{"BatchKeepsOld", bugBatchKeepsOld, []string{"UserIndexBatch"}},
		{"BatchWrongMember", bugBatchWrongMember, []string{"UserIndexBatch"}},
		{"BatchDeletesKey", bugBatchDeletesKey, []string{"UserIndexBatch"}},
		{"BatchNoAdd", bugBatchNoAdd, []string{"UserIndexBatch"}},
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range cases {
		for _, name := range tc.checks {
			tc, name := tc, name
			c, ok := findCheck(name)
			if !ok {
				t.Fatalf("no check named %q", name)
			}
			run := func() bool {
				return t.Run(tc.name+"/"+name, func(t *testing.T) {
					failures, skipped := runCheckRecorded(t, func(t *testing.T) coatcheck.Store { return newRef(tc.bug) }, Options{}, c.fn)
					if skipped {
						t.Fatalf("check %s skipped a store with every optional interface", name)
					}
					if len(failures) == 0 {
						t.Fatalf("check %s passed a store with bug %s; want at least one failure", name, tc.name)
					}
					t.Logf("reported, as it should: %s", failures[0])
				})
			}
			if !strings.HasPrefix(name, "Expiry/") {
				run()
				continue
			}
			// Checks that sleep run concurrently (see RunWithOptions).
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		}
	}
}

// TestChecksPassReference makes sure the recorded mode itself reports no
// failures for a correct store (so TestSuiteCatchesBrokenStores is not
// trivially satisfied), and skips optional checks for a basic store.
func TestChecksPassReference(t *testing.T) {
	for _, c := range checks {
		c := c
		t.Run(c.name, func(t *testing.T) {
			failures, skipped := runCheckRecorded(t, func(t *testing.T) coatcheck.Store { return newRef(noBug) }, Options{}, c.fn)
			if skipped || len(failures) > 0 {
				t.Fatalf("reference store: skipped=%v failures=%q", skipped, failures)
			}
			_, skipped = runCheckRecorded(t, func(t *testing.T) coatcheck.Store { return basicStore{newRef(noBug)} }, Options{MaxValueSize: 10}, c.fn)
			wantSkip := c.name == "Touch" || strings.HasPrefix(c.name, "Iterate") || strings.HasPrefix(c.name, "CompareAndSet") || strings.HasPrefix(c.name, "UserIndex")
			if skipped != wantSkip {
				t.Errorf("basic store: skipped = %v, want %v", skipped, wantSkip)
			}
		})
	}
}

// TestCleanup checks that a check deletes the keys it wrote.
func TestCleanup(t *testing.T) {
	s := newRef(noBug)
	t.Run("inner", func(t *testing.T) {
		runCheck(t, func(t *testing.T) coatcheck.Store { return s }, Options{}, checkPrefixIsolation)
		runCheck(t, func(t *testing.T) coatcheck.Store { return s }, Options{}, checkConcurrent)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) != 0 {
		t.Errorf("after the checks, the store holds %d entries, want 0", len(s.m))
	}
}

func TestNamespaceUnique(t *testing.T) {
	a, b := newNamespace(), newNamespace()
	if a == b || !strings.HasPrefix(a, "storetest-") || !strings.HasSuffix(a, ":") {
		t.Errorf("newNamespace() = %q, %q; want distinct storetest-<hex>: strings", a, b)
	}
}

// fakeTB records Skipf/Fatalf and stops the goroutine like testing.T does.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = format
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = format
	runtime.Goexit()
}

func runRequireEnv(name string) (got string, f *fakeTB) {
	f = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = RequireEnv(f, name)
	}()
	<-done
	return got, f
}

func TestRequireEnv(t *testing.T) {
	const name = "COATCHECK_STORETEST_SELFTEST_VAR"
	t.Setenv("COATCHECK_REQUIRE_INTEGRATION", "")
	t.Setenv(name, "")
	if got, f := runRequireEnv(name); got != "" || f.skipped == "" || f.fatal != "" {
		t.Errorf("unset, not required: got %q, skipped=%v fatal=%v; want a skip", got, f.skipped != "", f.fatal != "")
	}
	t.Setenv("COATCHECK_REQUIRE_INTEGRATION", "1")
	if got, f := runRequireEnv(name); got != "" || f.fatal == "" || f.skipped != "" {
		t.Errorf("unset, required: got %q, skipped=%v fatal=%v; want a failure", got, f.skipped != "", f.fatal != "")
	}
	t.Setenv(name, "redis://x")
	if got, f := runRequireEnv(name); got != "redis://x" || f.fatal != "" || f.skipped != "" {
		t.Errorf("set: got %q, skipped=%v fatal=%v; want the value", got, f.skipped != "", f.fatal != "")
	}
}
