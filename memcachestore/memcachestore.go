// Package memcachestore is a Coatcheck session store backed by memcached
// through github.com/bradfitz/gomemcache.
//
// The store takes a *memcache.Client the caller built (one server or
// several, with gomemcache's own key distribution). It satisfies
// coatcheck.Store, coatcheck.Toucher, coatcheck.GetToucher and
// coatcheck.CompareAndSetter structurally; it does not import the coatcheck
// package.
//
// # Layout (Flask-Session interop)
//
// Entries use Flask-Session's memcached layout, so Flask and Go processes
// can share one memcached:
//
//   - the item key is the key as given (SESSION_KEY_PREFIX + session id);
//   - the item value is the session bytes as given, with flags 0 (what the
//     Python clients write for bytes);
//   - the expiration follows memcached's rule, exactly as Flask-Session's
//     memcached interface computes it: a lifetime of up to 30 days
//     (2592000 s) is sent as relative seconds, a longer one as an absolute
//     Unix time. Flask-Session's default 31-day lifetime at Unix time
//     1700000000 is therefore sent as 1702678400, and a one-hour lifetime as
//     3600.
//
// # Keys
//
// memcached holds keys of at most 250 bytes without spaces or control
// characters (bytes 0x00-0x20 and 0x7f). The store keeps Flask-Session's
// layout rather than hashing keys, so a Set whose key breaks those rules
// returns an error wrapping [memcache.ErrMalformedKey]. Such a key can never
// have been stored, so Get reports it not found, Delete succeeds, Touch
// reports found=false and CompareAndSet with a non-nil old reports
// swapped=false (with a nil old it returns Set's error): a cookie carrying an absurd session id then looks
// like an unknown session instead of a failing store. Flask-Session's ids
// (a UUID, or 32 url-safe bytes) with a prefix of up to about 200 bytes are
// always valid.
//
// # Expiry
//
// memcached counts expiry in whole seconds on a clock that ticks once a
// second. Expirations are rounded up to the next second, so an entry is not
// dropped before its expiry by the rounding; memcached's clock tick still
// makes the moment an entry disappears up to about a second imprecise in
// either direction (the conformance suite runs with a one-second expiry
// granularity). A zero expiry means no expiration; an expiry that has
// already passed deletes the item. Expiries later than memcached's 32-bit
// time range (January 2038) are rejected. memcached expires items itself,
// so the store has no DeleteExpired, and since memcached cannot list its
// keys it has no Iterate either: session listing tools do not work with
// this store.
//
// # Contexts
//
// gomemcache has no context support, so the store supplies it. Every method
// checks ctx before it talks to memcached and returns an error wrapping
// ctx.Err() if the context has ended. When ctx can end (it has a deadline
// or can be cancelled), the gomemcache call runs in its own goroutine and
// the method returns as soon as ctx ends, with an error wrapping ctx.Err(),
// even if memcached hangs. The abandoned call still runs to completion in
// the background, bounded by the client's Timeout (gomemcache's
// DefaultTimeout, 500 ms, per socket operation, when zero), so a write that
// timed out for the caller may still land. At most Options.MaxInFlight such
// calls run at once; a call beyond that waits for a slot, or for ctx. Keep
// the client's Timeout short (the request budget or less) so that abandoned
// calls end quickly. Data given to Set and CompareAndSet is copied first,
// so the caller may reuse the slice as soon as the method returns.
//
// # Errors
//
// Errors start with "memcachestore:" and wrap the gomemcache error (for
// instance memcache.ErrServerError, or a *memcache.ConnectTimeoutError), so
// errors.Is and errors.As see through them. A cache miss is never an error.
// Error messages never contain the key, because the key holds the session
// id, a bearer secret that must not reach logs.
package memcachestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// MaxKeyLen is the longest key memcached accepts, in bytes.
const MaxKeyLen = 250

// maxRelative is memcached's limit for relative expirations: 30 days.
// Larger values are read as absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60 // 2592000

// DefaultMaxInFlight is Options.MaxInFlight's default.
const DefaultMaxInFlight = 512

// Options configures a Store. The zero value selects every default.
type Options struct {
	// MaxInFlight bounds the gomemcache calls the store runs at once on
	// behalf of callers whose context can end (see Contexts in the package
	// documentation), including calls whose caller already gave up. Zero
	// means DefaultMaxInFlight (512); negative values are rejected by New.
	MaxInFlight int
}

// Store is a session store backed by memcached. It is safe for concurrent
// use; create it with New.
type Store struct {
	client *memcache.Client
	slots  chan struct{}    // one token per running gomemcache call
	now    func() time.Time // time.Now; tests inject a fixed clock

	// casRead, when set, runs in CompareAndSet between its read (gets) and
	// its write (cas); tests use it to write from another client there.
	casRead func()
}

// New returns a Store that keeps entries in the memcached servers of
// client. The caller owns the client. New panics if client is nil or opts
// is invalid (a programming error, reported at construction).
func New(client *memcache.Client, opts Options) *Store {
	if client == nil {
		panic("memcachestore: New called with a nil client")
	}
	if opts.MaxInFlight < 0 {
		panic(fmt.Sprintf("memcachestore: Options.MaxInFlight is negative (%d)", opts.MaxInFlight))
	}
	n := opts.MaxInFlight
	if n == 0 {
		n = DefaultMaxInFlight
	}
	return &Store{client: client, slots: make(chan struct{}, n), now: time.Now}
}

// FlaskSessionBackend returns "memcached", the SESSION_TYPE of
// Flask-Session whose layout the store uses.
func (s *Store) FlaskSessionBackend() string { return "memcached" }

// run calls fn, which talks to memcached, so that the caller returns when
// ctx ends even if memcached does not answer: fn runs in a goroutine
// holding one of s.slots, and run returns either fn's error or, when ctx
// ends first, an error wrapping ctx.Err(). fn must not write anything the
// caller reads unless it returned. A ctx that can never end (Done() nil)
// runs fn directly.
func (s *Store) run(ctx context.Context, op string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, op, err)
	}
	if ctx.Done() == nil {
		return fn()
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return wrap(ctx, op, ctx.Err())
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-s.slots }()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return wrap(ctx, op, ctx.Err())
	}
}

// Get returns the value stored under key. found is false, with a nil
// error, on a cache miss (absent, expired or evicted) and for a key
// memcached cannot hold.
func (s *Store) Get(ctx context.Context, key string) (data []byte, found bool, err error) {
	var d []byte
	var f bool
	if err := s.run(ctx, "get", func() (err error) { d, f, err = s.get(ctx, key); return err }); err != nil {
		return nil, false, err
	}
	return d, f, nil
}

// Set stores data under key until expiry (memcached's set, flags 0),
// replacing any previous value and expiry. A zero expiry stores the item
// without expiration; an expiry that has already passed deletes the item.
// A key memcached cannot hold returns an error wrapping
// memcache.ErrMalformedKey; a value larger than the server's item size limit
// (1 MiB by default, including the key) returns the server's error.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	data = bytes.Clone(data)
	return s.run(ctx, "set", func() error { return s.set(ctx, key, data, expiry) })
}

// Delete removes key. Deleting an absent key (or one memcached cannot hold)
// is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.run(ctx, "delete", func() error { return s.delete(ctx, key) })
}

// Touch moves key's expiry without rewriting its value (memcached's
// touch). A zero expiry removes the expiration; an expiry that has already
// passed deletes the item. found is false, with a nil error, when the item
// is absent; Touch never creates an item.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (found bool, err error) {
	var f bool
	if err := s.run(ctx, "touch", func() (err error) { f, err = s.touch(ctx, key, expiry); return err }); err != nil {
		return false, err
	}
	return f, nil
}

// GetAndTouch reads key and moves its expiry in one round trip
// (memcached's gat command, memcached 1.5.3 or later), for the "one round
// trip per reading request" path of sliding sessions. An expiry that has
// already passed deletes the item and reports found=false.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) (data []byte, found bool, err error) {
	var d []byte
	var f bool
	if err := s.run(ctx, "get and touch", func() (err error) { d, f, err = s.getAndTouch(ctx, key, expiry); return err }); err != nil {
		return nil, false, err
	}
	return d, f, nil
}

func (s *Store) get(ctx context.Context, key string) (data []byte, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get", err)
	}
	if !legalKey(key) {
		return nil, false, nil
	}
	it, err := s.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "get", err)
	}
	return it.Value, true, nil
}

func (s *Store) set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "set", err)
	}
	if !legalKey(key) {
		return keyError("set", key)
	}
	exp, del, err := expiration(expiry, s.now())
	if err != nil {
		return err
	}
	if del {
		err = s.client.Delete(key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			err = nil
		}
	} else {
		// gomemcache writes the value to the socket before Set returns, so
		// the caller may reuse data afterwards.
		err = s.client.Set(&memcache.Item{Key: key, Value: data, Expiration: exp})
	}
	if err != nil {
		return wrap(ctx, "set", err)
	}
	return nil
}

func (s *Store) delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "delete", err)
	}
	if !legalKey(key) {
		return nil
	}
	err := s.client.Delete(key)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return wrap(ctx, "delete", err)
	}
	return nil
}

func (s *Store) touch(ctx context.Context, key string, expiry time.Time) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "touch", err)
	}
	if !legalKey(key) {
		return false, nil
	}
	exp, del, err := expiration(expiry, s.now())
	if err != nil {
		return false, err
	}
	if del {
		err = s.client.Delete(key)
	} else {
		err = s.client.Touch(key, exp)
	}
	if errors.Is(err, memcache.ErrCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return true, nil
}

func (s *Store) getAndTouch(ctx context.Context, key string, expiry time.Time) (data []byte, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get and touch", err)
	}
	if !legalKey(key) {
		return nil, false, nil
	}
	exp, del, err := expiration(expiry, s.now())
	if err != nil {
		return nil, false, err
	}
	if del {
		err := s.client.Delete(key)
		if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return nil, false, wrap(ctx, "get and touch", err)
		}
		return nil, false, nil
	}
	it, err := s.client.GetAndTouch(key, exp)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "get and touch", err)
	}
	return it.Value, true, nil
}

// expiredNow is the expiration CompareAndSet sends for an expiry that has
// already passed: memcached stores an item with a negative expiration as
// immediately expired, so a conditional write (add, cas) of it deletes the
// item when, and only when, the condition holds.
const expiredNow = -1

// CompareAndSet stores data under key until expiry (flags 0, the expiry
// converted as Set converts it) only if the value under key still equals
// old byte for byte; a nil old means "only if absent" (an empty, non-nil old
// matches only the empty value). It reports swapped=false, with a nil
// error, and changes nothing otherwise. A zero expiry stores the item
// without expiration; an expiry that has already passed deletes the item
// when old matches.
//
// A nil old is memcached's add, which the server performs only if it holds
// no live item for the key (an expired item counts as absent). Otherwise
// CompareAndSet reads the item with gets, compares its value with old, and
// writes with cas and the item's CAS unique. memcached gives an item a new
// CAS unique on every write, so the cas fails (EXISTS, or NOT_FOUND if the
// item was deleted or evicted meanwhile) when anything, from any client,
// wrote the key after the read: the comparison and the write are atomic as
// a pair because the cas carries the version the comparison was made
// against. After such a failure CompareAndSet reads again, so it reports
// swapped=false only when it has seen a value other than old (or none),
// not when another client merely rewrote the same bytes. A passed expiry
// is sent as a negative expiration (memcached stores the item already
// expired), so that the delete is conditional too.
//
// ctx is checked before every round trip; a context that ends between the
// read and the write returns its error without writing.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error) {
	old, data = bytes.Clone(old), bytes.Clone(data)
	var ok bool
	if err := s.run(ctx, "compare and set", func() (err error) { ok, err = s.compareAndSet(ctx, key, old, data, expiry); return err }); err != nil {
		return false, err
	}
	return ok, nil
}

func (s *Store) compareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "compare and set", err)
	}
	if !legalKey(key) {
		if old == nil {
			// The key is absent, so the write is due, but it cannot be
			// made: fail as Set would.
			return false, keyError("compare and set", key)
		}
		return false, nil
	}
	exp, del, err := expiration(expiry, s.now())
	if err != nil {
		return false, err
	}
	if del {
		exp = expiredNow
	}
	item := &memcache.Item{Key: key, Value: data, Expiration: exp}
	if old == nil {
		err := s.client.Add(item)
		if errors.Is(err, memcache.ErrNotStored) {
			// A live item exists.
			return false, nil
		}
		if err != nil {
			return false, wrap(ctx, "compare and set", err)
		}
		return true, nil
	}
	for {
		cur, err := s.client.Get(key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			return false, nil
		}
		if err != nil {
			return false, wrap(ctx, "compare and set", err)
		}
		if !bytes.Equal(cur.Value, old) {
			return false, nil
		}
		if s.casRead != nil {
			s.casRead()
		}
		if err := ctx.Err(); err != nil {
			return false, wrap(ctx, "compare and set", err)
		}
		item.CasID = cur.CasID
		err = s.client.CompareAndSwap(item)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
			// Written, deleted or evicted since the read: read again.
			// Every lap means another client's write succeeded, so the
			// loop ends as soon as the writers stop writing old itself.
			if err := ctx.Err(); err != nil {
				return false, wrap(ctx, "compare and set", err)
			}
		default:
			return false, wrap(ctx, "compare and set", err)
		}
	}
}

// expiration converts an absolute expiry into memcached's expiration
// field, as of now: 0 for a zero expiry (none); del=true when the expiry is
// not after now; otherwise the seconds until expiry, rounded up, sent as
// they are when they are at most 30 days and as the absolute Unix time
// (also rounded up) beyond that. This is Flask-Session's
// _get_memcache_timeout: a lifetime of 2678400 s at now=1700000000 gives
// 1702678400.
func expiration(expiry, now time.Time) (exp int32, del bool, err error) {
	if expiry.IsZero() {
		return 0, false, nil
	}
	d := expiry.Sub(now)
	if d <= 0 {
		return 0, true, nil
	}
	secs := int64(d / time.Second)
	if d%time.Second != 0 {
		secs++
	}
	if secs <= maxRelative {
		return int32(secs), false, nil
	}
	abs := expiry.Unix()
	if expiry.Nanosecond() != 0 {
		abs++
	}
	if abs > math.MaxInt32 {
		return 0, false, fmt.Errorf("memcachestore: expiry %s is beyond memcached's 32-bit expiration range", expiry.UTC().Format(time.RFC3339))
	}
	return int32(abs), false, nil
}

// legalKey reports whether memcached can hold key (gomemcache's rule).
func legalKey(key string) bool {
	if len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

func keyError(op, key string) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("memcachestore: %s: key is %d bytes, memcached allows at most %d: %w",
			op, len(key), MaxKeyLen, memcache.ErrMalformedKey)
	}
	return fmt.Errorf("memcachestore: %s: key contains a space or control character, which memcached does not allow: %w",
		op, memcache.ErrMalformedKey)
}

// wrap adds the package prefix and, when ctx has ended meanwhile, makes
// the error wrap ctx.Err() too.
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("memcachestore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("memcachestore: %s: %w", op, err)
}
