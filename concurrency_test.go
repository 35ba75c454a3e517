package coatcheck_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/coatcheck/coatcheck"
)

// gate lets a test hold a request after it loaded its session.
type gate struct {
	loaded  chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{make(chan struct{}), make(chan struct{})} }

// concurrencyApp: /set?k=&v= sets a key; /incr?k= increments a counter;
// /logout destroys; with &hold=1 the request waits on the gate after loading.
func concurrencyApp(g *gate) http.Handler {
	hold := func(r *http.Request) {
		if r.FormValue("hold") == "1" {
			g.loaded <- struct{}{}
			<-g.release
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		s.Len() // load
		hold(r)
		s.Set(r.FormValue("k"), r.FormValue("v"))
	})
	mux.HandleFunc("/incr", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		n, _ := coatcheck.Value[int](s, r.FormValue("k"))
		hold(r)
		s.Set(r.FormValue("k"), n+1)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		coatcheck.FromRequest(r).Destroy()
	})
	mux.HandleFunc("/dump", func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			fmt.Fprintf(w, "%s=%v\n", k, v)
		}
	})
	return mux
}

// slow starts path with hold=1 and returns once its session is loaded; the
// returned func lets it finish and waits for its response.
func (e *serverEnv) slow(t *testing.T, g *gate, path string) func() *http.Response {
	done := make(chan *http.Response, 1)
	go func() {
		res, err := e.client.Get(e.srv.URL + path + "&hold=1")
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- res
	}()
	<-g.loaded
	return func() *http.Response { close(g.release); return <-done }
}

func TestConcurrentRequestsMergeDifferentKeys(t *testing.T) {
	g := newGate()
	e := newServerEnvWith(t, coatcheck.Config{}, concurrencyApp(g))
	e.get(t, "/set?k=user&v=alice")
	finish := e.slow(t, g, "/set?k=a&v=1")
	e.get(t, "/set?k=b&v=2") // saves while the slow request holds an older copy
	if res := finish(); res == nil || res.StatusCode != 200 {
		t.Fatalf("slow request: %v", res)
	}
	if _, body := e.get(t, "/dump"); body != "_permanent=true\na=1\nb=2\nuser=alice\n" {
		t.Errorf("after two concurrent saves:\n%s\nwant both keys (a lost update otherwise)", body)
	}
}

func TestConcurrentLogoutIsNotUndone(t *testing.T) {
	g := newGate()
	e := newServerEnvWith(t, coatcheck.Config{}, concurrencyApp(g))
	e.get(t, "/set?k=user&v=alice")
	finish := e.slow(t, g, "/set?k=cart&v=book")
	e.get(t, "/logout")
	res := finish()
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("slow request: %v", res)
	}
	if sc := res.Header.Get("Set-Cookie"); sc == "" || res.Cookies()[0].MaxAge >= 0 {
		t.Errorf("the slow request's response must delete the cookie, got %q", sc)
	}
	if keys := e.store.keys(t); len(keys) != 0 {
		t.Errorf("the slow request resurrected the logged-out session: %v", keys)
	}
}

func TestSameKeyConflict(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run("strict="+strconv.FormatBool(strict), func(t *testing.T) {
			g := newGate()
			e := newServerEnvWith(t, coatcheck.Config{Server: coatcheck.ServerConfig{StrictConflicts: strict}}, concurrencyApp(g))
			e.get(t, "/incr?k=n") // n=1
			finish := e.slow(t, g, "/incr?k=n")
			e.get(t, "/incr?k=n") // n=2 while the slow one read 1
			res := finish()
			_, body := e.get(t, "/dump")
			if strict {
				if res.StatusCode != http.StatusConflict {
					t.Errorf("strict: status %d, want 409", res.StatusCode)
				}
				if body != "_permanent=true\nn=2\n" {
					t.Errorf("strict: %q, want the first writer's n=2 kept", body)
				}
			} else if res.StatusCode != 200 || body != "_permanent=true\nn=2\n" {
				// the later write (n=2 from a stale read of 1) wins the key
				t.Errorf("default: status %d, %q", res.StatusCode, body)
			}
		})
	}
}

func TestManyConcurrentWritersLoseNothing(t *testing.T) {
	const writers = 12
	g := &gate{make(chan struct{}), make(chan struct{})}
	e := newServerEnvWith(t, coatcheck.Config{}, concurrencyApp(g))
	e.get(t, "/set?k=user&v=alice")
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := e.client.Get(fmt.Sprintf("%s/set?k=k%02d&v=%d&hold=1", e.srv.URL, i, i))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("writer %d: status %d", i, res.StatusCode)
			}
		}(i)
	}
	for i := 0; i < writers; i++ {
		<-g.loaded // every writer holds the same old copy
	}
	close(g.release)
	wg.Wait()
	data, _, err := e.m.Admin().Get(context.Background(), e.cookie(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < writers; i++ {
		if data[fmt.Sprintf("k%02d", i)] != strconv.Itoa(i) {
			t.Errorf("key k%02d lost: %v", i, data)
		}
	}
}
