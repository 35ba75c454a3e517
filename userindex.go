package coatcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The per-user index maps a user to the ids of that user's sessions, so
// that Admin.ListUser and Admin.RevokeUser cost O(that user's sessions)
// instead of a scan of every session.
//
// It lives in the session store itself, as one ordinary entry per user,
// under prefix + "_user:" + hex(SHA-256(user)) (the colon keeps it from
// ever being a valid session id, so session listings skip it and
// Flask-Session never reads it). Its value is JSON, {"v":1,"s":{id:
// expiry-unix, …}}, changed only with compare-and-set, so concurrent logins
// and logouts of one user never lose each other's entries; it needs a
// CompareAndSetter store (every built-in store but a plain Store qualifies,
// memcached included, since the index needs no listing). Entries are added
// when a save changes the session's user (login), moved on Renew and
// removed on Destroy or logout; an id whose session has ended anyway
// (expired, deleted by another tool) is healed out the next time the index
// is read or written. The entry has no expiry of its own: it is deleted
// when its last session goes.
//
// A store that implements UserIndexer keeps the index itself instead
// (memstore beside its entries, redisstore in a sorted set under the same
// key): a login is then one IndexAdd, O(1) or O(log n) in the user's
// sessions, rather than a read and a compare-and-set of the whole entry.
// The members are session keys; the store drops those whose session has
// ended, and ListUser still checks each one.

const userIndexMarker = "_user:"

// userIndexKey is the store key of user's index entry.
func (si *serverInterface) userIndexKey(user string) string {
	sum := sha256.Sum256([]byte(user))
	return si.prefix + userIndexMarker + hex.EncodeToString(sum[:])
}

type userIndex struct {
	V        int              `json:"v"`
	Sessions map[string]int64 `json:"s"` // id → expiry (Unix seconds; 0: none)
}

// userOf returns the user a session's data names: the first of UserKey's
// keys present, as text.
func (si *serverInterface) userOf(data map[string]any) string {
	for _, k := range si.cfg.Server.userKeys() {
		switch v := data[k].(type) {
		case nil:
			continue
		case string:
			if v != "" {
				return v
			}
		case int64:
			return strconv.FormatInt(v, 10)
		case int:
			return strconv.Itoa(v)
		default:
			return fmt.Sprint(v)
		}
	}
	return ""
}

// indexing reports whether saves keep the per-user index.
func (si *serverInterface) indexing() bool {
	return !si.cfg.Server.NoUserIndex && (si.cas != nil || si.native() != nil)
}

// native returns the store's own per-user index, or nil when the index is
// a compare-and-set entry.
func (si *serverInterface) native() UserIndexer {
	ix, _ := si.store.(UserIndexer)
	return ix
}

// indexAdd adds session id to user's native index.
func (si *serverInterface) indexAdd(ctx context.Context, ux UserIndexer, user, id string, expiry time.Time) error {
	err := si.cfg.observe(ctx, OpSet, func() error {
		return ux.IndexAdd(ctx, si.userIndexKey(user), si.key(id), expiry)
	})
	if err != nil {
		return storeErr("add to user index", err)
	}
	return nil
}

// indexRemove removes session id from user's native index.
func (si *serverInterface) indexRemove(ctx context.Context, ux UserIndexer, user, id string) error {
	err := si.cfg.observe(ctx, OpDelete, func() error {
		return ux.IndexRemove(ctx, si.userIndexKey(user), si.key(id))
	})
	if err != nil {
		return storeErr("remove from user index", err)
	}
	return nil
}

// ids turns index members (session keys) into session ids, skipping any
// member that is not a key of this Manager's sessions.
func (si *serverInterface) ids(keys []string) []string {
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, si.prefix); ok && id != "" && !strings.HasPrefix(id, userIndexMarker) {
			ids = append(ids, id)
		}
	}
	return ids
}

// updateIndex applies change to user's index entry with compare-and-set,
// healing ids whose sessions are gone, within ctx.
func (si *serverInterface) updateIndex(ctx context.Context, user string, thorough bool, change func(ix *userIndex)) (*userIndex, error) {
	key := si.userIndexKey(user)
	backoff := minBackoff
	for {
		var old []byte
		var found bool
		err := si.cfg.observe(ctx, OpGet, func() (err error) {
			old, found, err = si.store.Get(ctx, key)
			return err
		})
		if err != nil {
			return nil, storeErr("load user index", err)
		}
		ix := &userIndex{V: 1, Sessions: map[string]int64{}}
		if found {
			if err := json.Unmarshal(old, ix); err != nil || ix.Sessions == nil {
				ix = &userIndex{V: 1, Sessions: map[string]int64{}} // rebuild a damaged entry
			}
		} else {
			old = nil
		}
		if err := si.heal(ctx, ix, thorough); err != nil {
			return nil, err
		}
		if change != nil {
			change(ix)
		}
		var swapped bool
		if len(ix.Sessions) == 0 {
			if old == nil {
				return ix, nil
			}
			err = si.cfg.observe(ctx, OpCompareAndSet, func() (err error) {
				swapped, err = si.cas.CompareAndSet(ctx, key, old, nil, time.Unix(1, 0)) // a passed expiry deletes
				return err
			})
		} else {
			b, _ := json.Marshal(ix)
			err = si.cfg.observe(ctx, OpCompareAndSet, func() (err error) {
				swapped, err = si.cas.CompareAndSet(ctx, key, old, b, time.Time{})
				return err
			})
		}
		if err != nil {
			return nil, storeErr("save user index", err)
		}
		if swapped {
			return ix, nil
		}
		si.cfg.event(ctx, EventCASRetry, nil)
		if err := sleepCtx(ctx, backoff/2); err != nil {
			return nil, storeErr("save user index", err)
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// heal drops from ix the ids whose session is gone. A save checks only the
// ids whose recorded expiry has passed (a session whose expiry slid since
// stays); thorough (an operator's read) checks every id.
func (si *serverInterface) heal(ctx context.Context, ix *userIndex, thorough bool) error {
	now := si.cfg.Now().Unix()
	for id, exp := range ix.Sessions {
		if !thorough && (exp == 0 || exp > now) {
			continue
		}
		_, found, err := si.store.Get(ctx, si.key(id))
		if err != nil {
			return storeErr("check indexed session", err)
		}
		if !found {
			delete(ix.Sessions, id)
		}
	}
	return nil
}

// reindex keeps the index in step with a save: the session left oldUser
// (under oldID) and now belongs to newUser (under s.id), either possibly
// empty. Callers hold s.mu. A failure is reported like any store failure,
// after the session itself was saved.
func (si *serverInterface) reindex(ctx context.Context, s *Session, oldUser, oldID, newUser string, expiry time.Time) error {
	if oldUser == newUser && oldID == s.id {
		return nil
	}
	if ux := si.native(); ux != nil {
		if oldUser != "" && oldID != "" {
			if err := si.indexRemove(ctx, ux, oldUser, oldID); err != nil {
				return err
			}
		}
		if newUser != "" {
			return si.indexAdd(ctx, ux, newUser, s.id, expiry)
		}
		return nil
	}
	if oldUser != "" && oldID != "" {
		if _, err := si.updateIndex(ctx, oldUser, false, func(ix *userIndex) { delete(ix.Sessions, oldID) }); err != nil {
			return err
		}
	}
	if newUser != "" {
		exp := int64(0)
		if !expiry.IsZero() {
			exp = expiry.Unix()
		}
		if _, err := si.updateIndex(ctx, newUser, false, func(ix *userIndex) { ix.Sessions[s.id] = exp }); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoUserIndex: the store keeps no per-user index (it cannot
// compare-and-set, or ServerConfig.NoUserIndex is set).
var ErrNoUserIndex = fmt.Errorf("%w: per-user session index (needs a CompareAndSetter or UserIndexer store)", ErrNotSupported)

// ListUser returns the ids of user's live sessions, from the per-user
// index: O(that user's sessions), never a scan. Stale ids are healed out.
func (a *Admin) ListUser(ctx context.Context, user string) ([]string, error) {
	if !a.si.indexing() {
		return nil, ErrNoUserIndex
	}
	if ux := a.si.native(); ux != nil {
		return a.si.listNative(ctx, ux, user)
	}
	ix, err := a.si.updateIndex(ctx, user, true, nil)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ix.Sessions))
	for id := range ix.Sessions {
		ids = append(ids, id)
	}
	return ids, nil
}

// RevokeUser ends every session of user — each stored entry is deleted,
// so the next request of each is logged out — and reports how many it
// ended. It costs O(that user's sessions) round trips.
func (a *Admin) RevokeUser(ctx context.Context, user string) (int, error) {
	if !a.si.indexing() {
		return 0, ErrNoUserIndex
	}
	var ids []string
	if ux := a.si.native(); ux != nil {
		var keys []string
		err := a.si.cfg.observe(ctx, OpDelete, func() (err error) {
			keys, err = ux.IndexTake(ctx, a.si.userIndexKey(user))
			return err
		})
		if err != nil {
			return 0, storeErr("take user index", err)
		}
		ids = a.si.ids(keys)
	} else {
		_, err := a.si.updateIndex(ctx, user, false, func(ix *userIndex) {
			for id := range ix.Sessions {
				ids = append(ids, id)
			}
			clear(ix.Sessions)
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	var errs []error
	for _, id := range ids {
		if err := a.si.delete(ctx, a.si.key(id)); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// listNative is ListUser on a store's own index: every member is checked,
// and those whose session is gone are removed from the index.
func (si *serverInterface) listNative(ctx context.Context, ux UserIndexer, user string) ([]string, error) {
	var keys []string
	err := si.cfg.observe(ctx, OpGet, func() (err error) {
		keys, err = ux.IndexList(ctx, si.userIndexKey(user))
		return err
	})
	if err != nil {
		return nil, storeErr("load user index", err)
	}
	ids := si.ids(keys)
	live := ids[:0]
	for _, id := range ids {
		_, found, err := si.store.Get(ctx, si.key(id))
		if err != nil {
			return nil, storeErr("check indexed session", err)
		}
		if !found {
			if err := si.indexRemove(ctx, ux, user, id); err != nil {
				return nil, err
			}
			continue
		}
		live = append(live, id)
	}
	return live, nil
}

// batcher returns the store's batch of a write and its index change, or
// nil.
func (si *serverInterface) batcher() IndexBatcher {
	bx, _ := si.store.(IndexBatcher)
	return bx
}

// persistBatched is persist on a store that takes a session's write and
// its index change in one call (IndexBatcher): a login, a logout, a Renew
// or a merge that changes the user each cost one call instead of two to
// four. It reports handled=false, having done nothing, for a save that
// touches one key anyway (or a rare shape the batch does not express):
// persist then goes on as without a batch. Callers hold s.mu.
//
// A merge's compare-and-set is batched on its first attempt only, with
// the index change that attempt's data implies. If it does not swap, the
// store may or may not have made that change (IndexBatcher), so the save
// goes through writeMerged's retry loop as without a batch, and then the
// index is put in step with what was finally saved: the member leaves the
// indexes of the loaded user and of the first attempt's user, if either
// differs from the final one, and is added (again: IndexAdd is idempotent)
// to the final user's. Conflicts are rare, so the common save is one call,
// and the index ends right whichever way the store went.
func (si *serverInterface) persistBatched(ctx context.Context, bx IndexBatcher, s *Session, act saveAction) (handled bool, err error) {
	indexing := si.indexing()
	oldUser, newUser := s.indexedAs, ""
	if act != saveDelete && !s.lost {
		newUser = si.userOf(s.data)
	}
	var from, to string
	if indexing && (oldUser != newUser || act == saveRenew) {
		if oldUser != "" {
			from = si.userIndexKey(oldUser)
		}
		if newUser != "" {
			to = si.userIndexKey(newUser)
		}
	}
	moves := from != "" || to != ""
	now := si.cfg.Now()
	expiry := si.expiry(now, s.deadline)
	done := func() {
		s.stamp = false
		if indexing {
			s.indexedAs = newUser
		}
	}
	switch act {
	case saveDelete:
		if !s.fromStore || from == "" {
			return false, nil
		}
		key := si.key(s.id)
		err := si.cfg.observe(ctx, OpDelete, func() error { return bx.DeleteIndexed(ctx, key, from) })
		if err != nil {
			return true, storeErr("delete", err)
		}
		si.cfg.event(ctx, EventDestroy, nil)
		s.fromStore = false
		done()
		return true, nil

	case saveRenew, saveWrite:
		oldKey := ""
		if act == saveRenew && s.fromStore {
			oldKey = si.key(s.id)
		}
		if !moves && oldKey == "" || act == saveRenew && from != "" && oldKey == "" {
			// one key only; or an indexed session never stored, whose old
			// member SetIndexed cannot name
			return false, nil
		}
		if act == saveRenew {
			id, err := si.newID()
			if err != nil {
				return true, fmt.Errorf("coatcheck: generating a session id: %w", err)
			}
			s.id, s.cookieHasID = id, false
		}
		b, err := si.encode(s, s.data)
		if err != nil {
			return true, err
		}
		key := si.key(s.id)
		err = si.cfg.observe(ctx, OpSet, func() error { return bx.SetIndexed(ctx, key, b, expiry, oldKey, from, to) })
		if err != nil {
			return true, storeErr("save", err)
		}
		si.cfg.event(ctx, EventSave, nil)
		s.fromStore = true
		if si.cas != nil {
			s.raw = b
		}
		s.renewed = false
		done()
		return true, nil

	case saveMerge:
		if !moves {
			return false, nil
		}
		b, err := si.encode(s, s.data)
		if err != nil {
			return true, err
		}
		key := si.key(s.id)
		var swapped bool
		err = si.cfg.observe(ctx, OpCompareAndSet, func() (err error) {
			swapped, err = bx.CompareAndSetIndexed(ctx, key, s.raw, b, expiry, from, to)
			return err
		})
		if err != nil {
			return true, storeErr("save", err)
		}
		if swapped {
			s.raw = b
			si.cfg.event(ctx, EventSave, nil)
			done()
			return true, nil
		}
		return true, si.mergeAfterConflict(ctx, bx, s, oldUser, newUser, expiry)
	}
	return false, nil
}

// mergeAfterConflict finishes a merge save whose batched first attempt did
// not swap (see persistBatched): writeMerged's loop, then the index put in
// step with the outcome. tried is the user that attempt indexed the
// session under, had the store made its change.
func (si *serverInterface) mergeAfterConflict(ctx context.Context, ux UserIndexer, s *Session, oldUser, tried string, expiry time.Time) error {
	if err := si.persistSession(ctx, s, saveMerge); err != nil {
		// Nothing was saved: undo the attempt's index change, if the
		// store made it (best effort; the save's own error is reported).
		if tried != "" {
			_ = ux.IndexRemove(ctx, si.userIndexKey(tried), si.key(s.id))
		}
		if oldUser != "" {
			_ = ux.IndexAdd(ctx, si.userIndexKey(oldUser), si.key(s.id), expiry)
		}
		return err
	}
	final := ""
	if !s.lost {
		final = si.userOf(s.data)
	}
	for i, u := range []string{oldUser, tried} {
		if u != "" && u != final && (i == 0 || u != oldUser) {
			if err := si.indexRemove(ctx, ux, u, s.id); err != nil {
				return err
			}
		}
	}
	if final != "" {
		if err := si.indexAdd(ctx, ux, final, s.id, expiry); err != nil {
			return err
		}
	}
	s.indexedAs = final
	return nil
}
