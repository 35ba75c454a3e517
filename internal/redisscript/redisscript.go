// Package redisscript holds the Lua scripts that the Redis stores
// (redisstore on go-redis, rueidisstore on rueidis) run on the server, and
// the small encodings they share, so that both stores keep one layout and
// one set of semantics: an index or an entry written by one is read and
// changed correctly by the other. It imports no Redis client; each store
// wraps the sources in its client's script type (redis.NewScript,
// rueidis.NewLuaScript), whose SHA1 is that of the source text, so the two
// stores share one entry in the server's script cache per script.
//
// # The per-user index
//
// The Manager's per-user session index (coatcheck.UserIndexer) is a sorted
// set under the index key: the members are session keys, the score is the
// expiry the Manager gave, in Unix milliseconds of the caller's clock
// (+inf for none; see Score). Every index script touches KEYS[1] only, the
// index key, so it runs on a Cluster on the node of that key's slot.
//
// A score is a hint, not a deadline: IndexAdd returns up to HealBatch
// members whose score has passed; the store looks up their real TTL (PTTL)
// and sends IndexHeal, which removes the members whose session is gone and
// re-scores the others.
//
// Coatcheck before the native index kept it as a JSON string under the
// same key ({"s": {id: expiry seconds}}); every index script except
// IndexHeal first converts such a value into the sorted set (IndexPrelude).
package redisscript

import (
	"strconv"
	"time"
)

// HealBatch is how many members whose score has passed an IndexAdd returns
// (ARGV[4] of IndexAdd) for the store to check.
const HealBatch = 16

// IndexPrelude converts a legacy JSON index entry under KEYS[1] into the
// sorted set. The session keys are the index key's prefix (before
// "_user:") followed by each id, as the Manager lays them out.
const IndexPrelude = `
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

// IndexAdd adds or re-scores a member: KEYS[1] the index, ARGV[1] the
// member, ARGV[2] its score (Score), ARGV[3] now (Unix ms), ARGV[4] how
// many members whose score is not after now to return (HealBatch). It
// returns those members.
const IndexAdd = IndexPrelude + `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
`

// IndexHeal: ARGV[1] now (Unix ms), then pairs of member and new score
// ("" to remove). A member is removed only if its score has still passed
// (a concurrent IndexAdd may have renewed it), and re-scored only if still
// present (XX) and only upwards (GT). It returns 0.
const IndexHeal = `
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
`

// IndexRemove removes ARGV[1] from the index under KEYS[1] and returns
// how many members it removed (0 or 1).
const IndexRemove = IndexPrelude + `
return redis.call('ZREM', KEYS[1], ARGV[1])
`

// IndexList returns the members of the index under KEYS[1].
const IndexList = IndexPrelude + `
return redis.call('ZRANGE', KEYS[1], 0, -1)
`

// IndexTake returns the members of the index under KEYS[1] and deletes it,
// in one atomic step.
const IndexTake = IndexPrelude + `
local m = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return m
`

// CompareAndSet is CompareAndSet's server side. Redis runs a script
// atomically: no other client's command runs between its GET and its SET
// or DEL. It touches only KEYS[1].
//
//	KEYS[1]  the key
//	ARGV[1]  "1" to compare with ARGV[2], "0" for "only if absent" (a nil old)
//	ARGV[2]  the old value (empty when ARGV[1] is "0")
//	ARGV[3]  the new value
//	ARGV[4]  the TTL in milliseconds; "0" for none, "-1" to delete
//
// It returns 1 when it swapped, 0 when the value did not match. GET of an
// absent key yields false in Lua, which equals no string, so a non-nil old
// (even the empty string) never matches an absent key; Redis has already
// dropped an expired key by the time a script reads it, so an expired
// entry is absent. A plain SET (no PX) clears any previous TTL.
const CompareAndSet = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
	if cur then return 0 end
elseif cur ~= ARGV[2] then
	return 0
end
local ttl = tonumber(ARGV[4])
if ttl < 0 then
	redis.call('DEL', KEYS[1])
elseif ttl == 0 then
	redis.call('SET', KEYS[1], ARGV[3])
else
	redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
end
return 1
`

// Score is an index member's score for an entry expiring at expiry: Unix
// milliseconds, "+inf" for a zero expiry (none).
func Score(expiry time.Time) string {
	if expiry.IsZero() {
		return "+inf"
	}
	return strconv.FormatInt(expiry.UnixMilli(), 10)
}
