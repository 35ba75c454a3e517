package storetest

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

// ---- a tiny real TCP key-value server and its client, for RunFaults ----

// kvServer answers "GET k", "SET k hexvalue", "DEL k" lines with "OK",
// "VAL hex" or "NONE".
func kvServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	m := map[string]string{}
	var wg sync.WaitGroup
	var cmu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		cmu.Lock()
		for c := range conns {
			c.Close()
		}
		cmu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns[c] = true
			cmu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					f := strings.Fields(sc.Text())
					reply := "ERR"
					mu.Lock()
					switch {
					case len(f) == 2 && f[0] == "GET":
						if v, ok := m[f[1]]; ok {
							reply = "VAL " + v
						} else {
							reply = "NONE"
						}
					case len(f) == 3 && f[0] == "SET":
						m[f[1]], reply = f[2], "OK"
					case len(f) == 2 && f[0] == "DEL":
						delete(m, f[1])
						reply = "OK"
					}
					mu.Unlock()
					if _, err := fmt.Fprintln(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

type faultBug int

const (
	fbNone          faultBug = iota
	fbSwallowGet             // Get reports not found when the server fails
	fbFakeSet                // Set reports success when the server fails
	fbIgnoreCtx              // calls ignore ctx and wait up to 4 s for the server
	fbNoReconnectOK          // after a failure the client stays broken
)

// kvClient is a Store talking to kvServer, one connection per call.
type kvClient struct {
	addr   string
	bug    faultBug
	broken bool
	mu     sync.Mutex
}

func (c *kvClient) call(ctx context.Context, line string) (string, error) {
	c.mu.Lock()
	broken := c.broken
	c.mu.Unlock()
	if broken {
		return "", errors.New("kv: client is broken")
	}
	if c.bug == fbIgnoreCtx {
		// Its own 2 s timeout instead of the caller's deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
	}
	d := net.Dialer{Timeout: 4 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err == nil {
		defer conn.Close()
		dl := time.Now().Add(4 * time.Second)
		if t, ok := ctx.Deadline(); ok && t.Before(dl) {
			dl = t
		}
		conn.SetDeadline(dl)
		if _, err = fmt.Fprintln(conn, line); err == nil {
			var reply string
			reply, err = bufio.NewReader(conn).ReadString('\n')
			if err == nil {
				return strings.TrimSpace(reply), nil
			}
		}
	}
	if c.bug == fbNoReconnectOK {
		c.mu.Lock()
		c.broken = true
		c.mu.Unlock()
	}
	return "", fmt.Errorf("kv: %w", err)
}

func (c *kvClient) Get(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := c.call(ctx, "GET "+hex.EncodeToString([]byte(key)))
	if err != nil {
		if c.bug == fbSwallowGet {
			return nil, false, nil
		}
		return nil, false, err
	}
	if r == "NONE" {
		return nil, false, nil
	}
	v, err := hex.DecodeString(strings.TrimPrefix(r, "VAL "))
	return v, true, err
}

func (c *kvClient) Set(ctx context.Context, key string, data []byte, _ time.Time) error {
	_, err := c.call(ctx, "SET "+hex.EncodeToString([]byte(key))+" "+hex.EncodeToString(data)+"00")
	if c.bug == fbFakeSet {
		return nil
	}
	return err
}

func (c *kvClient) Delete(ctx context.Context, key string) error {
	_, err := c.call(ctx, "DEL "+hex.EncodeToString([]byte(key)))
	return err
}

func runFaultsRecorded(t *testing.T, bug faultBug) []string {
	target := kvServer(t)
	p := NewProxy(t, target)
	var mu sync.Mutex
	var failures []string
	r := &rep{t: t, report: func(s string) { mu.Lock(); failures = append(failures, s); mu.Unlock() }}
	if err := runFaults(r, p, &kvClient{addr: p.Addr(), bug: bug}); err != nil {
		failures = append(failures, "fatal: "+err.Error())
	}
	return failures
}

func TestRunFaultsReference(t *testing.T) {
	// The reference client appends a byte to every value; store it in a
	// way Get undoes, so the Restore comparison holds.
	target := kvServer(t)
	RunFaults(t, target, func(t *testing.T, addr string) coatcheck.Store { return trimStore{&kvClient{addr: addr}} })
}

// trimStore undoes kvClient's trailing 0x00 (which keeps empty values
// representable on the line protocol).
type trimStore struct{ *kvClient }

func (s trimStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := s.kvClient.Get(ctx, key)
	if ok && len(v) > 0 {
		v = v[:len(v)-1]
	}
	return v, ok, err
}

func TestRunFaultsCatchesBrokenStores(t *testing.T) {
	for _, tc := range []struct {
		name string
		bug  faultBug
		want string
	}{
		{"SwallowGet", fbSwallowGet, "Get = (nil, false) with a nil error"},
		{"FakeSet", fbFakeSet, "Set =  with a nil error"},
		{"IgnoreCtx", fbIgnoreCtx, "returned its error after"},
		{"NoReconnect", fbNoReconnectOK, "Restore: the store still fails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failures := runFaultsRecorded(t, tc.bug)
			if !anyContains(failures, tc.want) {
				t.Errorf("RunFaults did not catch %s: failures %q, want one containing %q", tc.name, failures, tc.want)
			}
		})
	}
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestProxyModes(t *testing.T) {
	target := kvServer(t)
	p := NewProxy(t, target)
	c := &kvClient{addr: p.Addr()}
	ctx := context.Background()
	if err := c.Set(ctx, "k", []byte("v"), time.Time{}); err != nil {
		t.Fatalf("Set through the proxy: %v", err)
	}
	// An existing connection stops forwarding when blackholed.
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p.Blackhole()
	fmt.Fprintln(conn, "GET "+hex.EncodeToString([]byte("k")))
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
		t.Error("a blackholed connection delivered a reply")
	}
	// New connections are accepted and held.
	held, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Errorf("dial while blackholed: %v, want the connection accepted and held", err)
	} else {
		held.Close()
	}
	p.Cut()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 10)); err == nil || isTimeout(err) {
		t.Errorf("read on a cut connection: %v, want EOF/reset", err)
	}
	if _, _, err := c.Get(ctx, "k"); err == nil {
		t.Error("Get while cut succeeded")
	}
	p.Restore()
	if v, ok, err := c.Get(ctx, "k"); err != nil || !ok || string(v) != "v\x00" {
		t.Errorf("Get after Restore = %q, %v, %v", v, ok, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ---- RunTwoClients ----

func TestRunTwoClientsReference(t *testing.T) {
	shared := newRef(noBug)
	RunTwoClients(t, func(*testing.T) coatcheck.Store { return shared }, func(*testing.T) coatcheck.Store { return shared })
}

func recorder(t *testing.T) (*rep, func() []string) {
	var mu sync.Mutex
	var failures []string
	r := &rep{t: t, report: func(s string) { mu.Lock(); failures = append(failures, s); mu.Unlock() }}
	return r, func() []string { mu.Lock(); defer mu.Unlock(); return failures }
}

func TestRunTwoClientsCatchesBrokenStores(t *testing.T) {
	t.Run("SeparateBackends", func(t *testing.T) {
		r, got := recorder(t)
		if err := twoClientsVisibility(r, newRef(noBug), newRef(noBug)); err != nil {
			t.Fatal(err)
		}
		if !anyContains(got(), "written by the other client") {
			t.Errorf("not caught: %q", got())
		}
	})
	t.Run("CASNotAtomic", func(t *testing.T) {
		r, got := recorder(t)
		shared := newRef(bugCASNotAtomic)
		if err := twoClientsCounter(r, shared, shared, 8, 10); err != nil {
			t.Fatal(err)
		}
		if !anyContains(got(), "lost updates") {
			t.Errorf("not caught: %q", got())
		}
	})
	t.Run("NoCAS", func(t *testing.T) {
		r, _ := recorder(t)
		err := twoClientsCounter(r, basicStore{newRef(noBug)}, basicStore{newRef(noBug)}, 1, 1)
		var skip skipError
		if !errors.As(err, &skip) {
			t.Errorf("a store without CompareAndSet: %v, want a skip", err)
		}
	})
}

// ---- RunCleanup ----

type sweepBug int

const (
	sbNone     sweepBug = iota
	sbNoSweep           // the sweeper never runs
	sbSweepAll          // the sweeper removes live entries too
	sbNoStop            // Close does not stop the sweeper
	sbNoClose           // the store has no Close method
)

// sweeper is a refStore with a background DeleteExpired loop.
type sweeper struct {
	*refStore
	bug  sweepBug
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newSweeper(b sweepBug, interval time.Duration) *sweeper {
	s := &sweeper{refStore: newRef(noBug), bug: b, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tk.C:
				switch b {
				case sbNoSweep:
				case sbSweepAll:
					s.mu.Lock()
					clear(s.m)
					s.mu.Unlock()
				default:
					s.DeleteExpired(context.Background())
				}
			}
		}
	}()
	return s
}

func (s *sweeper) Close() error {
	if s.bug != sbNoStop {
		s.once.Do(func() { close(s.stop) })
		<-s.done
	}
	return nil
}

func (s *sweeper) present(_ *testing.T, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	return ok
}

// noClose hides sweeper's Close.
type noClose struct{ *refStore }

func TestRunCleanupReference(t *testing.T) {
	var s *sweeper
	RunCleanup(t, func(t *testing.T, interval time.Duration) coatcheck.Store {
		s = newSweeper(sbNone, interval)
		t.Cleanup(func() { s.Close() })
		return s
	}, func(t *testing.T, key string) bool { return s.present(t, key) })
}

func TestRunCleanupCatchesBrokenStores(t *testing.T) {
	for _, tc := range []struct {
		name string
		bug  sweepBug
		want string
	}{
		{"NoSweep", sbNoSweep, "the sweeper did not remove it"},
		{"SweepAll", sbSweepAll, "removed a live entry"},
		{"NoStop", sbNoStop, "still runs after Close"},
		{"NoClose", sbNoClose, "no Close method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, got := recorder(t)
			s := newSweeper(tc.bug, 100*time.Millisecond)
			defer func() { s.once.Do(func() { close(s.stop) }); <-s.done }()
			var store coatcheck.Store = s
			if tc.bug == sbNoClose {
				store = noClose{s.refStore}
			}
			if err := runCleanup(r, store, 100*time.Millisecond, s.present); err != nil {
				r.report("fatal: " + err.Error())
			}
			if !anyContains(got(), tc.want) {
				t.Errorf("RunCleanup did not catch %s: failures %q, want one containing %q", tc.name, got(), tc.want)
			}
		})
	}
}

// ---- RunSessions ----

func TestRunSessionsReference(t *testing.T) {
	RunSessions(t, func(*testing.T) coatcheck.Store { return newRef(noBug) })
}

// failingSets is a store whose every write fails.
type failingSets struct{ *refStore }

func (failingSets) Set(context.Context, string, []byte, time.Time) error {
	return errors.New("write failed")
}

func (failingSets) CompareAndSet(context.Context, string, []byte, []byte, time.Time) (bool, error) {
	return false, errors.New("write failed")
}

// loseAfterLogin is a store that, once the login's entry exists, keeps
// accepting writes but keeps only the login's data (lost updates).
type loseAfterLogin struct {
	*refStore
	mu    sync.Mutex
	first bool
}

func (s *loseAfterLogin) Set(ctx context.Context, k string, d []byte, e time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first {
		return nil
	}
	s.first = true
	return s.refStore.Set(ctx, k, d, e)
}

func (s *loseAfterLogin) CompareAndSet(ctx context.Context, k string, old, d []byte, e time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first {
		return true, nil
	}
	s.first = true
	return s.refStore.CompareAndSet(ctx, k, old, d, e)
}

func TestRunSessionsCatchesBrokenStores(t *testing.T) {
	t.Run("LostUpdates", func(t *testing.T) {
		r, got := recorder(t)
		if err := sessionsConcurrentKeys(r, &loseAfterLogin{refStore: newRef(noBug)}, 50); err != nil {
			r.report("fatal: " + err.Error())
		}
		if !anyContains(got(), "lost updates") {
			t.Errorf("not caught: %q", got())
		}
	})
	t.Run("CASNotAtomic", func(t *testing.T) {
		r, got := recorder(t)
		if err := sessionsConcurrentKeys(r, newRef(bugCASNotAtomic), 50); err != nil {
			r.report("fatal: " + err.Error())
		}
		if !anyContains(got(), "lost updates") {
			t.Errorf("not caught: %q", got())
		}
	})
	t.Run("FailingWrites", func(t *testing.T) {
		r, got := recorder(t)
		err := sessionsSameKey(r, failingSets{newRef(noBug)}, 5)
		if err == nil && !anyContains(got(), "status 5") {
			t.Errorf("not caught: %v %q", err, got())
		}
	})
}
