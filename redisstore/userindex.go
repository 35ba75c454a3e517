package redisstore

import (
	"context"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/go-redis/v9"
)

// # The per-user index (coatcheck.UserIndexer)
//
// The Manager's per-user session index is a sorted set under the index key:
// the members are session keys, the score is the expiry the Manager gave,
// in Unix milliseconds of the caller's clock (+inf for none). Every call is
// one Lua script on that one key (so it runs on a Cluster on the node of the
// key's slot, and on Sentinel on the master), sent with EVALSHA and falling
// back to EVAL after a SCRIPT FLUSH, like CompareAndSet's. An add is
// ZADD, O(log n) in the user's sessions, and one round trip.
//
// A score is a hint, not a deadline: a session's own expiry slides (GETEX,
// a rewrite) without the index being told, so an expired score never
// removes a member by itself. Instead each IndexAdd's script also returns
// up to redisscript.HealBatch members whose score has passed; only when
// there are any does the store look them up (one pipelined PTTL, which a
// Cluster client sends to the nodes owning them) and send a second script
// that removes the members whose session is gone and re-scores the others
// with their real expiry. A user's index thus holds her live sessions plus at most the
// sessions that ended since her last login; the set disappears with its
// last member. It has no TTL of its own, since a session may outlive every
// score in it.
//
// Coatcheck before the native index kept it as a JSON string under the same
// key; every script first converts such a value into the sorted set, with
// the ids and expiries it held, so no session of an upgraded user is lost
// from the index. (A process of the old version sharing the Redis then gets
// WRONGTYPE for that user's index: upgrade every process together.)

// The index scripts; their sources, shared with rueidisstore, and their
// arguments are in internal/redisscript.
var (
	indexAddScript    = redis.NewScript(redisscript.IndexAdd)
	indexHealScript   = redis.NewScript(redisscript.IndexHeal)
	indexRemoveScript = redis.NewScript(redisscript.IndexRemove)
	indexListScript   = redis.NewScript(redisscript.IndexList)
	indexTakeScript   = redis.NewScript(redisscript.IndexTake)
)

func score(expiry time.Time) string { return redisscript.Score(expiry) }

// addArgs are IndexAdd's script arguments (redisscript.AddArgs), as
// go-redis takes them; it writes each as the same bulk string.
func addArgs(key string, expiry, now time.Time) []any {
	a := redisscript.AddArgs(key, expiry, now)
	return []any{a[0], a[1], a[2], a[3]}
}

// IndexAdd adds key to the sorted set under indexKey with expiry as its
// score (coatcheck.UserIndexer): one round trip, O(log n). When members
// whose score has passed exist, it checks up to redisscript.HealBatch of
// them (two more round trips; see the package's index notes).
func (s *Store) IndexAdd(ctx context.Context, indexKey, key string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "index add", err)
	}
	now := time.Now()
	stale, err := indexAddScript.Run(ctx, s.client, []string{indexKey}, addArgs(key, expiry, now)...).StringSlice()
	if err != nil {
		return wrap(ctx, "index add", err)
	}
	if len(stale) > 0 {
		// Best effort: a failure leaves the members for the next add.
		_ = s.heal(ctx, indexKey, stale, now)
	}
	return nil
}

// heal removes the stale members whose session is gone and re-scores the
// others with their session's real expiry.
func (s *Store) heal(ctx context.Context, indexKey string, stale []string, now time.Time) error {
	cmds := make([]*redis.DurationCmd, len(stale))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range stale {
			cmds[i] = p.PTTL(ctx, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	args := make([]any, 0, 1+2*len(stale))
	args = append(args, now.UnixMilli())
	for i, k := range stale {
		// go-redis reports PTTL's -2 (no such key) and -1 (no TTL) as -2ns
		// and -1ns.
		switch d := cmds[i].Val(); {
		case d == -1:
			args = append(args, k, "+inf")
		case d <= 0:
			args = append(args, k, "")
		default:
			args = append(args, k, score(now.Add(d)))
		}
	}
	return indexHealScript.Run(ctx, s.client, []string{indexKey}, args...).Err()
}

// IndexRemove removes key from the set under indexKey (ZREM).
func (s *Store) IndexRemove(ctx context.Context, indexKey, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "index remove", err)
	}
	if err := indexRemoveScript.Run(ctx, s.client, []string{indexKey}, key).Err(); err != nil {
		return wrap(ctx, "index remove", err)
	}
	return nil
}

// IndexList returns the members of the set under indexKey (ZRANGE), stale
// ones included: the caller checks them.
func (s *Store) IndexList(ctx context.Context, indexKey string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	keys, err := indexListScript.Run(ctx, s.client, []string{indexKey}).StringSlice()
	if err != nil {
		return nil, wrap(ctx, "index list", err)
	}
	return keys, nil
}

// IndexTake returns the members of the set under indexKey and deletes it,
// in one script.
func (s *Store) IndexTake(ctx context.Context, indexKey string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "index take", err)
	}
	keys, err := indexTakeScript.Run(ctx, s.client, []string{indexKey}).StringSlice()
	if err != nil {
		return nil, wrap(ctx, "index take", err)
	}
	return keys, nil
}
