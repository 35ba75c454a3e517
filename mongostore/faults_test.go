package mongostore_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/mongostore"
	"github.com/coatcheck/coatcheck/storetest"
)

// connect opens a client on uri (one connection, as newColl) and
// disconnects it when the test ends.
func connect(t *testing.T, uri string, direct bool) *mongo.Client {
	t.Helper()
	o := options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second).SetMaxPoolSize(1)
	if direct {
		o.SetDirect(true)
	}
	c, err := mongo.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c
}

// TestFaults: behind a proxy that blackholes or cuts the connection, every
// method errors within the caller's deadline and the store recovers after
// Restore.
func TestFaults(t *testing.T) {
	raw := storetest.RequireEnv(t, "COATCHECK_MONGO_URL")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	coll := newColl(t) // a fresh database, dropped at the end
	if _, err := mongostore.New(context.Background(), coll, mongostore.Options{NoTTLIndex: true}); err != nil {
		t.Fatal(err)
	}
	storetest.RunFaults(t, u.Host, func(t *testing.T, addr string) coatcheck.Store {
		pu := *u
		pu.Host = addr
		c := connect(t, pu.String(), true)
		s, err := mongostore.New(context.Background(),
			c.Database(coll.Database().Name()).Collection(coll.Name()), mongostore.Options{NoIndexes: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestTwoClients: two clients with their own connections. On FerretDB 1.x
// the counter check passes because CompareAndSet is serialised per key in
// the process (both stores are in this test's process); before that lock it
// lost increments.
func TestTwoClients(t *testing.T) {
	coll := newColl(t)
	s1, _ := openStore(t, coll)
	storetest.RunTwoClients(t,
		func(t *testing.T) coatcheck.Store { return s1 },
		func(t *testing.T) coatcheck.Store {
			s2, err := mongostore.New(context.Background(), secondClient(t, coll), mongostore.Options{NoIndexes: true})
			if err != nil {
				t.Fatal(err)
			}
			return s2
		})
}

// TestSessions: 50 concurrent requests of one session each setting a key
// keep all 50. On FerretDB 1.x this kept only 1-2 keys before CompareAndSet
// was serialised per key (see the package documentation). The client has
// a pool of 8 connections here, so that the requests reach FerretDB
// concurrently as they would in production.
func TestSessions(t *testing.T) {
	coll := newColl(t)
	uri := storetest.RequireEnv(t, "COATCHECK_MONGO_URL")
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second).SetMaxPoolSize(8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	pooled := c.Database(coll.Database().Name()).Collection(coll.Name())
	s, _ := openStore(t, pooled)
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store { return s })
	t.Run("UserIndex", func(t *testing.T) {
		storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return s })
	})
}

// TestErrorsOmitKey: a duplicate-key error (the driver quotes the key in
// E11000 … dup key: { id: "…" }) reaches the caller with the key replaced
// by its fingerprint, and still unwraps to the driver's error; corrupt
// documents name the key by fingerprint only.
func TestErrorsOmitKey(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	ctx := context.Background()
	k := "session:secret-session-id-4f1c"
	// Two raw documents under one id cannot exist with the unique index,
	// so provoke E11000 through Set's upsert: insert a document with the
	// key under another field layout the upsert's filter does not match.
	if _, err := coll.InsertOne(ctx, bson.M{"id": k, "val": bson.Binary{Data: []byte("x")}, "expiration": bson.NewDateTimeFromTime(time.Now().Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"id": "session:str", "val": "not bytes"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get(ctx, "session:str")
	if !errors.Is(err, mongostore.ErrCorrupt) || strings.Contains(err.Error(), "session:str") {
		t.Errorf("Get of a corrupt document: %v, want ErrCorrupt without the key", err)
	}
	// Every error any method returns here must be key-free.
	for _, op := range []struct {
		name string
		err  func() error
	}{
		{"Set", func() error { return s.Set(ctx, k, []byte("v"), time.Now().Add(time.Hour)) }},
		{"CompareAndSet", func() error {
			_, err := s.CompareAndSet(ctx, k, []byte("x"), []byte("v"), time.Now().Add(time.Hour))
			return err
		}},
	} {
		if err := op.err(); err != nil && strings.Contains(err.Error(), "secret-session-id") {
			t.Errorf("%s: error %q contains the key", op.name, err)
		}
	}
}

func TestFlaskSessionBackend(t *testing.T) {
	coll := newColl(t)
	s, _ := openStore(t, coll)
	if got := s.FlaskSessionBackend(); got != "mongodb" {
		t.Errorf("FlaskSessionBackend() = %q, want \"mongodb\"", got)
	}
}
