package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	defer s.Close() // stops the janitor

	_ = s.Set(ctx, "session:abc", []byte("payload"), time.Now().Add(time.Hour))
	data, found, err := s.Get(ctx, "session:abc")
	fmt.Printf("%s %v %v\n", data, found, err)

	// A Set whose expiry has passed deletes the entry.
	_ = s.Set(ctx, "session:abc", []byte("payload"), time.Now().Add(-time.Second))
	data, found, err = s.Get(ctx, "session:abc")
	fmt.Println(data, found, err)
	// Output:
	// payload true <nil>
	// [] false <nil>
}

func ExampleNew() {
	ctx := context.Background()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memstore.New(memstore.Options{
		CleanupInterval: -1, // no janitor; sweep by hand
		Now:             func() time.Time { return now },
	})
	_ = s.Set(ctx, "session:a", []byte("1"), now.Add(time.Minute))
	_ = s.Set(ctx, "session:b", []byte("2"), time.Time{}) // no expiry

	now = now.Add(2 * time.Minute) // a fake clock
	removed, _ := s.DeleteExpired(ctx)
	fmt.Println("removed", removed)
	_ = s.Iterate(ctx, "session:", func(key string, expiry time.Time) bool {
		fmt.Println(key, expiry.IsZero())
		return true
	})
	// Output:
	// removed 1
	// session:b true
}
