package rueidisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/rueidis"
)

// # The per-user index (coatcheck.UserIndexer)
//
// The index is redisstore's, key for key: a sorted set under the index key
// whose members are session keys and whose scores are the expiries the
// Manager gave (Unix ms, +inf for none), kept by the same Lua scripts
// (internal/redisscript, shared with redisstore: the same text, so the
// same SHA1 in the server's script cache). A redisstore and a rueidisstore
// on one Redis with one prefix therefore read and change each other's
// indexes, and both convert a legacy JSON index entry (Coatcheck before
// the native index) into the sorted set on first use. Each call is one
// script on the index key, sent as EVALSHA and again as EVAL after
// NOSCRIPT (rueidis's Lua.Exec). An IndexAdd that finds members whose
// score has passed checks up to redisscript.HealBatch of them (one PTTL
// round trip, which a Cluster client splits by slot, and one heal script)
// and removes those whose session is gone.
//
// Index keys are never read through the client-side cache: scripts are
// not cacheable commands, so Redis's tracking never records them for this
// client, and the heal's PTTLs are plain commands too.

// script is a Lua script with its source and SHA1, for the batches that
// send EVALSHA themselves (batch.go), and its rueidis.Lua for single calls.
type script struct {
	src, sha string
	lua      *rueidis.Lua
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:]), lua: rueidis.NewLuaScript(src)}
}

var (
	casScript         = newScript(redisscript.CompareAndSet)
	indexAddScript    = newScript(redisscript.IndexAdd)
	indexHealScript   = newScript(redisscript.IndexHeal)
	indexRemoveScript = newScript(redisscript.IndexRemove)
	indexListScript   = newScript(redisscript.IndexList)
	indexTakeScript   = newScript(redisscript.IndexTake)
)

// exec runs sc on keys with args (EVALSHA, then EVAL after NOSCRIPT) and
// records the answer.
func (s *Store) exec(ctx context.Context, sc *script, keys, args []string) rueidis.RedisResult {
	start := time.Now()
	r := sc.lua.Exec(ctx, s.client, keys, args)
	s.answered(start, r)
	return r
}

// IndexAdd adds key to the sorted set under indexKey with expiry as its
// score (coatcheck.UserIndexer): one round trip, O(log n). When members
// whose score has passed exist, it checks up to redisscript.HealBatch of
// them (two more round trips).
func (s *Store) IndexAdd(ctx context.Context, indexKey, key string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "index add", err)
	}
	now := time.Now()
	stale, err := s.exec(ctx, indexAddScript, []string{indexKey}, redisscript.AddArgs(key, expiry, now)).AsStrSlice()
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
	cmds := make(rueidis.Commands, len(stale))
	for i, k := range stale {
		cmds[i] = s.client.B().Pttl().Key(k).Build()
	}
	start := time.Now()
	res := s.client.DoMulti(ctx, cmds...)
	s.answered(start, res[0])
	args := make([]string, 0, 1+2*len(stale))
	args = append(args, strconv.FormatInt(now.UnixMilli(), 10))
	for i, k := range stale {
		d, err := res[i].AsInt64()
		if err != nil {
			return err
		}
		switch {
		case d == -1: // no TTL
			args = append(args, k, "+inf")
		case d < 0: // no such key
			args = append(args, k, "")
		default:
			args = append(args, k, redisscript.Score(now.Add(time.Duration(d)*time.Millisecond)))
		}
	}
	return s.exec(ctx, indexHealScript, []string{indexKey}, args).Error()
}

// IndexRemove removes key from the set under indexKey (ZREM).
func (s *Store) IndexRemove(ctx context.Context, indexKey, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "index remove", err)
	}
	if err := s.exec(ctx, indexRemoveScript, []string{indexKey}, []string{key}).Error(); err != nil {
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
	keys, err := s.exec(ctx, indexListScript, []string{indexKey}, nil).AsStrSlice()
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
	keys, err := s.exec(ctx, indexTakeScript, []string{indexKey}, nil).AsStrSlice()
	if err != nil {
		return nil, wrap(ctx, "index take", err)
	}
	return keys, nil
}
