package mongostore_test

import (
	"context"
	"errors"
	"log"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/coatcheck/coatcheck/mongostore"
)

// Sessions in Flask-Session's default place (database "flask_session",
// collection "sessions"), shared with a Flask application.
func Example() {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://127.0.0.1:27017/"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)

	coll := client.Database("flask_session").Collection("sessions")
	store, err := mongostore.New(ctx, coll, mongostore.Options{})
	if errors.Is(err, mongostore.ErrTTLUnsupported) {
		// FerretDB 1.x: no TTL indexes, so sweep expired sessions ourselves.
		store, err = mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: true})
		if err == nil {
			go func() {
				for range time.Tick(time.Minute) {
					if _, err := store.DeleteExpired(ctx); err != nil {
						log.Print(err)
					}
				}
			}()
		}
	}
	if err != nil {
		log.Fatal(err)
	}
	_ = store // hand it to the coatcheck Manager (Config.Store)
}
