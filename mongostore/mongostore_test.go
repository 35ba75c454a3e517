package mongostore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/coatcheck/coatcheck/mongostore"
	"github.com/coatcheck/coatcheck/storetest"
)

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newColl returns a collection in a fresh database (named after nothing but
// a random suffix, so parallel runs sharing a server do not collide) that is
// dropped when the test ends.
func newColl(t testing.TB) *mongo.Collection {
	t.Helper()
	url := storetest.RequireEnv(t, "COATCHECK_MONGO_URL")
	// One connection: FerretDB's SQLite backend has a single writer, and
	// concurrent writers (storetest's Concurrent check has 200) make SQLite's
	// busy handler back off for up to 100 ms at a time, so on a loaded
	// machine operations outlive the suite's 10 s deadline or fail with
	// SQLITE_BUSY. Queueing in the driver instead keeps FerretDB serial and
	// fast; the store's own concurrency is exercised all the same.
	client, err := mongo.Connect(options.Client().ApplyURI(url).
		SetServerSelectionTimeout(10 * time.Second).SetMaxPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database("coatcheck_test_" + randomHex(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", db.Name(), err)
		}
		_ = client.Disconnect(ctx)
	})
	return db.Collection("sessions")
}

var logTTLOnce sync.Once

// openStore returns a Store with the default Options, or, on a server
// without TTL indexes (FerretDB), with NoTTLIndex. It reports which.
func openStore(t testing.TB, coll *mongo.Collection) (s *mongostore.Store, ttl bool) {
	t.Helper()
	ctx := context.Background()
	s, err := mongostore.New(ctx, coll, mongostore.Options{})
	if errors.Is(err, mongostore.ErrTTLUnsupported) {
		logTTLOnce.Do(func() { t.Logf("server has no TTL indexes (%v); using NoTTLIndex", err) })
		s, err = mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: true})
		if err != nil {
			t.Fatal(err)
		}
		return s, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return s, true
}

func TestFlaskLayout(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	ctx := context.Background()

	data := []byte{0x82, 0xaa, '_', 'p', 'e', 'r', 'm', 'a', 'n', 'e', 'n', 't', 0xc3, 0xa7, 'u', 's', 'e', 'r', '_', 'i', 'd', 0x2a}
	exp := time.Now().Add(31 * 24 * time.Hour)
	if err := s.Set(ctx, "session:abc", data, exp); err != nil {
		t.Fatal(err)
	}
	data[0] = 0 // the store must not retain the caller's slice

	var doc bson.M
	if err := coll.FindOne(ctx, bson.M{"id": "session:abc"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 4 {
		t.Errorf("document has fields %v, want _id, id, val, expiration", keys(doc))
	}
	if _, ok := doc["_id"].(bson.ObjectID); !ok {
		t.Errorf("_id = %#v, want an ObjectID (as pymongo inserts)", doc["_id"])
	}
	bin, ok := doc["val"].(bson.Binary)
	if !ok || bin.Subtype != 0 || bin.Data[0] != 0x82 || !bytes.Equal(bin.Data[1:], data[1:]) {
		t.Errorf("val = %#v, want BSON binary subtype 0 with the data", doc["val"])
	}
	dt, ok := doc["expiration"].(bson.DateTime)
	if !ok {
		t.Fatalf("expiration = %#v, want a BSON date", doc["expiration"])
	}
	if d := dt.Time().Sub(exp); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("expiration = %v, want %v", dt.Time().UTC(), exp.UTC())
	}

	// No expiry: expiration is null (Flask-Session 0.3.2's non-permanent form).
	if err := s.Set(ctx, "session:forever", []byte("x"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	doc = nil
	if err := coll.FindOne(ctx, bson.M{"id": "session:forever"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc["expiration"]; !ok || v != nil {
		t.Errorf("zero expiry stored as expiration=%#v (present %v), want null", v, ok)
	}

	// Documents written the way pymongo writes them for Flask-Session.
	msgpack := []byte{0x81, 0xa1, 'k', 0x01}
	_, err := coll.InsertMany(ctx, []any{
		bson.M{"id": "session:flask08", "val": bson.Binary{Subtype: 0, Data: msgpack}, "expiration": time.Now().Add(time.Hour)},
		bson.M{"id": "session:flask032", "val": bson.Binary{Subtype: 0, Data: msgpack}, "expiration": nil},
		bson.M{"id": "session:flaskold", "val": bson.Binary{Subtype: 0, Data: msgpack}, "expiration": time.Now().Add(-time.Second)},
		bson.M{"id": "session:noexp", "val": bson.Binary{Subtype: 0, Data: msgpack}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{"session:flask08": true, "session:flask032": true, "session:flaskold": false, "session:noexp": true} {
		got, found, err := s.Get(ctx, key)
		if err != nil || found != want || (want && !bytes.Equal(got, msgpack)) {
			t.Errorf("Get(%q) = %x, %v, %v; want found=%v", key, got, found, err, want)
		}
	}
	seen := map[string]time.Time{}
	if err := s.Iterate(ctx, "session:flask", func(k string, e time.Time) bool { seen[k] = e; return true }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen["session:flask08"].IsZero() || !seen["session:flask032"].IsZero() {
		t.Errorf("Iterate(session:flask) saw %v, want flask08 (with expiry) and flask032 (none)", seen)
	}
}

func keys(m bson.M) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestCorruptValue(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	ctx := context.Background()
	if _, err := coll.InsertOne(ctx, bson.M{"id": "session:str", "val": "not bytes", "expiration": nil}); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Get(ctx, "session:str"); !errors.Is(err, mongostore.ErrCorrupt) || found {
		t.Errorf("Get of a string val: found=%v err=%v, want ErrCorrupt", found, err)
	}
}

func TestIndexes(t *testing.T) {
	coll := newColl(t)
	_, ttl := openStore(t, coll)
	ctx := context.Background()
	// Idempotent.
	if _, err := mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: !ttl}); err != nil {
		t.Fatalf("second New: %v", err)
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mongo.IndexSpecification{}
	for _, sp := range specs {
		byName[sp.Name] = sp
	}
	id, ok := byName[mongostore.IDIndexName]
	if !ok || id.Unique == nil || !*id.Unique || id.KeysDocument.String() != `{"id": {"$numberInt":"1"}}` {
		t.Errorf("id index = %+v (found %v), want unique {id: 1}", id, ok)
	}
	if !ttl {
		t.Skip("server has no TTL indexes (FerretDB): TTL index not checked")
	}
	e, ok := byName[mongostore.TTLIndexName]
	if !ok || e.ExpireAfterSeconds == nil || *e.ExpireAfterSeconds != 0 || !strings.Contains(e.KeysDocument.String(), `"expiration"`) {
		t.Errorf("TTL index = %+v (found %v), want {expiration: 1} expireAfterSeconds 0", e, ok)
	}
}

func TestNoIndexes(t *testing.T) {
	coll := newColl(t)
	ctx := context.Background()
	s, err := mongostore.New(ctx, coll, mongostore.Options{NoIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Name != "_id_" {
		t.Errorf("indexes = %+v, want only _id_", specs)
	}
}

func TestDeleteExpiredRaw(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	_, err := coll.InsertMany(ctx, []any{
		bson.M{"id": "a", "val": bson.Binary{Data: []byte("1")}, "expiration": past},
		bson.M{"id": "b", "val": bson.Binary{Data: []byte("2")}, "expiration": past},
		bson.M{"id": "c", "val": bson.Binary{Data: []byte("3")}, "expiration": nil},
		bson.M{"id": "d", "val": bson.Binary{Data: []byte("4")}, "expiration": time.Now().Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
	}
	if c, err := coll.CountDocuments(ctx, bson.M{}); err != nil || c != 2 {
		t.Errorf("%d documents left (%v), want 2", c, err)
	}
}

func TestGetAndTouch(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	got, found, err := s.GetAndTouch(ctx, "k", later)
	if err != nil || !found || string(got) != "v" {
		t.Fatalf("GetAndTouch = %q, %v, %v", got, found, err)
	}
	var doc struct {
		Expiration time.Time `bson:"expiration"`
	}
	if err := coll.FindOne(ctx, bson.M{"id": "k"}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if d := doc.Expiration.Sub(later); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("expiration after GetAndTouch = %v, want %v", doc.Expiration, later)
	}
	if _, found, err := s.GetAndTouch(ctx, "absent", later); found || err != nil {
		t.Errorf("GetAndTouch(absent) found=%v err=%v", found, err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.M{"id": "absent"}); n != 0 {
		t.Error("GetAndTouch created a document")
	}
	got, found, err = s.GetAndTouch(ctx, "k", time.Now().Add(-time.Second))
	if err != nil || !found || string(got) != "v" {
		t.Errorf("GetAndTouch(past) = %q, %v, %v; want the data", got, found, err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Error("key still there after GetAndTouch with a past expiry")
	}
}

// TestIteratePrefixIsLiteral: the prefix becomes an anchored regular
// expression on the server; its metacharacters must be quoted.
func TestIteratePrefixIsLiteral(t *testing.T) {
	s, _ := openStore(t, newColl(t))
	ctx := context.Background()
	for _, k := range []string{"a.b*(x):1", "aXbbb(x):2", "za.b*(x):3", "a.b*(x)"} {
		if err := s.Set(ctx, k, []byte("v"), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := s.Iterate(ctx, "a.b*(x)", func(k string, _ time.Time) bool { got = append(got, k); return true }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "a.b*(x) a.b*(x):1" {
		t.Errorf("Iterate(%q) saw %q", "a.b*(x)", got)
	}
}

// secondClient opens another client (its own connection pool, standing in
// for another process) on the collection coll.
func secondClient(t *testing.T, coll *mongo.Collection) *mongo.Collection {
	t.Helper()
	url := storetest.RequireEnv(t, "COATCHECK_MONGO_URL")
	client, err := mongo.Connect(options.Client().ApplyURI(url).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(coll.Database().Name()).Collection(coll.Name())
}

// TestCompareAndSetFlaskDocuments: writes by another client between a read
// and CompareAndSet make it fail and survive; Flask-style documents, null
// expirations, empty values and passed expiries behave as the contract says.
func TestCompareAndSetFlaskDocuments(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	raw := secondClient(t, coll)
	ctx := context.Background()
	hour := func() time.Time { return time.Now().Add(time.Hour) }
	cas := func(key string, old, data []byte, expiry time.Time, want bool) {
		t.Helper()
		got, err := s.CompareAndSet(ctx, key, old, data, expiry)
		if err != nil || got != want {
			t.Fatalf("CompareAndSet(%q, old=%q, new=%q) = %v, %v; want %v, nil", key, old, data, got, err, want)
		}
	}
	rawDocs := func(key string) []bson.M {
		t.Helper()
		cur, err := raw.Find(ctx, bson.M{"id": key})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	rawValue := func(key, want string) bson.M {
		t.Helper()
		docs := rawDocs(key)
		if len(docs) != 1 {
			t.Fatalf("%d documents with id %q, want 1: %v", len(docs), key, docs)
		}
		bin, ok := docs[0]["val"].(bson.Binary)
		if !ok || bin.Subtype != 0 || string(bin.Data) != want {
			t.Fatalf("raw val of %q = %#v, want binary subtype 0 %q", key, docs[0]["val"], want)
		}
		return docs[0]
	}
	rawSet := func(key, v string) {
		t.Helper()
		_, err := raw.UpdateOne(ctx, bson.M{"id": key}, bson.M{"$set": bson.M{"val": bson.Binary{Data: []byte(v)}}})
		if err != nil {
			t.Fatal(err)
		}
	}

	// Another client writes between the read and the CompareAndSet.
	if err := s.Set(ctx, "k", []byte("v1"), hour()); err != nil {
		t.Fatal(err)
	}
	old, found, err := s.Get(ctx, "k")
	if err != nil || !found {
		t.Fatalf("Get = %v, %v", found, err)
	}
	rawSet("k", "theirs")
	cas("k", old, []byte("mine"), hour(), false)
	rawValue("k", "theirs")
	cas("k", []byte("theirs"), []byte("mine"), time.Time{}, true)
	if doc := rawValue("k", "mine"); doc["expiration"] != nil {
		t.Errorf("zero expiry stored as expiration=%#v, want null", doc["expiration"])
	}
	exp := hour()
	cas("k", []byte("mine"), []byte("dated"), exp, true)
	dt, ok := rawValue("k", "dated")["expiration"].(bson.DateTime)
	if !ok || dt.Time().Sub(exp).Abs() > time.Millisecond {
		t.Errorf("expiration = %v, want %v", dt, exp)
	}
	// Another client deletes: no resurrection.
	if _, err := raw.DeleteMany(ctx, bson.M{"id": "k"}); err != nil {
		t.Fatal(err)
	}
	cas("k", []byte("dated"), []byte("back"), hour(), false)
	if docs := rawDocs("k"); len(docs) != 0 {
		t.Fatalf("CompareAndSet on a deleted key left %v", docs)
	}

	// nil old: inserts once; a second insert, or one racing a Flask
	// document, fails; an expired Flask document counts as absent and a
	// null expiration never expires.
	cas("n", nil, []byte("first"), hour(), true)
	cas("n", nil, []byte("second"), hour(), false)
	rawValue("n", "first")
	// Rewriting the same bytes is a swap (the update matches even though it
	// modifies nothing).
	cas("n", []byte("first"), []byte("first"), hour(), true)
	_, err = raw.InsertMany(ctx, []any{
		bson.M{"id": "flaskold", "val": bson.Binary{Data: []byte("old")}, "expiration": time.Now().Add(-time.Second)},
		bson.M{"id": "flask032", "val": bson.Binary{Data: []byte("x")}, "expiration": nil},
		bson.M{"id": "noexp", "val": bson.Binary{Data: []byte("y")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cas("flaskold", []byte("old"), []byte("revived"), hour(), false)
	cas("flaskold", nil, []byte("new"), hour(), true)
	rawValue("flaskold", "new")
	cas("flask032", nil, []byte("clobber"), hour(), false)
	cas("noexp", nil, []byte("clobber"), hour(), false)
	cas("flask032", []byte("x"), []byte("x2"), hour(), true)
	cas("noexp", []byte("y"), []byte("y2"), hour(), true)

	// Empty values are present; an empty old never matches an absent key.
	cas("e", nil, []byte{}, hour(), true)
	cas("e", nil, []byte("a"), hour(), false)
	cas("e", []byte{}, []byte("a"), hour(), true)
	rawValue("e", "a")
	cas("absent", []byte{}, []byte("a"), hour(), false)

	// A passed expiry deletes only when old matches; with a nil old it
	// reports whether the key was absent and writes nothing.
	past := time.Now().Add(-time.Second)
	cas("e", []byte("stale"), nil, past, false)
	rawValue("e", "a")
	cas("e", []byte("a"), nil, past, true)
	if docs := rawDocs("e"); len(docs) != 0 {
		t.Fatalf("CompareAndSet with a passed expiry left %v", docs)
	}
	cas("n", nil, nil, past, false)
	rawValue("n", "first")
	cas("absent", nil, []byte("a"), past, true)
	if docs := rawDocs("absent"); len(docs) != 0 {
		t.Fatalf("CompareAndSet(nil old) with a passed expiry wrote %v", docs)
	}
}

// TestCompareAndSetNoUniqueIndex: without the unique index on id, a nil old
// is refused (the insert could not be conditional); once the index exists,
// created by someone else, it works.
func TestCompareAndSetNoUniqueIndex(t *testing.T) {
	coll := newColl(t)
	ctx := context.Background()
	s, err := mongostore.New(ctx, coll, mongostore.Options{NoIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "k", nil, []byte("v"), time.Time{}); ok || !errors.Is(err, mongostore.ErrNoUniqueIndex) || !strings.HasPrefix(err.Error(), "mongostore: ") {
		t.Fatalf("CompareAndSet(nil old) without the index = %v, %v; want a mongostore: error wrapping ErrNoUniqueIndex", ok, err)
	}
	if n, _ := coll.CountDocuments(ctx, bson.M{}); n != 0 {
		t.Fatalf("the refused CompareAndSet wrote %d documents", n)
	}
	// A non-nil old is a single-document update and needs no index.
	if err := s.Set(ctx, "k", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "k", []byte("v"), []byte("w"), time.Time{}); !ok || err != nil {
		t.Fatalf("CompareAndSet(non-nil old) without the index = %v, %v", ok, err)
	}
	// A non-unique index on id does not count.
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "id", Value: 1}}, Options: options.Index().SetName("plain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompareAndSet(ctx, "k2", nil, []byte("v"), time.Time{}); !errors.Is(err, mongostore.ErrNoUniqueIndex) {
		t.Fatalf("with a non-unique index: err = %v, want ErrNoUniqueIndex", err)
	}
	if err := coll.Indexes().DropOne(ctx, "plain"); err != nil {
		t.Fatal(err)
	}
	if _, err := mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: true}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CompareAndSet(ctx, "k2", nil, []byte("v"), time.Time{}); !ok || err != nil {
		t.Fatalf("CompareAndSet(nil old) once the index exists = %v, %v", ok, err)
	}
}

// isFerretDB reports whether the server is FerretDB (its buildInfo has a
// ferretdbVersion field).
func isFerretDB(t *testing.T, coll *mongo.Collection) bool {
	t.Helper()
	raw, err := coll.Database().RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.LookupErr("ferretdbVersion")
	return err == nil
}
