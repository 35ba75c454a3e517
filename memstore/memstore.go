// Package memstore is Coatcheck's default server-side session store: a map
// in process memory, guarded by a sync.RWMutex, with a janitor goroutine
// that sweeps expired entries.
//
// Data does not survive a restart and is not shared between processes; use
// filestore or a networked store (redisstore, memcachestore, …) for that.
//
// # Semantics
//
// The store follows the coatcheck.Store contract (see coatcheck's store.go)
// and implements coatcheck.Toucher, coatcheck.Iterator, coatcheck.Cleaner,
// coatcheck.CompareAndSetter, coatcheck.UserIndexer and
// coatcheck.IndexBatcher:
//
//   - Set copies the data it is given and Get returns a fresh copy, so no
//     caller ever shares a slice with the store or with another caller.
//   - Expiry is honoured on read: an entry whose expiry has passed is never
//     returned, whether or not the janitor has swept it yet. An entry
//     expires at the instant Now() is no longer before its expiry.
//   - A Set whose expiry has passed deletes the entry; a zero expiry means
//     none.
//   - Every method first checks ctx and returns ctx.Err() if it is done.
//
// # Bound
//
// A Store holds at most Options.MaxEntries sessions (DefaultMaxEntries,
// 100,000, when zero; negative means unlimited). A Set that would exceed
// the cap first sweeps expired entries (at most once a second, so a store
// full of live sessions does not rescan on every Set) and, if the store is
// still full, evicts the least-recently-used entry: Get, Set,
// CompareAndSet and Touch all count as a use. Evictions are counted
// (Evictions) and logged at WARN, aggregated: at most one record per
// minute, carrying the number evicted since the previous record. Keys never
// appear in the log.
//
// Entries live in one slice with an index-based, intrusive LRU list, so an
// entry costs its key and value bytes plus about 100 bytes of bookkeeping
// (the slice slot and the map entry). At the default cap with typical
// Flask-Session keys (51 bytes) and ~60-byte values the store uses about
// 25 MiB of heap (measured by TestBoundedMemory).
//
// # Per-user index
//
// The store keeps coatcheck's per-user session index natively
// (coatcheck.UserIndexer): a map from index key to its member keys, beside
// the entries and under the same lock, so adding or removing a member is
// O(1) whatever the user's session count. A member is tied to its entry:
// when the entry goes (Delete, expiry, the janitor, eviction) it leaves
// every index, and an emptied index is deleted, so the indexes never hold
// more members than the store holds entries. An index is not an entry: Get
// of an index key finds nothing, and it neither counts towards MaxEntries
// nor shows in Iterate. SetIndexed, CompareAndSetIndexed and DeleteIndexed
// (coatcheck.IndexBatcher) make a write and its index change under one
// hold of the lock, so they are atomic; a CompareAndSetIndexed that does
// not swap changes no index.
//
// # The janitor
//
// Unless Options.CleanupInterval is negative, a goroutine calls
// DeleteExpired every CleanupInterval (one minute by default). Close stops
// it and waits for it to exit. A Store that becomes unreachable without
// being closed has its janitor stopped by a finalizer, so forgetting Close
// leaks no goroutine for longer than a garbage collection cycle.
package memstore

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultCleanupInterval is the janitor's period when
	// Options.CleanupInterval is zero.
	DefaultCleanupInterval = time.Minute

	// DefaultMaxEntries is the cap on stored sessions when
	// Options.MaxEntries is zero.
	DefaultMaxEntries = 100_000

	sweepEvery = time.Second // minimum gap between sweeps forced by a full store
	logEvery   = time.Minute // minimum gap between eviction log records
	none       = -1          // null index in the LRU list
)

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// CleanupInterval is how often the janitor deletes expired entries.
	// Zero means DefaultCleanupInterval (1 minute); a negative value
	// disables the janitor (expired entries are still never returned, and
	// DeleteExpired can be called by hand).
	CleanupInterval time.Duration

	// MaxEntries caps the number of stored sessions (see the package
	// documentation, "Bound"). Zero means DefaultMaxEntries (100,000,
	// about 25 MiB of heap with typical sessions); a negative value means
	// unlimited.
	MaxEntries int

	// Logger receives the WARN records about evictions. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock used for expiry. Nil means time.Now. Tests set it to
	// a fake clock; it must be safe for concurrent use.
	Now func() time.Time
}

// Store is an in-memory session store. It is safe for concurrent use. The
// zero value is not usable; call New.
type Store struct {
	s *store // a separate object, so that the janitor does not keep Store alive
}

type store struct {
	now    func() time.Time
	max    int // <= 0: unlimited
	logger *slog.Logger

	mu   sync.Mutex // every access moves the entry in the LRU list
	m    map[string]int32
	ents []entry
	free int32 // head of the free-slot list (linked through next)
	head int32 // most recently used
	tail int32 // least recently used
	// idx maps an index key to its members, each a key of m.
	idx       map[string]map[string]struct{}
	lastSweep time.Time

	evictions atomic.Uint64
	logMu     sync.Mutex
	lastLog   time.Time
	unlogged  uint64

	closeOnce sync.Once
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the janitor has exited
}

// entry is one slot. The key string is shared with the map key (one
// allocation); data is never modified after it is stored.
type entry struct {
	key        string
	data       []byte
	expiry     int64 // Unix nanoseconds; 0: none
	prev, next int32
	idx        []string // the index keys this entry is a member of (usually none or one)
}

func toNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n == 0 {
		n = 1
	}
	return n
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// New returns a Store configured by opts; the zero Options give a janitor
// sweeping every minute, a cap of 100,000 sessions and the system clock.
func New(opts Options) *Store {
	s := &store{
		now:    opts.Now,
		max:    opts.MaxEntries,
		logger: opts.Logger,
		m:      make(map[string]int32),
		idx:    make(map[string]map[string]struct{}),
		free:   none,
		head:   none,
		tail:   none,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.max == 0 {
		s.max = DefaultMaxEntries
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	interval := opts.CleanupInterval
	if interval == 0 {
		interval = DefaultCleanupInterval
	}
	if interval < 0 {
		close(s.done)
		return &Store{s: s}
	}
	go s.janitor(interval)
	st := &Store{s: s}
	runtime.SetFinalizer(st, func(st *Store) { st.s.close() })
	return st
}

// NewWithOptions is New(opts).
//
// Deprecated: use New, which now takes Options.
func NewWithOptions(opts Options) *Store { return New(opts) }

// Close stops the janitor and waits for it to exit. It is idempotent and
// always returns nil. The store stays usable after Close, without the
// janitor.
func (st *Store) Close() error { return st.s.close() }

// Len reports the number of stored entries, expired ones not yet swept
// included.
func (st *Store) Len() int {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return len(st.s.m)
}

// Evictions reports how many live entries have been evicted to stay within
// Options.MaxEntries since the store was created.
func (st *Store) Evictions() uint64 { return st.s.evictions.Load() }

// Get returns a copy of the data stored under key, or (nil, false, nil)
// when the key is absent or expired.
func (st *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return st.s.get(ctx, key)
}

// Set stores a copy of data under key until expiry (zero: no expiry),
// replacing any previous value and expiry. A passed expiry deletes the key.
func (st *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	return st.s.set(ctx, key, data, expiry)
}

// Delete removes key. Deleting an absent key is not an error.
func (st *Store) Delete(ctx context.Context, key string) error { return st.s.delete(ctx, key) }

// CompareAndSet replaces the value under key only if it still equals old
// (nil old: only if absent), atomically; see coatcheck.CompareAndSetter.
func (st *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	return st.s.compareAndSet(ctx, key, old, data, expiry)
}

// Touch sets the expiry of a live entry without changing its data (a passed
// expiry deletes it). It reports found=false for an absent or expired key,
// and never creates one.
func (st *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	return st.s.touch(ctx, key, expiry)
}

// Iterate calls fn for every unexpired entry whose key starts with prefix,
// in no particular order, until fn returns false. It works on a snapshot of
// the keys taken under the lock, so fn may call the store's methods;
// entries written or deleted during the iteration may or may not be seen.
// Iterate returns ctx.Err() if ctx is done before it finishes.
func (st *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	return st.s.iterate(ctx, prefix, fn)
}

// DeleteExpired removes every expired entry and reports how many it
// removed. The janitor calls it periodically.
func (st *Store) DeleteExpired(ctx context.Context) (int, error) { return st.s.deleteExpired(ctx) }

func (s *store) janitor(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

func (s *store) close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

// live reports whether an entry with this expiry is unexpired at now.
func live(expiry, now time.Time) bool {
	return expiry.IsZero() || now.Before(expiry)
}

func liveNano(expiry, now int64) bool { return expiry == 0 || now < expiry }

// unlink removes slot i from the LRU list.
func (s *store) unlink(i int32) {
	e := &s.ents[i]
	if e.prev != none {
		s.ents[e.prev].next = e.next
	} else {
		s.head = e.next
	}
	if e.next != none {
		s.ents[e.next].prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = none, none
}

// pushFront makes slot i the most recently used.
func (s *store) pushFront(i int32) {
	e := &s.ents[i]
	e.prev, e.next = none, s.head
	if s.head != none {
		s.ents[s.head].prev = i
	}
	s.head = i
	if s.tail == none {
		s.tail = i
	}
}

func (s *store) use(i int32) {
	if s.head != i {
		s.unlink(i)
		s.pushFront(i)
	}
}

// remove deletes slot i from the map, the list and its indexes, and frees
// it.
func (s *store) remove(i int32) {
	for _, ik := range s.ents[i].idx {
		s.leave(ik, s.ents[i].key)
	}
	s.unlink(i)
	delete(s.m, s.ents[i].key)
	s.ents[i] = entry{prev: none, next: s.free}
	s.free = i
}

// put stores a copy of data under key. The caller holds mu and has checked
// that expiry is live.
func (s *store) put(key string, data []byte, expiry int64, now time.Time) {
	cp := append(make([]byte, 0, len(data)), data...)
	if i, ok := s.m[key]; ok {
		s.ents[i].data, s.ents[i].expiry = cp, expiry
		s.use(i)
		return
	}
	if s.max > 0 && len(s.m) >= s.max {
		s.makeRoom(now)
	}
	var i int32
	if s.free != none {
		i = s.free
		s.free = s.ents[i].next
	} else {
		s.ents = append(s.ents, entry{})
		i = int32(len(s.ents) - 1)
	}
	s.ents[i] = entry{key: key, data: cp, expiry: expiry, prev: none, next: none}
	s.m[key] = i
	s.pushFront(i)
}

// makeRoom frees at least one slot: expired entries first (a sweep, at most
// once per sweepEvery), else the least recently used one.
func (s *store) makeRoom(now time.Time) {
	if now.Sub(s.lastSweep) >= sweepEvery || now.Before(s.lastSweep) {
		s.lastSweep = now
		if s.sweepLocked(now) > 0 {
			return
		}
	}
	// The LRU tail may itself be expired: removing it is no eviction.
	for len(s.m) >= s.max && s.tail != none {
		t := s.tail
		wasLive := liveNano(s.ents[t].expiry, now.UnixNano())
		s.remove(t)
		if wasLive {
			s.evicted()
		}
	}
}

// evicted counts one eviction and logs, aggregated (see package doc).
func (s *store) evicted() {
	s.evictions.Add(1)
	s.logMu.Lock()
	s.unlogged++
	t := time.Now() // wall clock: the rate limit is about log volume
	if s.lastLog.IsZero() || t.Sub(s.lastLog) >= logEvery {
		n := s.unlogged
		s.unlogged, s.lastLog = 0, t
		s.logMu.Unlock()
		s.logger.Warn("memstore: evicted live sessions to stay within MaxEntries",
			"evicted", n, "max_entries", s.max, "total_evictions", s.evictions.Load())
		return
	}
	s.logMu.Unlock()
}

func (s *store) get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	s.mu.Lock()
	i, ok := s.m[key]
	if !ok || !liveNano(s.ents[i].expiry, toNano(now)) {
		s.mu.Unlock()
		return nil, false, nil
	}
	s.use(i)
	data := s.ents[i].data
	s.mu.Unlock()
	// Stored slices are never modified after Set (a Set replaces the
	// slice), so copying outside the lock is safe.
	return append(make([]byte, 0, len(data)), data...), true, nil
}

func (s *store) set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, data, expiry, now)
	return nil
}

// setLocked is set; the caller holds mu.
func (s *store) setLocked(key string, data []byte, expiry, now time.Time) {
	if !live(expiry, now) {
		if i, ok := s.m[key]; ok {
			s.remove(i)
		}
		return
	}
	s.put(key, data, toNano(expiry), now)
}

func (s *store) delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if i, ok := s.m[key]; ok {
		s.remove(i)
	}
	s.mu.Unlock()
	return nil
}

func (s *store) compareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compareAndSetLocked(key, old, data, expiry, now), nil
}

// compareAndSetLocked is compareAndSet, reporting whether it swapped; the
// caller holds mu.
func (s *store) compareAndSetLocked(key string, old, data []byte, expiry, now time.Time) bool {
	i, ok := s.m[key]
	ok = ok && liveNano(s.ents[i].expiry, toNano(now))
	if old == nil && ok || old != nil && (!ok || !bytes.Equal(s.ents[i].data, old)) {
		return false
	}
	if !live(expiry, now) {
		if ok {
			s.remove(i)
		}
		return true
	}
	s.put(key, data, toNano(expiry), now)
	return true
}

func (s *store) touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.m[key]
	if !ok {
		return false, nil
	}
	if !liveNano(s.ents[i].expiry, toNano(now)) {
		s.remove(i)
		return false, nil
	}
	if !live(expiry, now) {
		s.remove(i)
		return true, nil
	}
	s.ents[i].expiry = toNano(expiry)
	s.use(i)
	return true, nil
}

func (s *store) iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type kv struct {
		key    string
		expiry int64
	}
	now := toNano(s.now())
	var snap []kv
	s.mu.Lock()
	for k, i := range s.m {
		if e := s.ents[i].expiry; strings.HasPrefix(k, prefix) && liveNano(e, now) {
			snap = append(snap, kv{k, e})
		}
	}
	s.mu.Unlock()
	for _, e := range snap {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(e.key, fromNano(e.expiry)) {
			return nil
		}
	}
	return nil
}

// IndexAdd adds key to the index under indexKey (coatcheck.UserIndexer).
// A key that holds no live entry is not added: the member would leave at
// once. expiry is not needed: the member leaves with its entry.
func (st *Store) IndexAdd(ctx context.Context, indexKey, key string, expiry time.Time) error {
	return st.s.indexAdd(ctx, indexKey, key)
}

// IndexRemove removes key from the index under indexKey.
func (st *Store) IndexRemove(ctx context.Context, indexKey, key string) error {
	return st.s.indexRemove(ctx, indexKey, key)
}

// IndexList returns the members of the index under indexKey whose entries
// are live.
func (st *Store) IndexList(ctx context.Context, indexKey string) ([]string, error) {
	return st.s.indexList(ctx, indexKey, false)
}

// IndexTake returns the live members of the index under indexKey and
// deletes the index, atomically.
func (st *Store) IndexTake(ctx context.Context, indexKey string) ([]string, error) {
	return st.s.indexList(ctx, indexKey, true)
}

// SetIndexed is Set(key, data, expiry), Delete(oldKey) when oldKey is a
// different key, IndexRemove(fromIndex, oldKey or key) and
// IndexAdd(toIndex, key, expiry), atomically (coatcheck.IndexBatcher);
// an empty index key skips its change.
func (st *Store) SetIndexed(ctx context.Context, key string, data []byte, expiry time.Time, oldKey, fromIndex, toIndex string) error {
	s := st.s
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, data, expiry, now)
	member := key
	if oldKey != "" && oldKey != key {
		if i, ok := s.m[oldKey]; ok {
			s.remove(i)
		}
		member = oldKey
	}
	s.reindexLocked(member, key, fromIndex, toIndex, now)
	return nil
}

// CompareAndSetIndexed is CompareAndSet(key, old, data, expiry) and, only
// if it swapped, IndexRemove(fromIndex, key) and IndexAdd(toIndex, key,
// expiry), atomically (coatcheck.IndexBatcher).
func (st *Store) CompareAndSetIndexed(ctx context.Context, key string, old, data []byte, expiry time.Time, fromIndex, toIndex string) (bool, error) {
	s := st.s
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.compareAndSetLocked(key, old, data, expiry, now) {
		return false, nil
	}
	s.reindexLocked(key, key, fromIndex, toIndex, now)
	return true, nil
}

// DeleteIndexed is Delete(key) and IndexRemove(fromIndex, key) (which the
// Delete does anyway: a member leaves with its entry), atomically.
func (st *Store) DeleteIndexed(ctx context.Context, key, fromIndex string) error {
	s := st.s
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.m[key]; ok {
		s.remove(i)
	}
	if fromIndex != "" {
		s.indexRemoveLocked(fromIndex, key)
	}
	return nil
}

// reindexLocked removes member from the index under from and adds key to
// the one under to; an empty index key skips its change. The caller holds
// mu.
func (s *store) reindexLocked(member, key, from, to string, now time.Time) {
	if from != "" {
		s.indexRemoveLocked(from, member)
	}
	if to != "" {
		s.indexAddLocked(to, key, toNano(now))
	}
}

// leave removes key from the index under ik; the caller holds mu and
// removes ik from the entry's own list.
func (s *store) leave(ik, key string) {
	set := s.idx[ik]
	delete(set, key)
	if len(set) == 0 {
		delete(s.idx, ik)
	}
}

func (s *store) indexAdd(ctx context.Context, ik, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := toNano(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexAddLocked(ik, key, now)
	return nil
}

// indexAddLocked is indexAdd; the caller holds mu.
func (s *store) indexAddLocked(ik, key string, now int64) {
	i, ok := s.m[key]
	if !ok {
		return
	}
	if !liveNano(s.ents[i].expiry, now) {
		s.remove(i)
		return
	}
	set := s.idx[ik]
	if set == nil {
		set = make(map[string]struct{})
		s.idx[ik] = set
	}
	if _, in := set[key]; !in {
		set[s.ents[i].key] = struct{}{}
		s.ents[i].idx = append(s.ents[i].idx, ik)
	}
}

func (s *store) indexRemove(ctx context.Context, ik, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.indexRemoveLocked(ik, key)
	return nil
}

// indexRemoveLocked is indexRemove; the caller holds mu.
func (s *store) indexRemoveLocked(ik, key string) {
	if _, in := s.idx[ik][key]; !in {
		return
	}
	s.leave(ik, key)
	if i, ok := s.m[key]; ok {
		s.ents[i].idx = without(s.ents[i].idx, ik)
	}
}

// indexList returns the live members of the index under ik, and with take
// deletes the index.
func (s *store) indexList(ctx context.Context, ik string, take bool) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := toNano(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.idx[ik]
	keys := make([]string, 0, len(set))
	for k := range set {
		i := s.m[k]
		if liveNano(s.ents[i].expiry, now) {
			keys = append(keys, k)
		}
		if take {
			s.ents[i].idx = without(s.ents[i].idx, ik)
		}
	}
	if take {
		delete(s.idx, ik)
	}
	return keys, nil
}

// without returns list without ik, reusing its array.
func without(list []string, ik string) []string {
	for j, v := range list {
		if v == ik {
			list[j] = list[len(list)-1]
			list[len(list)-1] = ""
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list
}

func (s *store) deleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.sweep(), nil
}

func (s *store) sweep() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweepLocked(now)
}

func (s *store) sweepLocked(now time.Time) int {
	n := 0
	t := toNano(now)
	for _, i := range s.m {
		if !liveNano(s.ents[i].expiry, t) {
			s.remove(i)
			n++
		}
	}
	if len(s.m) == 0 {
		// Give the memory back once the store is empty.
		s.ents, s.free, s.head, s.tail = nil, none, none, none
	}
	return n
}
