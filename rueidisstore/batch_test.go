package rueidisstore

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/internal/redisscript"
	"github.com/coatcheck/coatcheck/internal/redistest"
	"github.com/redis/rueidis"
)

// loadCounted is the store with the socket writes its reads of session
// entries (Get, GetAndTouch of a key that is not an index key: a request's
// load) make counted apart, so that a request's save is its writes minus
// its load's, whether the load was served from the client-side cache or
// not. A Get of a compare-and-set index entry (prefix + "_user:...") is
// part of the save and not counted apart. Embedding keeps every other
// method (and so every optional interface) of the store.
type loadCounted struct {
	*Store
	cnt  *counter
	load atomic.Int64
}

func (l *loadCounted) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if strings.Contains(key, "_user:") {
		return l.Store.Get(ctx, key)
	}
	w := l.cnt.writes.Load()
	defer func() { l.load.Add(l.cnt.writes.Load() - w) }()
	return l.Store.Get(ctx, key)
}

func (l *loadCounted) GetAndTouch(ctx context.Context, key string, expiry time.Time) ([]byte, bool, error) {
	w := l.cnt.writes.Load()
	defer func() { l.load.Add(l.cnt.writes.Load() - w) }()
	return l.Store.GetAndTouch(ctx, key, expiry)
}

// loadScripts loads every script the store sends into the server's
// script cache, so that no EVALSHA meets NOSCRIPT (which costs a trip).
func loadScripts(t *testing.T, c rueidis.Client) {
	t.Helper()
	ctx := context.Background()
	for _, src := range []string{redisscript.CompareAndSet, redisscript.IndexAdd, redisscript.IndexHeal,
		redisscript.IndexRemove, redisscript.IndexList, redisscript.IndexTake} {
		if err := c.Do(ctx, c.B().ScriptLoad().Script(src).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSaveRoundTrips: a login's save, a Renew of a logged-in session, a
// login or logout without Renew and a logout each cost one round trip (one
// socket write: the session's write and its index change in one DoMulti),
// in both modes, and the 200th login of one user costs what the first
// did; the index follows each (redistest.SaveRoundTrips). A request's
// load is counted apart (loadCounted), cached or not.
func TestSaveRoundTrips(t *testing.T) {
	raw := newClient(t, "", nil, nil)
	for _, mo := range modes {
		t.Run(mo.name, func(t *testing.T) {
			cnt := &counter{}
			st := &loadCounted{Store: New(newClient(t, "", cnt, nil), mo.opts), cnt: cnt}
			loadScripts(t, raw)
			redistest.SaveRoundTrips(t, redistest.Target{
				Store:  st,
				Prefix: testPrefix(t),
				Trips:  func() int64 { return cnt.writes.Load() - st.load.Load() },
				Exists: func(ctx context.Context, k string) bool {
					n, _ := raw.Do(ctx, raw.B().Exists().Key(k).Build()).AsInt64()
					return n != 0
				},
				Logins: 200,
			})
		})
	}
}
