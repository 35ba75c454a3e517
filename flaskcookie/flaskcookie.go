// Package flaskcookie is Flask's session cookie codec: what
// flask.sessions.SecureCookieSessionInterface builds per request,
//
//	URLSafeTimedSerializer(keys, salt="cookie-session",
//	    serializer=TaggedJSONSerializer,
//	    signer_kwargs={"key_derivation": "hmac", "digest_method": sha1})
//
// composed from package itsdangerous (signing, timestamp, zlib, base64) and
// package taggedjson (Flask's tagged JSON, byte-identical to Flask's output).
// An uncompressed cookie encoded here equals the one Flask signs for the same
// data, key and time; compressed ones differ only in the zlib stream, which
// Flask accepts.
//
// Key rotation follows Flask ≥ 3.1.1 (SECRET_KEY_FALLBACKS): SecretKey signs;
// verification tries SecretKey, then the fallbacks from last to first.
package flaskcookie

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/coatcheck/coatcheck/itsdangerous"
	"github.com/coatcheck/coatcheck/taggedjson"
)

// Salt is the salt Flask uses for session cookies.
const Salt = "cookie-session"

// DefaultMaxAge is Flask's PERMANENT_SESSION_LIFETIME default, the maximum
// age of every session cookie.
const DefaultMaxAge = 31 * 24 * time.Hour

// Config configures a Codec. Zero values are Flask's defaults.
type Config struct {
	// SecretKey is SECRET_KEY, as bytes (a Python str key is its UTF-8).
	SecretKey []byte
	// Fallbacks is SECRET_KEY_FALLBACKS, in Flask's (oldest first) order.
	Fallbacks [][]byte
	// Salt defaults to "cookie-session".
	Salt string
	// MaxAge rejects older cookies (and any signed in the future). Zero
	// means DefaultMaxAge; itsdangerous.NoMaxAge disables the check.
	MaxAge time.Duration
	// MaxDecompressedSize caps how far a compressed cookie may inflate.
	// Zero means itsdangerous.DefaultMaxDecompressedSize (1 MiB).
	MaxDecompressedSize int
	// TaggedJSON is the session serializer, for an app that registers
	// custom tags (app.session_interface.serializer.register(...)). Nil
	// means Flask's default tags.
	TaggedJSON *taggedjson.Serializer
}

// Codec encodes and decodes Flask session cookies. Safe for concurrent use.
type Codec struct {
	ser    *itsdangerous.URLSafeTimedSerializer
	tj     *taggedjson.Serializer
	maxAge time.Duration
}

// New returns a Codec. It fails when there is no secret key.
func New(cfg Config) (*Codec, error) {
	if len(cfg.SecretKey) == 0 {
		return nil, errors.New("flaskcookie: no secret key (SECRET_KEY)")
	}
	salt := cfg.Salt
	if salt == "" {
		salt = Salt
	}
	keys := make([][]byte, 0, len(cfg.Fallbacks)+1)
	for _, k := range cfg.Fallbacks {
		if len(k) > 0 {
			keys = append(keys, k)
		}
	}
	keys = append(keys, cfg.SecretKey)
	ser, err := itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{
		SecretKeys:          keys,
		Salt:                []byte(salt),
		KeyDerivation:       itsdangerous.HMAC,
		Digest:              itsdangerous.SHA1,
		MaxDecompressedSize: cfg.MaxDecompressedSize,
		// Go's zlib cannot reproduce CPython's stream, so compressed cookies
		// differ from Flask's whatever the level; level 1 is ~40× cheaper
		// than 6 (which clears 640 KB of tables per stream) and Flask
		// accepts any valid zlib stream.
		CompressionLevel: 1,
		// Below this size the few bytes zlib saves are not worth its cost:
		// ~5 µs to deflate on every write and ~3 µs to inflate on every
		// read of a 213-byte logged-in session, to save 71 characters of a
		// cookie far under MAX_COOKIE_SIZE. Flask accepts either form.
		MinCompressSize: 512,
	})
	if err != nil {
		return nil, fmt.Errorf("flaskcookie: %w", err)
	}
	maxAge := cfg.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	tj := cfg.TaggedJSON
	if tj == nil {
		tj = taggedjson.New()
	}
	return &Codec{ser: ser, tj: tj, maxAge: maxAge}, nil
}

// Encode signs data at now into a cookie value.
func (c *Codec) Encode(data map[string]any, now time.Time) (string, error) {
	b, err := c.AppendEncode(nil, data, now)
	if err != nil || len(b) == 0 {
		return "", err
	}
	// b is a fresh buffer that nothing else references or writes: hand it
	// out as the string without a copy.
	return unsafe.String(&b[0], len(b)), nil
}

// jsonBufs pools the scratch the tagged JSON is written into before it is
// signed.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// AppendEncode appends the cookie value for data to dst.
func (c *Codec) AppendEncode(dst []byte, data map[string]any, now time.Time) ([]byte, error) {
	bp := jsonBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 { // do not pin huge buffers
			jsonBufs.Put(bp)
		}
	}()
	j, err := c.tj.AppendMarshal((*bp)[:0], data)
	*bp = j[:0]
	if err != nil {
		return dst, fmt.Errorf("flaskcookie: %w", err)
	}
	return c.ser.AppendDumps(dst, j, now), nil
}

// Decode verifies value at now and returns the session and its signing time.
// Errors classify like itsdangerous': errors.Is with
// itsdangerous.ErrBadPayload (valid signature, undecodable content — Flask
// answers 500), ErrSignatureExpired (also for a time in the future),
// ErrMalformed, ErrBadSignature.
func (c *Codec) Decode(value string, now time.Time) (map[string]any, time.Time, error) {
	j, signedAt, err := c.loads(value, now)
	if err != nil {
		return nil, signedAt, err
	}
	m, err := c.tj.Unmarshal(j)
	if err != nil {
		return nil, signedAt, &itsdangerous.PayloadError{Reason: "invalid tagged JSON", Err: err}
	}
	return m, signedAt, nil
}

// MaxAge is the oldest a cookie may be (Config.MaxAge, defaulted).
func (c *Codec) MaxAge() time.Duration { return c.maxAge }

// Resign re-signs value, a cookie Decode accepted, at now with SecretKey,
// keeping its payload bytes as they are: for a value Encode produced (and an
// uncompressed one Flask signed) the result equals Encode of the decoded
// data at now, without encoding the data again. Resign does not verify
// value; it fails only when value does not have a cookie's three parts.
func (c *Codec) Resign(value string, now time.Time) (string, error) {
	b, err := c.AppendResign(nil, value, now)
	if err != nil {
		return "", err
	}
	return unsafe.String(&b[0], len(b)), nil
}

// AppendResign appends the result of Resign to dst.
func (c *Codec) AppendResign(dst []byte, value string, now time.Time) ([]byte, error) {
	i := lastDot(value)
	if i < 0 {
		return dst, fmt.Errorf("flaskcookie: %w", itsdangerous.ErrMalformed)
	}
	j := lastDot(value[:i])
	if j < 0 {
		return dst, fmt.Errorf("flaskcookie: %w", itsdangerous.ErrMalformed)
	}
	return c.ser.Signer().AppendSign(dst, unsafe.Slice(unsafe.StringData(value), j), now), nil
}

// DecodeJSON is Decode returning the verified JSON text instead of the
// decoded session.
func (c *Codec) DecodeJSON(value string, now time.Time) ([]byte, time.Time, error) {
	return c.loads(value, now)
}

// loads verifies value through a read-only view of the string: Loads never
// writes to its input and its result never aliases it, so the common path
// needs no copy; only an ExpiredError's payload, which is a subslice, is
// cloned.
func (c *Codec) loads(value string, now time.Time) ([]byte, time.Time, error) {
	j, signedAt, err := c.ser.Loads(unsafe.Slice(unsafe.StringData(value), len(value)), c.maxAge, now)
	if err != nil {
		var ee *itsdangerous.ExpiredError
		if errors.As(err, &ee) {
			ee.Payload = bytes.Clone(ee.Payload) // do not hand out the view
		}
		return nil, signedAt, err
	}
	return j, signedAt, nil
}

// DecodeUnverified returns the JSON text inside value WITHOUT checking the
// signature or the age: for inspecting a cookie when the key is unknown.
// Never trust its result.
func DecodeUnverified(value string) ([]byte, error) {
	// any key will do: DecodePayload does not verify
	ser, err := itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{SecretKeys: [][]byte{{0}}})
	if err != nil {
		return nil, err
	}
	payload := value
	for i := 0; i < 2; i++ {
		j := lastDot(payload)
		if j < 0 {
			return nil, fmt.Errorf("flaskcookie: %w", itsdangerous.ErrMalformed)
		}
		payload = payload[:j]
	}
	return ser.DecodePayload([]byte(payload))
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
