package coatcheck_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/memstore"
)

// HeaderSessions is a custom SessionInterface, like a Flask app's own
// SessionInterface subclass: it keeps sessions in a map and takes the session
// id from an X-Session header instead of a cookie (say, for an API client).
type HeaderSessions struct {
	mu   sync.Mutex
	data map[string]map[string]any
}

func (hs *HeaderSessions) Open(r *http.Request) (*coatcheck.Session, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if d, ok := hs.data[r.Header.Get("X-Session")]; ok {
		cp := make(map[string]any, len(d))
		for k, v := range d {
			cp[k] = v
		}
		return coatcheck.NewSession(cp, false), nil
	}
	return coatcheck.NewSession(nil, true), nil
}

func (hs *HeaderSessions) Save(r *http.Request, s *coatcheck.Session, h http.Header) error {
	if !s.Modified() {
		return nil
	}
	id := r.Header.Get("X-Session")
	if id == "" {
		id = "client-1" // a real interface would mint a random id
	}
	hs.mu.Lock()
	hs.data[id] = s.All()
	hs.mu.Unlock()
	h.Set("X-Session", id)
	return nil
}

func Example_customSessionInterface() {
	sessions := coatcheck.MustNew(coatcheck.Config{Interface: &HeaderSessions{data: map[string]map[string]any{}}})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		n, _ := coatcheck.Value[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Println("visit", n+1)
	}))
	id := ""
	for i := 0; i < 3; i++ {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Session", id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		id = rec.Header().Get("X-Session")
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Server-side sessions: the cookie carries only a random id; the data lives
// in the store under "session:" + id, as Flask-Session keeps it.
func Example_serverSide() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions := coatcheck.MustNew(coatcheck.Config{Store: store})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Renew()
		s.Set("username", "alice")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	id := rec.Result().Cookies()[0].Value

	data, found, _ := sessions.Admin().Get(context.Background(), id)
	fmt.Println(len(id), found, data["username"])
	// Output: 43 true alice
}
