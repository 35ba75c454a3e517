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
// GetToucher, Iterator, Cleaner, CompareAndSetter and BackendNamer,
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
