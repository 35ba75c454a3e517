package redisstore

import (
	"context"
	"strconv"
	"time"

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
// up to healBatch members whose score has passed; only when there are any
// does the store look them up (one pipelined PTTL, which a Cluster client
// sends to the nodes owning them) and send a second script that removes the
// members whose session is gone and re-scores the others with their real
// expiry. A user's index thus holds her live sessions plus at most the
// sessions that ended since her last login; the set disappears with its
// last member. It has no TTL of its own, since a session may outlive every
// score in it.
//
// Coatcheck before the native index kept it as a JSON string under the same
// key; every script first converts such a value into the sorted set, with
// the ids and expiries it held, so no session of an upgraded user is lost
// from the index. (A process of the old version sharing the Redis then gets
// WRONGTYPE for that user's index: upgrade every process together.)

// healBatch is how many members whose score has passed an IndexAdd checks.
const healBatch = 16

// indexPrelude converts a legacy JSON index entry under KEYS[1] into the
// sorted set. The session keys are the index key's prefix (before "_user:")
// followed by each id, as the Manager lays them out.
const indexPrelude = `
local function convert(k)
	if redis.call('TYPE', k)['ok'] ~= 'string' then return end
	local raw = redis.call('GET', k)
	redis.call('DEL', k)
	local prefix = string.match(k, '^(.*)_user:%x+$')
	local ok, ix = pcall(cjson.decode, raw)
	if not prefix or not ok or type(ix) ~= 'table' or type(ix['s']) ~= 'table' then return end
	for id, exp in pairs(ix['s']) do
		local score = '+inf'
		local n = tonumber(exp)
		if n and n > 0 then score = string.format('%.0f', n * 1000) end
		redis.call('ZADD', k, score, prefix .. id)
	end
end
convert(KEYS[1])
`

// indexAddScript: ARGV[1] member, ARGV[2] score, ARGV[3] now (ms),
// ARGV[4] how many stale members to return.
var indexAddScript = redis.NewScript(indexPrelude + `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
`)

// indexHealScript: ARGV[1] now (ms), then pairs of member and new score
// ("" to remove). A member is removed only if its score has still passed
// (a concurrent IndexAdd may have renewed it), and re-scored only if still
// present (XX) and only upwards (GT).
var indexHealScript = redis.NewScript(`
local now = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
	local m, sc = ARGV[i], ARGV[i + 1]
	if sc == '' then
		local cur = tonumber(redis.call('ZSCORE', KEYS[1], m))
		if cur and cur <= now then redis.call('ZREM', KEYS[1], m) end
	else
		redis.call('ZADD', KEYS[1], 'XX', 'GT', sc, m)
	end
end
return 0
`)

var indexRemoveScript = redis.NewScript(indexPrelude + `
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

var indexListScript = redis.NewScript(indexPrelude + `
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

var indexTakeScript = redis.NewScript(indexPrelude + `
local m = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return m
`)

func score(expiry time.Time) string {
	if expiry.IsZero() {
		return "+inf"
	}
	return strconv.FormatInt(expiry.UnixMilli(), 10)
}

// IndexAdd adds key to the sorted set under indexKey with expiry as its
// score (coatcheck.UserIndexer): one round trip, O(log n). When members
// whose score has passed exist, it checks up to healBatch of them (two more
// round trips; see the package's index notes).
func (s *Store) IndexAdd(ctx context.Context, indexKey, key string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "index add", err)
	}
	now := time.Now()
	stale, err := indexAddScript.Run(ctx, s.client, []string{indexKey}, key, score(expiry), now.UnixMilli(), healBatch).StringSlice()
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
