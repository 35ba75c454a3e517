package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/storetest"
)

var (
	_ coatcheck.Store   = (*Store)(nil)
	_ coatcheck.Toucher = (*Store)(nil)
	_ coatcheck.Cleaner = (*Store)(nil)
)

func mustNew(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return s
}

// TestConformance runs the suite with every subtest's store on one shared
// directory: Stores hold no state of their own, so this is what several
// processes sharing SESSION_FILE_DIR look like.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	storetest.RunWithOptions(t, func(t *testing.T) coatcheck.Store {
		return mustNew(t, dir, Options{})
	}, storetest.Options{ExpiryGranularity: time.Second})
}

func TestConformanceNoThreshold(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.RunWithOptions(t, func(t *testing.T) coatcheck.Store {
		return mustNew(t, t.TempDir(), Options{Threshold: -1})
	}, storetest.Options{ExpiryGranularity: time.Second})
}

// The filesystem entry of ../../shared/vectors/flask_session_redis_vectors.json
// (Flask-Session with cachelib 0.9.0 FileSystemCache, one write at
// now=1700000000).
const (
	vecKey       = "session:00000000-0000-4000-8000-000000000046"
	vecFile      = "3712d5bf251f62f1b9cf4357cbcdda42"
	vecHex       = "80cf7c658005951f000000000000007d94288c0a5f7065726d616e656e7494888c07757365725f6964944b2a752e"
	vecExpiry    = 1702678400
	vecNow       = 1700000000
	vecCountHex  = "0000000080054b012e"
	vecFileModes = 0o600
)

func fixedClock(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestVectorConstants checks the constants above against the vectors file
// when it is present beside the repository.
func TestVectorConstants(t *testing.T) {
	raw := testvectors.Read(t, testvectors.SessionRedis)
	var v struct {
		Filesystem struct {
			Now              int64  `json:"now"`
			StoreKey         string `json:"store_key"`
			ExpectedFilename string `json:"expected_filename"`
			CountFilename    string `json:"count_filename"`
			Files            map[string]struct {
				Hex    string `json:"hex"`
				Mode   string `json:"mode"`
				Expiry int64  `json:"expiry_uint32_native"`
			} `json:"files"`
		} `json:"filesystem"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	fs := v.Filesystem
	f := fs.Files[vecFile]
	c := fs.Files[CountFileName]
	if fs.Now != vecNow || fs.StoreKey != vecKey || fs.ExpectedFilename != vecFile || fs.CountFilename != CountFileName ||
		f.Hex != vecHex || f.Expiry != vecExpiry || f.Mode != "0o600" || c.Hex != vecCountHex || c.Mode != "0o600" {
		t.Errorf("vectors file disagrees with the test's constants: %+v", fs)
	}
}

func TestFileName(t *testing.T) {
	if got := FileName(vecKey); got != vecFile {
		t.Errorf("FileName(%q) = %s, want %s", vecKey, got, vecFile)
	}
	if got := FileName(countKey); got != CountFileName {
		t.Errorf("FileName(%q) = %s, want %s", countKey, got, CountFileName)
	}
}

func checkFile(t *testing.T, path string, wantHex string, wantMode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != wantHex {
		t.Errorf("%s = %s, want %s", filepath.Base(path), got, wantHex)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != wantMode {
		t.Errorf("%s mode = %v, want %v", filepath.Base(path), fi.Mode(), wantMode)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		// The key index is this store's addition, invisible to cachelib
		// (TestCachelibIgnoresIndex); every other file is Flask-Session's.
		if e.Name() != IndexFileName {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// TestVectorWrite: Go writes exactly the files Flask-Session wrote.
func TestVectorWrite(t *testing.T) {
	dir := t.TempDir()
	s := mustNew(t, dir, Options{Now: fixedClock(vecNow)})
	value := mustHex(vecHex)[4:]
	if err := s.Set(context.Background(), vecKey, value, time.Unix(vecExpiry, 0)); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, vecFile), vecHex, vecFileModes)
	checkFile(t, filepath.Join(dir, CountFileName), vecCountHex, vecFileModes)
	if got, want := listDir(t, dir), []string{CountFileName, vecFile}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("directory = %v, want %v (no temporary files left)", got, want)
	}
}

// TestVectorRead: Go reads the file Flask-Session wrote, and honours its
// expiry.
func TestVectorRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, vecFile), mustHex(vecHex), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := mustNew(t, dir, Options{Now: fixedClock(vecNow)})
	checkFile(t, filepath.Join(dir, CountFileName), vecCountHex, vecFileModes) // New counted it
	got, found, err := s.Get(ctx, vecKey)
	if err != nil || !found || !bytes.Equal(got, mustHex(vecHex)[4:]) {
		t.Fatalf("Get(%q) = (%x, %v, %v), want the vector's pickle", vecKey, got, found, err)
	}
	// At the expiry second it is still live (cachelib: header >= now).
	s.now = fixedClock(vecExpiry)
	if _, found, _ := s.Get(ctx, vecKey); !found {
		t.Fatalf("Get at the expiry second: not found, want found")
	}
	s.now = fixedClock(vecExpiry + 1)
	if got, found, err := s.Get(ctx, vecKey); found || got != nil || err != nil {
		t.Fatalf("Get after expiry = (%x, %v, %v), want (nil, false, nil)", got, found, err)
	}
	if _, err := os.Stat(filepath.Join(dir, vecFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired file still present after Get (stat error %v); want it deleted lazily", err)
	}
	checkFile(t, filepath.Join(dir, CountFileName), "0000000080054b002e", vecFileModes)
}

func TestExpiryRounding(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want uint32
	}{
		{time.Time{}, 0},
		{time.Unix(vecExpiry, 0), vecExpiry},
		{time.Unix(vecExpiry, 1), vecExpiry + 1},
		{time.Unix(vecExpiry, 999999999), vecExpiry + 1},
		{time.Unix(0, 0), 1},
		{time.Unix(1<<33, 0), 1<<32 - 1},
	} {
		if got := encodeExpiry(tc.in); got != tc.want {
			t.Errorf("encodeExpiry(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func readCountFile(t *testing.T, s *Store) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, CountFileName))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := unpickleInt(b[4:])
	if !ok || !bytes.Equal(b[:4], []byte{0, 0, 0, 0}) {
		t.Fatalf("count file %x unreadable", b)
	}
	return n
}

func TestCountFile(t *testing.T) {
	ctx := context.Background()
	s := mustNew(t, t.TempDir(), Options{})
	if n := readCountFile(t, s); n != 0 {
		t.Fatalf("count after New = %d, want 0", n)
	}
	for i := 0; i < 3; i++ {
		s.Set(ctx, fmt.Sprint("k", i), []byte("v"), time.Time{})
	}
	s.Set(ctx, "k0", []byte("overwrite"), time.Time{})
	if n := readCountFile(t, s); n != 3 {
		t.Fatalf("count after 3 Sets and an overwrite = %d, want 3", n)
	}
	s.Delete(ctx, "k0")
	s.Delete(ctx, "k0")
	if n := readCountFile(t, s); n != 2 {
		t.Fatalf("count after Delete (twice) = %d, want 2", n)
	}
	// The count file is never a session.
	if err := s.Set(ctx, countKey, []byte("x"), time.Time{}); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Set(%q) = %v, want ErrReservedKey", countKey, err)
	}
	if _, found, err := s.Get(ctx, countKey); found || err != nil {
		t.Errorf("Get(%q) = found %v, err %v; want not found", countKey, found, err)
	}
	if found, err := s.Touch(ctx, countKey, time.Time{}); found || err != nil {
		t.Errorf("Touch(%q) = %v, %v; want false, nil", countKey, found, err)
	}
	if err := s.Delete(ctx, countKey); err != nil {
		t.Errorf("Delete(%q) = %v", countKey, err)
	}
	if n := readCountFile(t, s); n != 2 {
		t.Fatalf("count after touching the reserved key = %d, want 2", n)
	}
	// A new Store recounts (and fixes drift).
	os.WriteFile(filepath.Join(s.dir, CountFileName), append([]byte{0, 0, 0, 0}, pickleInt(99)...), 0o600)
	s2 := mustNew(t, s.dir, Options{})
	if n := readCountFile(t, s2); n != 2 {
		t.Fatalf("count after New on a drifted count = %d, want 2", n)
	}
	// Threshold < 0: no count file at all.
	dir := t.TempDir()
	s3 := mustNew(t, dir, Options{Threshold: -1})
	s3.Set(ctx, "k", []byte("v"), time.Time{})
	if got := listDir(t, dir); len(got) != 1 || got[0] != FileName("k") {
		t.Errorf("directory with Threshold -1 = %v, want only the entry", got)
	}
}

func TestPickleInt(t *testing.T) {
	// From Python 3: pickle.dumps(n, protocol=5).hex()
	for n, want := range map[int]string{
		0:          "80054b002e",
		1:          "80054b012e",
		255:        "80054bff2e",
		256:        "80059504000000000000004d00012e",
		300:        "80059504000000000000004d2c012e",
		65535:      "80059504000000000000004dffff2e",
		65536:      "80059506000000000000004a000001002e",
		-1:         "80059506000000000000004affffffff2e",
		2147483647: "80059506000000000000004affffff7f2e",
	} {
		if got := hex.EncodeToString(pickleInt(n)); got != want {
			t.Errorf("pickleInt(%d) = %s, want %s", n, got, want)
		}
		if got, ok := unpickleInt(mustHex(want)); !ok || got != n {
			t.Errorf("unpickleInt(%s) = %d, %v; want %d", want, got, ok, n)
		}
	}
	for in, want := range map[string]int{
		"80024b052e":                           5,   // protocol 2
		hex.EncodeToString([]byte("I5\n.")):    5,   // protocol 0
		hex.EncodeToString([]byte("L300L\n.")): 300, // protocol 0, Python 2 long
		"80058a01ff2e":                         -1,  // LONG1
		"80058a022c012e":                       300,
	} {
		if got, ok := unpickleInt(mustHex(in)); !ok || got != want {
			t.Errorf("unpickleInt(%s) = %d, %v; want %d", in, got, ok, want)
		}
	}
	// Rejected: empty, truncated, None, no STOP, 2**31 (out of range).
	for _, in := range []string{"", "80", "8005", "80054e2e", "80054b01", "4d01", "80059508000000000000008a0500000080002e"} {
		if got, ok := unpickleInt(mustHex(in)); ok {
			t.Errorf("unpickleInt(%s) = %d, ok; want rejected", in, got)
		}
	}
}

func FuzzUnpickleInt(f *testing.F) {
	for _, s := range []string{"80054b012e", "80059504000000000000004d2c012e", "80059506000000000000004affffffff2e", "80058a022c012e", "49350a2e"} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := unpickleInt(b)
		if ok {
			if m, ok2 := unpickleInt(pickleInt(n)); !ok2 || m != n {
				t.Fatalf("round trip of %d: %d, %v", n, m, ok2)
			}
		}
	})
}

// TestPrune: with Threshold 3, creating an entry in a full directory
// deletes every expired entry first and evicts a live one only when none
// expired, the least recently used (oldest modification time) first; the
// directory never holds more than Threshold entries.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	now := int64(vecNow)
	var logBuf strings.Builder
	s := mustNew(t, t.TempDir(), Options{Threshold: 3, Now: func() time.Time { return time.Unix(now, 0) },
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	at := func(d int64) time.Time { return time.Unix(vecNow+d, 0) }
	mtime := time.Now().Add(-time.Hour)
	set := func(k string, exp time.Time) {
		t.Helper()
		if err := s.Set(ctx, k, []byte("v"), exp); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Minute) // distinct, increasing recency
		os.Chtimes(filepath.Join(s.dir, FileName(k)), mtime, mtime)
	}
	wantLive := func(keys ...string) {
		t.Helper()
		var got []string
		for _, k := range []string{"expired", "never", "soon", "late", "later", "latest"} {
			if _, err := os.Stat(filepath.Join(s.dir, FileName(k))); err == nil {
				got = append(got, k)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(keys) {
			t.Errorf("files = %v, want %v", got, keys)
		}
		if n := readCountFile(t, s); n != len(keys) {
			t.Errorf("count file = %d, want %d", n, len(keys))
		}
	}
	set("never", time.Time{}) // least recently used
	set("expired", at(10))
	set("soon", at(100))
	now += 50 // "expired" has expired
	set("late", at(1000))
	// Full: the expired entry goes, the live LRU one ("never") stays.
	wantLive("never", "soon", "late")
	if s.Evictions() != 0 {
		t.Errorf("Evictions = %d after removing only expired entries", s.Evictions())
	}
	if _, found, _ := s.Get(ctx, "never"); !found { // a read counts as a use
		t.Fatal("never not found")
	}
	set("later", at(2000))
	// Nothing expired: evict the least recently used, "soon".
	wantLive("never", "late", "later")
	if s.Evictions() != 1 {
		t.Errorf("Evictions = %d, want 1", s.Evictions())
	}
	if !strings.Contains(logBuf.String(), "level=WARN") || strings.Contains(logBuf.String(), "soon") {
		t.Errorf("eviction log = %q, want one WARN record without the key", logBuf.String())
	}
}

func TestTouchInPlace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustNew(t, dir, Options{Now: fixedClock(vecNow)})
	value := mustHex(vecHex)[4:]
	s.Set(ctx, vecKey, value, time.Unix(vecNow+60, 0))
	p := filepath.Join(dir, vecFile)
	before, _ := os.Stat(p)
	found, err := s.Touch(ctx, vecKey, time.Unix(vecExpiry, 0))
	if err != nil || !found {
		t.Fatalf("Touch = %v, %v", found, err)
	}
	checkFile(t, p, vecHex, 0o600)
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Errorf("Touch replaced the file; want the header rewritten in place")
	}
	// A past expiry deletes; Touch then reports the entry was found.
	if found, err := s.Touch(ctx, vecKey, time.Unix(vecNow-1, 0)); !found || err != nil {
		t.Errorf("Touch with a past expiry = %v, %v; want true, nil", found, err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still present after Touch with a past expiry")
	}
}

// TestRemoveIfSameRestores: a lazy deletion that loses the race with a
// fresh Set leaves the fresh file in place.
func TestRemoveIfSameRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	s.Set(ctx, "k", []byte("old"), time.Time{})
	p := filepath.Join(dir, FileName("k"))
	old, _ := os.Stat(p)
	s.Set(ctx, "k", []byte("new"), time.Time{}) // replaces the file after we judged it
	removed, err := s.removeIfSame(FileName("k"), old)
	if removed || err != nil {
		t.Fatalf("removeIfSame of a replaced file = %v, %v; want false, nil", removed, err)
	}
	if got, found, _ := s.Get(ctx, "k"); !found || string(got) != "new" {
		t.Fatalf("after a lost race, Get = %q, %v; want the newer value", got, found)
	}
	cur, _ := os.Stat(p)
	if removed, err := s.removeIfSame(FileName("k"), cur); !removed || err != nil {
		t.Fatalf("removeIfSame of the current file = %v, %v; want true, nil", removed, err)
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != CountFileName {
		t.Errorf("directory = %v, want only the count file (no temporary files)", got)
	}
}

func TestForeignFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustNew(t, dir, Options{Now: fixedClock(vecNow)})
	expiredHdr := []byte{1, 0, 0, 0} // expired in 1970
	foreign := map[string][]byte{
		"README":                            expiredHdr,
		"3712D5BF251F62F1B9CF4357CBCDDA42":  expiredHdr, // upper case: not ours
		"tmpfresh.__wz_cache":               expiredHdr, // a writer at work
		"tmpstale.__wz_cache":               expiredHdr, // a crashed writer
		"3712d5bf251f62f1b9cf4357cbcdda4":   expiredHdr, // 31 chars
		"3712d5bf251f62f1b9cf4357cbcdda42x": expiredHdr,
	}
	for name, b := range foreign {
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, "tmpstale.__wz_cache"), old, old)
	os.WriteFile(filepath.Join(dir, FileName("mine")), expiredHdr, 0o600)
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1, nil", n, err)
	}
	want := []string{CountFileName}
	for name := range foreign {
		if name != "tmpstale.__wz_cache" {
			want = append(want, name)
		}
	}
	sort.Strings(want)
	if got := listDir(t, dir); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("directory after DeleteExpired = %v, want %v", got, want)
	}
}

func TestCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustNew(t, dir, Options{})
	os.WriteFile(filepath.Join(dir, FileName("k")), []byte{1, 2}, 0o600)
	if _, found, err := s.Get(ctx, "k"); found || !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a 2-byte file = found %v, err %v; want ErrCorrupt", found, err)
	}
	if _, err := s.Touch(ctx, "k", time.Time{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Touch of a 2-byte file = %v; want ErrCorrupt", err)
	}
	if err := s.Set(ctx, "k", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, found, err := s.Get(ctx, "k"); !found || err != nil || string(got) != "v" {
		t.Errorf("Get after Set over a corrupt file = %q, %v, %v", got, found, err)
	}
}

func TestOptions(t *testing.T) {
	for _, m := range []os.FileMode{0o400, 0o200, os.ModeDir | 0o600, 0o1600} {
		if _, err := New(t.TempDir(), Options{Mode: m}); err == nil {
			t.Errorf("New with Mode %v: no error", m)
		}
	}
	if _, err := New("", Options{}); err == nil {
		t.Errorf("New(\"\"): no error")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := mustNew(t, dir, Options{Mode: 0o640})
	s.Set(context.Background(), "k", []byte("v"), time.Time{})
	checkFile(t, filepath.Join(dir, FileName("k")), "0000000076", 0o640)
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
}

// TestManyStoresOneDir hammers one directory from several Stores (as from
// several processes): values are never torn, and nothing fails.
func TestManyStoresOneDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for p := 0; p < 4; p++ {
		s := mustNew(t, dir, Options{Threshold: 5})
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(id int) {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					k := fmt.Sprint("k", i%7)
					v := bytes.Repeat([]byte{byte(id)}, 100+id)
					var err error
					switch i % 5 {
					case 0, 1:
						err = s.Set(ctx, k, v, time.Now().Add(time.Duration(i%3-1)*time.Second))
					case 2:
						var got []byte
						var found bool
						got, found, err = s.Get(ctx, k)
						if found && (len(got) < 100 || !bytes.Equal(got, bytes.Repeat(got[:1], 100+int(got[0])))) {
							err = fmt.Errorf("torn value %q", got)
						}
					case 3:
						_, err = s.Touch(ctx, k, time.Now().Add(time.Minute))
					case 4:
						if i%20 == 4 {
							_, err = s.DeleteExpired(ctx)
						} else {
							err = s.Delete(ctx, k)
						}
					}
					if err != nil {
						errc <- err
						return
					}
				}
			}(p*8 + g)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for _, name := range listDir(t, dir) {
		if filepath.Ext(name) == tempSuffix {
			t.Errorf("temporary file %s left behind", name)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	s := mustNew(b, b.TempDir(), Options{})
	s.Set(ctx, vecKey, make([]byte, 256), time.Now().Add(time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, found, err := s.Get(ctx, vecKey); !found || err != nil {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	s := mustNew(b, b.TempDir(), Options{})
	v := make([]byte, 256)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Set(ctx, vecKey, v, exp); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAnonymousTrafficKeepsUserLoggedIn: with cachelib's default threshold
// (500) the 502nd anonymous session evicted a logged-in user's live
// session. The default now has no cap, and a configured cap removes
// expired sessions before any live one.
func TestAnonymousTrafficKeepsUserLoggedIn(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"cachelib threshold with expired sessions", Options{Threshold: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			tc.opts.Now = func() time.Time { return now }
			tc.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			s := mustNew(t, t.TempDir(), tc.opts)
			user := "session:logged-in-user"
			if err := s.Set(ctx, user, []byte("user_id=1"), now.Add(31*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			// A day later the user is idle; fresh anonymous sessions get the
			// same lifetime, so the user's expires soonest (what cachelib's
			// pruning evicted first).
			now = now.Add(24 * time.Hour)
			anonExpiry := now.Add(31 * 24 * time.Hour)
			if tc.opts.Threshold > 0 {
				// Earlier anonymous visitors whose sessions have since
				// expired: the cap must reclaim those first.
				for i := 0; i < 10; i++ {
					s.Set(ctx, fmt.Sprint("session:old-anon-", i), []byte("{}"), now.Add(time.Second))
				}
				now = now.Add(time.Minute)
				anonExpiry = now.Add(31 * 24 * time.Hour)
			}
			for i := 0; i < 502-10; i++ {
				if err := s.Set(ctx, fmt.Sprint("session:anon-", i), []byte("{}"), anonExpiry); err != nil {
					t.Fatal(err)
				}
			}
			if _, found, err := s.Get(ctx, user); err != nil || !found {
				t.Errorf("logged-in user's session after 502 anonymous ones: found %v, %v", found, err)
			}
			if s.Evictions() != 0 {
				t.Errorf("Evictions = %d, want 0", s.Evictions())
			}
		})
	}
}

func TestIterate(t *testing.T) {
	ctx := context.Background()
	now := int64(vecNow)
	dir := t.TempDir()
	s := mustNew(t, dir, Options{Now: func() time.Time { return time.Unix(now, 0) }})
	s.Set(ctx, "session:a", []byte("1"), time.Unix(vecNow+100, 0))
	s.Set(ctx, "session:b", []byte("1"), time.Time{})
	s.Set(ctx, "session:b", []byte("2"), time.Time{}) // overwrite: one record
	s.Set(ctx, "session:gone", []byte("1"), time.Unix(vecNow+10, 0))
	s.Set(ctx, "other:c", []byte("1"), time.Time{})
	s.Set(ctx, "session:deleted", []byte("1"), time.Time{})
	s.Delete(ctx, "session:deleted")
	now += 20 // session:gone has expired
	list := func(s *Store) string {
		var got []string
		if err := s.Iterate(ctx, "session:", func(k string, exp time.Time) bool {
			got = append(got, fmt.Sprint(k, " ", exp.Unix()*int64(btoi(!exp.IsZero()))))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		return fmt.Sprint(got)
	}
	want := fmt.Sprintf("[session:a %d session:b 0]", vecNow+100)
	if got := list(s); got != want {
		t.Errorf("Iterate = %s, want %s", got, want)
	}
	// Another Store (another process) sees the same index.
	if got := list(mustNew(t, dir, Options{Now: s.now})); got != want {
		t.Errorf("Iterate from a second Store = %s, want %s", got, want)
	}
	// DeleteExpired compacts the index to the existing entries.
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v", n, err)
	}
	keys, _ := s.indexKeys()
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[other:c session:a session:b]" {
		t.Errorf("index after DeleteExpired = %v", keys)
	}
	// Early stop.
	n := 0
	s.Iterate(ctx, "", func(string, time.Time) bool { n++; return false })
	if n != 1 {
		t.Errorf("Iterate after fn returned false: %d calls", n)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzParseFile feeds arbitrary entry-file contents to the header parser
// and to the count file's pickle reader: neither may panic, a parse must
// split off exactly the 4-byte header, and every int pickleInt writes reads
// back.
func FuzzParseFile(f *testing.F) {
	f.Add(mustHex(vecHex))
	f.Add(mustHex(vecCountHex))
	f.Add([]byte{0, 0, 0})
	f.Add(append([]byte{0, 0, 0, 0}, pickleInt(70000)...))
	f.Add(append([]byte{0, 0, 0, 0}, pickleInt(300)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, v, err := parseFile(b)
		if err != nil {
			if len(b) >= headerLen || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("parseFile(%x) = %v", b, err)
			}
			return
		}
		if h != binary.LittleEndian.Uint32(b) || !bytes.Equal(v, b[headerLen:]) {
			t.Fatalf("parseFile(%x) = %d, %x", b, h, v)
		}
		if n, ok := unpickleInt(v); ok {
			if m, ok2 := unpickleInt(pickleInt(n)); !ok2 || m != n {
				t.Fatalf("pickleInt(%d) reads back as %d, %v", n, m, ok2)
			}
		}
	})
}

func TestUserIndex(t *testing.T) {
	dir := t.TempDir()
	storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { return mustNew(t, dir, Options{}) })
}
