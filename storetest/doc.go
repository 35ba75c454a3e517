// Package storetest is the conformance suite for coatcheck.Store
// implementations, in the spirit of testing/fstest.TestFS and
// golang.org/x/net/nettest.TestConn: one call checks every rule of the
// contract documented in coatcheck's store.go against a real backend.
//
//	func TestConformance(t *testing.T) {
//		url := storetest.RequireEnv(t, "COATCHECK_REDIS_URL")
//		storetest.Run(t, func(t *testing.T) coatcheck.Store {
//			client := ... // build a client from url
//			t.Cleanup(func() { client.Close() })
//			return redisstore.New(client, redisstore.Options{})
//		})
//	}
//
// # What the suite checks
//
// Every check is a named subtest, so a failure reads like
// TestConformance/Overwrite. Each subtest calls newStore exactly once.
//
//   - RoundTrip: Set then Get returns the value; another key stays absent.
//   - NotFound: Get of an absent key returns (nil, false, nil).
//   - ZeroExpiry: a zero expiry means none; the entry is readable at once
//     (and Iterate, if implemented, reports a zero expiry).
//   - PastExpiry: a Set whose expiry has passed behaves like Delete, both
//     over an existing entry and for a new key.
//   - Overwrite: a second Set replaces the value and the expiry.
//   - DeleteIdempotent: deleting an absent key, and deleting twice, is nil.
//   - NoAliasing: mutating the slice given to Set, or the slice returned
//     by Get, does not change what the store holds.
//   - EmptyValue, BinaryValue (all 256 byte values), LargeValue (1 MiB by
//     default, see Options.MaxValueSize).
//   - Concurrent: 200 goroutines doing Set/Get/Delete on their own keys and
//     on shared keys; values are never torn and the final state is
//     consistent. Run the tests with -race for this to mean much.
//   - PrefixIsolation: "a:x", "ab:x" and "b:x" are independent entries, and
//     Iterate (if implemented) with prefix "a:" sees only "a:x".
//   - CancelledContext: every method given a cancelled context (or one past
//     its deadline) returns an error wrapping ctx.Err(), and a cancelled Set
//     or Delete leaves the previous value intact.
//   - Touch (coatcheck.Toucher only): moves the expiry without changing the
//     data; reports found=false for an absent key and does not create it.
//   - Iterate, IterateStop (coatcheck.Iterator only): exactly the live keys
//     under the prefix, each with its expiry (within the tolerance below);
//     iteration stops as soon as fn returns false.
//   - UserIndex, UserIndexConcurrent, Expiry/UserIndex
//     (coatcheck.UserIndexer only): add, re-add (listed once), remove
//     (idempotent), list and take on independent indexes; a cancelled
//     context is an error; 20 concurrent adds are all kept and a take
//     racing 20 more loses none; a member stays while its entry lives
//     though its given expiry passed, and one whose entry and expiry have
//     passed is dropped by the next add.
//   - UserIndexBatch (coatcheck.IndexBatcher only): SetIndexed,
//     CompareAndSetIndexed and DeleteIndexed do what the calls they stand
//     for do (a renewal deletes the old key and moves its member; a
//     compare that does not match keeps the value; a cancelled context
//     changes nothing).
//   - Expiry/Read, Expiry/Overwrite, Expiry/Touch, Expiry/Iterate,
//     Expiry/DeleteExpired: the checks that have to wait for an entry to
//     expire. They run in parallel with each other, so the whole suite takes
//     about 1.2 s plus 2×ExpiryGranularity of waiting.
//
// Checks for optional interfaces are skipped when the store does not
// implement them.
//
// # Sharing a live backend
//
// Every key the suite writes starts with "storetest-<random hex>:", fresh
// for each subtest, so concurrent runs against one server never collide, and
// the suite deletes its keys when each subtest ends. DeleteExpired on a
// shared backend may also remove other clients' expired entries, so the
// suite only requires the count to be at least the number of entries it
// expired itself, and checks by key that its own expired entries are gone
// and its live ones are intact. Another client's DeleteExpired may also
// sweep the suite's entries first; a short count is therefore retried (up
// to three times, with fresh keys) before it is reported. A store that
// sweeps by itself (a janitor) should turn that off in newStore, or set
// Options.BackgroundCleanup.
//
// The Expiry subtests call newStore from several goroutines at once, so
// newStore must be safe for concurrent use, and it must never wipe data that
// other stores use (no FLUSHDB, no TRUNCATE).
//
// # Faults, two clients, sweepers, sessions
//
// Beyond the contract, four more functions check what repeated itself in
// every store's own tests (each documents its checks in detail):
//
//   - RunFaults puts a Proxy (a TCP proxy on 127.0.0.1 that can Blackhole,
//     Cut and Restore the connection) in front of the real server: while
//     the server hangs or is down, every method with a 300 ms deadline
//     returns an error within the deadline plus 1.5 s, never a fake "not
//     found" or success; after Restore the store recovers within 5 s with
//     its data intact. 2-5 s against a local server.
//   - RunTwoClients: two independent clients of one backend see each
//     other's writes, and Get + CompareAndSet counters across both lose no
//     increment. Well under a second on a local server.
//   - RunCleanup: a store's background sweeper removes expired entries
//     physically, leaves live ones, and stops on Close. About 1.5 s.
//   - RunSessions: through the real middleware (coatcheck.New), 50
//     concurrent requests of one session each setting their own key keep
//     all 50 keys, and concurrent writes of one key are a last-writer-wins
//     2xx (no 409 without StrictConflicts).
//
// Like Run, these are proven able to fail by the package's own tests,
// which run them against deliberately broken stores.
//
// # Integration tests
//
// Tests of stores that need a server find it through an environment variable
// and call RequireEnv, which skips the test when the variable is unset, or
// fails it when COATCHECK_REQUIRE_INTEGRATION=1 (as in CI).
package storetest
