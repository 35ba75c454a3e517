package rueidisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/redis/rueidis"
)

// # A write and its index change in one round trip (coatcheck.IndexBatcher)
//
// SetIndexed, CompareAndSetIndexed and DeleteIndexed send the session's
// command (SET, the compare-and-set script, DEL; a renewal's DEL of the
// old key) and the index scripts (IndexRemove's, IndexAdd's) in one
// DoMulti, so that a login, a logout or a Renew of a logged-in session is
// one round trip instead of two to six. None of the index scripts needs
// the session command's reply, so nothing waits for it. The semantics are
// redisstore's (batch.go there), as are the scripts.
//
// Atomicity depends on the client's mode:
//
//   - A single server or Sentinel (every mode but rueidis.ClientModeCluster):
//     the DoMulti is MULTI, the commands, EXEC, which rueidis writes on one
//     connection without other commands in between, so no other client's
//     command runs between the parts (a part can still fail on its own, as
//     WRONGTYPE; Redis does not roll the others back).
//   - Cluster: the session key and the index key hash to different slots
//     and rueidis refuses a MULTI spanning slots, so the DoMulti is plain:
//     rueidis splits it by slot and sends each node its commands
//     concurrently (still one round trip of latency, one write per node).
//     There is no atomicity across the two keys, which the IndexBatcher
//     contract allows: a member whose session is gone is dropped by
//     Admin.ListUser; a member missing for a live session is what the
//     returned error reports.
//
// A CompareAndSetIndexed whose compare does not match still makes its
// index changes (the index script cannot see the compare's outcome), which
// the contract allows: the Manager puts the index back in step.
//
// Scripts are sent as EVALSHA. A server that does not have one (SCRIPT
// FLUSH, a restart, a failover) answers NOSCRIPT for that command alone;
// those scripts are then sent again with EVAL, in one more round trip,
// outside any transaction.
//
// The session keys a batch writes count as this store's own writes (see
// the package documentation): they are read uncached for a second after,
// so a session written by SetIndexed reads back at once with caching on.

// scriptCall is one script in a batch, and its reply once sent.
type scriptCall struct {
	script *script
	keys   []string
	args   []string
	reply  rueidis.RedisMessage
	err    error
}

func (c *scriptCall) evalsha(b rueidis.Builder) rueidis.Completed {
	return b.Evalsha().Sha1(c.script.sha).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

func (c *scriptCall) eval(b rueidis.Builder) rueidis.Completed {
	return b.Eval().Script(c.script.src).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

func noScript(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	return ok && re.IsNoScript()
}

// replyErr is a part's error: rueidis's, or the error reply Redis gave;
// a nil reply is not an error.
func replyErr(err error) error {
	if rueidis.IsRedisNil(err) {
		return nil
	}
	return err
}

// batch sends the commands plain and the scripts calls in one round trip
// (see above) and returns the first error of any of them; a script that
// answered NOSCRIPT is sent again with EVAL first (one more round trip).
// The caller builds plain with s.client.B(); they are spent once sent.
func (s *Store) batch(ctx context.Context, plain []rueidis.Completed, calls ...*scriptCall) error {
	b := s.client.B()
	tx := s.client.Mode() != rueidis.ClientModeCluster
	cmds := make(rueidis.Commands, 0, len(plain)+len(calls)+2)
	if tx {
		cmds = append(cmds, b.Multi().Build())
	}
	cmds = append(cmds, plain...)
	for _, c := range calls {
		cmds = append(cmds, c.evalsha(b))
	}
	if tx {
		cmds = append(cmds, b.Exec().Build())
	}
	start := time.Now()
	res := s.client.DoMulti(ctx, cmds...)
	s.answered(start, res[len(res)-1])

	// errs[i], replies[i]: the i-th of plain, then of calls
	n := len(plain) + len(calls)
	errs := make([]error, n)
	replies := make([]rueidis.RedisMessage, n)
	if tx {
		for _, r := range res[:len(res)-1] {
			// MULTI's OK and each QUEUED; an error here (a network one,
			// a command refused when queued) also fails EXEC.
			if err := r.Error(); err != nil {
				return err
			}
		}
		arr, err := res[len(res)-1].ToArray()
		if err != nil {
			return err
		}
		if len(arr) != n {
			return fmt.Errorf("EXEC returned %d replies, want %d", len(arr), n)
		}
		for i := range arr {
			replies[i], errs[i] = arr[i], arr[i].Error()
		}
	} else {
		for i := range res {
			replies[i], errs[i] = res[i].ToMessage()
		}
	}
	var redo []*scriptCall
	for i, c := range calls {
		c.reply, c.err = replies[len(plain)+i], errs[len(plain)+i]
		if noScript(c.err) {
			redo = append(redo, c)
		}
	}
	if len(redo) > 0 {
		cmds := make(rueidis.Commands, len(redo))
		for i, c := range redo {
			cmds[i] = c.eval(b)
		}
		start := time.Now()
		res := s.client.DoMulti(ctx, cmds...)
		s.answered(start, res[0])
		for i, c := range redo {
			c.reply, c.err = res[i].ToMessage()
		}
	}
	for _, err := range errs[:len(plain)] {
		if err := replyErr(err); err != nil {
			return err
		}
	}
	for _, c := range calls {
		if err := replyErr(c.err); err != nil {
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
		calls = append(calls, &scriptCall{script: indexRemoveScript, keys: []string{from}, args: []string{member}})
	}
	if to != "" {
		add = &scriptCall{script: indexAddScript, keys: []string{to}, args: redisscript.AddArgs(key, expiry, now)}
		calls = append(calls, add)
	}
	return calls, add
}

// healAfter heals the index add added to, if its script reported stale
// members (best effort, as in IndexAdd).
func (s *Store) healAfter(ctx context.Context, add *scriptCall, now time.Time) {
	if add == nil || add.err != nil {
		return
	}
	if stale, err := add.reply.AsStrSlice(); err == nil && len(stale) > 0 {
		_ = s.heal(ctx, add.keys[0], stale, now)
	}
}

// SetIndexed is Set(key, data, expiry), then DEL of oldKey when it is a
// different key (a renewal), IndexRemove(fromIndex, oldKey or key) and
// IndexAdd(toIndex, key, expiry), each index change only when its index
// key is set (coatcheck.IndexBatcher): one DoMulti, one round trip.
func (s *Store) SetIndexed(ctx context.Context, key string, data []byte, expiry time.Time, oldKey, fromIndex, toIndex string) error {
	const op = "set indexed"
	if err := ctx.Err(); err != nil {
		return wrap(ctx, op, err)
	}
	now := time.Now()
	ttl, del := redisscript.TTLFor(expiry, now)
	renew := oldKey != "" && oldKey != key
	member := key
	if renew {
		member = oldKey
	}
	b := s.client.B()
	plain := make([]rueidis.Completed, 0, 2)
	switch {
	case del:
		plain = append(plain, b.Del().Key(key).Build())
	case ttl == 0:
		plain = append(plain, b.Set().Key(key).Value(string(data)).Build())
	default:
		plain = append(plain, b.Set().Key(key).Value(string(data)).PxMilliseconds(ttl.Milliseconds()).Build())
	}
	if renew {
		plain = append(plain, b.Del().Key(oldKey).Build())
	}
	calls, add := indexCalls(fromIndex, member, toIndex, key, expiry, now)
	s.wrote(key)
	if renew {
		s.wrote(oldKey)
	}
	err := s.batch(ctx, plain, calls...)
	s.wrote(key)
	if renew {
		s.wrote(oldKey)
	}
	if err != nil {
		return wrap(ctx, op, err)
	}
	s.healAfter(ctx, add, now)
	return nil
}

// CompareAndSetIndexed is CompareAndSet(key, old, data, expiry) with
// IndexRemove(fromIndex, key) and IndexAdd(toIndex, key, expiry) in the
// same DoMulti (coatcheck.IndexBatcher). The index changes are made
// whether or not the compare matched (see the notes above).
func (s *Store) CompareAndSetIndexed(ctx context.Context, key string, old, data []byte, expiry time.Time, fromIndex, toIndex string) (swapped bool, err error) {
	const op = "compare and set indexed"
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, op, err)
	}
	now := time.Now()
	mode, ms := redisscript.CASArgs(old, expiry, now)
	cas := &scriptCall{script: casScript, keys: []string{key},
		args: []string{mode, string(old), string(data), strconv.FormatInt(ms, 10)}}
	calls, add := indexCalls(fromIndex, key, toIndex, key, expiry, now)
	s.wrote(key)
	err = s.batch(ctx, nil, append([]*scriptCall{cas}, calls...)...)
	s.wrote(key)
	if err != nil {
		return false, wrap(ctx, op, err)
	}
	s.healAfter(ctx, add, now)
	n, err := cas.reply.AsInt64()
	if err != nil {
		return false, wrap(ctx, op, err)
	}
	return n == 1, nil
}

// DeleteIndexed is DEL key and IndexRemove(fromIndex, key) in one DoMulti
// (coatcheck.IndexBatcher).
func (s *Store) DeleteIndexed(ctx context.Context, key, fromIndex string) error {
	const op = "delete indexed"
	if err := ctx.Err(); err != nil {
		return wrap(ctx, op, err)
	}
	calls, _ := indexCalls(fromIndex, key, "", "", time.Time{}, time.Time{})
	s.wrote(key)
	err := s.batch(ctx, []rueidis.Completed{s.client.B().Del().Key(key).Build()}, calls...)
	s.wrote(key)
	if err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}
