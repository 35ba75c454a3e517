// Package rueidisstore is a Coatcheck session store backed by Redis through
// github.com/redis/rueidis, with optional server-assisted client-side
// caching (RESP3 CLIENT TRACKING): a session read served from the client's
// cache makes no round trip at all.
//
// It satisfies coatcheck.Store, coatcheck.Toucher, coatcheck.GetToucher,
// coatcheck.CompareAndSetter, coatcheck.Iterator, coatcheck.UserIndexer
// (redisstore's sorted-set index and scripts; see userindex.go),
// coatcheck.IndexBatcher (a session's write and its index change in one
// DoMulti: MULTI/EXEC on one server or Sentinel, split by slot on a
// Cluster; see batch.go) and coatcheck.BackendNamer structurally; it does
// not import the coatcheck package.
//
// # Layout: the same as redisstore
//
// Entries use Flask-Session's Redis layout, exactly as redisstore writes
// it, so Flask, redisstore and this store can share one Redis and an app
// can switch between the two stores: the key is the key as given (the
// Manager owns SESSION_KEY_PREFIX), the value is the session bytes as
// given, and the expiry is a Redis TTL sent relative to the caller's clock
// (SET key value PX ms, PEXPIRE, GETEX PX), rounded up to the millisecond.
// A zero expiry means no TTL; an expiry that has passed deletes the key.
//
// # Client-side caching (Options.RefreshInterval)
//
// With RefreshInterval 0 (the default) the store is redisstore on rueidis:
// Get is one GET, GetAndTouch one GETEX (read and slide the TTL, as
// Flask-Session does on every request), nothing is cached.
//
// With RefreshInterval > 0, Get and GetAndTouch read through rueidis's
// client-side cache (DoCache / DoMultiCache, Redis CLIENT TRACKING): Redis
// remembers which keys each connection has cached and pushes an
// invalidation when any client (this process, another Coatcheck, Flask,
// redis-cli) changes or deletes one, or when it expires; rueidis drops the
// entry on that push and drops the whole cache of a connection when the
// connection is lost. A cached read makes no round trip. GetAndTouch caches
// the value together with its PTTL and sends a GETEX (one round trip, which
// also returns the current value) only when the expiry on the server is
// more than RefreshInterval earlier than the requested one, so a session
// read on every request slides its TTL once per RefreshInterval instead of
// on every read. Sessions therefore live up to RefreshInterval less past
// their last request than with per-read refreshes; a read whose whole
// remaining lifetime is not longer than RefreshInterval always refreshes.
// A refresh changes the key's TTL, which Redis reports as a change: the
// next read fetches the entry again (one more round trip per interval).
//
// Reads are eventually consistent across processes: a write by another
// client is seen as soon as its invalidation push arrives (well under a
// millisecond on a local network; see the package tests for the measured
// window), and never later than Options.CacheTTL. Within this store,
// writes are read back: a key this store wrote, deleted or touched in the
// last second is read uncached, because rueidis's connections read replies
// and pushes independently and the invalidation of one's own write can
// arrive a moment after the write's reply.
//
// When the network to Redis fails silently (a blackhole: no FIN, no RST),
// rueidis notices only when a command or its background PING gets no
// answer within ClientOption.ConnWriteTimeout (default 10 s), and until
// then would serve its cache, stale if the entry changed meanwhile (the
// push cannot arrive). The store therefore serves a cached entry only
// while Redis has answered one of its commands within Options.MaxSilence
// (1 s): past that, the read goes to Redis, and fails at the caller's
// deadline if Redis does not answer. A cached read can thus be stale by
// at most about MaxSilence after a silent failure. A cut connection (FIN
// or RST) is noticed at once and its cache dropped; from then on every
// read is an error until Redis answers again, never a cached value and
// never "not found". Lowering ConnWriteTimeout makes rueidis notice
// sooner too.
// The cache memory is ClientOption.CacheSizeEachConn per connection
// (rueidis's default 128 MiB, LRU); the client must be built without
// DisableCache for caching to happen (with it, cached reads silently
// become plain round trips).
//
// # Contexts and errors
//
// Every method checks ctx first and passes it to rueidis, which ends a
// call at the context's deadline whatever the server does. Errors start
// with "rueidisstore:", wrap rueidis's error (errors.Is and errors.As see
// through), wrap ctx.Err() when the context has ended, and never contain
// the key. A missing key is never an error: found=false means "no such
// key", never "could not ask".
package rueidisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/rueidis"
)

// DefaultScanCount is the COUNT hint Iterate passes to SCAN when
// Options.ScanCount is zero.
const DefaultScanCount = 100

// DefaultCacheTTL is the longest a cached entry is served without asking
// Redis again when Options.CacheTTL is zero.
const DefaultCacheTTL = time.Minute

// DefaultMaxSilence is Options.MaxSilence's default.
const DefaultMaxSilence = time.Second

// ownWriteWindow is how long after this store writes a key its reads of
// that key bypass the client-side cache (see the package documentation).
const ownWriteWindow = time.Second

// recentSlots is the size of the table of recent writes (8 bytes each). Keys
// share slots by hash; a collision only makes a read uncached.
const recentSlots = 4096

// Options configures a Store. The zero value selects every default.
type Options struct {
	// RefreshInterval turns on client-side caching when positive. 0 (the
	// default): no caching, every GetAndTouch is one GETEX that slides the
	// TTL, as redisstore and Flask-Session do. > 0: Get and GetAndTouch
	// are served from rueidis's client-side cache, and GetAndTouch sends a
	// GETEX only when the TTL on the server ends more than RefreshInterval
	// before the requested expiry. Negative values are rejected by New.
	RefreshInterval time.Duration

	// CacheTTL bounds how long a cached entry is served without asking
	// Redis (rueidis's client-side TTL; Redis's invalidation pushes
	// usually end it much sooner). Zero means DefaultCacheTTL (1 minute).
	// Only used when RefreshInterval > 0. Negative values are rejected.
	CacheTTL time.Duration

	// MaxSilence bounds how long cached entries are served without Redis
	// having answered this store: a cached read more than MaxSilence after
	// the store's last answered command goes to Redis instead (and that
	// answer re-arms the cache). It caps the stale window of a silent
	// network failure, which rueidis alone notices only after
	// ClientOption.ConnWriteTimeout (10 s by default), at the cost of at
	// most one round trip per MaxSilence when every read is a cache hit.
	// Zero means DefaultMaxSilence (1 s); negative turns the check off.
	// Only used when RefreshInterval > 0.
	MaxSilence time.Duration

	// ScanCount is the COUNT hint Iterate passes to each SCAN. Zero means
	// DefaultScanCount (100). Negative values are rejected by New.
	ScanCount int
}

// Store is a session store backed by Redis through rueidis. It is safe for
// concurrent use; create it with New.
type Store struct {
	client    rueidis.Client
	refresh   time.Duration
	cacheTTL  time.Duration
	silence   time.Duration // < 0: never checked
	scanCount int64
	lastOK    atomic.Int64 // unix nanoseconds when the last answered command was sent

	seed   maphash.Seed
	recent [recentSlots]atomic.Int64 // unix nanoseconds of the last own write per slot
}

// New returns a Store that keeps entries in the Redis reached through
// client. The caller owns the client and closes it; for caching, build it
// without DisableCache (and consider ConnWriteTimeout, see the package
// documentation). New panics if client is nil or opts is invalid.
func New(client rueidis.Client, opts Options) *Store {
	if client == nil {
		panic("rueidisstore: New called with a nil client")
	}
	if opts.RefreshInterval < 0 || opts.CacheTTL < 0 || opts.ScanCount < 0 {
		panic(fmt.Sprintf("rueidisstore: negative option (RefreshInterval %v, CacheTTL %v, ScanCount %d)",
			opts.RefreshInterval, opts.CacheTTL, opts.ScanCount))
	}
	s := &Store{client: client, refresh: opts.RefreshInterval, cacheTTL: opts.CacheTTL,
		silence: opts.MaxSilence, scanCount: int64(opts.ScanCount), seed: maphash.MakeSeed()}
	if s.silence == 0 {
		s.silence = DefaultMaxSilence
	}
	if s.cacheTTL == 0 {
		s.cacheTTL = DefaultCacheTTL
	}
	if s.scanCount == 0 {
		s.scanCount = DefaultScanCount
	}
	return s
}

// FlaskSessionBackend returns "redis", the SESSION_TYPE of Flask-Session
// whose layout the store uses.
func (s *Store) FlaskSessionBackend() string { return "redis" }

// caching reports whether reads go through the client-side cache.
func (s *Store) caching() bool { return s.refresh > 0 }

func (s *Store) slot(key string) *atomic.Int64 {
	return &s.recent[maphash.String(s.seed, key)%recentSlots]
}

// wrote records that this store is writing key now (before and after the
// write), so that its own reads of key bypass the cache for a while.
func (s *Store) wrote(key string) {
	if s.caching() {
		s.slot(key).Store(time.Now().UnixNano())
	}
}

// fresh reports whether key may be read from the cache: caching is on and
// this store has not written key (or a key sharing its slot) recently.
func (s *Store) fresh(key string) bool {
	if !s.caching() {
		return false
	}
	now := time.Now().UnixNano()
	if s.silence > 0 && now-s.lastOK.Load() > int64(s.silence) {
		return false
	}
	return now-s.slot(key).Load() > int64(ownWriteWindow)
}

// answered records that Redis answered a command sent at start (an error
// reply counts; a network or context error does not). A reply served from
// the client-side cache proves nothing and is not recorded.
func (s *Store) answered(start time.Time, r rueidis.RedisResult) {
	if r.NonRedisError() == nil && !r.IsCacheHit() {
		if n := start.UnixNano(); n > s.lastOK.Load() {
			s.lastOK.Store(n)
		}
	}
}

// do sends cmd (uncached) and records the answer.
func (s *Store) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	start := time.Now()
	r := s.client.Do(ctx, cmd)
	s.answered(start, r)
	return r
}

// Get returns the bytes stored under key (GET, from the client-side cache
// when caching is on). found is false, with a nil error, only when the key
// is absent or has expired.
func (s *Store) Get(ctx context.Context, key string) (data []byte, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get", err)
	}
	var r rueidis.RedisResult
	if s.fresh(key) {
		start := time.Now()
		r = s.client.DoCache(ctx, s.client.B().Get().Key(key).Cache(), s.cacheTTL)
		s.answered(start, r)
	} else {
		r = s.do(ctx, s.client.B().Get().Key(key).Build())
	}
	return bytesOf(ctx, "get", r)
}

func bytesOf(ctx context.Context, op string, r rueidis.RedisResult) ([]byte, bool, error) {
	// ToString, then a copy: rueidis's AsBytes aliases the reply's memory,
	// which for a cached read is the cache's own (and a cache miss's reply
	// is stored in the cache too), so a caller writing to the slice would
	// change what later reads return.
	str, err := r.ToString()
	if rueidis.IsRedisNil(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, op, err)
	}
	return []byte(str), true, nil
}

// Set stores data under key until expiry with SET key data PX ms,
// replacing any previous value and TTL. A zero expiry stores the key
// without a TTL; an expiry that has already passed deletes the key (DEL).
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "set", err)
	}
	ttl, del := redisscript.TTLFor(expiry, time.Now())
	var cmd rueidis.Completed
	switch {
	case del:
		cmd = s.client.B().Del().Key(key).Build()
	case ttl == 0:
		cmd = s.client.B().Set().Key(key).Value(string(data)).Build()
	default:
		cmd = s.client.B().Set().Key(key).Value(string(data)).PxMilliseconds(ttl.Milliseconds()).Build()
	}
	s.wrote(key)
	err := s.do(ctx, cmd).Error()
	s.wrote(key)
	if err != nil {
		return wrap(ctx, "set", err)
	}
	return nil
}

// Delete removes key (DEL). Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "delete", err)
	}
	s.wrote(key)
	err := s.do(ctx, s.client.B().Del().Key(key).Build()).Error()
	s.wrote(key)
	if err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// Touch moves key's expiry without rewriting its data: PEXPIRE key ms. A
// zero expiry removes the TTL (PERSIST and EXISTS in one MULTI, so found
// is exact); an expiry that has passed deletes the key. found is false,
// with a nil error, when the key is absent; Touch never creates a key.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "touch", err)
	}
	ttl, del := redisscript.TTLFor(expiry, time.Now())
	b := s.client.B()
	s.wrote(key)
	defer s.wrote(key)
	var n int64
	switch {
	case del:
		n, err = s.do(ctx, b.Del().Key(key).Build()).AsInt64()
	case ttl == 0:
		start := time.Now()
		res := s.client.DoMulti(ctx, b.Multi().Build(), b.Persist().Key(key).Build(),
			b.Exists().Key(key).Build(), b.Exec().Build())
		s.answered(start, res[3])
		var replies []rueidis.RedisMessage
		if replies, err = res[3].ToArray(); err == nil {
			if len(replies) != 2 {
				err = fmt.Errorf("EXEC returned %d replies, want 2", len(replies))
			} else {
				n, err = replies[1].AsInt64()
			}
		}
	default:
		n, err = s.do(ctx, b.Pexpire().Key(key).Milliseconds(ttl.Milliseconds()).Build()).AsInt64()
	}
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return n > 0, nil
}

// GetAndTouch reads key and moves its expiry. With RefreshInterval 0 it is
// one GETEX key PX ms (GETEX key PERSIST for a zero expiry). With caching
// on, it serves the cached value when the cached TTL already reaches
// within RefreshInterval of expiry, and sends the GETEX otherwise (see the
// package documentation). An expiry that has already passed deletes the
// key and reports found=false. GETEX needs Redis 6.2 or later.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) (data []byte, found bool, err error) {
	const op = "get and touch"
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, op, err)
	}
	now := time.Now()
	ttl, del := redisscript.TTLFor(expiry, now)
	if del {
		s.wrote(key)
		err := s.do(ctx, s.client.B().Del().Key(key).Build()).Error()
		s.wrote(key)
		if err != nil {
			return nil, false, wrap(ctx, op, err)
		}
		return nil, false, nil
	}
	if s.fresh(key) && (ttl == 0 || ttl > s.refresh) {
		b := s.client.B()
		start := time.Now()
		rs := s.client.DoMultiCache(ctx,
			rueidis.CT(b.Get().Key(key).Cache(), s.cacheTTL),
			rueidis.CT(b.Pttl().Key(key).Cache(), s.cacheTTL))
		s.answered(start, rs[0])
		data, found, err := bytesOf(ctx, op, rs[0])
		if err != nil || !found {
			return nil, false, err
		}
		pttl, err := rs[1].AsInt64()
		if err != nil {
			return nil, false, wrap(ctx, op, err)
		}
		if !s.needsRefresh(expiry, pttl, rs[1].CachePXAT()) {
			return data, true, nil
		}
	}
	var cmd rueidis.Completed
	if ttl == 0 {
		cmd = s.client.B().Getex().Key(key).Persist().Build()
	} else {
		cmd = s.client.B().Getex().Key(key).PxMilliseconds(ttl.Milliseconds()).Build()
	}
	return bytesOf(ctx, op, s.do(ctx, cmd))
}

// needsRefresh decides, from a cached PTTL reply, whether the TTL on the
// server must be moved to reach expiry. rueidis stamps a cached reply with
// the time its client-side entry ends (pxat, Unix ms): the fetch time plus
// CacheTTL, or, when the key's PTTL was shorter, the key's own expiry. So
// the server's expiry is pxat when pttl < CacheTTL, else pxat - CacheTTL +
// pttl (the fetch time is taken when the request was made, so the estimate
// errs early, towards refreshing).
func (s *Store) needsRefresh(expiry time.Time, pttl, pxat int64) bool {
	switch {
	case pttl == -2: // gone between the GET and the PTTL: ask again
		return true
	case pttl == -1: // no TTL on the server
		return !expiry.IsZero()
	case expiry.IsZero(): // a TTL on the server, none wanted
		return true
	case pxat <= 0: // no client-side expiry on the reply: cannot tell
		return true
	}
	cache := s.cacheTTL.Milliseconds()
	serverExp := pxat
	if pttl >= cache {
		serverExp = pxat - cache + pttl
	}
	return expiry.Sub(time.UnixMilli(serverExp)) > s.refresh
}

// CompareAndSet's script, casScript (userindex.go), is
// redisscript.CompareAndSet, redisstore's: one atomic script touching only
// KEYS[1]; ARGV[1] "1" to compare with ARGV[2] or "0" for "only if
// absent", ARGV[3] the new value, ARGV[4] the TTL in ms ("0" none, "-1"
// delete); it returns 1 when it swapped.

// CompareAndSet stores data under key until expiry only if the value under
// key still equals old byte for byte; a nil old means "only if the key is
// absent". It reports swapped=false, with a nil error, and changes nothing
// otherwise. A zero expiry stores the key without a TTL; an expiry that
// has already passed deletes the key when old matches. It is one Lua
// script (EVALSHA, falling back to EVAL), atomic against every client.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "compare and set", err)
	}
	mode, ms := redisscript.CASArgs(old, expiry, time.Now())
	s.wrote(key)
	start := time.Now()
	r := casScript.lua.Exec(ctx, s.client, []string{key},
		[]string{mode, string(old), string(data), strconv.FormatInt(ms, 10)})
	s.answered(start, r)
	s.wrote(key)
	n, err := r.AsInt64()
	if err != nil {
		return false, wrap(ctx, "compare and set", err)
	}
	return n == 1, nil
}

// Iterate calls fn for every key that starts with prefix, with its expiry
// (zero when the key has no TTL), until fn returns false: SCAN 0 MATCH
// <prefix>* COUNT n, with the glob metacharacters of prefix escaped, and
// PTTL pipelined per page. On a Cluster client every node rueidis knows is
// scanned in turn. fn is never called concurrently. As with SCAN itself,
// keys written or deleted meanwhile may or may not be seen.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "iterate", err)
	}
	match := redisscript.EscapeGlob(prefix) + "*"
	nodes := []rueidis.Client{s.client}
	if s.client.Mode() == rueidis.ClientModeCluster {
		nodes = nodes[:0]
		for _, c := range s.client.Nodes() {
			nodes = append(nodes, c)
		}
	}
	it := &iteration{fn: fn}
	for _, node := range nodes {
		if err := s.scan(ctx, node, match, it); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return wrap(ctx, "iterate", err)
		}
	}
	return nil
}

var errStop = errors.New("rueidisstore: iteration stopped")

type iteration struct {
	mu sync.Mutex
	fn func(key string, expiry time.Time) bool
}

func (s *Store) scan(ctx context.Context, node rueidis.Client, match string, it *iteration) error {
	var cursor uint64
	for {
		e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(match).Count(s.scanCount).Build()).AsScanEntry()
		if err != nil {
			return err
		}
		if len(e.Elements) > 0 {
			if err := s.report(ctx, e.Elements, it); err != nil {
				return err
			}
		}
		if e.Cursor == 0 {
			return nil
		}
		cursor = e.Cursor
	}
}

// report looks up the TTL of keys (through the store's client, which
// routes each key to its node) and hands the live ones to fn.
func (s *Store) report(ctx context.Context, keys []string, it *iteration) error {
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = s.client.B().Pttl().Key(k).Build()
	}
	res := s.client.DoMulti(ctx, cmds...)
	now := time.Now()
	it.mu.Lock()
	defer it.mu.Unlock()
	for i, k := range keys {
		d, err := res[i].AsInt64()
		if err != nil {
			return err
		}
		var expiry time.Time
		switch {
		case d == -1: // no TTL
		case d < 0: // gone since SCAN saw it
			continue
		default:
			expiry = now.Add(time.Duration(d) * time.Millisecond)
		}
		if !it.fn(k, expiry) {
			return errStop
		}
	}
	return nil
}

// wrap adds the package prefix and, when ctx has ended, makes sure the
// error wraps ctx.Err() whatever rueidis reported (redisscript.Wrap).
func wrap(ctx context.Context, op string, err error) error {
	return redisscript.Wrap(ctx, "rueidisstore", op, err)
}
