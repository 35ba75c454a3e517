package flasksession

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/coatcheck/coatcheck/pyval"
)

// IDStyle is how a Flask-Session version generates session ids.
type IDStyle int

const (
	// UUID4 is str(uuid.uuid4()) (Flask-Session 0.3–0.5): 36 characters,
	// e.g. 7c208eb7-9294-4e25-b112-43c536e2ebae.
	UUID4 IDStyle = iota + 1
	// TokenURLSafe is secrets.token_urlsafe(SESSION_ID_LENGTH)
	// (Flask-Session 0.6+): base64url without padding of that many random
	// bytes (43 characters for the default 32).
	TokenURLSafe
)

// String returns "uuid4" or "token_urlsafe".
func (s IDStyle) String() string {
	switch s {
	case UUID4:
		return "uuid4"
	case TokenURLSafe:
		return "token_urlsafe"
	}
	return fmt.Sprintf("IDStyle(%d)", int(s))
}

// DefaultIDLength is SESSION_ID_LENGTH's default: 32 bytes of entropy.
const DefaultIDLength = 32

// Profile describes what one Flask-Session version writes for one backend,
// so a Go app can share a store with it (FLASK-WIRE §9).
type Profile struct {
	// Version is the Flask-Session minor version: "0.3" … "0.8".
	Version string
	// Backend is SESSION_TYPE: redis, memcached, filesystem, mongodb,
	// sqlalchemy (and cachelib for 0.7+, dynamodb for 0.8).
	Backend string
	// Serialization is the stored value format: "pickle", "msgpack" or
	// "json" (SESSION_SERIALIZATION_FORMAT; 0.7+ except filesystem/cachelib).
	Serialization string
	// IDStyle and IDLength describe new session ids; IDLength is the number
	// of random bytes for TokenURLSafe and 0 for UUID4.
	IDStyle  IDStyle
	IDLength int
	// KeyPrefix is SESSION_KEY_PREFIX: the store key is KeyPrefix + id.
	KeyPrefix string
	// UseSigner is SESSION_USE_SIGNER (default false): the cookie carries
	// id + "." + an itsdangerous Signer signature (salt "flask-session").
	UseSigner bool
	// PickleProtocol is the protocol Go writes when Serialization is
	// "pickle": 0 for memcached in 0.3–0.6 (python-memcached writes
	// protocol 0), 2 elsewhere (Python writes 4 or 5; every Python 3 reads 2).
	PickleProtocol int
	// FallbackRead reports whether Flask-Session reads values in the other
	// formats too (0.7+: configured msgspec format → the other → pickle).
	FallbackRead bool
	// StoresEmptySessions reports whether a request that never touches the
	// session still creates a store entry (0.3–0.5: every cookieless request
	// stores {"_permanent": True}; fixed in 0.6).
	StoresEmptySessions bool
}

// Codec returns the codec matching p: Pickle(p.PickleProtocol) for pickle
// profiles, CodecFor(p.Serialization) (a fallback chain) otherwise.
func (p Profile) Codec() (Codec, error) {
	if p.Serialization == FormatPickle {
		return Pickle(p.PickleProtocol), nil
	}
	return CodecFor(p.Serialization)
}

// NewID returns a new session id as Flask-Session generates it: style
// UUID4 (random version-4 UUID, 36 characters) or TokenURLSafe (length
// random bytes, DefaultIDLength if length <= 0, base64url without padding).
// Randomness comes from crypto/rand.
func (p Profile) NewID() (string, error) { return NewID(p.IDStyle, p.IDLength) }

// ProfileFor returns the profile of Flask-Session version ("0.3" … "0.8";
// a patch level such as "0.8.0" or "0.3.2" is accepted and ignored) for
// backend. Versions 0.3–0.6 store pickle, 0.7–0.8 msgspec msgpack (the
// default; set Serialization to "json" for SESSION_SERIALIZATION_FORMAT=json)
// — except filesystem and cachelib, which cachelib pickles in every version.
// 0.3–0.5 generate uuid4 ids, 0.6+ secrets.token_urlsafe(32).
func ProfileFor(version, backend string) (Profile, error) {
	v := version
	if parts := strings.Split(v, "."); len(parts) == 3 {
		v = parts[0] + "." + parts[1]
	}
	be := strings.ToLower(backend)
	p := Profile{Version: v, Backend: be, KeyPrefix: "session:", PickleProtocol: 2}
	var minor int
	switch v {
	case "0.3", "0.4", "0.5", "0.6", "0.7", "0.8":
		minor = int(v[2] - '0')
	default:
		return Profile{}, fmt.Errorf("%w: version %q (want 0.3 … 0.8)", ErrUnknownProfile, version)
	}
	switch be {
	case "redis", "memcached", "filesystem", "mongodb", "sqlalchemy":
	case "cachelib":
		if minor < 7 {
			return Profile{}, fmt.Errorf("%w: backend %q needs Flask-Session 0.7+", ErrUnknownProfile, backend)
		}
	case "dynamodb":
		if minor < 8 {
			return Profile{}, fmt.Errorf("%w: backend %q needs Flask-Session 0.8+", ErrUnknownProfile, backend)
		}
	default:
		return Profile{}, fmt.Errorf("%w: backend %q", ErrUnknownProfile, backend)
	}
	if minor <= 5 {
		p.IDStyle = UUID4
		p.StoresEmptySessions = true
	} else {
		p.IDStyle, p.IDLength = TokenURLSafe, DefaultIDLength
	}
	switch {
	case be == "filesystem" || be == "cachelib":
		p.Serialization = FormatPickle
	case minor <= 6:
		p.Serialization = FormatPickle
		if be == "memcached" {
			p.PickleProtocol = 0
		}
	default:
		p.Serialization = FormatMsgpack
		p.FallbackRead = true
	}
	return p, nil
}

// NewID returns a new random session id in style (see IDStyle). length is
// the number of random bytes for TokenURLSafe (DefaultIDLength when <= 0)
// and is ignored for UUID4.
func NewID(style IDStyle, length int) (string, error) {
	switch style {
	case UUID4:
		var u pyval.UUID
		if _, err := rand.Read(u[:]); err != nil {
			return "", fmt.Errorf("flasksession: reading random bytes: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		return u.String(), nil
	case TokenURLSafe:
		if length <= 0 {
			length = DefaultIDLength
		}
		b := make([]byte, length)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("flasksession: reading random bytes: %w", err)
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	}
	return "", fmt.Errorf("%w: id style %v", ErrUnknownProfile, style)
}

// MaxIDLength is the longest id ValidID accepts (SQL backends store the key
// in a VARCHAR(255)).
const MaxIDLength = 255

// ValidID reports whether id may be used as a session id: 1 to 255 bytes
// of printable ASCII other than space, '"', ',', ';' and '\\' (the
// characters a cookie value cannot carry unquoted). Every id any
// Flask-Session version generates passes — uuid4 strings, token_urlsafe of
// any length, ids with a custom alphabet — while empty ids, over-long ids,
// spaces, control characters and non-ASCII bytes, which a store must never
// see in a key, do not. It checks form, not existence: Flask-Session itself
// never validates the id it reads from the cookie.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}
