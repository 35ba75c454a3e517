package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

// rep collects the failures of one of the Run* functions below: t.Error in
// a real run, a recorder in the suite's own tests (which prove that each
// check can fail). A non-nil error returned by a check body is fatal.
type rep struct {
	t      *testing.T
	n      atomic.Int64
	report func(string)
}

func (r *rep) errorf(format string, args ...any) {
	if n := r.n.Add(1); n <= maxReported {
		r.report(fmt.Sprintf(format, args...))
	} else if n == maxReported+1 {
		r.report("(further failures not reported)")
	}
}

func newRep(t *testing.T) *rep {
	return &rep{t: t, report: func(s string) { t.Helper(); t.Error(s) }}
}

// finish reports a fatal error or a skip of a check body.
func finish(t *testing.T, err error) {
	t.Helper()
	var skip skipError
	switch {
	case errors.As(err, &skip):
		t.Skip(string(skip))
	case err != nil:
		t.Fatal(err)
	}
}

// cleanupKeys deletes keys from s when t ends.
func cleanupKeys(t *testing.T, s coatcheck.Store, keys ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, k := range keys {
			if err := s.Delete(ctx, k); err != nil {
				t.Logf("storetest: cleanup: Delete(%q): %v", k, err)
				return
			}
		}
	})
}

// ---- RunFaults ----

// FaultDeadline is the context deadline RunFaults gives each call while
// the server is unreachable, and FaultSlack how much later than that
// deadline the call may return.
const (
	FaultDeadline = 300 * time.Millisecond
	FaultSlack    = 1500 * time.Millisecond
)

// RunFaults checks how a store behaves when its server hangs or goes away.
// It starts a Proxy in front of target (the real server's host:port), and
// newStore must build a store that reaches its server only through addr,
// the proxy's address.
//
// After a successful Set through the proxy:
//   - Blackhole: every method (Get, Set, Delete, and Touch, GetAndTouch,
//     CompareAndSet, Iterate, DeleteExpired where implemented), called with
//     a FaultDeadline context, returns a non-nil error (never found=false
//     with a nil error, never a pretended success) within FaultDeadline +
//     FaultSlack.
//   - Cut: the same, for a server that refuses connections.
//   - Restore: the store answers again within 5 s, and the value set before
//     the faults is intact.
//
// The calls made during the faults that write touch other keys than the
// one checked after Restore, since a write that timed out may still land
// when the network comes back. The whole check takes 2-5 s against a
// local server (most of it waiting for deadlines and reconnections).
func RunFaults(t *testing.T, target string, newStore func(t *testing.T, addr string) coatcheck.Store) {
	t.Helper()
	r := newRep(t)
	p := NewProxy(t, target)
	finish(t, runFaults(r, p, newStore(t, p.Addr())))
}

type faultOp struct {
	name string
	call func(ctx context.Context) (outcome string, err error)
}

func faultOps(s coatcheck.Store, key, scratch string, value []byte) []faultOp {
	exp := time.Now().Add(time.Hour)
	ops := []faultOp{
		{"Get", func(ctx context.Context) (string, error) {
			d, found, err := s.Get(ctx, key)
			return fmt.Sprintf("(%s, %v)", show(d), found), err
		}},
		{"Set", func(ctx context.Context) (string, error) { return "", s.Set(ctx, scratch, value, exp) }},
		{"Delete", func(ctx context.Context) (string, error) { return "", s.Delete(ctx, scratch) }},
	}
	if ts, ok := s.(coatcheck.Toucher); ok {
		ops = append(ops, faultOp{"Touch", func(ctx context.Context) (string, error) {
			found, err := ts.Touch(ctx, scratch, exp)
			return fmt.Sprintf("found=%v", found), err
		}})
	}
	if gt, ok := s.(coatcheck.GetToucher); ok {
		ops = append(ops, faultOp{"GetAndTouch", func(ctx context.Context) (string, error) {
			d, found, err := gt.GetAndTouch(ctx, key, exp)
			return fmt.Sprintf("(%s, %v)", show(d), found), err
		}})
	}
	if cs, ok := s.(coatcheck.CompareAndSetter); ok {
		ops = append(ops, faultOp{"CompareAndSet", func(ctx context.Context) (string, error) {
			swapped, err := cs.CompareAndSet(ctx, scratch, nil, value, exp)
			return fmt.Sprintf("swapped=%v", swapped), err
		}})
	}
	if it, ok := s.(coatcheck.Iterator); ok {
		ops = append(ops, faultOp{"Iterate", func(ctx context.Context) (string, error) {
			n := 0
			err := it.Iterate(ctx, key, func(string, time.Time) bool { n++; return true })
			return fmt.Sprintf("%d keys", n), err
		}})
	}
	if cl, ok := s.(coatcheck.Cleaner); ok {
		ops = append(ops, faultOp{"DeleteExpired", func(ctx context.Context) (string, error) {
			n, err := cl.DeleteExpired(ctx)
			return fmt.Sprintf("removed %d", n), err
		}})
	}
	return ops
}

func runFaults(r *rep, p *Proxy, s coatcheck.Store) error {
	if s == nil {
		return errors.New("storetest: newStore returned nil")
	}
	ns := newNamespace()
	key, scratch := ns+"faults", ns+"faults-scratch"
	cleanupKeys(r.t, s, key, scratch)
	value := []byte("value set before the faults")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Set(ctx, key, value, time.Now().Add(time.Hour)); err != nil {
		return fmt.Errorf("Set through the proxy before any fault: %v", err)
	}
	ops := faultOps(s, key, scratch, []byte("written during a fault"))
	for _, phase := range []struct {
		name  string
		start func()
	}{{"Blackhole", p.Blackhole}, {"Cut", p.Cut}} {
		phase.start()
		for _, op := range ops {
			cctx, ccancel := context.WithTimeout(context.Background(), FaultDeadline)
			t0 := time.Now()
			outcome, err := callBounded(op.call, cctx, FaultDeadline+FaultSlack+2*time.Second)
			took := time.Since(t0)
			ccancel()
			switch {
			case errors.Is(err, errStillRunning):
				r.errorf("%s: %s with a %v deadline had not returned after %v", phase.name, op.name, FaultDeadline, took.Round(time.Millisecond))
			case err == nil:
				r.errorf("%s: %s = %s with a nil error, want an error (the server is unreachable)", phase.name, op.name, outcome)
			case took > FaultDeadline+FaultSlack:
				r.errorf("%s: %s returned its error after %v, want within the %v deadline + %v", phase.name, op.name, took.Round(time.Millisecond), FaultDeadline, FaultSlack)
			}
		}
	}
	p.Restore()
	deadline := time.Now().Add(5 * time.Second)
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
		got, found, err := s.Get(cctx, key)
		ccancel()
		if err == nil {
			if !found {
				r.errorf("Restore: Get: found = false, want the value set before the faults")
			} else if string(got) != string(value) {
				r.errorf("Restore: Get: value = %s", diff(got, value))
			}
			break
		}
		lastErr = err
		if time.Now().After(deadline) {
			r.errorf("Restore: the store still fails 5 s after the server came back: %v", lastErr)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := s.Set(sctx, scratch, value, time.Now().Add(time.Hour)); err != nil {
		r.errorf("Restore: Set: %v", err)
	}
	return nil
}

var errStillRunning = errors.New("still running")

// callBounded runs call in a goroutine and gives up waiting after limit, so
// a store that hangs fails the check instead of the whole test binary.
func callBounded(call func(context.Context) (string, error), ctx context.Context, limit time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := call(ctx)
		ch <- res{s, err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(limit):
		return "", errStillRunning
	}
}

// ---- RunTwoClients ----

// RunTwoClients checks two independent clients of one backend (newA and
// newB must each build a store with its own connection to the same server):
//   - writes, overwrites and deletes made through one are seen by the other;
//   - 8 goroutines on each client incrementing one counter with
//     Get + CompareAndSet loops end with the exact total (skipped when the
//     stores are not coatcheck.CompareAndSetter).
func RunTwoClients(t *testing.T, newA, newB func(t *testing.T) coatcheck.Store) {
	t.Helper()
	a, b := newA(t), newB(t)
	t.Run("Visibility", func(t *testing.T) { finish(t, twoClientsVisibility(newRep(t), a, b)) })
	t.Run("CompareAndSetCounter", func(t *testing.T) { finish(t, twoClientsCounter(newRep(t), a, b, 8, 10)) })
}

func twoClientsVisibility(r *rep, a, b coatcheck.Store) error {
	if a == nil || b == nil {
		return errors.New("storetest: newA or newB returned nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := newNamespace() + "two"
	cleanupKeys(r.t, a, key)
	exp := time.Now().Add(time.Hour)
	look := func(s coatcheck.Store, who string, want []byte) {
		got, found, err := s.Get(ctx, key)
		switch {
		case err != nil:
			r.errorf("Get through %s: %v", who, err)
		case want == nil && found:
			r.errorf("Get through %s after the other client's Delete: found %s, want absent", who, show(got))
		case want != nil && !found:
			r.errorf("Get through %s: absent, want %s written by the other client", who, show(want))
		case want != nil && string(got) != string(want):
			r.errorf("Get through %s: %s", who, diff(got, want))
		}
	}
	if err := a.Set(ctx, key, []byte("from A"), exp); err != nil {
		return fmt.Errorf("Set through A: %v", err)
	}
	look(b, "B", []byte("from A"))
	if err := b.Set(ctx, key, []byte("from B"), exp); err != nil {
		return fmt.Errorf("Set through B: %v", err)
	}
	look(a, "A", []byte("from B"))
	if err := a.Delete(ctx, key); err != nil {
		return fmt.Errorf("Delete through A: %v", err)
	}
	look(b, "B", nil)
	return nil
}

func twoClientsCounter(r *rep, a, b coatcheck.Store, perClient, each int) error {
	ca, okA := a.(coatcheck.CompareAndSetter)
	cb, okB := b.(coatcheck.CompareAndSetter)
	if !okA || !okB {
		return skipError("store does not implement coatcheck.CompareAndSetter")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := newNamespace() + "counter"
	cleanupKeys(r.t, a, key)
	exp := time.Now().Add(time.Hour)
	if err := a.Set(ctx, key, []byte("0"), exp); err != nil {
		return fmt.Errorf("Set: %v", err)
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i := 0; i < 2*perClient; i++ {
		s, cs := a, ca
		if i%2 == 1 {
			s, cs = b, cb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each && !failed.Load(); j++ {
				for attempt := 0; ; attempt++ {
					old, found, err := s.Get(ctx, key)
					if err != nil || !found {
						r.errorf("Get of the counter: found=%v err=%v", found, err)
						failed.Store(true)
						return
					}
					n, err := strconv.Atoi(string(old))
					if err != nil {
						r.errorf("counter value %s is not a number (torn write?)", show(old))
						failed.Store(true)
						return
					}
					ok, err := cs.CompareAndSet(ctx, key, old, []byte(strconv.Itoa(n+1)), exp)
					if err != nil {
						r.errorf("CompareAndSet: %v", err)
						failed.Store(true)
						return
					}
					if ok {
						break
					}
					if attempt > 1000 {
						r.errorf("CompareAndSet lost 1000 times in a row")
						failed.Store(true)
						return
					}
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		return nil
	}
	got, _, err := b.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("final Get: %v", err)
	}
	if want := strconv.Itoa(2 * perClient * each); string(got) != want {
		r.errorf("counter = %s after %d increments through two clients, want %s (lost updates: CompareAndSet is not atomic across clients)", show(got), 2*perClient*each, want)
	}
	return nil
}

// ---- RunCleanup ----

// RunCleanup checks a store's background sweeper. newStore builds a store
// that sweeps every interval (RunCleanup uses 100 ms); present reports
// whether the backend still physically holds key, bypassing the store's
// expiry check (a raw query). The store must implement io.Closer.
//   - An entry expiring in 200 ms is physically gone within 20 intervals
//     after its expiry; a live entry is left alone.
//   - After Close returns (within 2 s), the sweeper no longer runs: an entry
//     that expires after Close is still present 10 intervals later.
func RunCleanup(t *testing.T, newStore func(t *testing.T, interval time.Duration) coatcheck.Store, present func(t *testing.T, key string) bool) {
	t.Helper()
	const interval = 100 * time.Millisecond
	finish(t, runCleanup(newRep(t), newStore(t, interval), interval, present))
}

func runCleanup(r *rep, s coatcheck.Store, interval time.Duration, present func(t *testing.T, key string) bool) error {
	t := r.t
	if s == nil {
		return errors.New("storetest: newStore returned nil")
	}
	closer, ok := s.(io.Closer)
	if !ok {
		return fmt.Errorf("storetest: %T has a sweeper but no Close method to stop it", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := newNamespace()
	dying, live, late := ns+"dying", ns+"live", ns+"after-close"
	cleanupKeys(t, s, dying, live, late)
	exp := time.Now().Add(200 * time.Millisecond)
	if err := s.Set(ctx, dying, []byte("x"), exp); err != nil {
		return fmt.Errorf("Set: %v", err)
	}
	if err := s.Set(ctx, live, []byte("y"), time.Now().Add(time.Hour)); err != nil {
		return fmt.Errorf("Set: %v", err)
	}
	if !present(t, dying) || !present(t, live) {
		return errors.New("present reports a key just set as absent")
	}
	limit := time.Until(exp) + 20*interval
	t0 := time.Now()
	for present(t, dying) {
		if time.Since(t0) > limit {
			r.errorf("an entry expired %v ago is still in the backend: the sweeper did not remove it", time.Since(exp).Round(time.Millisecond))
			break
		}
		time.Sleep(interval / 4)
	}
	if !present(t, live) {
		r.errorf("the sweeper removed a live entry")
	} else if _, found, err := s.Get(ctx, live); err != nil || !found {
		r.errorf("Get of a live entry after sweeps: found=%v err=%v", found, err)
	}
	lateExp := time.Now().Add(3 * interval)
	if err := s.Set(ctx, late, []byte("z"), lateExp); err != nil {
		return fmt.Errorf("Set: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- closer.Close() }()
	select {
	case err := <-done:
		if err != nil {
			r.errorf("Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		r.errorf("Close did not return within 2 s")
		return nil
	}
	time.Sleep(time.Until(lateExp) + 10*interval)
	if !present(t, late) {
		r.errorf("an entry expiring after Close was swept: the sweeper still runs after Close")
	}
	return nil
}

// ---- RunSessions ----

// RunSessions checks the store through the real middleware
// (coatcheck.New with Config{SecretKey, Store}), calling its handler from
// many goroutines:
//   - ConcurrentKeys: after a login request, 50 concurrent requests of that
//     one session each set their own key k0..k49; every response is 2xx,
//     and afterwards the session holds all 50 keys and the login's key.
//   - SameKey: 20 concurrent requests set one key; every response is 2xx
//     (last writer wins, no 409 without StrictConflicts) and the key holds
//     one of the written values.
func RunSessions(t *testing.T, newStore func(t *testing.T) coatcheck.Store) {
	t.Helper()
	t.Run("ConcurrentKeys", func(t *testing.T) { finish(t, sessionsConcurrentKeys(newRep(t), newStore(t), 50)) })
	t.Run("SameKey", func(t *testing.T) { finish(t, sessionsSameKey(newRep(t), newStore(t), 20)) })
}

// sessionApp is a tiny application: /login sets user, /set?k=K&v=V sets
// K=V, /dump lists the session's keys and values.
func sessionApp(r *rep, s coatcheck.Store) (http.Handler, error) {
	if s == nil {
		return nil, errors.New("storetest: newStore returned nil")
	}
	m, err := coatcheck.New(coatcheck.Config{SecretKey: "storetest-" + newNamespace(), Store: s})
	if err != nil {
		return nil, fmt.Errorf("coatcheck.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, req *http.Request) {
		coatcheck.FromRequest(req).Set("user", "storetest")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, req *http.Request) {
		coatcheck.FromRequest(req).Set(req.URL.Query().Get("k"), req.URL.Query().Get("v"))
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/dump", func(w http.ResponseWriter, req *http.Request) {
		sess := coatcheck.FromRequest(req)
		var lines []string
		for _, k := range sess.Keys() {
			v, _ := sess.Get(k)
			lines = append(lines, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(lines)
		io.WriteString(w, strings.Join(lines, "\n"))
	})
	return m.Handler(mux), nil
}

func do(h http.Handler, target string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func login(r *rep, h http.Handler) ([]*http.Cookie, error) {
	w := do(h, "/login", nil)
	if w.Code/100 != 2 {
		return nil, fmt.Errorf("/login: status %d: %s", w.Code, strings.TrimSpace(w.Body.String()))
	}
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		return nil, errors.New("/login set no cookie")
	}
	return cookies, nil
}

func dump(h http.Handler, cookies []*http.Cookie) (map[string]string, error) {
	w := do(h, "/dump", cookies)
	if w.Code/100 != 2 {
		return nil, fmt.Errorf("/dump: status %d: %s", w.Code, strings.TrimSpace(w.Body.String()))
	}
	m := map[string]string{}
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func sessionsConcurrentKeys(r *rep, s coatcheck.Store, n int) error {
	h, err := sessionApp(r, s)
	if err != nil {
		return err
	}
	cookies, err := login(r, h)
	if err != nil {
		return err
	}
	concurrently(n, func(i int) {
		w := do(h, fmt.Sprintf("/set?k=k%d&v=%d", i, i), cookies)
		if w.Code/100 != 2 {
			r.errorf("request %d of %d concurrent ones setting their own key: status %d: %s", i, n, w.Code, strings.TrimSpace(w.Body.String()))
		}
	})
	got, err := dump(h, cookies)
	if err != nil {
		return err
	}
	var missing []string
	for i := 0; i < n; i++ {
		if got[fmt.Sprintf("k%d", i)] != strconv.Itoa(i) {
			missing = append(missing, fmt.Sprintf("k%d", i))
		}
	}
	if len(missing) > 0 {
		r.errorf("after %d concurrent requests each setting its own key, %d keys are missing or wrong: %s (lost updates)", n, len(missing), strings.Join(missing, " "))
	}
	if got["user"] != "storetest" {
		r.errorf("the login's key user = %q after the concurrent requests, want \"storetest\"", got["user"])
	}
	return nil
}

func sessionsSameKey(r *rep, s coatcheck.Store, n int) error {
	h, err := sessionApp(r, s)
	if err != nil {
		return err
	}
	cookies, err := login(r, h)
	if err != nil {
		return err
	}
	concurrently(n, func(i int) {
		w := do(h, fmt.Sprintf("/set?k=same&v=%d", i), cookies)
		if w.Code/100 != 2 {
			r.errorf("request %d of %d concurrent ones setting the same key: status %d, want 2xx (last writer wins without StrictConflicts): %s", i, n, w.Code, strings.TrimSpace(w.Body.String()))
		}
	})
	got, err := dump(h, cookies)
	if err != nil {
		return err
	}
	if v, err := strconv.Atoi(got["same"]); err != nil || v < 0 || v >= n {
		r.errorf("after %d concurrent writes of one key it holds %q, want one of the written values", n, got["same"])
	}
	if got["user"] != "storetest" {
		r.errorf("the login's key user = %q after the concurrent requests, want \"storetest\"", got["user"])
	}
	return nil
}
