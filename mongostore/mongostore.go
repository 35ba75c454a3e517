// Package mongostore is a Coatcheck session store on MongoDB (or any server
// that speaks its wire protocol, such as FerretDB), using the official
// driver go.mongodb.org/mongo-driver/v2.
//
// # Layout
//
// The layout is Flask-Session's (FLASK-WIRE §9.5), so a Flask application
// and a Coatcheck one can share a collection: one document per session,
//
//	{_id: ObjectId, id: "<prefix><sid>", val: BinData(0, <codec bytes>), expiration: ISODate(...)}
//
// in the collection the caller hands to New. Flask-Session uses database
// "flask_session" and collection "sessions" by default. The key is stored as
// given (the Manager owns the prefix). val is BSON binary subtype 0, which is
// what pymongo writes for Python bytes. expiration is a BSON date (UTC,
// millisecond precision: expiries are truncated to the millisecond). A zero
// expiry ("no expiry") is stored as expiration: null, which is what
// Flask-Session 0.3.2 writes for non-permanent sessions.
//
// New creates, unless Options say otherwise, the TTL index Flask-Session 0.8
// creates (name "expiration_1", key {expiration: 1}, expireAfterSeconds 0)
// and a unique index "id_1" on id, which Flask-Session does not create but
// which makes Get and Set single index look-ups, Set's upsert race-free and
// CompareAndSet's insert (nil old) atomic.
// Both calls are idempotent and match what Flask-Session 0.8 creates, so the
// two can run against the same collection.
//
// # Expiry
//
// MongoDB's TTL monitor runs only once a minute, so expiry is also checked on
// read: Get, Touch and Iterate ignore documents whose expiration has passed,
// by this process's clock (as Flask-Session 0.3.2 compares with its own).
// Documents whose expiration is null or absent never expire. Store
// implements the optional Toucher, GetToucher, Iterator, Cleaner and
// CompareAndSetter interfaces; DeleteExpired (one DeleteMany) matters only
// where there is no TTL monitor.
//
// # Compare-and-set
//
// CompareAndSet with a non-nil old is one single-document write (UpdateOne,
// or DeleteOne for a passed expiry) whose filter requires id, the live
// expiration and val equal to old; MongoDB evaluates the filter and applies
// the write atomically per document, so another writer, in any process,
// either comes before (and the filter no longer matches) or after. With a
// nil old it deletes the key's expired document, if any, and inserts: the
// unique index on id makes the insert fail when a live document exists or
// another client inserted first. Without that index an insert cannot be
// made conditional, so CompareAndSet with a nil old returns an error
// wrapping ErrNoUniqueIndex rather than risk two sessions under one id (a
// store built with NoUniqueIndex or NoIndexes looks the index up on first
// use, so an index managed elsewhere works).
//
// # Interoperability caveats
//
//   - Flask-Session 0.3.2 compares expiration with utcnow() on read and
//     crashes (TypeError) on a null or missing expiration; 0.3.2 itself writes
//     null for non-permanent sessions and so crashes on its own documents.
//     Coatcheck reads such documents fine (they never expire). When sharing a
//     collection with 0.3.2, always give sessions an expiry.
//   - Flask-Session 0.8 does not check expiry on read and relies on the TTL
//     index alone, so for up to a minute it may still read a session that
//     Coatcheck already treats as gone.
//   - FerretDB 1.x implements neither TTL indexes nor the expireAfterSeconds
//     index option: New then fails with an error wrapping ErrTTLUnsupported.
//     Set Options.NoTTLIndex and call DeleteExpired periodically instead.
//   - FerretDB 1.x executes a filtered update or delete as a query followed
//     by a write by _id, in separate steps, so CompareAndSet with a non-nil
//     old is not atomic there against writers on other connections: two
//     of them can both see old and both write (50 concurrent requests of one
//     session each adding a key kept only 1-2 of the keys). The Store
//     therefore serialises CompareAndSet per key within its own process:
//     calls for one key, through one Store or several Stores in the same
//     process, run one at a time (a striped lock: keys are hashed onto 256
//     locks, so memory stays bounded and unrelated keys rarely wait on each
//     other; a waiting call still honours its ctx). This covers every
//     writer in one process. It does NOT cover several processes (or a
//     Flask application) updating one session against FerretDB 1.x
//     concurrently: use MongoDB there. Real MongoDB applies a filtered
//     update atomically per document, so the lock is redundant but harmless
//     there; that atomicity is MongoDB's documented behaviour, not tested
//     here (the test server is FerretDB). Set, Delete and Touch are not
//     serialised. (FerretDB 2.x executes updates inside PostgreSQL's
//     DocumentDB extension; it has not been tested with this store.)
//
// # Errors and malformed documents
//
// Errors start with "mongostore:" and wrap the driver's error (errors.Is
// and errors.As see through them). They never contain the key (it holds the
// session id, a bearer secret): where the driver's message quotes it (a
// duplicate-key error, for instance) it is replaced by "key#" and the first
// 8 hex digits of the key's SHA-256. A document the server returns is
// validated (bson.Raw.Validate) before it is read, so a malformed one is an
// error wrapping ErrCorrupt, never a panic.
//
// Store satisfies coatcheck.Store, coatcheck.Toucher, coatcheck.GetToucher,
// coatcheck.Iterator, coatcheck.Cleaner and coatcheck.CompareAndSetter
// structurally; this package does not import Coatcheck.
package mongostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Index names, as MongoDB derives them from the keys. TTLIndexName is the
// index Flask-Session 0.8 creates.
const (
	TTLIndexName = "expiration_1"
	IDIndexName  = "id_1"
)

var (
	// ErrTTLUnsupported is wrapped by New's error when the server refuses to
	// create a TTL index (FerretDB 1.x answers "Index option
	// expireAfterSeconds is not implemented yet"). Retry with
	// Options.NoTTLIndex and sweep with DeleteExpired.
	ErrTTLUnsupported = errors.New("mongostore: server does not support TTL indexes")

	// ErrCorrupt is wrapped by Get's error when a document's val is not BSON
	// binary data.
	ErrCorrupt = errors.New("mongostore: corrupt session document")

	// casLocks serialise every write of a key (CompareAndSet, Set, Delete,
	// Touch, GetAndTouch) within the process: FerretDB 1.x applies an update
	// as a read-modify-write of the whole document, so a concurrent Touch
	// could write back a value a CompareAndSet had just replaced (see
	// Compare-and-set in the package documentation): a key uses stripe
	// fnv32a(key) % len(casLocks), a channel of capacity 1 so that waiting
	// honours ctx.
	casLocks = func() (l [256]chan struct{}) {
		for i := range l {
			l[i] = make(chan struct{}, 1)
		}
		return l
	}()

	// ErrNoUniqueIndex is wrapped by CompareAndSet's error when old is nil
	// and the collection has no unique index on id, without which the
	// insert cannot be conditional (see Options.NoUniqueIndex).
	ErrNoUniqueIndex = errors.New("mongostore: no unique index on id")
)

// Options configures a Store. The zero value is the default: create both
// indexes.
type Options struct {
	// NoIndexes skips index creation altogether (for example when the
	// indexes are managed elsewhere or the user may not create them).
	NoIndexes bool

	// NoTTLIndex skips the TTL index on expiration. Use it for servers
	// without TTL support (FerretDB 1.x) and call DeleteExpired
	// periodically, or expired documents are never removed (they are still
	// never returned).
	NoTTLIndex bool

	// NoUniqueIndex skips the unique index on id (for example on an existing
	// Flask-Session collection that already holds duplicate ids, where
	// creating it fails). CompareAndSet with a nil old needs that index: it
	// looks it up on first use and fails with ErrNoUniqueIndex without it.
	NoUniqueIndex bool
}

// Store is a session store on one MongoDB collection. It is safe for
// concurrent use.
type Store struct {
	coll *mongo.Collection

	// uniqueID is true once the unique index on id is known to exist
	// (New created it, or CompareAndSet found it).
	uniqueID atomic.Bool
}

// New returns a Store on coll, creating its indexes as Options say. The
// collection is created by the server on first use.
func New(ctx context.Context, coll *mongo.Collection, opts Options) (*Store, error) {
	if coll == nil {
		return nil, errors.New("mongostore: nil collection")
	}
	s := &Store{coll: coll}
	if opts.NoIndexes {
		return s, nil
	}
	if !opts.NoUniqueIndex {
		_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "id", Value: 1}},
			Options: options.Index().SetName(IDIndexName).SetUnique(true),
		})
		if err != nil {
			return nil, wrap(ctx, "create index "+IDIndexName, err)
		}
		s.uniqueID.Store(true)
	}
	if !opts.NoTTLIndex {
		_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "expiration", Value: 1}},
			Options: options.Index().SetName(TTLIndexName).SetExpireAfterSeconds(0),
		})
		if err != nil {
			var se mongo.ServerError
			if errors.As(err, &se) && se.HasErrorCode(codeNotImplemented) {
				return nil, fmt.Errorf("%w (set Options.NoTTLIndex): %w", ErrTTLUnsupported, err)
			}
			return nil, wrap(ctx, "create index "+TTLIndexName, err)
		}
	}
	return s, nil
}

// codeNotImplemented is the server error code for NotImplemented.
const codeNotImplemented = 238

// document is the Flask-Session layout, for writes.
type document struct {
	ID         string         `bson:"id"`
	Val        bson.Binary    `bson:"val"`
	Expiration *bson.DateTime `bson:"expiration"` // nil → null
}

// notExpired matches documents whose expiration is in the future, null or
// absent, as of now.
func notExpired(now time.Time) bson.D {
	return bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expiration", Value: bson.D{{Key: "$gt", Value: bson.NewDateTimeFromTime(now)}}}},
		bson.D{{Key: "expiration", Value: nil}},
	}}}
}

func liveFilter(key string, now time.Time) bson.D {
	return append(bson.D{{Key: "id", Value: key}}, notExpired(now)...)
}

// Get returns the data stored under key, or found=false when there is none
// or it has expired.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("mongostore: get: %w", err)
	}
	raw, err := s.coll.FindOne(ctx, liveFilter(key, time.Now()),
		options.FindOne().SetProjection(valProjection)).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapKey(ctx, "get", key, err)
	}
	return decodeVal(key, raw)
}

var valProjection = bson.D{{Key: "_id", Value: 0}, {Key: "val", Value: 1}}

// decodeVal returns the val of a document the server sent, validating the
// whole document first: the driver's accessors slice without bounds checks
// on malformed input. The driver's Validate itself panics on some inputs (an
// element length near 2^31 overflows its bounds arithmetic in
// bsoncore.ReadElement, driver v2.8.2), so a panic while decoding is
// recovered and reported as ErrCorrupt too. Errors name the key only by
// fingerprint.
func decodeVal(key string, raw bson.Raw) (data []byte, found bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, found, err = nil, false, fmt.Errorf("%w: document of key %s is malformed BSON (the driver panicked decoding it: %v)", ErrCorrupt, fingerprint(key), r)
		}
	}()
	if err := raw.Validate(); err != nil {
		return nil, false, fmt.Errorf("%w: document of key %s is malformed BSON: %w", ErrCorrupt, fingerprint(key), err)
	}
	v, err := raw.LookupErr("val")
	if err != nil {
		return nil, false, fmt.Errorf("%w: document of key %s has no val", ErrCorrupt, fingerprint(key))
	}
	_, bin, ok := v.BinaryOK()
	if !ok {
		return nil, false, fmt.Errorf("%w: document of key %s: val is BSON %s, not binary", ErrCorrupt, fingerprint(key), v.Type)
	}
	// Copy: the caller owns the result, independently of driver buffers.
	return append([]byte(nil), bin...), true, nil
}

// GetAndTouch reads key and moves its expiry in one round trip
// (findAndModify), like Get followed by Touch. An expiry that has already
// passed returns the data and deletes the key. It fetches the whole document:
// FerretDB 1.x does not implement findAndModify's projection.
func (s *Store) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("mongostore: get and touch: %w", err)
	}
	unlock, err := lockKey(ctx, "get and touch", key)
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	now := time.Now()
	var res *mongo.SingleResult
	if !expiry.IsZero() && !expiry.After(now) {
		res = s.coll.FindOneAndDelete(ctx, liveFilter(key, now))
	} else {
		res = s.coll.FindOneAndUpdate(ctx, liveFilter(key, now),
			bson.D{{Key: "$set", Value: bson.D{{Key: "expiration", Value: dateOrNil(expiry)}}}})
	}
	raw, err := res.Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapKey(ctx, "get and touch", key, err)
	}
	return decodeVal(key, raw)
}

// Set stores data under key until expiry (zero: no expiry), replacing any
// previous document. An expiry that has already passed deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: set: %w", err)
	}
	unlock, err := lockKey(ctx, "set", key)
	if err != nil {
		return err
	}
	defer unlock()
	if !expiry.IsZero() && !expiry.After(time.Now()) {
		return s.delete(ctx, "set", key)
	}
	doc := document{ID: key, Val: bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: data}, Expiration: dateOrNil(expiry)}
	if doc.Val.Data == nil {
		doc.Val.Data = []byte{}
	}
	// With the unique index, two concurrent upserts of a new key can race;
	// the loser gets a duplicate-key error and its retry is an update.
	// MongoDB 4.2+ retries such upserts itself; FerretDB does not, and with
	// another client deleting the key in between a retry can race again.
	for range maxUpsertTries {
		_, err = s.coll.ReplaceOne(ctx, bson.D{{Key: "id", Value: key}}, doc, options.Replace().SetUpsert(true))
		if err == nil || !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return wrapKey(ctx, "set", key, err)
	}
	return nil
}

const maxUpsertTries = 10

// Delete removes key. Deleting an absent key is not an error. It removes
// every document with that id, in case a collection without the unique index
// holds duplicates.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: delete: %w", err)
	}
	unlock, err := lockKey(ctx, "delete", key)
	if err != nil {
		return err
	}
	defer unlock()
	return s.delete(ctx, "delete", key)
}

func (s *Store) delete(ctx context.Context, op, key string) error {
	if _, err := s.coll.DeleteMany(ctx, bson.D{{Key: "id", Value: key}}); err != nil {
		return wrapKey(ctx, op, key, err)
	}
	return nil
}

// Touch moves key's expiry without rewriting its data. It reports
// found=false when key is absent or already expired, and never creates a
// document. An expiry that has already passed deletes the key.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mongostore: touch: %w", err)
	}
	unlock, err := lockKey(ctx, "touch", key)
	if err != nil {
		return false, err
	}
	defer unlock()
	now := time.Now()
	if !expiry.IsZero() && !expiry.After(now) {
		res, err := s.coll.DeleteMany(ctx, liveFilter(key, now))
		if err != nil {
			return false, wrapKey(ctx, "touch", key, err)
		}
		return res.DeletedCount > 0, nil
	}
	res, err := s.coll.UpdateOne(ctx, liveFilter(key, now),
		bson.D{{Key: "$set", Value: bson.D{{Key: "expiration", Value: dateOrNil(expiry)}}}})
	if err != nil {
		return false, wrapKey(ctx, "touch", key, err)
	}
	return res.MatchedCount > 0, nil
}

// Iterate calls fn with the key and expiry (zero: none) of every unexpired
// document whose id starts with prefix, until fn returns false.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: iterate: %w", err)
	}
	filter := append(bson.D{{Key: "id", Value: bson.Regex{Pattern: "^" + regexp.QuoteMeta(prefix)}}}, notExpired(time.Now())...)
	cur, err := s.coll.Find(ctx, filter, options.Find().SetProjection(
		bson.D{{Key: "_id", Value: 0}, {Key: "id", Value: 1}, {Key: "expiration", Value: 1}}))
	if err != nil {
		return wrap(ctx, "iterate", err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		id, ok := cur.Current.Lookup("id").StringValueOK()
		if !ok {
			continue
		}
		var exp time.Time
		if dt, ok := cur.Current.Lookup("expiration").DateTimeOK(); ok {
			exp = time.UnixMilli(dt).UTC()
		}
		if !fn(id, exp) {
			return nil
		}
	}
	if err := cur.Err(); err != nil {
		return wrap(ctx, "iterate", err)
	}
	return nil
}

// DeleteExpired removes every document whose expiration has passed and
// reports how many it removed. With a TTL index MongoDB does this by itself
// (once a minute); without one (FerretDB, Options.NoTTLIndex) call it
// periodically.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("mongostore: delete expired: %w", err)
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "expiration", Value: bson.D{{Key: "$lte", Value: bson.NewDateTimeFromTime(time.Now())}}}})
	if err != nil {
		return 0, wrap(ctx, "delete expired", err)
	}
	return int(res.DeletedCount), nil
}

// CompareAndSet stores data under key until expiry (zero: none) only if the
// live value under key equals old byte for byte; a nil old means "only if
// absent" (an empty, non-nil old matches only an empty val). It reports
// swapped=false, with a nil error, and changes nothing otherwise. An
// expired document counts as absent; an expiry that has already passed
// deletes the document when old matches. See "Compare-and-set" in the
// package documentation for how it is atomic, and why a nil old needs the
// unique index on id.
//
// val is compared as BSON binary subtype 0, which Set and pymongo write; a
// document whose val has another subtype never matches.
// lockKey takes key's in-process write lock (see casLocks), honouring ctx.
func lockKey(ctx context.Context, op, key string) (unlock func(), err error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	lock := casLocks[h.Sum32()%uint32(len(casLocks))]
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mongostore: %s: waiting for another write of the key: %w", op, ctx.Err())
	}
}

func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (swapped bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mongostore: compare and set: %w", err)
	}
	unlock, err := lockKey(ctx, "compare and set", key)
	if err != nil {
		return false, err
	}
	defer unlock()
	now := time.Now()
	del := !expiry.IsZero() && !expiry.After(now)
	if old == nil {
		return s.insertIfAbsent(ctx, key, data, expiry, now, del)
	}
	filter := append(liveFilter(key, now), bson.E{Key: "val", Value: binary(old)})
	if del {
		res, err := s.coll.DeleteOne(ctx, filter)
		if err != nil {
			return false, wrapKey(ctx, "compare and set", key, err)
		}
		return res.DeletedCount > 0, nil
	}
	res, err := s.coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{
		{Key: "val", Value: binary(data)},
		{Key: "expiration", Value: dateOrNil(expiry)},
	}}})
	if err != nil {
		return false, wrapKey(ctx, "compare and set", key, err)
	}
	return res.MatchedCount > 0, nil
}

// insertIfAbsent is CompareAndSet with a nil old: remove the key's expired
// documents (they count as absent, and would trip the unique index), then
// insert; a duplicate-key error means a live document exists. A passed
// expiry writes nothing and reports whether the key was absent.
func (s *Store) insertIfAbsent(ctx context.Context, key string, data []byte, expiry, now time.Time, del bool) (bool, error) {
	if err := s.requireUniqueID(ctx); err != nil {
		return false, err
	}
	expired := bson.D{{Key: "id", Value: key}, {Key: "expiration", Value: bson.D{{Key: "$lte", Value: bson.NewDateTimeFromTime(now)}}}}
	if _, err := s.coll.DeleteMany(ctx, expired); err != nil {
		return false, wrapKey(ctx, "compare and set", key, err)
	}
	if del {
		err := s.coll.FindOne(ctx, liveFilter(key, now), options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return true, nil
		}
		if err != nil {
			return false, wrapKey(ctx, "compare and set", key, err)
		}
		return false, nil
	}
	_, err := s.coll.InsertOne(ctx, document{ID: key, Val: binary(data), Expiration: dateOrNil(expiry)})
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, wrapKey(ctx, "compare and set", key, err)
	}
	return true, nil
}

// requireUniqueID returns nil once the collection is known to have a unique
// index on id alone, and an error wrapping ErrNoUniqueIndex while it has
// none (looked up again on every call, so that creating it later works).
func (s *Store) requireUniqueID(ctx context.Context) error {
	if s.uniqueID.Load() {
		return nil
	}
	specs, err := s.coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return wrap(ctx, "compare and set: list indexes", err)
	}
	for _, sp := range specs {
		if sp.Unique == nil || !*sp.Unique {
			continue
		}
		var keys bson.D
		if err := bson.Unmarshal(sp.KeysDocument, &keys); err != nil || len(keys) != 1 || keys[0].Key != "id" {
			continue
		}
		s.uniqueID.Store(true)
		return nil
	}
	return fmt.Errorf("mongostore: compare and set with a nil old value needs a unique index on id (CompareAndSet cannot make the insert conditional otherwise): %w", ErrNoUniqueIndex)
}

// binary wraps b as BSON binary subtype 0, with nil as the empty value.
func binary(b []byte) bson.Binary {
	if b == nil {
		b = []byte{}
	}
	return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: b}
}

func dateOrNil(t time.Time) *bson.DateTime {
	if t.IsZero() {
		return nil
	}
	d := bson.NewDateTimeFromTime(t)
	return &d
}

// FlaskSessionBackend returns "mongodb", the SESSION_TYPE of Flask-Session
// whose layout the store uses.
func (s *Store) FlaskSessionBackend() string { return "mongodb" }

// fingerprint names a key in messages without revealing it: "key#" and the
// first 8 hex digits of its SHA-256.
func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key#" + hex.EncodeToString(sum[:4])
}

// scrubbed is an error whose message has the key replaced by its
// fingerprint; it unwraps to the original.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// wrapKey is wrap for errors about key: the driver quotes the key in some
// messages (E11000 duplicate key … dup key: { id: "…" }).
func wrapKey(ctx context.Context, op, key string, err error) error {
	err = wrap(ctx, op, err)
	if key != "" && strings.Contains(err.Error(), key) {
		return &scrubbed{msg: strings.ReplaceAll(err.Error(), key, fingerprint(key)), err: err}
	}
	return err
}

// wrap prefixes err and makes sure a cancelled or expired ctx is visible to
// errors.Is even when the driver reports it in its own words.
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("mongostore: %s: %w: %w", op, cerr, err)
	}
	return fmt.Errorf("mongostore: %s: %w", op, err)
}
