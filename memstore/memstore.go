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
// and implements coatcheck.Toucher, coatcheck.Iterator and
// coatcheck.Cleaner:
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
	"runtime"
	"strings"
	"sync"
	"time"
)

// DefaultCleanupInterval is the janitor's period when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = time.Minute

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// CleanupInterval is how often the janitor deletes expired entries.
	// Zero means DefaultCleanupInterval (1 minute); a negative value
	// disables the janitor (expired entries are still never returned, and
	// DeleteExpired can be called by hand).
	CleanupInterval time.Duration

	// Now is the clock used for expiry. Nil means time.Now. Tests set it to
	// a fake clock; it must be safe for concurrent use.
	Now func() time.Time
}

// Store is an in-memory session store. It is safe for concurrent use. The
// zero value is not usable; call New or NewWithOptions.
type Store struct {
	s *store // a separate object, so that the janitor does not keep Store alive
}

type store struct {
	now func() time.Time

	mu sync.RWMutex
	m  map[string]item

	closeOnce sync.Once
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the janitor has exited
}

type item struct {
	data   []byte
	expiry time.Time // zero: none
}

// New returns a Store with the default options: a janitor sweeping every
// minute and the system clock.
func New() *Store { return NewWithOptions(Options{}) }

// NewWithOptions returns a Store configured by opts.
func NewWithOptions(opts Options) *Store {
	s := &store{
		now:  opts.Now,
		m:    make(map[string]item),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
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

// Close stops the janitor and waits for it to exit. It is idempotent and
// always returns nil. The store stays usable after Close, without the
// janitor.
func (st *Store) Close() error { return st.s.close() }

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
// the keys taken under the read lock, so fn may call the store's methods;
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

func (s *store) get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	now := s.now()
	s.mu.RLock()
	it, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || !live(it.expiry, now) {
		return nil, false, nil
	}
	// Stored slices are never modified after Set (a Set replaces the item),
	// so copying outside the lock is safe.
	return append(make([]byte, 0, len(it.data)), it.data...), true, nil
}

func (s *store) set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !live(expiry, s.now()) {
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
		return nil
	}
	it := item{data: append(make([]byte, 0, len(data)), data...), expiry: expiry}
	s.mu.Lock()
	s.m[key] = it
	s.mu.Unlock()
	return nil
}

func (s *store) delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.m, key)
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
	it, ok := s.m[key]
	ok = ok && live(it.expiry, now)
	if old == nil && ok || old != nil && (!ok || !bytes.Equal(it.data, old)) {
		return false, nil
	}
	if !live(expiry, now) {
		delete(s.m, key)
		return true, nil
	}
	s.m[key] = item{data: append(make([]byte, 0, len(data)), data...), expiry: expiry}
	return true, nil
}

func (s *store) touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[key]
	if !ok {
		return false, nil
	}
	if !live(it.expiry, now) {
		delete(s.m, key)
		return false, nil
	}
	if !live(expiry, now) {
		delete(s.m, key)
		return true, nil
	}
	it.expiry = expiry
	s.m[key] = it
	return true, nil
}

func (s *store) iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type kv struct {
		key    string
		expiry time.Time
	}
	now := s.now()
	var snap []kv
	s.mu.RLock()
	for k, it := range s.m {
		if strings.HasPrefix(k, prefix) && live(it.expiry, now) {
			snap = append(snap, kv{k, it.expiry})
		}
	}
	s.mu.RUnlock()
	for _, e := range snap {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(e.key, e.expiry) {
			return nil
		}
	}
	return nil
}

func (s *store) deleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.sweep(), nil
}

func (s *store) sweep() int {
	now := s.now()
	n := 0
	s.mu.Lock()
	for k, it := range s.m {
		if !live(it.expiry, now) {
			delete(s.m, k)
			n++
		}
	}
	s.mu.Unlock()
	return n
}
