package coatcheck

import (
	"math/big"
	"sync"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// The verified-cookie cache (Config.CookieCacheSize).
//
// Between two changes of a session its client sends the same cookie again
// and again: every page, asset and XHR of a logged-in user. Verifying the
// signature and decoding the tagged JSON each time is most of what a cookie
// read costs, so the cookie interface remembers, for the cookies it
// verified (or re-signed) recently, the exact cookie value → what it decoded
// to. A hit skips HMAC and JSON entirely; what stays per request is a map
// lookup and the age checks.
//
// Soundness: only values whose signature checked out (or that this Manager
// signed itself) are inserted, the key is the whole value, and the keys that
// verified it never change for the life of the Manager, so a hit is exactly
// the answer verification would give. The age checks (PERMANENT_SESSION_
// LIFETIME, SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_LIFETIME) run on every
// hit as on a miss, from the signing time and deadline kept in the entry: a
// cached cookie is rejected at the same second an uncached one would be (a
// hit that is too old takes the full path, which produces the same error).
//
// Sharing: an entry's data is never written after insertion. Sessions opened
// from it share it copy-on-write: the first write, and the first read of a
// mutable value (a list, dict, bytes or big integer that the handler could
// change in place), gives the session its own deep copy (Session.own). A
// session whose data holds a type the copy does not know (a custom tag's
// value) is not cached.
//
// Memory: an entry costs its value's length plus an estimate of its decoded
// data (cacheCost: string bytes and a per-item overhead, so a small
// compressed cookie that inflates to a large session counts as large) plus
// the entry itself. The cache is split in cacheShards shards by the
// value's last bytes (signature characters: uniform, and only verified
// values are stored); each shard keeps two generations of at most
// limit/(2·cacheShards) bytes, and when the current one is full it becomes
// the old one and the old one is dropped (a hit in the old generation moves
// the entry to the current one). That is an approximate LRU that never holds
// more than limit bytes by that estimate.
//
// Timing: lookups compare the presented value with stored ones of the same
// hash with ordinary (not constant-time) string equality, like any map of
// header values; the hash is seeded per process, and learning a stored
// cookie would require already holding it.

// DefaultCookieCacheSize is the verified-cookie cache's byte budget when
// Config.CookieCacheSize is zero.
const DefaultCookieCacheSize = 8 << 20

const cacheShards = 16

// cachedCookie is what a verified cookie decoded to. Immutable once
// inserted.
type cachedCookie struct {
	data     map[string]any // the session, without the deadline stamp
	signedAt time.Time
	deadline time.Time // zero: none
	size     int64     // cacheCost(data), set when first cached
}

type cookieCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.RWMutex
	cur, old map[string]*cachedCookie
	cost     int64 // of cur
	limit    int64 // per generation
	_        [40]byte
}

// newCookieCache returns a cache of about size bytes, nil when size < 0.
func newCookieCache(size int) *cookieCache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultCookieCacheSize
	}
	c := &cookieCache{}
	for i := range c.shards {
		c.shards[i].limit = int64(size) / (2 * cacheShards)
	}
	return c
}

// entryCost is what the entry for value holding e counts against the
// budget.
func entryCost(value string, e *cachedCookie) int64 {
	return int64(len(value)) + e.size + 128
}

func (c *cookieCache) shard(value string) *cacheShard {
	n := len(value)
	if n < 2 {
		return &c.shards[0]
	}
	return &c.shards[(value[n-1]^value[n-2]*7)&(cacheShards-1)]
}

// get returns the entry for value, or nil.
func (c *cookieCache) get(value string) *cachedCookie {
	sh := c.shard(value)
	sh.mu.RLock()
	e, inCur := sh.cur[value]
	if !inCur {
		e = sh.old[value]
	}
	sh.mu.RUnlock()
	if e != nil && !inCur {
		sh.mu.Lock()
		if sh.old[value] == e {
			delete(sh.old, value)
			sh.add(value, e)
		}
		sh.mu.Unlock()
	}
	return e
}

// put remembers e for value.
func (c *cookieCache) put(value string, e *cachedCookie) {
	sh := c.shard(value)
	sh.mu.Lock()
	if _, ok := sh.cur[value]; !ok {
		delete(sh.old, value)
		sh.add(value, e)
	}
	sh.mu.Unlock()
}

// add inserts into the current generation, turning it over when full.
// Callers hold sh.mu.
func (sh *cacheShard) add(value string, e *cachedCookie) {
	cost := entryCost(value, e)
	if cost > sh.limit {
		return
	}
	if sh.cur == nil || sh.cost+cost > sh.limit {
		sh.old = sh.cur
		sh.cur = make(map[string]*cachedCookie, len(sh.old))
		sh.cost = 0
	}
	sh.cur[value] = e
	sh.cost += cost
}

// bytes is the cache's current cost estimate, for tests.
func (c *cookieCache) bytes() (total int64) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		total += sh.cost
		for v, e := range sh.old {
			total += entryCost(v, e)
		}
		sh.mu.RUnlock()
	}
	return total
}

// cacheCost walks data once: ok reports whether every value is of a type
// cloneValue copies (or that cannot change), so that data can be shared,
// and n estimates the memory it holds — every string's and byte slice's
// bytes and a fixed overhead per value, map entry and slice, so a small
// compressed cookie that inflates to a large session counts as large.
func cacheCost(data map[string]any) (n int64, ok bool) { return mapCost(data, 0) }

func mapCost(m map[string]any, depth int) (int64, bool) {
	n := int64(48)
	for k, v := range m {
		c, ok := valueCost(v, depth)
		if !ok {
			return 0, false
		}
		n += int64(len(k)) + 32 + c
	}
	return n, true
}

func listCost(l []any, depth int) (int64, bool) {
	n := int64(24)
	for _, e := range l {
		c, ok := valueCost(e, depth+1)
		if !ok {
			return 0, false
		}
		n += 16 + c
	}
	return n, true
}

func valueCost(v any, depth int) (int64, bool) {
	if depth > maxValueDepth {
		return 0, false
	}
	switch x := v.(type) {
	case nil, bool, int64, int, float64, time.Time, pyval.Date, pyval.UUID:
		return 16, true
	case string:
		return int64(len(x)) + 16, true
	case pyval.Markup:
		return int64(len(x)) + 16, true
	case pyval.Decimal:
		return int64(len(x)) + 16, true
	case []byte:
		return int64(len(x)) + 24, true
	case *big.Int:
		return int64(len(x.Bits()))*8 + 32, true
	case []any:
		return listCost(x, depth)
	case pyval.Tuple:
		return listCost(x, depth)
	case map[string]any:
		return mapCost(x, depth+1)
	}
	return 0, false
}

// immutable reports whether a handler holding v cannot change it in place.
func immutable(v any) bool {
	switch v.(type) {
	case nil, bool, string, int64, int, float64, time.Time,
		pyval.Markup, pyval.Decimal, pyval.Date, pyval.UUID:
		return true
	}
	return false
}

// cloneData deep-copies a cacheable session.
func cloneData(data map[string]any) map[string]any {
	out := make(map[string]any, len(data)+1)
	for k, v := range data {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case pyval.Tuple:
		out := make(pyval.Tuple, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		return cloneData(x)
	case []byte:
		return append([]byte(nil), x...)
	case *big.Int:
		return new(big.Int).Set(x)
	}
	return v
}
