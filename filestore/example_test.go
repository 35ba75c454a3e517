package filestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/coatcheck/coatcheck/filestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The same directory can be Flask-Session's SESSION_FILE_DIR.
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	key := "session:00000000-0000-4000-8000-000000000046"
	// For Flask interop the value is a pickle; the store does not care.
	if err := s.Set(ctx, key, []byte("payload"), time.Now().Add(time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := s.Get(ctx, key)
	fmt.Printf("%s %v %v\n", data, found, err)

	raw, _ := os.ReadFile(dir + "/" + filestore.FileName(key))
	fmt.Println(filestore.FileName(key), len(raw)) // 4-byte expiry header + value
	// Output:
	// payload true <nil>
	// 3712d5bf251f62f1b9cf4357cbcdda42 11
}
