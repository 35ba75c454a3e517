package memcachestore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/coatcheck/coatcheck/memcachestore"
)

// A store on one memcached server. gomemcache has no context support, so
// the client's Timeout bounds each call. (This example needs a server, so
// it is compiled but not run.)
func Example() {
	client := memcache.New("127.0.0.1:11211")
	client.Timeout = 200 * time.Millisecond
	defer client.Close()
	store := memcachestore.New(client, memcachestore.Options{})

	ctx := context.Background()
	// The Manager normally chooses the key (SESSION_KEY_PREFIX + id) and
	// the bytes (the Flask-Session codec). A 31-day lifetime is longer than
	// memcached's 30-day relative limit, so the item's expiration is sent
	// as an absolute Unix time, as Flask-Session does.
	key := "session:00000000-0000-4000-8000-000000000044"
	if err := store.Set(ctx, key, []byte("(dp0\n..."), time.Now().Add(31*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Get(ctx, key)
	if err != nil {
		log.Fatal(err) // memcached could not answer: not the same as "no session"
	}
	fmt.Println(found, len(data))

	// Sliding expiry in one round trip (memcached's gat).
	if _, _, err := store.GetAndTouch(ctx, key, time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
}
