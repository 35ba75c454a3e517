package sqlitestore_test

import (
	"context"
	"log"
	"time"

	"github.com/coatcheck/coatcheck/sqlitestore"
)

func ExampleOpen() {
	ctx := context.Background()
	// The file Flask-Session's SQLAlchemy backend would use with
	// SQLALCHEMY_DATABASE_URI = "sqlite:////var/lib/app/sessions.db".
	store, err := sqlitestore.Open(ctx, "/var/lib/app/sessions.db", sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close() // stops the cleanup goroutine and closes the file

	// Usually the coatcheck Manager calls these.
	if err := store.Set(ctx, "session:0f8e", []byte("\x80"), time.Now().Add(31*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Get(ctx, "session:0f8e")
	log.Println(data, found, err)
}
