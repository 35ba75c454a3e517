package coatcheck

import (
	"context"
	"time"
)

// Store keeps server-side session data. Coatcheck's own stores live in
// separate modules (memstore and filestore in this one); any type with these
// methods is a Store: the interface uses only standard-library types, so a
// store never needs to import this package.
//
// # Contract
//
// Every implementation must honour these rules; the storetest package checks
// them against a real backend with one call (storetest.Run).
//
//   - Keys are opaque strings chosen by the Manager: the configured prefix
//     (SESSION_KEY_PREFIX, "session:" by default) followed by the session id.
//     A store must not add its own prefix unless its documentation says so
//     (Flask-Session's layouts use the key as given).
//
//   - Get returns (nil, false, nil) when the key is absent or its expiry has
//     passed. "Not found" is never an error; an error means the store could
//     not answer (unreachable, timed out, corrupt beyond reading) and the
//     Manager reports it instead of starting a fresh session.
//
//   - Expiry is honoured on read: an entry whose expiry has passed is never
//     returned, even if the backend has not evicted it yet.
//
//   - Set stores data under key until expiry, replacing any previous value
//     and expiry. A zero expiry means "no expiry". The store must not retain
//     data after Set returns (callers may reuse the slice).
//
//   - Delete is idempotent: deleting an absent key returns nil.
//
//   - Every method honours ctx: a cancelled or expired context returns an
//     error wrapping ctx.Err() and leaves the previous value intact (a Set
//     either fully happens or does not happen).
//
//   - Implementations are safe for concurrent use.
//
//   - Every method returns within its context's deadline, also when the
//     server accepts connections and never answers (storetest.RunFaults
//     checks it behind a blackhole proxy). The Manager gives each load and
//     save ServerConfig.StoreTimeout.
//
//   - Errors never contain the key (a session id is a bearer credential).
//
// Optional behaviour is expressed by the extra interfaces Toucher,
// GetToucher, Iterator, Cleaner, CompareAndSetter, UserIndexer, IndexBatcher
// and BackendNamer,
// discovered with a type assertion, so a store implements what its backend
// can do.
type Store interface {
	Get(ctx context.Context, key string) (data []byte, found bool, err error)
	Set(ctx context.Context, key string, data []byte, expiry time.Time) error
	Delete(ctx context.Context, key string) error
}

// Toucher is implemented by stores that can move an entry's expiry without
// rewriting its data (Redis EXPIRE, memcached touch, an UPDATE of an expiry
// column). Touch reports found=false, with a nil error, when the key is absent
// or already expired; it never creates an entry.
type Toucher interface {
	Touch(ctx context.Context, key string, expiry time.Time) (found bool, err error)
}

// Iterator is implemented by stores that can enumerate their entries.
// Iterate calls fn for every unexpired entry whose key starts with prefix, in
// no particular order, until fn returns false. Entries written or deleted
// during the iteration may or may not be seen. A zero expiry means none.
type Iterator interface {
	Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error
}

// Cleaner is implemented by stores that hold expired entries until they are
// swept. DeleteExpired removes every entry whose expiry has passed and
// reports how many it removed. Stores whose backend expires entries natively
// (Redis, memcached, MongoDB's TTL index) need not implement it.
type Cleaner interface {
	DeleteExpired(ctx context.Context) (removed int, err error)
}

// GetToucher is implemented by stores that can read an entry and move its
// expiry in one round trip (Redis GETEX). The Manager prefers it over Get
// followed by Touch when a read also refreshes the session, so a reading
// request costs one round trip.
type GetToucher interface {
	GetAndTouch(ctx context.Context, key string, expiry time.Time) (data []byte, found bool, err error)
}

// CompareAndSetter is implemented by stores that can replace a value only if
// it has not changed since it was read: an atomic read-modify-write, which
// the Manager uses to make concurrent updates of one session lossless.
//
// CompareAndSet stores data under key until expiry (zero: none) and reports
// swapped=true only if the live value under key equals old byte for byte; a
// nil old means "only if absent" (an empty, non-nil old is the empty value).
// An expired entry counts as absent. Otherwise it changes nothing and reports
// swapped=false with a nil error. A passed expiry with a matching old deletes
// the entry. Comparing bytes rather than a version counter keeps every
// Flask-Session layout unchanged; a value that changed and changed back
// compares equal, which is harmless for the Manager's merge.
type CompareAndSetter interface {
	CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error)
}

// UserIndexer is implemented by stores that keep the per-user session index
// natively (a Redis sorted set, a map beside memstore's entries), so that a
// login costs one small index update instead of reading and rewriting the
// user's whole index entry with CompareAndSet. The Manager uses it, when the
// store has it and ServerConfig.NoUserIndex is off, for the index behind
// Admin.ListUser and Admin.RevokeUser; a store without it keeps that index
// as a compare-and-set entry instead.
//
// An index is a set of members under indexKey. A member is the store key of
// a session entry (prefix + id); indexKey is a key the Manager chose that is
// never a session key (prefix + "_user:" + hex). Both are opaque to the
// store, and the rules of Store apply to each method (ctx honoured, errors
// never naming a key, safe for concurrent use):
//
//   - IndexAdd adds key to the index, or updates it, atomically: concurrent
//     adds of different keys to one index are all kept. expiry is the
//     entry's expiry as of the caller's write (zero: none); it is a hint
//     for healing, not a deadline, because the entry's expiry may move
//     later (a Touch, a rewrite) without the index being told.
//   - IndexRemove removes key from the index; removing an absent member, or
//     from an absent index, is not an error.
//   - IndexList returns the members, in no particular order. It may include
//     members whose entry has ended; the caller checks them.
//   - IndexTake returns the members and empties the index in one atomic
//     step: a member added concurrently is either returned or kept, never
//     lost.
//
// A store must keep a member for as long as its key holds a live entry,
// whatever expiry was given, until IndexRemove or IndexTake. It may drop a
// member whose key holds no live entry (and may ignore IndexAdd of such a
// key), and it must do so often enough that an index does not grow without
// bound: IndexAdd drops at least one such member, if any has an expiry
// that has passed (memstore drops them when the entry goes; redisstore
// checks the members whose expiry passed). An index with no members is
// absent. The Manager never passes an index key to Get, Set, Delete,
// Touch or CompareAndSet; Iterate may report it (listings skip it), so a
// store keeping it in the same keyspace is fine.
//
// storetest.Run checks the contract for every store that implements it.
type UserIndexer interface {
	IndexAdd(ctx context.Context, indexKey, key string, expiry time.Time) error
	IndexRemove(ctx context.Context, indexKey, key string) error
	IndexList(ctx context.Context, indexKey string) (keys []string, err error)
	IndexTake(ctx context.Context, indexKey string) (keys []string, err error)
}

// IndexBatcher is implemented by UserIndexer stores that can carry out a
// session's write together with the per-user index change it causes, in
// one call and, for a networked store, one round trip (redisstore sends
// one pipeline). The Manager uses it, when the store has it, for every
// save that touches more than one key: a login (the entry and an
// IndexAdd), a logout (Delete and IndexRemove), a Renew (the new entry,
// Delete of the old one, and the index member moved to the new key). A
// store without it gets the same calls one by one, in the same order.
//
// Each method is the sequence of Store and UserIndexer calls below, with
// their rules (ctx honoured, errors never naming a key, safe for
// concurrent use). An empty fromIndex or toIndex means "no such index
// change"; the Manager never passes an index key as key or oldKey.
//
//   - SetIndexed is Set(key, data, expiry); then, if oldKey is neither
//     empty nor key (a renewal: the key the session had before),
//     Delete(oldKey); then, if fromIndex is not empty,
//     IndexRemove(fromIndex, member), where member is oldKey if it is not
//     empty, else key; then, if toIndex is not empty,
//     IndexAdd(toIndex, key, expiry). With both index keys empty it is
//     Set and the renewal's Delete.
//   - CompareAndSetIndexed is CompareAndSet(key, old, data, expiry) and
//     reports its swapped; if it swapped, IndexRemove(fromIndex, key) and
//     then IndexAdd(toIndex, key, expiry) are done as well. If it did not
//     swap, the index changes may or may not have been made (a store that
//     sends them in the same round trip as the compare cannot know its
//     outcome); the caller then brings the index back in step itself.
//   - DeleteIndexed is Delete(key), then IndexRemove(fromIndex, key).
//
// The parts need not be atomic together: a store may send them to
// different servers concurrently (the entry and the index live in
// different Redis Cluster slots), so another client may see one part done
// and not the other, and a failure may leave some parts done. A non-nil
// error means at least one part failed and any other part may have
// happened; the Manager reports it as it reports a failure of the same
// sequence (ErrStoreUnavailable). Of the index's two ways to fall out of
// step, a member whose entry is gone is harmless (Admin.ListUser checks
// every member and drops it), and a member missing for a live entry is
// the failure the error reports. A cancelled or expired context returns
// an error wrapping ctx.Err() and changes nothing.
//
// storetest.Run checks the contract for every store that implements it.
type IndexBatcher interface {
	UserIndexer
	SetIndexed(ctx context.Context, key string, data []byte, expiry time.Time, oldKey, fromIndex, toIndex string) error
	CompareAndSetIndexed(ctx context.Context, key string, old, data []byte, expiry time.Time, fromIndex, toIndex string) (swapped bool, err error)
	DeleteIndexed(ctx context.Context, key, fromIndex string) error
}
