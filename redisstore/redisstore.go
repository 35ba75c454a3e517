// Package redisstore is a Coatcheck session store backed by Redis through
// github.com/redis/go-redis/v9.
//
// The store takes a [redis.UniversalClient] the caller built, so the same
// code serves a single server ([redis.NewClient]), Sentinel
// ([redis.NewFailoverClient]), Cluster ([redis.NewClusterClient]) and Ring
// ([redis.NewRing]). It satisfies coatcheck.Store, coatcheck.Toucher,
// coatcheck.GetToucher, coatcheck.Iterator, coatcheck.CompareAndSetter,
// coatcheck.UserIndexer (the per-user session index as a sorted set; see
// userindex.go) and coatcheck.IndexBatcher (a session's write and its index
// change in one pipeline; see batch.go, also for what a Cluster means for
// its atomicity) structurally; it does not import the coatcheck package.
//
// # Layout (Flask-Session interop)
//
// Entries use Flask-Session's Redis layout, so Flask and Go processes can
// share one Redis:
//
//   - the key is the key as given (SESSION_KEY_PREFIX + session id; the
//     Manager owns the prefix, the store adds nothing);
//   - the value is the session bytes as given (pickle or msgpack: the codec
//     is the Manager's business);
//   - the expiry is a Redis TTL. Flask-Session 0.3.2 writes
//     SETEX key <lifetime seconds> and 0.8 writes SET key value EX <seconds>.
//     This store writes SET key value PX <milliseconds until expiry> (go-redis
//     sends EX when the duration is a whole number of seconds), which leaves
//     the same TTL: a 31-day expiry reads back as TTL 2678400.
//
// # Expiry
//
// Expiries are sent as durations relative to the caller's clock (PX,
// PEXPIRE, GETEX PX, and the PX of CompareAndSet's script), never as
// absolute times (PXAT, PEXPIREAT): a Redis
// server whose clock is off by minutes then still keeps an entry for exactly
// its lifetime, as Flask-Session's relative SETEX does. Durations are rounded
// up to the next millisecond, so an entry never expires before its expiry. A
// zero expiry means no TTL; an expiry that has already passed deletes the
// key. Redis expires keys natively, so the store has no DeleteExpired.
//
// # Contexts: build the client with ContextTimeoutEnabled: true
//
// Every method checks ctx before sending anything, so a context that has
// already ended never reaches Redis. While a command is in flight, go-redis
// applies the context's deadline to the socket ONLY when the client was
// built with ContextTimeoutEnabled: true:
//
//	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
//
// Without it a hung or busy Redis (a blackholed network, a slow script, a
// DEBUG SLEEP) holds the request for the client's ReadTimeout and
// WriteTimeout (3 s each by default, about 6 s with a retry) whatever the
// caller's deadline, and the Manager cannot answer within its own. The store
// cannot change the setting on a client the caller built, so New reports a
// client of a known type (*redis.Client, which includes Sentinel's failover
// client, *redis.ClusterClient, *redis.Ring) built without it: it logs a
// warning to Options.Logger, and ContextTimeoutEnabled reports it. go-redis
// does not interrupt a command when a context is merely cancelled.
//
// # Errors
//
// Errors start with "redisstore:" and wrap the go-redis error, so errors.Is
// and errors.As see through them. When the context is cancelled or its
// deadline passes, the error also wraps ctx.Err() (context.Canceled or
// context.DeadlineExceeded). A missing key is never an error: Get reports
// found=false. Error messages never contain the key, because the key holds
// the session id, a bearer secret that must not reach logs.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/go-redis/v9"
)

// DefaultScanCount is the COUNT hint Iterate passes to SCAN when
// Options.ScanCount is zero.
const DefaultScanCount = 100

// Options configures a Store. The zero value selects every default.
type Options struct {
	// ScanCount is the COUNT hint Iterate passes to each SCAN call: roughly
	// how many keys Redis examines per round trip. Zero means
	// DefaultScanCount (100). Negative values are rejected by New.
	ScanCount int

	// Logger receives the warning New logs when the client was built
	// without ContextTimeoutEnabled (see the package documentation). nil
	// means slog.Default(). The store logs nothing else.
	Logger *slog.Logger
}

// Store is a session store backed by Redis. It is safe for concurrent use;
// create it with New.
type Store struct {
	client    redis.UniversalClient
	scanCount int64
	ctxTO     bool
}

// New returns a Store that keeps entries in the Redis reached through
// client. The caller owns the client and closes it. New panics if client is
// nil or opts is invalid (a programming error, reported at construction).
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: New called with a nil client")
	}
	if opts.ScanCount < 0 {
		panic(fmt.Sprintf("redisstore: Options.ScanCount is negative (%d)", opts.ScanCount))
	}
	n := opts.ScanCount
	if n == 0 {
		n = DefaultScanCount
	}
	s := &Store{client: client, scanCount: int64(n)}
	known := true
	switch c := client.(type) {
	case *redis.Client:
		s.ctxTO = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		s.ctxTO = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		s.ctxTO = c.Options().ContextTimeoutEnabled
	default:
		known = false
	}
	if known && !s.ctxTO {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("redisstore: the go-redis client was built without ContextTimeoutEnabled: true; " +
			"calls will not end at the caller's context deadline when Redis hangs (ReadTimeout/WriteTimeout bound them instead)")
	}
	return s
}

// ContextTimeoutEnabled reports whether the client New was given applies
// context deadlines to its sockets (go-redis's ContextTimeoutEnabled). It
// reports false for a client type whose options the store cannot read.
func (s *Store) ContextTimeoutEnabled() bool { return s.ctxTO }

// FlaskSessionBackend returns "redis", the SESSION_TYPE of Flask-Session
// whose layout the store uses.
func (s *Store) FlaskSessionBackend() string { return "redis" }

// Get returns the bytes stored under key (GET). found is false, with a nil
// error, when the key is absent or has expired.
func (s *Store) Get(ctx context.Context, key string) (data []byte, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get", err)
	}
	b, err := s.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "get", err)
	}
	return b, true, nil
}

// Set stores data under key until expiry with SET key data PX ms (EX when
// the TTL is whole seconds), replacing any previous value and TTL. A zero
// expiry stores the key without a TTL; an expiry that has already passed
// deletes the key (DEL). Set is a single command, so it either fully
// happens or not at all.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "set", err)
	}
	ttl, del := redisscript.TTLFor(expiry, time.Now())
	var err error
	if del {
		err = s.client.Del(ctx, key).Err()
	} else {
		// ttl 0 means no expiry; go-redis never sends a value of 0 as PX.
		err = s.client.Set(ctx, key, data, ttl).Err()
	}
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
	if err := s.client.Del(ctx, key).Err(); err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// Touch moves key's expiry without rewriting its data: PEXPIRE key ms. A
// zero expiry removes the TTL (PERSIST, sent in one MULTI with EXISTS so
// that found is exact); an expiry that has passed deletes the key. found
// is false, with a nil error, when the key is absent; Touch never creates
// a key.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "touch", err)
	}
	ttl, del := redisscript.TTLFor(expiry, time.Now())
	switch {
	case del:
		var n int64
		n, err = s.client.Del(ctx, key).Result()
		found = n > 0
	case ttl == 0:
		var exists *redis.IntCmd
		_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Persist(ctx, key)
			exists = p.Exists(ctx, key)
			return nil
		})
		if err == nil {
			found = exists.Val() > 0
		}
	default:
		found, err = s.client.PExpire(ctx, key, ttl).Result()
	}
	if err != nil {
		return false, wrap(ctx, "touch", err)
	}
	return found, nil
}

// GetAndTouch reads key and moves its expiry in one round trip, with
// GETEX key PX ms (GETEX key PERSIST for a zero expiry). It is meant for
// the "one round trip per reading request" path of sliding sessions: a
// Manager that would call Get and then Touch can call this instead when the
// store has it. An expiry that has already passed deletes the key and
// reports found=false.
//
// GETEX needs Redis 6.2 or later; on older servers the error wraps the
// server's "unknown command" reply.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) (data []byte, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get and touch", err)
	}
	ttl, del := redisscript.TTLFor(expiry, time.Now())
	if del {
		if err := s.client.Del(ctx, key).Err(); err != nil {
			return nil, false, wrap(ctx, "get and touch", err)
		}
		return nil, false, nil
	}
	// go-redis sends PERSIST for a zero duration, PX/EX for a positive one.
	b, err := s.client.GetEx(ctx, key, ttl).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(ctx, "get and touch", err)
	}
	return b, true, nil
}

// casScript is CompareAndSet's server side (its source, shared with
// rueidisstore, and its arguments are redisscript.CompareAndSet). Redis
// runs a script atomically: no other client's command runs between its GET
// and its SET or DEL, so the comparison and the write see the same value.
// It touches only KEYS[1], so it runs on a Cluster (on the node owning the
// key's slot) as on a single server. It returns 1 when it swapped, 0 when
// the value did not match.
var casScript = redis.NewScript(redisscript.CompareAndSet)

// CompareAndSet stores data under key until expiry only if the value under
// key still equals old byte for byte; a nil old means "only if the key is
// absent" (an empty, non-nil old matches only the empty value). It reports
// swapped=false, with a nil error, and changes nothing otherwise. A zero
// expiry stores the key without a TTL (clearing any previous one); an
// expiry that has already passed deletes the key when old matches.
//
// It is one Lua script (EVALSHA, falling back to EVAL the first time a
// server sees it), which Redis runs atomically against every other client,
// in this process or not. The script touches a single key, so it works on
// Cluster; on Sentinel it runs on the master like every write.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "compare and set", err)
	}
	mode, ms := redisscript.CASArgs(old, expiry, time.Now())
	n, err := casScript.Run(ctx, s.client, []string{key}, mode, old, data, ms).Int64()
	if err != nil {
		return false, wrap(ctx, "compare and set", err)
	}
	return n == 1, nil
}

// Iterate calls fn for every key that starts with prefix, with its expiry
// (zero when the key has no TTL), until fn returns false. It uses
// SCAN 0 MATCH <prefix>* COUNT n, with the glob metacharacters of prefix
// escaped, and PTTL (pipelined per SCAN page) for the expiries. On a Cluster
// client every master is scanned, and on a Ring every shard; the scans run
// in parallel but fn is never called concurrently. As with SCAN itself, keys
// written or deleted during the iteration may or may not be seen, and a key
// can be reported twice if the keyspace is rehashed meanwhile.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "iterate", err)
	}
	it := &iteration{store: s, match: redisscript.EscapeGlob(prefix) + "*", fn: fn}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, it.scanNode)
	case *redis.Ring:
		err = c.ForEachShard(ctx, it.scanNode)
	default:
		err = it.scan(ctx, s.client)
	}
	if err != nil && !errors.Is(err, errStop) {
		return wrap(ctx, "iterate", err)
	}
	return nil
}

// errStop ends the scans once fn has returned false.
var errStop = errors.New("redisstore: iteration stopped")

type iteration struct {
	store *Store
	match string

	mu      sync.Mutex // serialises fn and guards stopped
	fn      func(key string, expiry time.Time) bool
	stopped bool
}

func (it *iteration) scanNode(ctx context.Context, node *redis.Client) error {
	return it.scan(ctx, node)
}

// scan walks one node's keyspace (or the whole of a single server's).
func (it *iteration) scan(ctx context.Context, node redis.Cmdable) error {
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, it.match, it.store.scanCount).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := it.report(ctx, keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// report looks up the TTL of keys and hands the live ones to fn.
func (it *iteration) report(ctx context.Context, keys []string) error {
	// PTTL goes through the store's own client, which routes each key to
	// the node that owns its slot on a Cluster.
	cmds := make([]*redis.DurationCmd, len(keys))
	_, err := it.store.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.PTTL(ctx, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now()
	it.mu.Lock()
	defer it.mu.Unlock()
	for i, k := range keys {
		if it.stopped {
			return errStop
		}
		var expiry time.Time
		// go-redis reports PTTL's -2 (no such key) and -1 (no TTL) as
		// Durations of -2ns and -1ns.
		switch d := cmds[i].Val(); {
		case d == -1:
			// No TTL: a zero expiry.
		case d <= 0:
			// The key expired or was deleted since SCAN saw it.
			continue
		default:
			expiry = now.Add(d)
		}
		if !it.fn(k, expiry) {
			it.stopped = true
			return errStop
		}
	}
	return nil
}

// wrap adds the package prefix and, when ctx has ended, makes sure the
// error wraps ctx.Err() whatever go-redis reported (redisscript.Wrap).
func wrap(ctx context.Context, op string, err error) error {
	return redisscript.Wrap(ctx, "redisstore", op, err)
}
