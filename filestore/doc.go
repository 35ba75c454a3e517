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
// it (as FileSystemCache.__init__ does), a write that creates a file adds
// one, a Delete (or a lazy deletion by Get) subtracts one, and
// DeleteExpired and pruning rewrite the exact count after listing the
// directory. It is written byte for byte as Python's pickle protocol 5
// writes an int (80 05 4b 01 2e for 1). Every update runs under the
// store's lock (see Concurrency), so Stores never lose each other's
// updates; cachelib's own updates take no lock and can still make it
// drift until the next listing corrects it. The count file is never
// treated as a session: the key "__wz_cache_count", whose hash it is,
// cannot be Set and is never found. With Threshold < 0 the count file is
// neither read nor written (cachelib's threshold=0 behaviour).
//
// # Pruning
//
// By default there is no cap: live sessions are never evicted, and expired
// files are removed by Get (lazily) and DeleteExpired. This departs from
// cachelib and Flask-Session, whose default SESSION_FILE_THRESHOLD is 500:
// their pruning counts every file, so 500 anonymous visitors were enough
// to evict — log out — an idle user's live session (it expired soonest).
//
// With Options.Threshold > 0, creating an entry in a directory that
// already holds Threshold entries first deletes every expired entry, and
// only if the directory is still full evicts live entries, least recently
// used first (by file modification time: a write, a Touch, and with a cap
// also every Get, set it), until there is room; so the directory holds at
// most Threshold entries and a live session is never evicted while an
// expired one exists. Each eviction is logged at WARN with the first 8
// hex digits of the file name (an MD5 of the key, never the key) and
// counted (Store.Evictions). Pruning errors are not reported by Set
// (cachelib logs and carries on).
//
// # Iteration
//
// A file name is the MD5 of its key, so keys cannot be recovered from the
// directory, and the entry files must stay exactly cachelib's. The store
// therefore records keys in a sidecar index, IndexFileName
// ("coatcheck-index.__wz_cache"; cachelib skips names with that suffix
// when it lists, counts, prunes or clears): every write that creates an
// entry appends the key (a uvarint length, then the bytes) under the lock,
// and DeleteExpired rewrites it with only the keys whose files exist.
// Iterate (coatcheck.Iterator) reads the index and reports the keys whose
// files are live, so `coatcheck sessions list`, revoke and purge work.
// Entries that only Flask-Session created are not in the index and are
// not listed (they still expire and are swept as usual).
//
// The store also implements coatcheck.Toucher (the 4-byte header is
// rewritten in place, so a concurrent Set is never undone),
// coatcheck.Cleaner (DeleteExpired sweeps the directory; it also removes
// temporary files more than an hour old, which only a crashed writer
// leaves behind) and coatcheck.CompareAndSetter.
//
// # Concurrency
//
// A Store is safe for concurrent use by goroutines, and several processes
// (Go or Flask) may share the directory: every write is a rename, so
// readers never see a partial file, and Get takes no lock. Every write by
// a Store (Set, CompareAndSet, Delete, Touch, DeleteExpired, pruning, the
// count file and the index) runs under the store's lock: an in-process
// mutex per directory, then an exclusive flock(2) on the directory itself
// (Linux, macOS and the BSDs; no file is added). CompareAndSet is
// therefore atomic against every Store on the host, across processes
// (TestCompareAndSetAcrossProcesses). On other platforms the lock is the
// in-process mutex only: CompareAndSet is atomic between goroutines of one
// process but not between processes. cachelib takes no lock, so a Flask
// process writing the same key can still overwrite a Go write. Waiting for
// the lock honours ctx.
//
// When Get finds an expired file it deletes it, but only if the file is
// still the one it read: it renames the file aside, compares inodes, and
// puts back a newer entry that another writer renamed in between. Files
// whose names are not 32 lowercase hex digits are never read or deleted,
// apart from this store's own stale temporary files and index; names are
// built from hashes, so a key cannot reach outside the directory.
//
// Writes are not fsynced (neither are cachelib's): after a power loss the
// newest entries may be lost, as with any page-cache write.
package filestore
