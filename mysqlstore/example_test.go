package mysqlstore_test

import (
	"context"
	"database/sql"
	"log"
	"time"

	"github.com/coatcheck/coatcheck/mysqlstore"
	_ "github.com/go-sql-driver/mysql"
)

func ExampleNew() {
	ctx := context.Background()
	// Any DSN works; interpolateParams=true saves a round trip per
	// statement.
	db, err := sql.Open("mysql", "app:secret@tcp(127.0.0.1:3306)/app?interpolateParams=true")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The table Flask-Session uses by default, created if missing, swept
	// of expired rows every 5 minutes.
	store, err := mysqlstore.New(ctx, db, mysqlstore.Options{Table: "sessions"})
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
