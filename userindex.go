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
