package coatcheck

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// mapInterface is a custom SessionInterface keeping sessions in a map keyed
// by a plain cookie: the shape of a user-written interface.
type mapInterface struct {
	mu      sync.Mutex
	data    map[string]map[string]any
	opens   atomic.Int32
	saves   atomic.Int32
	openErr error
	saveErr error
}

func newMapInterface() *mapInterface { return &mapInterface{data: map[string]map[string]any{}} }

func (mi *mapInterface) Open(r *http.Request) (*Session, error) {
	mi.opens.Add(1)
	if mi.openErr != nil {
		return nil, mi.openErr
	}
	c, err := r.Cookie("sid")
	if err != nil {
		return NewSession(nil, true), nil
	}
	mi.mu.Lock()
	defer mi.mu.Unlock()
	d, ok := mi.data[c.Value]
	if !ok {
		return NewSession(nil, true), nil
	}
	cp := map[string]any{}
	for k, v := range d {
		cp[k] = v
	}
	return NewSession(cp, false), nil
}

func (mi *mapInterface) Save(r *http.Request, s *Session, h http.Header) error {
	mi.saves.Add(1)
	if mi.saveErr != nil {
		return mi.saveErr
	}
	if !s.Modified() {
		return nil
	}
	mi.mu.Lock()
	defer mi.mu.Unlock()
	mi.data["fixed"] = s.All()
	h.Add("Set-Cookie", "sid=fixed; Path=/")
	return nil
}

func newTestManager(t *testing.T, mi SessionInterface) *Manager {
	t.Helper()
	m, err := New(Config{Interface: mi, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLazyOpen(t *testing.T) {
	mi := newMapInterface()
	m := newTestManager(t, mi)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "sid", Value: "fixed"})
	h.ServeHTTP(rec, req)
	if n := mi.opens.Load(); n != 0 {
		t.Errorf("Open called %d times for a request that never touched the session", n)
	}
	if n := mi.saves.Load(); n != 0 {
		t.Errorf("Save called %d times for an unopened session", n)
	}
	if v := rec.Header().Get("Vary"); v != "" {
		t.Errorf("Vary = %q for an untouched session", v)
	}
}

func TestCommitBeforeFirstByte(t *testing.T) {
	mi := newMapInterface()
	m := newTestManager(t, mi)
	var seenInHeaderAtWrite string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("user", "alice")
		w.WriteHeader(http.StatusCreated)
		// headers are frozen now; the cookie must already be there
		seenInHeaderAtWrite = w.Header().Get("Set-Cookie")
		FromRequest(r).Set("late", true) // after commit: not saved in this response
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Result().Header.Get("Set-Cookie"); got != "sid=fixed; Path=/" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if seenInHeaderAtWrite == "" {
		t.Error("cookie was not set before WriteHeader")
	}
	if mi.data["fixed"]["user"] != "alice" {
		t.Errorf("saved %v", mi.data["fixed"])
	}
	if _, ok := mi.data["fixed"]["late"]; ok {
		t.Error("a write after commit was saved in the same response")
	}
	if n := mi.saves.Load(); n != 1 {
		t.Errorf("Save called %d times, want 1", n)
	}
}

func TestHandlerWritingNothingStillGetsCookie(t *testing.T) {
	mi := newMapInterface()
	m := newTestManager(t, mi)
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("k", "v")
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Set-Cookie") != "sid=fixed; Path=/" {
		t.Errorf("status %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

func TestOpenErrorGoesToErrorHandler(t *testing.T) {
	mi := newMapInterface()
	mi.openErr = errors.Join(ErrStoreUnavailable, errors.New("dial tcp 127.0.0.1:6379: connection refused"))
	m := newTestManager(t, mi)
	var wroteErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		if _, ok := s.Get("user"); ok {
			t.Error("a failed session returned data")
		}
		w.Header().Set("Location", "/elsewhere")
		w.Header().Set("Content-Type", "application/json")
		_, wroteErr = io.WriteString(w, `{"fresh":"session"}`)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "fresh") || rec.Header().Get("Location") != "" {
		t.Errorf("the handler's response leaked through: %q %v", rec.Body.String(), rec.Header())
	}
	if !errors.Is(wroteErr, errReplaced) {
		t.Errorf("handler write error = %v, want errReplaced", wroteErr)
	}
}

func TestSaveErrorGoesToErrorHandler(t *testing.T) {
	mi := newMapInterface()
	mi.saveErr = ErrCookieTooLarge
	var got error
	m, err := New(Config{Interface: mi, Logger: discardLogger(), ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "custom", 599)
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("k", "v")
		http.Redirect(w, r, "/", http.StatusFound)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 599 || !errors.Is(got, ErrCookieTooLarge) {
		t.Errorf("status %d err %v", rec.Code, got)
	}
}

func TestNoMiddleware(t *testing.T) {
	s := FromRequest(httptest.NewRequest("GET", "/", nil))
	s.Set("k", "v")
	if _, ok := s.Get("k"); ok {
		t.Error("detached session stored a value")
	}
	if !errors.Is(s.Err(), ErrNoMiddleware) {
		t.Errorf("Err = %v", s.Err())
	}
}

type flushHijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (f *flushHijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	f.hijacked = true
	return nil, nil, nil
}

func TestFlushHijackReadFromCommit(t *testing.T) {
	for _, op := range []string{"flush", "controller-flush", "hijack", "readfrom"} {
		t.Run(op, func(t *testing.T) {
			mi := newMapInterface()
			m := newTestManager(t, mi)
			rec := &flushHijackRecorder{ResponseRecorder: httptest.NewRecorder()}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				FromRequest(r).Set("k", op)
				switch op {
				case "flush":
					w.(http.Flusher).Flush()
				case "controller-flush":
					if err := http.NewResponseController(w).Flush(); err != nil {
						t.Error(err)
					}
				case "hijack":
					if _, _, err := http.NewResponseController(w).Hijack(); err != nil {
						t.Error(err)
					}
				case "readfrom":
					if _, err := io.Copy(w, strings.NewReader("body")); err != nil {
						t.Error(err)
					}
				}
				if mi.saves.Load() != 1 {
					t.Errorf("%s did not commit the session first", op)
				}
			}))
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if op == "hijack" && !rec.hijacked {
				t.Error("Hijack did not reach the underlying writer")
			}
			if op == "flush" && !rec.Flushed {
				t.Error("Flush did not reach the underlying writer")
			}
		})
	}
}

func TestConcurrentUseWithinRequest(t *testing.T) {
	mi := newMapInterface()
	m := newTestManager(t, mi)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s.Set("k"+strconv.Itoa(i), i)
				s.Get("k0")
				s.Keys()
				s.Flash("m")
			}(i)
		}
		wg.Wait()
		if s.Len() != 51 { // 50 keys + _flashes
			t.Errorf("Len = %d", s.Len())
		}
		if got := len(s.Flashes()); got != 50 {
			t.Errorf("%d flashes, want 50", got)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
