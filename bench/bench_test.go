package bench

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskcookie"
	"github.com/coatcheck/coatcheck/itsdangerous"
	ccmem "github.com/coatcheck/coatcheck/memstore"
	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/gorilla/sessions"
)

// ---------------------------------------------------------------------------
// The floor: bare net/http, and the minimum work of a Flask cookie.

func bareHandler(s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.user = wantUser
		w.Write(body)
	})
}

// BenchmarkBare is the handler every contender wraps, without sessions.
func BenchmarkBare(b *testing.B) {
	s := &seen{}
	run(b, bareHandler(s), template(""), s, wantUser, nil, nil)
}

// BenchmarkBareContext is the least any middleware with Coatcheck's API
// shape (the session reached through the request's context, the response
// wrapped to commit before the first byte) can cost: one context.WithValue,
// one r.WithContext (a copy of the *http.Request), one wrapping writer.
func BenchmarkBareContext(b *testing.B) {
	s := &seen{}
	next := bareHandler(s)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := &struct{ loaded bool }{}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess))
		next.ServeHTTP(&wrapWriter{ResponseWriter: w}, r)
	})
	run(b, h, template(""), s, wantUser, nil, nil)
}

type ctxKey struct{}

type wrapWriter struct {
	http.ResponseWriter
	committed bool
}

func (w *wrapWriter) Write(p []byte) (int, error) {
	w.committed = true
	return w.ResponseWriter.Write(p)
}

// floorCodec is the least code that reads and writes a Flask session cookie:
// base64url, HMAC-SHA1 with Flask's derived key (one reused keyed state,
// which only a single goroutine may use), and encoding/json into a
// map[string]any. It skips everything Coatcheck adds: key rotation, zlib,
// tagged JSON (tuples, bytes, Markup, dates...), Python's number model,
// concurrency safety.
type floorCodec struct {
	mac    hash.Hash
	sum    [sha1.Size]byte
	sig    [sha1.Size]byte
	buf    []byte
	maxAge int64
}

func newFloorCodec() *floorCodec {
	// Flask: key_derivation="hmac" → HMAC-SHA1(secret, salt)
	kd := hmac.New(sha1.New, []byte(secretKey))
	kd.Write([]byte("cookie-session"))
	return &floorCodec{mac: hmac.New(sha1.New, kd.Sum(nil)), maxAge: int64(31 * 24 * time.Hour / time.Second)}
}

var b64 = base64.RawURLEncoding

func (f *floorCodec) decode(cookie string, now time.Time) (map[string]any, error) {
	i := strings.LastIndexByte(cookie, '.')
	if i < 0 {
		return nil, fmt.Errorf("no signature")
	}
	signed, sig := cookie[:i], cookie[i+1:]
	if n, err := b64.Decode(f.sig[:], []byte(sig)); err != nil || n != sha1.Size {
		return nil, fmt.Errorf("bad signature encoding")
	}
	f.mac.Reset()
	io.WriteString(f.mac, signed)
	if !hmac.Equal(f.mac.Sum(f.sum[:0]), f.sig[:]) {
		return nil, fmt.Errorf("bad signature")
	}
	j := strings.LastIndexByte(signed, '.')
	payload, ts := signed[:j], signed[j+1:]
	var tsb [8]byte
	n, err := b64.Decode(tsb[8-b64.DecodedLen(len(ts)):], []byte(ts))
	if err != nil || n > 8 {
		return nil, fmt.Errorf("bad timestamp")
	}
	if age := now.Unix() - int64(binary.BigEndian.Uint64(tsb[:])); age < 0 || age > f.maxAge {
		return nil, fmt.Errorf("expired")
	}
	f.buf = f.buf[:0]
	f.buf, err = b64.AppendDecode(f.buf, []byte(payload))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(f.buf, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (f *floorCodec) encode(m map[string]any, now time.Time) (string, error) {
	js, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	out := b64.AppendEncode(f.buf[:0], js)
	var tsb [8]byte
	binary.BigEndian.PutUint64(tsb[:], uint64(now.Unix()))
	k := 0
	for k < 7 && tsb[k] == 0 {
		k++
	}
	out = append(out, '.')
	out = b64.AppendEncode(out, tsb[k:])
	f.mac.Reset()
	f.mac.Write(out)
	sum := f.mac.Sum(f.sum[:0])
	out = append(out, '.')
	out = b64.AppendEncode(out, sum)
	f.buf = out
	return string(out), nil
}

// BenchmarkFloorRead verifies and decodes Coatcheck's own cookie (which
// proves the floor reads real Flask cookies) without any HTTP.
func BenchmarkFloorRead(b *testing.B) {
	f := newFloorCodec()
	c := coatcheckCookie(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m, err := f.decode(c, time.Now())
		if err != nil || m["username"] != wantUser {
			b.Fatal(m, err)
		}
	}
}

// BenchmarkFloorWrite encodes and signs {"username": "alice"}, then checks
// once that Coatcheck accepts the result.
func BenchmarkFloorWrite(b *testing.B) {
	f := newFloorCodec()
	var c string
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var err error
		c, err = f.encode(map[string]any{"username": wantUser}, time.Now())
		if err != nil || len(c) < 40 {
			b.Fatal(c, err)
		}
	}
	b.StopTimer()
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: []byte(secretKey)})
	if err != nil {
		b.Fatal(err)
	}
	if m, _, err := codec.Decode(c, time.Now()); err != nil || m["username"] != wantUser {
		b.Fatalf("Coatcheck rejects the floor's cookie %q: %v %v", c, m, err)
	}
}

// ---------------------------------------------------------------------------
// Coatcheck

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ccRead(s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.user, _ = coatcheck.Value[string](coatcheck.FromRequest(r), "username")
		w.Write(body)
	})
}

func ccWrite(s *seen, permanent bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := coatcheck.FromRequest(r)
		sess.Set("username", wantUser)
		if permanent {
			sess.SetPermanent(true)
		}
		s.user = wantUser
		w.Write(body)
	})
}

func ccManager(b testing.TB, cfg coatcheck.Config) *coatcheck.Manager {
	cfg.SecretKey = secretKey
	cfg.Logger = quiet()
	m, err := coatcheck.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// ccCookie runs one writing request through m and returns "name=value".
func ccCookie(b testing.TB, m *coatcheck.Manager, permanent bool) string {
	w := serve(m.Handler(ccWrite(&seen{}, permanent)), template(""))
	v := w.setCookieValue("session")
	if v == "" {
		b.Fatalf("no session cookie in %v", w.h)
	}
	return "session=" + v
}

// coatcheckCookie is a signed cookie holding {"username": "alice"}
// (plus "_permanent": true when permanent), value only.
func coatcheckCookie(b testing.TB, permanent bool) string {
	c := ccCookie(b, ccManager(b, coatcheck.Config{}), permanent)
	return strings.TrimPrefix(c, "session=")
}

// BenchmarkCoatcheckCookieRead: a non-permanent cookie, read once; nothing
// is sent back (Flask sends nothing either).
func BenchmarkCoatcheckCookieRead(b *testing.B) {
	m := ccManager(b, coatcheck.Config{})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, false)), s, wantUser, nil, noCookie)
}

// BenchmarkCoatcheckCookieReadPermanent: a permanent cookie (what the demo's
// /login sets) read once; with SESSION_REFRESH_EACH_REQUEST (the default)
// Flask re-signs and re-sends it, and so does Coatcheck.
func BenchmarkCoatcheckCookieReadPermanent(b *testing.B) {
	m := ccManager(b, coatcheck.Config{})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, true)), s, wantUser, nil, setsCookie)
}

// BenchmarkCoatcheckCookieReadNoCache: CoatcheckCookieRead with the
// verified-cookie cache disabled (Config.CookieCacheSize < 0), so every
// request verifies the signature and decodes the payload: the cost of a
// cache miss (a cookie the Manager has not seen, or one evicted), where
// CoatcheckCookieRead, which sends the same cookie every iteration, hits.
func BenchmarkCoatcheckCookieReadNoCache(b *testing.B) {
	m := ccManager(b, coatcheck.Config{CookieCacheSize: -1})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, false)), s, wantUser, nil, noCookie)
}

// BenchmarkCoatcheckCookieReadPermanentNoCache: CoatcheckCookieReadPermanent
// (read + re-sign) with the verified-cookie cache disabled.
func BenchmarkCoatcheckCookieReadPermanentNoCache(b *testing.B) {
	m := ccManager(b, coatcheck.Config{CookieCacheSize: -1})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, true)), s, wantUser, nil, setsCookie)
}

// BenchmarkCoatcheckCookieReadPermanentNewSecond: CoatcheckCookieReadPermanent
// where every request falls in a later second than the cookie was signed
// in, so the re-sign is a real HMAC (from the cookie's payload, without
// encoding) rather than the same-second shortcut that sends the cookie back
// as it came; the clock steps one second per request and wraps after an
// hour, staying within PERMANENT_SESSION_LIFETIME.
func BenchmarkCoatcheckCookieReadPermanentNewSecond(b *testing.B) {
	start := time.Now()
	var calls atomic.Int64
	m := ccManager(b, coatcheck.Config{Now: func() time.Time {
		n := calls.Add(1) / 2 // open and save read the clock once each
		return start.Add(time.Duration(1+n%3600) * time.Second)
	}})
	s := &seen{}
	c := ccCookie(b, ccManager(b, coatcheck.Config{Now: func() time.Time { return start }}), true)
	run(b, m.Handler(ccRead(s)), template(c), s, wantUser, nil, setsCookie)
}

// BenchmarkCoatcheckCookieWrite: no cookie; the handler sets one key and the
// response carries the signed cookie.
func BenchmarkCoatcheckCookieWrite(b *testing.B) {
	m := ccManager(b, coatcheck.Config{})
	s := &seen{}
	run(b, m.Handler(ccWrite(s, false)), template(""), s, wantUser, nil, setsCookie)
}

// BenchmarkCoatcheckEncCookieRead: as CoatcheckCookieRead, with
// Config.EncryptCookies (AES-256-GCM sealed cookie, Go-only).
func BenchmarkCoatcheckEncCookieRead(b *testing.B) {
	m := ccManager(b, coatcheck.Config{EncryptCookies: true})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, false)), s, wantUser, nil, noCookie)
}

// BenchmarkCoatcheckEncCookieWrite: as CoatcheckCookieWrite, with
// Config.EncryptCookies.
func BenchmarkCoatcheckEncCookieWrite(b *testing.B) {
	m := ccManager(b, coatcheck.Config{EncryptCookies: true})
	s := &seen{}
	run(b, m.Handler(ccWrite(s, false)), template(""), s, wantUser, nil, setsCookie)
}

// BenchmarkCoatcheckCookieReadStoreTimeout: CoatcheckCookieRead with
// ServerConfig.StoreTimeout at 1 ns. The store deadline is for server-side
// stores; if the cookie path derived a deadline context this would cost a
// timer per request (and a 1 ns deadline would expire at once). Compared with
// CoatcheckCookieRead (default 3 s) in the same rounds.
func BenchmarkCoatcheckCookieReadStoreTimeout(b *testing.B) {
	m := ccManager(b, coatcheck.Config{Server: coatcheck.ServerConfig{StoreTimeout: time.Nanosecond}})
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, false)), s, wantUser, nil, noCookie)
}

// BenchmarkCoatcheckUntouched: the handler never touches its session.
func BenchmarkCoatcheckUntouched(b *testing.B) {
	no := false
	for _, c := range []struct {
		name      string
		cfg       coatcheck.Config
		cookie    int // 0 none, 1 non-permanent, 2 permanent
		setCookie bool
	}{
		{"NoCookie", coatcheck.Config{}, 0, false},
		{"Cookie", coatcheck.Config{}, 1, false},
		{"PermanentCookie", coatcheck.Config{}, 2, true},
		{"PermanentCookieNoRefresh", coatcheck.Config{RefreshEachRequest: &no}, 2, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := ccManager(b, c.cfg)
			cookie := ""
			if c.cookie > 0 {
				cookie = ccCookie(b, m, c.cookie == 2)
			}
			post := noCookie
			if c.setCookie {
				post = setsCookie
			}
			s := &seen{}
			run(b, m.Handler(bareHandler(s)), template(cookie), s, wantUser, nil, post)
		})
	}
}

// BenchmarkCoatcheckVerify is signature verification alone (itsdangerous
// TimestampSigner.Unsign over the real cookie): the target is 0 allocs/op.
func BenchmarkCoatcheckVerify(b *testing.B) {
	ser, err := itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{
		SecretKeys: [][]byte{[]byte(secretKey)}, Salt: []byte("cookie-session"), KeyDerivation: itsdangerous.HMAC,
	})
	if err != nil {
		b.Fatal(err)
	}
	ts := ser.Signer()
	v := []byte(coatcheckCookie(b, false))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, _, err := ts.Unsign(v, 31*24*time.Hour, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoatcheckCodec is Coatcheck's cookie codec (flaskcookie) without
// HTTP: the counterpart of the Floor benchmarks.
func BenchmarkCoatcheckCodec(b *testing.B) {
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: []byte(secretKey)})
	if err != nil {
		b.Fatal(err)
	}
	c := coatcheckCookie(b, false)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			m, _, err := codec.Decode(c, time.Now())
			if err != nil || m["username"] != wantUser {
				b.Fatal(m, err)
			}
		}
	})
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			v, err := codec.Encode(map[string]any{"username": wantUser}, time.Now())
			if err != nil || len(v) < 40 {
				b.Fatal(v, err)
			}
		}
	})
}

func ccServerRead(b *testing.B, m *coatcheck.Manager, hook *countHook) {
	s := &seen{}
	run(b, m.Handler(ccRead(s)), template(ccCookie(b, m, false)), s, wantUser, hook, nil)
}

func ccServerWrite(b *testing.B, m *coatcheck.Manager, hook *countHook) {
	s := &seen{}
	run(b, m.Handler(ccWrite(s, false)), template(""), s, wantUser, hook, setsCookie)
}

func ccMemManager(b *testing.B) *coatcheck.Manager {
	st := ccmem.New(ccmem.Options{})
	b.Cleanup(func() { st.Close() })
	return ccManager(b, coatcheck.Config{Store: st})
}

// BenchmarkCoatcheckMemRead: server-side session in memstore (permanent by
// default, as in Flask-Session, so the read also slides the expiry).
func BenchmarkCoatcheckMemRead(b *testing.B) { ccServerRead(b, ccMemManager(b), nil) }

// BenchmarkCoatcheckMemWrite: a new server-side session with one key.
func BenchmarkCoatcheckMemWrite(b *testing.B) { ccServerWrite(b, ccMemManager(b), nil) }

func ccRedisManager(b *testing.B) (*coatcheck.Manager, *countHook) {
	return ccRedisManagerWith(b, coatcheck.ServerConfig{})
}

func ccRedisManagerWith(b *testing.B, sc coatcheck.ServerConfig) (*coatcheck.Manager, *countHook) {
	prefix := "ccbench:" + rand.Text()[:8] + ":"
	c, hook := redisClient(b, prefix)
	sc.KeyPrefix = prefix
	return ccManager(b, coatcheck.Config{Store: redisstore.New(c, redisstore.Options{}), Server: sc}), hook
}

// BenchmarkCoatcheckRedisRead: one GETEX (read and slide the expiry).
func BenchmarkCoatcheckRedisRead(b *testing.B) {
	m, hook := ccRedisManager(b)
	ccServerRead(b, m, hook)
}

// BenchmarkCoatcheckRedisWrite: a new session: the compare-and-set script
// (plus the per-user index when a user is set; here none). Round trips are
// counted by the client's hook.
func BenchmarkCoatcheckRedisWrite(b *testing.B) {
	m, hook := ccRedisManager(b)
	ccServerWrite(b, m, hook)
}

// BenchmarkCoatcheckRedisWriteNoIndex: as CoatcheckRedisWrite with
// ServerConfig.NoUserIndex, so a new session is one write, as in scs.
// (CoatcheckRedisWrite sets "username", a default user key: every iteration
// is a new login of alice and also rewrites her per-user index, which grows
// with every session she holds.)
func BenchmarkCoatcheckRedisWriteNoIndex(b *testing.B) {
	m, hook := ccRedisManagerWith(b, coatcheck.ServerConfig{NoUserIndex: true})
	ccServerWrite(b, m, hook)
}

// BenchmarkCoatcheckRedisUntouched: a session cookie is sent, the handler
// ignores it: no round trip.
func BenchmarkCoatcheckRedisUntouched(b *testing.B) {
	m, hook := ccRedisManager(b)
	s := &seen{}
	run(b, m.Handler(bareHandler(s)), template(ccCookie(b, m, false)), s, wantUser, hook, noCookie)
}

// ---------------------------------------------------------------------------
// gorilla/sessions CookieStore (securecookie: gob, HMAC-SHA256, timestamp;
// optionally AES-256-CTR)

var (
	gorillaHashKey  = []byte("bench-hash-key-0123456789abcdef-0123456789abcdef-0123456789abcde")[:64]
	gorillaBlockKey = []byte("bench-block-key-0123456789abcdef")[:32]
)

func gorillaStore(encrypt bool) *sessions.CookieStore {
	if encrypt {
		return sessions.NewCookieStore(gorillaHashKey, gorillaBlockKey)
	}
	return sessions.NewCookieStore(gorillaHashKey)
}

func gorillaRead(st sessions.Store, s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := st.Get(r, "session")
		if err == nil {
			s.user, _ = sess.Values["username"].(string)
		}
		w.Write(body)
	})
}

func gorillaWrite(st sessions.Store, s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := st.Get(r, "session")
		sess.Values["username"] = wantUser
		if err := sess.Save(r, w); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.user = wantUser
		w.Write(body)
	})
}

func benchGorillaRead(b *testing.B, encrypt bool) {
	st := gorillaStore(encrypt)
	w := serve(gorillaWrite(st, &seen{}), template(""))
	s := &seen{}
	run(b, gorillaRead(st, s), template("session="+w.setCookieValue("session")), s, wantUser, nil, noCookie)
}

func benchGorillaWrite(b *testing.B, encrypt bool) {
	s := &seen{}
	run(b, gorillaWrite(gorillaStore(encrypt), s), template(""), s, wantUser, nil, setsCookie)
}

func BenchmarkGorillaCookieRead(b *testing.B)     { benchGorillaRead(b, false) }
func BenchmarkGorillaCookieWrite(b *testing.B)    { benchGorillaWrite(b, false) }
func BenchmarkGorillaCookieEncRead(b *testing.B)  { benchGorillaRead(b, true) }
func BenchmarkGorillaCookieEncWrite(b *testing.B) { benchGorillaWrite(b, true) }

// ---------------------------------------------------------------------------
// scs v2 (LoadAndSave; gob codec; memstore or goredisstore)

func scsRead(sm *scs.SessionManager, s *seen) http.Handler {
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.user = sm.GetString(r.Context(), "username")
		w.Write(body)
	}))
}

func scsWrite(sm *scs.SessionManager, s *seen) http.Handler {
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "username", wantUser)
		s.user = wantUser
		w.Write(body)
	}))
}

func scsUntouched(sm *scs.SessionManager, s *seen) http.Handler {
	return sm.LoadAndSave(bareHandler(s))
}

func scsCookie(b *testing.B, sm *scs.SessionManager) string {
	w := serve(scsWrite(sm, &seen{}), template(""))
	v := w.setCookieValue("session")
	if v == "" {
		b.Fatalf("scs set no cookie: %v", w.h)
	}
	return "session=" + v
}

func scsMem(b *testing.B) *scs.SessionManager {
	st := scsmem.New()
	b.Cleanup(st.StopCleanup)
	sm := scs.New()
	sm.Store = st
	return sm
}

func scsRedis(b *testing.B) (*scs.SessionManager, *countHook) {
	prefix := "scsbench:" + rand.Text()[:8] + ":"
	c, hook := redisClient(b, prefix)
	sm := scs.New()
	sm.Store = goredisstore.NewWithPrefix(c, prefix)
	return sm, hook
}

func BenchmarkSCSMemRead(b *testing.B) {
	sm, s := scsMem(b), &seen{}
	run(b, scsRead(sm, s), template(scsCookie(b, sm)), s, wantUser, nil, noCookie)
}

func BenchmarkSCSMemWrite(b *testing.B) {
	sm, s := scsMem(b), &seen{}
	run(b, scsWrite(sm, s), template(""), s, wantUser, nil, setsCookie)
}

// BenchmarkSCSMemUntouched: scs loads the session eagerly, touched or not.
func BenchmarkSCSMemUntouched(b *testing.B) {
	sm, s := scsMem(b), &seen{}
	run(b, scsUntouched(sm, s), template(scsCookie(b, sm)), s, wantUser, nil, noCookie)
}

func BenchmarkSCSRedisRead(b *testing.B) {
	sm, hook := scsRedis(b)
	s := &seen{}
	run(b, scsRead(sm, s), template(scsCookie(b, sm)), s, wantUser, hook, noCookie)
}

func BenchmarkSCSRedisWrite(b *testing.B) {
	sm, hook := scsRedis(b)
	s := &seen{}
	run(b, scsWrite(sm, s), template(""), s, wantUser, hook, setsCookie)
}

func BenchmarkSCSRedisUntouched(b *testing.B) {
	sm, hook := scsRedis(b)
	s := &seen{}
	run(b, scsUntouched(sm, s), template(scsCookie(b, sm)), s, wantUser, hook, noCookie)
}

// BenchmarkRedisRoundTrip is one GET of a 64-byte value through go-redis,
// without HTTP or sessions: the floor under every Redis contender, each of
// which makes one round trip per request.
func BenchmarkRedisRoundTrip(b *testing.B) {
	prefix := "rtbench:" + rand.Text()[:8] + ":"
	c, hook := redisClient(b, prefix)
	ctx := context.Background()
	val := strings.Repeat("x", 64)
	if err := c.Set(ctx, prefix+"k", val, time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	before := hook.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		v, err := c.Get(ctx, prefix+"k").Result()
		if err != nil || len(v) != 64 {
			b.Fatal(v, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(hook.n.Load()-before)/float64(b.N), "roundtrips/op")
}
