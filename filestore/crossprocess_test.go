package filestore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
)

var _ coatcheck.CompareAndSetter = (*Store)(nil)

const (
	helperDirEnv  = "FILESTORE_TEST_HELPER_DIR"
	helperModeEnv = "FILESTORE_TEST_HELPER_MODE"
	helperN       = 200
)

// increment adds one to the decimal counter under key: with CompareAndSet
// (retrying until it swaps), or with a plain Get then Set (the lossy
// read-modify-write a store without CAS leaves the Manager).
func increment(ctx context.Context, s *Store, key string, cas bool) error {
	for {
		old, found, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		n := 0
		if found {
			if n, err = strconv.Atoi(string(old)); err != nil {
				return fmt.Errorf("counter %q: %v", old, err)
			}
		} else {
			old = nil
		}
		next := []byte(strconv.Itoa(n + 1))
		if !cas {
			return s.Set(ctx, key, next, time.Time{})
		}
		ok, err := s.CompareAndSet(ctx, key, old, next, time.Time{})
		if err != nil || ok {
			return err
		}
	}
}

// TestCASHelperProcess is the child of TestCompareAndSetAcrossProcesses; it
// does nothing unless started by it.
func TestCASHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	s := mustNew(t, dir, Options{})
	cas := os.Getenv(helperModeEnv) == "cas"
	for i := 0; i < helperN; i++ {
		if err := increment(context.Background(), s, "session:counter", cas); err != nil {
			t.Fatal(err)
		}
	}
}

// race runs two processes of helperN increments each and returns the final
// counter.
func race(t *testing.T, mode string) int {
	t.Helper()
	dir := t.TempDir()
	mustNew(t, dir, Options{})
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCASHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperModeEnv+"="+mode)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	s := mustNew(t, dir, Options{})
	b, found, err := s.Get(context.Background(), "session:counter")
	if err != nil || !found {
		t.Fatalf("Get counter = %v, %v", found, err)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCompareAndSetAcrossProcesses: two OS processes race increments of one
// key. With Get+Set most updates are lost; with CompareAndSet (under the
// directory flock) none are.
func TestCompareAndSetAcrossProcesses(t *testing.T) {
	if !crossProcess {
		t.Skip("no flock on this platform: CompareAndSet is atomic only within a process")
	}
	start := time.Now()
	lossy := race(t, "set")
	t.Logf("Get+Set: %d of %d increments kept (%.0f%% lost) in %v", lossy, 2*helperN, 100*float64(2*helperN-lossy)/float64(2*helperN), time.Since(start))
	start = time.Now()
	if got := race(t, "cas"); got != 2*helperN {
		t.Errorf("CompareAndSet across processes: counter = %d, want %d", got, 2*helperN)
	} else {
		t.Logf("CompareAndSet: %d of %d kept in %v", got, 2*helperN, time.Since(start))
	}
}

// TestCompareAndSetSemantics covers the contract's corner cases.
func TestCompareAndSetSemantics(t *testing.T) {
	ctx := context.Background()
	now := int64(vecNow)
	s := mustNew(t, t.TempDir(), Options{Now: func() time.Time { return time.Unix(now, 0) }})
	at := func(d int64) time.Time { return time.Unix(vecNow+d, 0) }
	check := func(ok bool, err error, want bool) {
		t.Helper()
		if err != nil || ok != want {
			t.Fatalf("CompareAndSet = %v, %v; want %v", ok, err, want)
		}
	}
	ok, err := s.CompareAndSet(ctx, "k", []byte("x"), []byte("1"), at(100))
	check(ok, err, false) // absent, old non-nil
	ok, err = s.CompareAndSet(ctx, "k", nil, []byte("1"), at(100))
	check(ok, err, true)
	ok, err = s.CompareAndSet(ctx, "k", nil, []byte("2"), at(100))
	check(ok, err, false) // present, old nil
	ok, err = s.CompareAndSet(ctx, "k", []byte("1"), []byte(""), at(100))
	check(ok, err, true)
	ok, err = s.CompareAndSet(ctx, "k", []byte{}, []byte("3"), at(10))
	check(ok, err, true) // empty non-nil old matches the empty value
	now += 20            // expired: counts as absent
	ok, err = s.CompareAndSet(ctx, "k", []byte("3"), []byte("4"), at(100))
	check(ok, err, false)
	ok, err = s.CompareAndSet(ctx, "k", nil, []byte("5"), at(100))
	check(ok, err, true)
	ok, err = s.CompareAndSet(ctx, "k", []byte("5"), []byte("6"), at(-1))
	check(ok, err, true) // passed expiry with a match deletes
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Error("entry survived a CompareAndSet with a passed expiry")
	}
	if n := readCountFile(t, s); n != 0 {
		t.Errorf("count = %d, want 0", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.CompareAndSet(cctx, "k", nil, []byte("x"), time.Time{}); err == nil {
		t.Error("CompareAndSet with a cancelled context succeeded")
	}
	if _, err := s.CompareAndSet(ctx, countKey, nil, []byte("x"), time.Time{}); err == nil {
		t.Error("CompareAndSet of the count file's key succeeded")
	}
}
