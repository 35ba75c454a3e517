package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/redis/go-redis/v9"
)

// A store on a single Redis server. The caller builds and closes the
// client; ContextTimeoutEnabled lets request deadlines reach the socket.
// (This example needs a server, so it is compiled but not run.)
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{})

	ctx := context.Background()
	// The Manager normally chooses the key (SESSION_KEY_PREFIX + id) and
	// the bytes (the Flask-Session codec); a 31-day expiry gives the key
	// TTL 2678400, as Flask-Session's SETEX does.
	key := "session:00000000-0000-4000-8000-000000000001"
	if err := store.Set(ctx, key, []byte("\x80\x04..."), time.Now().Add(31*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Get(ctx, key)
	if err != nil {
		log.Fatal(err) // Redis could not answer: not the same as "no session"
	}
	fmt.Println(found, len(data))
}

// One store type for every deployment: NewUniversalClient returns a
// FailoverClient when MasterName is set, a ClusterClient for several
// addresses, and a plain Client otherwise.
func Example_universal() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:      []string{"127.0.0.1:26379"},
		MasterName: "coatcheck", // Sentinel

		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{})

	// Iterate lists sessions (on a Cluster, across every master).
	err := store.Iterate(context.Background(), "session:", func(key string, expiry time.Time) bool {
		fmt.Println(key, expiry)
		return true
	})
	if err != nil {
		log.Fatal(err)
	}
}

// GetAndTouch reads a session and slides its expiry in one round trip
// (GETEX, Redis 6.2+).
func ExampleStore_GetAndTouch() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{})

	data, found, err := store.GetAndTouch(context.Background(), "session:abc", time.Now().Add(30*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found, len(data))
}
