package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/coatcheck/coatcheck/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// The table Flask-Session uses by default, created if missing, swept
	// of expired rows every 5 minutes.
	store, err := pgstore.New(ctx, pool, pgstore.Options{Table: "sessions"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Usually the coatcheck Manager calls these.
	if err := store.Set(ctx, "session:0f8e", []byte("\x80"), time.Now().Add(31*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Get(ctx, "session:0f8e")
	log.Println(data, found, err)
}
