package redisstore

import (
	"context"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/go-redis/v9"
)

// # A write and its index change in one round trip (coatcheck.IndexBatcher)
//
// SetIndexed, CompareAndSetIndexed and DeleteIndexed send the session's
// command (SET, the compare-and-set script, DEL; a renewal's DEL of the
// old key) and the index scripts (IndexRemove's, IndexAdd's) as one
// pipeline, so that a login, a logout or a Renew of a logged-in session is
// one round trip instead of two to four. None of the index scripts needs
// the session command's reply, so nothing waits for it.
//
// Atomicity depends on the client:
//
//   - A single server or Sentinel (*redis.Client): the pipeline is one
//     MULTI/EXEC transaction, so no other client's command runs between
//     its parts, and Redis runs them all (a part can still fail on its own,
//     as WRONGTYPE; Redis does not roll the others back).
//   - Cluster (*redis.ClusterClient), Ring and others: a plain pipeline.
//     The session key and the index key hash to different slots, so
//     go-redis splits it by node and sends the parts to their nodes
//     concurrently: there is no atomicity across the two keys, another
//     client may see one part done and not the other, and a failure may
//     leave one part done. That is acceptable for the index: an index
//     member whose session is gone is dropped by Admin.ListUser, which
//     checks every member; a member missing for a live session is the
//     failure the returned error reports.
//
// A CompareAndSetIndexed whose compare does not match still makes its
// index changes (the index script cannot see the compare's outcome, on
// another node), which the IndexBatcher contract allows: the Manager puts
// the index back in step after its retry.
//
// Scripts are sent as EVALSHA. A server that does not have one (SCRIPT
// FLUSH, a restart, a failover to a replica that never ran it) answers
// NOSCRIPT for that command alone; those scripts are then sent again with
// EVAL, in one more round trip, outside any transaction.

// scriptCall is one script in a batch.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// pipeline returns the pipeline a batch goes in (see above).
func (s *Store) pipeline() redis.Pipeliner {
	if c, ok := s.client.(*redis.Client); ok {
		return c.TxPipeline()
	}
	return s.client.Pipeline()
}

// exec sends the commands queue adds and the scripts calls, in one round
// trip, and returns the first error of any of them; a script that
// answered NOSCRIPT is sent again with EVAL first (one more round trip).
func (s *Store) exec(ctx context.Context, queue func(p redis.Pipeliner), calls ...*scriptCall) error {
	p := s.pipeline()
	queue(p)
	for _, c := range calls {
		c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
	}
	cmds, _ := p.Exec(ctx)
	var redo []*scriptCall
	for _, c := range calls {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			redo = append(redo, c)
		}
	}
	if len(redo) > 0 {
		p := s.client.Pipeline()
		for _, c := range redo {
			c.cmd = c.script.Eval(ctx, p, c.keys, c.args...)
		}
		_, _ = p.Exec(ctx)
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return err
		}
	}
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// indexCalls returns the index scripts of a batch: IndexRemove(from,
// member) and IndexAdd(to, key, expiry), each when its index key is set;
// add is nil without an add.
func indexCalls(from, member, to, key string, expiry, now time.Time) (calls []*scriptCall, add *scriptCall) {
	if from != "" {
		calls = append(calls, &scriptCall{script: indexRemoveScript, keys: []string{from}, args: []any{member}})
	}
	if to != "" {
		add = &scriptCall{script: indexAddScript, keys: []string{to}, args: addArgs(key, expiry, now)}
		calls = append(calls, add)
	}
	return calls, add
}

// healAfter heals the index add added to, if its script reported stale
// members (best effort, as in IndexAdd).
func (s *Store) healAfter(ctx context.Context, add *scriptCall, now time.Time) {
	if add == nil {
		return
	}
	if stale, err := add.cmd.StringSlice(); err == nil && len(stale) > 0 {
		_ = s.heal(ctx, add.keys[0], stale, now)
	}
}

// SetIndexed is Set(key, data, expiry), then DEL of oldKey when it is a
// different key (a renewal), IndexRemove(fromIndex, oldKey or key) and
// IndexAdd(toIndex, key, expiry), each index change only when its index
// key is set (coatcheck.IndexBatcher): one pipeline, one round trip.
func (s *Store) SetIndexed(ctx context.Context, key string, data []byte, expiry time.Time, oldKey, fromIndex, toIndex string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "set indexed", err)
	}
	now := time.Now()
	ttl, del := redisscript.TTLFor(expiry, now)
	renew := oldKey != "" && oldKey != key
	member := key
	if renew {
		member = oldKey
	}
	calls, add := indexCalls(fromIndex, member, toIndex, key, expiry, now)
	err := s.exec(ctx, func(p redis.Pipeliner) {
		if del {
			p.Del(ctx, key)
		} else {
			p.Set(ctx, key, data, ttl)
		}
		if renew {
			p.Del(ctx, oldKey)
		}
	}, calls...)
	if err != nil {
		return wrap(ctx, "set indexed", err)
	}
	s.healAfter(ctx, add, now)
	return nil
}

// CompareAndSetIndexed is CompareAndSet(key, old, data, expiry) with
// IndexRemove(fromIndex, key) and IndexAdd(toIndex, key, expiry) in the
// same pipeline (coatcheck.IndexBatcher). The index changes are made
// whether or not the compare matched (see the notes above).
func (s *Store) CompareAndSetIndexed(ctx context.Context, key string, old, data []byte, expiry time.Time, fromIndex, toIndex string) (swapped bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "compare and set indexed", err)
	}
	now := time.Now()
	mode, ms := redisscript.CASArgs(old, expiry, now)
	cas := &scriptCall{script: casScript, keys: []string{key}, args: []any{mode, old, data, ms}}
	calls, add := indexCalls(fromIndex, key, toIndex, key, expiry, now)
	if err := s.exec(ctx, func(redis.Pipeliner) {}, append([]*scriptCall{cas}, calls...)...); err != nil {
		return false, wrap(ctx, "compare and set indexed", err)
	}
	s.healAfter(ctx, add, now)
	n, err := cas.cmd.Int64()
	if err != nil {
		return false, wrap(ctx, "compare and set indexed", err)
	}
	return n == 1, nil
}

// DeleteIndexed is DEL key and IndexRemove(fromIndex, key) in one
// pipeline (coatcheck.IndexBatcher).
func (s *Store) DeleteIndexed(ctx context.Context, key, fromIndex string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "delete indexed", err)
	}
	calls, _ := indexCalls(fromIndex, key, "", "", time.Time{}, time.Time{})
	if err := s.exec(ctx, func(p redis.Pipeliner) { p.Del(ctx, key) }, calls...); err != nil {
		return wrap(ctx, "delete indexed", err)
	}
	return nil
}
