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

// TestOutage: an unreachable server is an error, never "not found".
func TestOutage(t *testing.T) {
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:1/").
		SetServerSelectionTimeout(300 * time.Millisecond).SetConnectTimeout(300 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("flask_session").Collection("sessions")
	ctx := context.Background()
	if _, err := mongostore.New(ctx, coll, mongostore.Options{}); err == nil || !strings.HasPrefix(err.Error(), "mongostore:") {
		t.Errorf("New on a dead server: %v, want a mongostore: error", err)
	}
	s, err := mongostore.New(ctx, coll, mongostore.Options{NoIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	checkErr := func(op string, err error) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("%s on a dead server: %v, want a mongostore: error", op, err)
		}
	}
	_, found, err := s.Get(ctx, "k")
	checkErr("Get", err)
	if found {
		t.Error("Get on a dead server reported found")
	}
	checkErr("Set", s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Hour)))
	checkErr("Delete", s.Delete(ctx, "k"))
	_, err = s.Touch(ctx, "k", time.Now().Add(time.Hour))
	checkErr("Touch", err)
	_, _, err = s.GetAndTouch(ctx, "k", time.Now().Add(time.Hour))
	checkErr("GetAndTouch", err)
	checkErr("Iterate", s.Iterate(ctx, "", func(string, time.Time) bool { return true }))
	_, err = s.DeleteExpired(ctx)
	checkErr("DeleteExpired", err)
}

func TestCancelledContext(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	if err := s.Set(context.Background(), "k", []byte("old"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("%s with a cancelled context: %v, want a mongostore: error wrapping context.Canceled", op, err)
		}
	}
	_, _, err := s.Get(ctx, "k")
	check("Get", err)
	check("Set", s.Set(ctx, "k", []byte("new"), time.Time{}))
	check("Delete", s.Delete(ctx, "k"))
	_, err = s.Touch(ctx, "k", time.Now().Add(time.Hour))
	check("Touch", err)
	_, _, err = s.GetAndTouch(ctx, "k", time.Now().Add(time.Hour))
	check("GetAndTouch", err)
	check("Iterate", s.Iterate(ctx, "", func(string, time.Time) bool { return true }))
	_, err = s.DeleteExpired(ctx)
	check("DeleteExpired", err)
	if _, err := mongostore.New(ctx, coll, mongostore.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a cancelled context: %v", err)
	}

	// A deadline that expires mid-flight is reported as such too.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	if _, _, err := s.Get(dctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with an expired deadline: %v", err)
	}

	got, found, err := s.Get(context.Background(), "k")
	if err != nil || !found || string(got) != "old" {
		t.Errorf("after cancelled calls Get = %q, %v, %v; want the old value intact", got, found, err)
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
