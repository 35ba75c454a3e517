// Package filestore is a session store that keeps one file per session in a
// directory, in the layout of cachelib's FileSystemCache, so that
// Flask-Session (SESSION_TYPE = "filesystem", SESSION_FILE_DIR) and Go
// programs can share one directory.
//
// # Layout
//
//   - File name: the lowercase hex MD5 of the UTF-8 key (the full
//     Flask-Session key, e.g. "session:" + sid), 32 characters.
//   - Content: a 4-byte little-endian uint32 absolute expiry in Unix seconds
//     (0 = never), then the value bytes as given to Set. The store is
//     codec-agnostic: for Flask interop the value is a pickle, since
//     FileSystemCache pickles the session dict even in Flask-Session 0.8.
//     (cachelib writes the header in native byte order; every platform
//     Flask-Session runs on in practice is little-endian.)
//   - Mode: Options.Mode, 0600 by default, like SESSION_FILE_MODE.
//   - Writes go to a temporary file "tmp<random>.__wz_cache" in the same
//     directory (the pattern of cachelib's tempfile.mkstemp, whose listing
//     skips the ".__wz_cache" suffix), which is then renamed over the entry,
//     so readers in any process see the old file or the new one, never a
//     partial one.
//   - Expiries are rounded up to a whole second, so an entry never expires
//     before the expiry given to Set, and at most one second after it. An
//     entry is expired once the current time is past its header (cachelib
//     returns it while header >= time.time()). Expiries after 2106 (the
//     uint32 limit) are stored as 2106-02-07.
//
// # The count file
//
// cachelib keeps the number of entries in a management file named
// md5("__wz_cache_count") = 2029240f6d1128be89ddc32729463129: a zero header
// followed by the pickled int, and decides when to prune by reading it.
// This store maintains it the same way, so Flask's pruning keeps working
// when Go writes to the directory: New recounts the directory and writes
// it (as FileSystemCache.__init__ does), a Set that creates a file adds
// one, a Delete (or a lazy deletion by Get) subtracts one, and
// DeleteExpired and pruning rewrite the exact count after listing the
// directory. It is written byte for byte as Python's pickle protocol 5
// writes an int (80 05 4b 01 2e for 1). Like cachelib's, the updates are a
// read-modify-write that concurrent writers can race, so the count may
// drift until the next listing corrects it; it is only ever used as the
// trigger for pruning. The count file is never treated as a session: the
// key "__wz_cache_count", whose hash it is, cannot be Set and is never
// found. With pruning disabled (Threshold < 0, cachelib's threshold=0) the
// count file is neither read nor written, as in cachelib.
//
// # Pruning
//
// Like cachelib's FileSystemCache._prune, every Set first reads the count
// file, and when it exceeds Options.Threshold (500 by default, like
// SESSION_FILE_THRESHOLD) it lists the directory, deletes every expired
// entry, and if more than Threshold entries remain deletes the ones that
// expire soonest until Threshold remain; the Set then adds its own, so the
// directory holds at most Threshold+1 entries. One departure: cachelib
// sorts on the raw header, so it deletes entries without expiry (header 0)
// first; this store deletes them last. Pruning runs before the write and
// its errors are not reported by Set (cachelib logs and carries on).
//
// # Iteration
//
// The store does not implement coatcheck.Iterator: a file name is the MD5
// of its key, so the keys cannot be recovered from the directory, and
// Flask-Session's layout has no room to store them. It implements
// coatcheck.Toucher (the 4-byte header is rewritten in place, so a
// concurrent Set is never undone) and coatcheck.Cleaner (DeleteExpired
// sweeps the directory; it also removes temporary files more than an hour
// old, which only a crashed writer leaves behind).
//
// # Concurrency
//
// A Store is safe for concurrent use by goroutines, and several processes
// (Go or Flask) may share the directory: every write is a rename, and there
// is no lock. When Get finds an expired file it deletes it, but only if the
// file is still the one it read: it renames the file aside, compares inodes,
// and puts back a newer entry that another writer renamed in between. Files
// whose names are not 32 lowercase hex digits are never read or deleted,
// apart from this store's own stale temporary files; names are built from
// hashes, so a key cannot reach outside the directory.
//
// Writes are not fsynced (neither are cachelib's): after a power loss the
// newest entries may be lost, as with any page-cache write.
package filestore
