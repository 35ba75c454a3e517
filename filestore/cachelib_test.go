package filestore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/filestore"
	"github.com/coatcheck/coatcheck/flasksession"
)

// cachelibPython returns /usr/bin/python3 with Debian's python3-cachelib,
// or skips (fails when COATCHECK_REQUIRE_INTEGRATION=1).
func cachelibPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import cachelib").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s cannot import cachelib (Debian package python3-cachelib): %v: %s", py, err, out)
		if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

func runPy(t *testing.T, py, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCachelibInterop: Go writes a session through the Store with the
// pickle codec and cachelib's FileSystemCache reads the dict; cachelib
// writes one and Go reads it. The key index and the count file do not
// disturb cachelib (it lists, counts and clears around them).
func TestCachelibInterop(t *testing.T) {
	py := cachelibPython(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := filestore.New(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.FlaskSessionBackend() != "filesystem" {
		t.Errorf("FlaskSessionBackend = %q", s.FlaskSessionBackend())
	}
	codec := flasksession.Pickle(2)
	data, err := codec.Encode(map[string]any{"user_id": int64(42), "name": "ada", "_permanent": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "session:from-go", data, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := runPy(t, py, `
import sys, cachelib
c = cachelib.FileSystemCache(sys.argv[1], threshold=500)
v = c.get("session:from-go")
print(type(v).__name__, sorted(v.items()), len(list(c._list_dir())))
c.set("session:from-py", {"user_id": 7, "flag": False}, timeout=3600)
`, dir)
	if want := "dict [('_permanent', True), ('name', 'ada'), ('user_id', 42)] 1"; got != want {
		t.Errorf("cachelib read %q, want %q", got, want)
	}
	b, found, err := s.Get(ctx, "session:from-py")
	if err != nil || !found {
		t.Fatalf("Get(session:from-py) = %v, %v", found, err)
	}
	m, err := codec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m) != "map[flag:false user_id:7]" {
		t.Errorf("Go read %v", m)
	}
	// cachelib's clear() removes the entries and leaves our index, which
	// it never lists.
	got = runPy(t, py, `
import sys, cachelib
c = cachelib.FileSystemCache(sys.argv[1])
print(c.clear(), c.get("session:from-go"), len(list(c._list_dir())))
`, dir)
	if got != "True None 0" {
		t.Errorf("cachelib clear: %q", got)
	}
}
