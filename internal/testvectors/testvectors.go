// Package testvectors locates and reads the Flask interoperability vectors
// in testdata/vectors at the repository root, for the tests of every module
// of the repository (the root module and the store, cmd and bench modules
// alike). A missing or unreadable vector file fails the test: vectors are part
// of the repository, so their absence is a broken checkout, not a reason to
// skip.
package testvectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// File names in Dir.
const (
	Cookie       = "flask_cookie_vectors.json"
	SessionRedis = "flask_session_redis_vectors.json"
)

// Dir returns the vectors directory. It is found from this source file's
// location (which holds in a checkout and in the module cache) and, when the
// build trimmed paths, by walking up from the working directory to the
// directory holding testdata/vectors/<Cookie>.
func Dir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "vectors")
		if _, err := os.Stat(filepath.Join(d, Cookie)); err == nil {
			return filepath.Clean(d)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("testdata", "vectors")
	}
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "testdata", "vectors")
		if _, err := os.Stat(filepath.Join(c, Cookie)); err == nil {
			return c
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "testdata", "vectors")
		}
	}
}

// Path returns the path of the vector file name in Dir.
func Path(name string) string { return filepath.Join(Dir(), name) }

// Read returns the contents of the vector file name; it fails tb when the
// file cannot be read.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(name))
	if err != nil {
		tb.Fatalf("testvectors: %v (vectors live in testdata/vectors; see its README.md)", err)
	}
	return b
}

// Decode reads the vector file name and unmarshals it into v; it fails tb on
// any error.
func Decode(tb testing.TB, name string, v any) {
	tb.Helper()
	if err := json.Unmarshal(Read(tb, name), v); err != nil {
		tb.Fatalf("testvectors: %s: %v", name, err)
	}
}
