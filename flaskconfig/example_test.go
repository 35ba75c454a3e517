package flaskconfig_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskconfig"
)

func ExampleFromMap() {
	// The settings a Flask app would have in app.config (or the
	// environment, with FromEnv): here an in-process store.
	sessions, err := flaskconfig.FromMap(context.Background(), map[string]string{
		"SECRET_KEY":   "dev-secret-key",
		"SESSION_TYPE": "memory",
	}, flaskconfig.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sessions.Close()

	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Set("username", "alice")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(sessions.Store.Backend, rec.Result().Cookies()[0].Name)
	// Output: redis session
}
