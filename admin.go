package coatcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Admin manages server-side sessions outside a request: for operators
// (the coatcheck sessions command) and for revoking sessions.
type Admin struct {
	si *serverInterface
}

// Admin returns the operator API, or nil when sessions live in cookies (a
// signed cookie cannot be listed or revoked server-side).
func (m *Manager) Admin() *Admin {
	if m.server == nil {
		return nil
	}
	return &Admin{si: m.server}
}

// Prefix returns the store key prefix (SESSION_KEY_PREFIX).
func (a *Admin) Prefix() string { return a.si.prefix }

// Codec returns the codec stored values are read and written with.
func (a *Admin) Codec() Codec { return a.si.codec }

// List calls fn with the id and expiry of every live session, until fn
// returns false. It needs a store that implements Iterator.
func (a *Admin) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	it, ok := a.si.store.(Iterator)
	if !ok {
		return fmt.Errorf("%w: listing sessions (%T has no Iterate)", ErrNotSupported, a.si.store)
	}
	err := it.Iterate(ctx, a.si.prefix, func(key string, expiry time.Time) bool {
		id := strings.TrimPrefix(key, a.si.prefix)
		if strings.HasPrefix(id, userIndexMarker) {
			return true // a per-user index entry, not a session
		}
		return fn(id, expiry)
	})
	if err != nil {
		return storeErr("iterate", err)
	}
	return nil
}

// Get returns the data of session id (found=false when it does not exist).
func (a *Admin) Get(ctx context.Context, id string) (data map[string]any, found bool, err error) {
	b, found, err := a.si.store.Get(ctx, a.si.key(id))
	if err != nil {
		return nil, false, storeErr("load", err)
	}
	if !found {
		return nil, false, nil
	}
	m, err := a.si.codec.Decode(b)
	if err != nil {
		return nil, true, a.si.payloadErr(a.si.key(id), err)
	}
	takeDeadline(m)
	return m, true, nil
}

// Delete removes session id. Deleting an absent session is not an error.
func (a *Admin) Delete(ctx context.Context, id string) error {
	if err := a.si.store.Delete(ctx, a.si.key(id)); err != nil {
		return storeErr("delete", err)
	}
	return nil
}

// PurgeExpired removes expired entries from stores that keep them until
// swept (Cleaner). Stores with native expiry report ErrNotSupported.
func (a *Admin) PurgeExpired(ctx context.Context) (int, error) {
	c, ok := a.si.store.(Cleaner)
	if !ok {
		return 0, fmt.Errorf("%w: %T expires entries itself", ErrNotSupported, a.si.store)
	}
	n, err := c.DeleteExpired(ctx)
	if err != nil {
		return n, storeErr("delete expired", err)
	}
	return n, nil
}

// DeleteWhere deletes every session whose data matches, e.g. all sessions of
// one user after a password change:
//
//	admin.DeleteWhere(ctx, func(id string, data map[string]any) bool {
//		return data["_user_id"] == "42"
//	})
//
// It reads every session (a full scan: fine for an operator action, not for
// a hot path). Sessions that cannot be decoded are skipped and counted in
// the returned error.
func (a *Admin) DeleteWhere(ctx context.Context, match func(id string, data map[string]any) bool) (int, error) {
	var ids []string
	if err := a.List(ctx, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
		return 0, err
	}
	deleted, undecodable := 0, 0
	for _, id := range ids {
		data, found, err := a.Get(ctx, id)
		switch {
		case errors.Is(err, ErrBadPayload):
			undecodable++
			continue
		case err != nil:
			return deleted, err
		case !found:
			continue
		}
		if match(id, data) {
			if err := a.Delete(ctx, id); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
	if undecodable > 0 {
		return deleted, fmt.Errorf("%w: %d sessions could not be decoded and were skipped", ErrBadPayload, undecodable)
	}
	return deleted, nil
}
