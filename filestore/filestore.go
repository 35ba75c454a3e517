package filestore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultThreshold is the cap on entries when Options.Threshold is zero:
	// none. (cachelib's and Flask-Session's SESSION_FILE_THRESHOLD default
	// is 500, which evicts live sessions; see the package documentation.)
	DefaultThreshold = 0

	// IndexFileName is the file in which the store records the keys it
	// writes, so that it can iterate them (see the package documentation).
	// Its ".__wz_cache" suffix makes cachelib's listing skip it.
	IndexFileName = "coatcheck-index" + tempSuffix

	// DefaultMode is the mode of entry files when Options.Mode is zero
	// (Flask-Session's SESSION_FILE_MODE default).
	DefaultMode os.FileMode = 0o600

	// CountFileName is the name of cachelib's count file:
	// md5("__wz_cache_count").
	CountFileName = "2029240f6d1128be89ddc32729463129"

	countKey   = "__wz_cache_count"
	tempSuffix = ".__wz_cache"
	tempGlob   = "tmp*" + tempSuffix
	headerLen  = 4

	// staleTemp is the age after which DeleteExpired removes a temporary
	// file: only a writer that crashed leaves one that old.
	staleTemp = time.Hour
)

// ErrCorrupt is wrapped by the error Get and Touch return for an entry file
// too short to hold the 4-byte header. (Writes are atomic, so only
// something other than a store can produce one.)
var ErrCorrupt = errors.New("filestore: corrupt entry file")

// ErrReservedKey is returned by Set for the key "__wz_cache_count", whose
// file is cachelib's count file.
var ErrReservedKey = errors.New("filestore: key is reserved for cachelib's count file")

// Options configures a Store. The zero value gives the defaults, which are
// Flask-Session's.
type Options struct {
	// Mode is the permission of entry files and of the count file. Zero
	// means DefaultMode (0600). It must contain only permission bits and
	// include owner read and write.
	Mode os.FileMode

	// Threshold is the cap on entries above which a Set evicts (see the
	// package documentation, "Pruning"). Zero means no cap (the default;
	// cachelib's default is 500); a negative value also means no cap, and
	// disables the count file too.
	Threshold int

	// Logger receives a WARN record for every live entry evicted to stay
	// within Threshold. Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock used for expiry. Nil means time.Now.
	Now func() time.Time
}

// Store is a filesystem session store. It is safe for concurrent use by
// goroutines and by processes sharing its directory.
type Store struct {
	dir       string
	mode      os.FileMode
	threshold int  // <= 0: no pruning
	count     bool // maintain cachelib's count file
	now       func() time.Time
	logger    *slog.Logger
	mu        *sync.Mutex // shared by every Store of this process on dir
	evictions atomic.Uint64
}

// dirMutexes holds one mutex per absolute directory, so that Stores of one
// process sharing a directory queue on it before taking the flock.
var dirMutexes sync.Map // string -> *sync.Mutex

// FlaskSessionBackend returns "filesystem", Flask-Session's name for this
// layout, so that a Manager using the store defaults to cachelib's pickle
// serialisation.
func (s *Store) FlaskSessionBackend() string { return "filesystem" }

// Evictions reports how many live entries this Store has evicted to stay
// within Options.Threshold.
func (s *Store) Evictions() uint64 { return s.evictions.Load() }

// lock takes the store's lock: the in-process mutex for the directory, then
// an exclusive flock(2) on the directory itself (on platforms that have
// flock; elsewhere only the mutex, see lock_other.go). Every write — Set,
// CompareAndSet, Delete, Touch, the count file, the index, pruning — runs
// under it, so read-modify-writes are atomic between processes on one host.
// Waiting honours ctx.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	s.mu.Lock()
	d, err := os.Open(s.dir)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("filestore: lock: %w", err)
	}
	wait := 50 * time.Microsecond
	for {
		ok, err := tryLockFile(d)
		if err != nil {
			d.Close()
			s.mu.Unlock()
			return nil, fmt.Errorf("filestore: lock: %w", err)
		}
		if ok {
			break
		}
		if err := ctx.Err(); err != nil {
			d.Close()
			s.mu.Unlock()
			return nil, err
		}
		time.Sleep(wait)
		if wait < 2*time.Millisecond {
			wait *= 2
		}
	}
	return func() {
		d.Close() // releases the flock
		s.mu.Unlock()
	}, nil
}

// New returns a Store keeping its files in dir, which is created (mode
// 0700) if it does not exist. Unless pruning is disabled, New counts the
// entries in dir and writes the count file, as FileSystemCache does.
func New(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: empty directory name")
	}
	s := &Store{dir: dir, mode: opts.Mode, threshold: opts.Threshold, now: opts.Now, logger: opts.Logger}
	if s.mode == 0 {
		s.mode = DefaultMode
	}
	if s.mode&^os.ModePerm != 0 || s.mode&0o600 != 0o600 {
		return nil, fmt.Errorf("filestore: Options.Mode %#o must be permission bits including 0600", uint32(s.mode))
	}
	s.count = s.threshold >= 0
	if s.threshold < 0 {
		s.threshold = 0
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	m, _ := dirMutexes.LoadOrStore(abs, new(sync.Mutex))
	s.mu = m.(*sync.Mutex)
	if s.count {
		unlock, err := s.lock(context.Background())
		if err != nil {
			return nil, err
		}
		defer unlock()
		n := 0
		err = s.scan(context.Background(), func(string, uint32, os.FileInfo) error {
			n++
			return nil
		})
		if err != nil {
			return nil, err
		}
		if err := s.writeCount(n); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// FileName returns the name of the file that holds key: the lowercase hex
// MD5 of the key's UTF-8 bytes.
func FileName(key string) string {
	sum := md5.Sum([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// isEntryName reports whether name is an entry file: 32 lowercase hex
// digits, and not the count file.
func isEntryName(name string) bool {
	if len(name) != 32 || name == CountFileName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// encodeExpiry returns the header for expiry: whole seconds, rounded up,
// 0 for none, clamped to the uint32 range.
func encodeExpiry(expiry time.Time) uint32 {
	if expiry.IsZero() {
		return 0
	}
	secs := expiry.Unix()
	if expiry.Nanosecond() > 0 {
		secs++
	}
	switch {
	case secs < 1:
		return 1
	case secs > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(secs)
}

// expired reports whether an entry with header h has expired at now.
func expired(h uint32, now time.Time) bool {
	return h != 0 && time.Unix(int64(h), 0).Before(now)
}

func live(expiry, now time.Time) bool { return expiry.IsZero() || now.Before(expiry) }

// parseFile splits the content of an entry file into its expiry header
// and its value. It fails, wrapping ErrCorrupt, only when the content is
// shorter than the header.
func parseFile(b []byte) (header uint32, value []byte, err error) {
	if len(b) < headerLen {
		return 0, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(b), headerLen)
	}
	return binary.LittleEndian.Uint32(b), b[headerLen:], nil
}

// readEntry reads the entry file name: its header, value and FileInfo.
// found is false when the file does not exist.
func (s *Store) readEntry(name string) (h uint32, value []byte, fi os.FileInfo, found bool, err error) {
	f, err := os.Open(s.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil, nil, false, nil
		}
		return 0, nil, nil, false, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("filestore: %w", err)
	}
	// Entry files are replaced by rename, never rewritten (Touch only
	// rewrites the header), so the size of the open file is its size.
	buf := make([]byte, fi.Size())
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, nil, nil, false, fmt.Errorf("filestore: %w", err)
	}
	h, value, err = parseFile(buf[:n])
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("%w (%s)", err, s.path(name))
	}
	return h, value, fi, true, nil
}

// Get returns the value stored under key, or (nil, false, nil) when there is
// none or it has expired; an expired file is deleted. With a cap
// (Options.Threshold > 0) a hit also sets the file's modification time,
// which is the recency pruning evicts by.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	name := FileName(key)
	if name == CountFileName {
		return nil, false, nil
	}
	h, value, fi, found, err := s.readEntry(name)
	if err != nil || !found {
		return nil, false, err
	}
	now := s.now()
	if expired(h, now) {
		if unlock, err := s.lock(ctx); err == nil {
			if removed, _ := s.removeIfSame(name, fi); removed {
				s.addCount(-1)
			}
			unlock()
		}
		return nil, false, nil
	}
	if s.threshold > 0 {
		t := time.Now() // file times are real, not Options.Now
		os.Chtimes(s.path(name), t, t)
	}
	return value, true, nil
}

// Set stores data under key until expiry (zero: no expiry), replacing the
// previous file atomically. A passed expiry deletes the key.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := FileName(key)
	if name == CountFileName {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	if !live(expiry, s.now()) {
		return s.Delete(ctx, key)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return s.writeLocked(ctx, key, name, data, expiry)
}

// writeLocked writes an entry; the caller holds the lock. Creating an entry
// first prunes (with a cap), then counts it and records its key.
func (s *Store) writeLocked(ctx context.Context, key, name string, data []byte, expiry time.Time) error {
	_, err := os.Lstat(s.path(name))
	existed := err == nil
	if !existed && s.threshold > 0 {
		s.prune(ctx)
	}
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint32(hdr[:], encodeExpiry(expiry))
	if err := s.writeFile(ctx, name, hdr[:], data); err != nil {
		return err
	}
	if !existed {
		s.addCount(1)
		s.indexAdd(key)
	}
	return nil
}

// CompareAndSet stores data under key until expiry only if the live value
// under key equals old (nil old: only if absent); see
// coatcheck.CompareAndSetter. It runs under the store's lock, so it is
// atomic against every other write by a Store on this host (goroutines or
// processes); cachelib itself takes no lock, so a Flask process writing
// the same key concurrently can still be overwritten.
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	name := FileName(key)
	if name == CountFileName {
		return false, fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	h, cur, fi, found, err := s.readEntry(name)
	if err != nil {
		return false, err
	}
	now := s.now()
	isLive := found && !expired(h, now)
	if old == nil && isLive || old != nil && (!isLive || !bytes.Equal(cur, old)) {
		return false, nil
	}
	if !live(expiry, now) {
		if found {
			if removed, err := s.removeIfSame(name, fi); err != nil {
				return false, err
			} else if removed {
				s.addCount(-1)
			}
		}
		return true, nil
	}
	if err := s.writeLocked(ctx, key, name, data, expiry); err != nil {
		return false, err
	}
	return true, nil
}

// writeFile writes hdr+data to a temporary file and renames it to name. If
// ctx is done before the rename, nothing changes and ctx.Err() is returned.
func (s *Store) writeFile(ctx context.Context, name string, hdr, data []byte) (err error) {
	f, err := os.CreateTemp(s.dir, tempGlob)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(hdr); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := f.Chmod(s.mode); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path(name)); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Delete removes key's file. Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name := FileName(key)
	if name == CountFileName {
		return nil
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(s.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("filestore: %w", err)
	}
	s.addCount(-1)
	return nil
}

// Touch sets the expiry of a live entry by rewriting its 4-byte header in
// place, leaving the data untouched (a passed expiry deletes the entry). It
// reports found=false for an absent or expired key and never creates one.
// A Set that replaces the file concurrently wins: the new header goes to
// the replaced file.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	name := FileName(key)
	if name == CountFileName {
		return false, nil
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	f, err := os.OpenFile(s.path(name), os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("filestore: %w", err)
	}
	var hdr [headerLen]byte
	if n, err := f.ReadAt(hdr[:], 0); n < headerLen {
		if err == io.EOF {
			return false, fmt.Errorf("%w %s: %d bytes, shorter than the %d-byte header", ErrCorrupt, s.path(name), n, headerLen)
		}
		return false, fmt.Errorf("filestore: %w", err)
	}
	now := s.now()
	if expired(binary.LittleEndian.Uint32(hdr[:]), now) || !live(expiry, now) {
		wasLive := !expired(binary.LittleEndian.Uint32(hdr[:]), now)
		if removed, err := s.removeIfSame(name, fi); err != nil {
			return false, err
		} else if removed {
			s.addCount(-1)
		}
		return wasLive, nil
	}
	binary.LittleEndian.PutUint32(hdr[:], encodeExpiry(expiry))
	if _, err := f.WriteAt(hdr[:], 0); err != nil {
		return false, fmt.Errorf("filestore: %w", err)
	}
	return true, nil
}

// DeleteExpired deletes every expired entry file and reports how many it
// deleted. It also removes temporary files left by crashed writers (more
// than an hour old; not counted) and rewrites the count file.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	now := s.now()
	removed, kept := 0, 0
	err = s.scan(ctx, func(name string, h uint32, fi os.FileInfo) error {
		if !expired(h, now) {
			kept++
			return nil
		}
		ok, err := s.removeIfSame(name, fi)
		if err != nil {
			return err
		}
		if ok {
			removed++
		} else {
			kept++
		}
		return nil
	})
	if err == nil {
		s.removeStaleTemps()
		s.compactIndex()
		if s.count {
			err = s.writeCount(kept)
		}
	}
	return removed, err
}

// removeStaleTemps removes this store's (and cachelib's) temporary files
// older than staleTemp, by the wall clock (not Options.Now: file times are
// real).
func (s *Store) removeStaleTemps() {
	names, _ := filepath.Glob(filepath.Join(s.dir, tempGlob))
	for _, p := range names {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(p)
		}
	}
}

// scan calls fn for every entry file in the directory with its header.
// Files that vanish meanwhile are skipped; so are unreadable or short ones
// (cachelib logs and skips those too).
func (s *Store) scan(ctx context.Context, fn func(name string, header uint32, fi os.FileInfo) error) error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(256)
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !isEntryName(e.Name()) || !e.Type().IsRegular() {
				continue
			}
			h, fi, ok := s.readHeader(e.Name())
			if !ok {
				continue
			}
			if err := fn(e.Name(), h, fi); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("filestore: %w", err)
		}
	}
}

func (s *Store) readHeader(name string) (uint32, os.FileInfo, bool) {
	f, err := os.Open(s.path(name))
	if err != nil {
		return 0, nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, false
	}
	var hdr [headerLen]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint32(hdr[:]), fi, true
}

// removeIfSame deletes the entry file name if it is still the file fi
// describes, and reports whether it did. It renames the file aside first;
// if that turns out to be a newer file renamed in by another writer, it is
// put back (unless a yet newer one has arrived, which wins).
func (s *Store) removeIfSame(name string, fi os.FileInfo) (bool, error) {
	t, err := os.CreateTemp(s.dir, tempGlob)
	if err != nil {
		return false, fmt.Errorf("filestore: %w", err)
	}
	trash := t.Name()
	t.Close()
	defer os.Remove(trash)
	p := s.path(name)
	if err := os.Rename(p, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("filestore: %w", err)
	}
	got, err := os.Lstat(trash)
	if err == nil && os.SameFile(fi, got) {
		return true, nil
	}
	// Not the file we judged: restore it. os.Link fails if the name was
	// taken again meanwhile (that file is newer and stays).
	if err := os.Link(trash, p); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			os.Rename(trash, p) // no hard links on this filesystem
		}
	}
	return false, nil
}

// prune makes room for one new entry under a cap; see the package
// documentation. The caller holds the lock. Errors are ignored: pruning
// must not fail a Set.
func (s *Store) prune(ctx context.Context) {
	if s.readCount() < s.threshold {
		return
	}
	type ent struct {
		name string
		fi   os.FileInfo
	}
	now := s.now()
	var ents []ent
	err := s.scan(ctx, func(name string, h uint32, fi os.FileInfo) error {
		if expired(h, now) {
			if ok, err := s.removeIfSame(name, fi); err != nil || ok {
				return err
			}
		}
		ents = append(ents, ent{name, fi})
		return nil
	})
	if err != nil {
		return
	}
	// Only live entries remain; evict the least recently used (oldest
	// modification time) until there is room for one more.
	if excess := len(ents) - (s.threshold - 1); excess > 0 {
		sort.Slice(ents, func(i, j int) bool { return ents[i].fi.ModTime().Before(ents[j].fi.ModTime()) })
		kept := ents[:0]
		for _, e := range ents {
			if excess > 0 {
				if ok, _ := s.removeIfSame(e.name, e.fi); ok {
					excess--
					s.evictions.Add(1)
					s.logger.Warn("filestore: evicted a live session to stay within Threshold",
						"file", e.name[:8], "threshold", s.threshold)
					continue
				}
			}
			kept = append(kept, e)
		}
		ents = kept
	}
	s.writeCount(len(ents))
}

// readCount returns the count file's value, 0 if it is absent or
// unreadable (cachelib's `self.get(count) or 0`).
func (s *Store) readCount() int {
	b, err := os.ReadFile(s.path(CountFileName))
	if err != nil || len(b) < headerLen {
		return 0
	}
	n, ok := unpickleInt(b[headerLen:])
	if !ok {
		return 0
	}
	return n
}

// addCount adds delta to the count file. The caller holds the lock, so
// Stores never race each other (cachelib's own updates still can).
func (s *Store) addCount(delta int) {
	if !s.count {
		return
	}
	n := s.readCount() + delta
	if n < 0 {
		n = 0
	}
	s.writeCount(n)
}

// indexAdd appends key to the index file (a uvarint length, then the key
// bytes, per record). The caller holds the lock. Errors are ignored: the
// index only serves Iterate.
func (s *Store) indexAdd(key string) {
	f, err := os.OpenFile(s.path(IndexFileName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, s.mode)
	if err != nil {
		return
	}
	rec := binary.AppendUvarint(make([]byte, 0, len(key)+binary.MaxVarintLen64), uint64(len(key)))
	f.Write(append(rec, key...))
	f.Close()
}

// indexKeys returns the distinct keys of the index file, in file order. A
// truncated or malformed tail is ignored.
func (s *Store) indexKeys() ([]string, error) {
	f, err := os.Open(s.path(IndexFileName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("filestore: index: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	seen := make(map[string]bool)
	var keys []string
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 1<<20 {
			return keys, nil
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return keys, nil
		}
		if k := string(b); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
}

// compactIndex rewrites the index with only the keys whose entry file
// exists. The caller holds the lock.
func (s *Store) compactIndex() {
	keys, err := s.indexKeys()
	if err != nil || keys == nil {
		return
	}
	var buf []byte
	for _, k := range keys {
		if _, err := os.Lstat(s.path(FileName(k))); err == nil {
			buf = binary.AppendUvarint(buf, uint64(len(k)))
			buf = append(buf, k...)
		}
	}
	s.writeFile(context.Background(), IndexFileName, nil, buf)
}

// Iterate calls fn for every unexpired entry whose key starts with prefix
// and that a Store created, until fn returns false; see coatcheck.Iterator
// and the package documentation ("Iteration") for why entries created by
// Flask-Session are not seen. fn runs without the lock, so it may call the
// store.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keys, err := s.indexKeys()
	if err != nil {
		return err
	}
	now := s.now()
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		name := FileName(k)
		if name == CountFileName {
			continue
		}
		h, _, ok := s.readHeader(name)
		if !ok || expired(h, now) {
			continue
		}
		var exp time.Time
		if h != 0 {
			exp = time.Unix(int64(h), 0)
		}
		if !fn(k, exp) {
			return nil
		}
	}
	return nil
}

func (s *Store) writeCount(n int) error {
	return s.writeFile(context.Background(), CountFileName, make([]byte, headerLen), pickleInt(n))
}

// pickleInt returns n pickled as Python's pickle.dumps(n, protocol=5) does
// (cachelib pickles with HIGHEST_PROTOCOL), for n in the int32 range.
func pickleInt(n int) []byte {
	switch {
	case n >= 0 && n < 1<<8:
		return []byte{0x80, 5, 'K', byte(n), '.'}
	case n >= 0 && n < 1<<16:
		// Four bytes of opcodes reach pickle's minimum frame size.
		return []byte{0x80, 5, 0x95, 4, 0, 0, 0, 0, 0, 0, 0, 'M', byte(n), byte(n >> 8), '.'}
	default:
		if n > math.MaxInt32 {
			n = math.MaxInt32
		} else if n < math.MinInt32 {
			n = math.MinInt32
		}
		b := []byte{0x80, 5, 0x95, 6, 0, 0, 0, 0, 0, 0, 0, 'J', 0, 0, 0, 0, '.'}
		binary.LittleEndian.PutUint32(b[12:], uint32(int32(n)))
		return b
	}
}

// unpickleInt reads a pickled int as cachelib's count file holds it, in any
// protocol: an optional PROTO and FRAME, then BININT1, BININT2, BININT,
// LONG1 or the protocol 0 INT/LONG text form, then STOP. It reads nothing
// else (None and everything else count as 0 to the caller).
func unpickleInt(b []byte) (int, bool) {
	if len(b) >= 2 && b[0] == 0x80 {
		b = b[2:]
	}
	if len(b) >= 9 && b[0] == 0x95 {
		b = b[9:]
	}
	if len(b) < 2 {
		return 0, false
	}
	var n int64
	var rest []byte
	switch op := b[0]; op {
	case 'K':
		n, rest = int64(b[1]), b[2:]
	case 'M':
		if len(b) < 3 {
			return 0, false
		}
		n, rest = int64(binary.LittleEndian.Uint16(b[1:])), b[3:]
	case 'J':
		if len(b) < 5 {
			return 0, false
		}
		n, rest = int64(int32(binary.LittleEndian.Uint32(b[1:]))), b[5:]
	case 0x8a: // LONG1
		size := int(b[1])
		if size > 8 || len(b) < 2+size {
			return 0, false
		}
		var u uint64
		for i := size - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[2+i])
		}
		if size > 0 && size < 8 && b[1+size]&0x80 != 0 {
			u |= ^uint64(0) << (8 * size) // sign-extend
		}
		n, rest = int64(u), b[2+size:]
	case 'I', 'L':
		end := 1
		for end < len(b) && b[end] != '\n' {
			end++
		}
		if end == len(b) {
			return 0, false
		}
		txt := string(b[1:end])
		if op == 'L' && len(txt) > 0 && txt[len(txt)-1] == 'L' {
			txt = txt[:len(txt)-1]
		}
		if _, err := fmt.Sscan(txt, &n); err != nil {
			return 0, false
		}
		rest = b[end+1:]
	default:
		return 0, false
	}
	if len(rest) < 1 || rest[0] != '.' || n > math.MaxInt32 || n < math.MinInt32 {
		return 0, false
	}
	return int(n), true
}
