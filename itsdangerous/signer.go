package itsdangerous

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"slices"
	"strconv"
	"sync"
)

// Digest selects the hash function used both for key derivation and for the
// HMAC signature. The zero value is SHA1, itsdangerous' default (and
// Flask's).
type Digest int

const (
	SHA1   Digest = iota // hashlib.sha1: 20-byte MAC, 27 base64 characters
	SHA256               // hashlib.sha256: 32-byte MAC, 43 base64 characters
	SHA512               // hashlib.sha512: 64-byte MAC, 86 base64 characters
)

// MaxDigestSize is the largest Size of any Digest.
const MaxDigestSize = sha512.Size

// New returns a new hash.Hash for d. It panics if d is not a defined Digest.
func (d Digest) New() hash.Hash {
	switch d {
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	panic("itsdangerous: unknown Digest " + d.String())
}

// Size is the length in bytes of d's output (and so of a signature).
func (d Digest) Size() int {
	switch d {
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

func (d Digest) valid() bool { return d >= SHA1 && d <= SHA512 }

// String returns the hashlib name: "sha1", "sha256" or "sha512".
func (d Digest) String() string {
	switch d {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	case SHA512:
		return "sha512"
	}
	return "Digest(" + strconv.Itoa(int(d)) + ")"
}

// ParseDigest maps "sha1", "sha256" or "sha512" to a Digest.
func ParseDigest(name string) (Digest, error) {
	for d := SHA1; d <= SHA512; d++ {
		if d.String() == name {
			return d, nil
		}
	}
	return 0, errConfig("unknown digest %q", name)
}

// KeyDerivation selects how the signing key is derived from a secret key and
// the salt (itsdangerous' key_derivation). The zero value is DjangoConcat,
// itsdangerous' default. Flask uses HMAC.
type KeyDerivation int

const (
	// DjangoConcat: key = digest(salt + "signer" + secret). "django-concat".
	DjangoConcat KeyDerivation = iota
	// Concat: key = digest(salt + secret). "concat".
	Concat
	// HMAC: key = HMAC-digest(key = secret, message = salt). "hmac".
	HMAC
	// None: key = secret, unchanged (the salt is not used). "none".
	None
)

// String returns itsdangerous' name for k, e.g. "django-concat".
func (k KeyDerivation) String() string {
	switch k {
	case DjangoConcat:
		return "django-concat"
	case Concat:
		return "concat"
	case HMAC:
		return "hmac"
	case None:
		return "none"
	}
	return "KeyDerivation(" + strconv.Itoa(int(k)) + ")"
}

func (k KeyDerivation) valid() bool { return k >= DjangoConcat && k <= None }

// ParseKeyDerivation maps itsdangerous' names ("django-concat", "concat",
// "hmac", "none") to a KeyDerivation.
func ParseKeyDerivation(name string) (KeyDerivation, error) {
	for k := DjangoConcat; k <= None; k++ {
		if k.String() == name {
			return k, nil
		}
	}
	return 0, errConfig("unknown key derivation %q", name)
}

// DeriveKey computes the signing key for secret exactly as itsdangerous'
// Signer.derive_key does. Flask's cookie key is
// DeriveKey(HMAC, SHA1, []byte("cookie-session"), secret).
func DeriveKey(kd KeyDerivation, d Digest, salt, secret []byte) ([]byte, error) {
	if !d.valid() {
		return nil, errConfig("unknown digest %v", d)
	}
	switch kd {
	case DjangoConcat:
		h := d.New()
		h.Write(salt)
		h.Write([]byte("signer"))
		h.Write(secret)
		return h.Sum(nil), nil
	case Concat:
		h := d.New()
		h.Write(salt)
		h.Write(secret)
		return h.Sum(nil), nil
	case HMAC:
		m := hmac.New(d.New, secret)
		m.Write(salt)
		return m.Sum(nil), nil
	case None:
		return bytes.Clone(secret), nil
	}
	return nil, errConfig("unknown key derivation %v", kd)
}

// DefaultSignerSalt is the salt a Signer uses when SignerConfig.Salt is nil
// (itsdangerous' Signer.default_salt).
const DefaultSignerSalt = "itsdangerous.Signer"

// DefaultSep is the separator used when SignerConfig.Sep is zero.
const DefaultSep = '.'

// SignerConfig configures a Signer or TimestampSigner. The zero value of
// every field except SecretKeys is the documented default, which matches
// itsdangerous' defaults (not Flask's: Flask uses Salt "cookie-session" and
// KeyDerivation HMAC).
type SignerConfig struct {
	// SecretKeys lists the secret keys, OLDEST FIRST, like itsdangerous'
	// secret_keys. The last key signs; verification tries every key, newest
	// (last) first. At least one key is required and no key may be empty.
	// For Flask ≥ 3.1.1: append(SECRET_KEY_FALLBACKS, SECRET_KEY).
	SecretKeys [][]byte

	// Salt namespaces the derived keys. nil means DefaultSignerSalt
	// ("itsdangerous.Signer"); a non-nil empty slice means an empty salt.
	Salt []byte

	// Sep separates the value from its signature (and from the timestamp).
	// Zero means DefaultSep ('.'). It must not be a base64url character
	// (A-Z a-z 0-9 - _) or '=', nor '\r' or '\n'.
	Sep byte

	// KeyDerivation defaults to DjangoConcat (itsdangerous' default).
	KeyDerivation KeyDerivation

	// Digest defaults to SHA1.
	Digest Digest
}

// macState is a reusable keyed HMAC plus scratch space for its sum; pooled
// so that verifying allocates nothing.
type macState struct {
	h   hash.Hash
	sum [MaxDigestSize]byte
}

type signingKey struct {
	pool sync.Pool // of *macState keyed with this derived key
}

func (k *signingKey) get() *macState   { return k.pool.Get().(*macState) }
func (k *signingKey) put(st *macState) { k.pool.Put(st) }

// Signer signs values and verifies signatures: value + sep + base64url(HMAC).
// It is itsdangerous' Signer. A Signer is safe for concurrent use.
type Signer struct {
	sep    byte
	digest Digest
	size   int // digest size in bytes
	sigLen int // encoded signature length
	keys   []*signingKey
}

// NewSigner validates cfg, derives the keys once and returns a Signer.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Salt == nil {
		cfg.Salt = []byte(DefaultSignerSalt)
	}
	return newSigner(cfg)
}

func newSigner(cfg SignerConfig) (*Signer, error) {
	if len(cfg.SecretKeys) == 0 {
		return nil, errConfig("no secret keys")
	}
	if cfg.Sep == 0 {
		cfg.Sep = DefaultSep
	}
	if !validSep(cfg.Sep) {
		return nil, errConfig("separator %q is in the base64url alphabet or otherwise not allowed", cfg.Sep)
	}
	if !cfg.Digest.valid() {
		return nil, errConfig("unknown digest %v", cfg.Digest)
	}
	if !cfg.KeyDerivation.valid() {
		return nil, errConfig("unknown key derivation %v", cfg.KeyDerivation)
	}
	s := &Signer{
		sep:    cfg.Sep,
		digest: cfg.Digest,
		size:   cfg.Digest.Size(),
		sigLen: base64.RawURLEncoding.EncodedLen(cfg.Digest.Size()),
		keys:   make([]*signingKey, len(cfg.SecretKeys)),
	}
	for i, secret := range cfg.SecretKeys {
		if len(secret) == 0 {
			return nil, errConfig("secret key %d is empty", i)
		}
		dk, err := DeriveKey(cfg.KeyDerivation, cfg.Digest, cfg.Salt, secret)
		if err != nil {
			return nil, err
		}
		d := cfg.Digest
		k := &signingKey{}
		k.pool.New = func() any { return &macState{h: hmac.New(d.New, dk)} }
		s.keys[i] = k
	}
	return s, nil
}

func validSep(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return false
	case c == '-' || c == '_' || c == '=' || c == '\r' || c == '\n':
		return false
	}
	return true
}

// Sep returns the separator.
func (s *Signer) Sep() byte { return s.sep }

// Digest returns the digest in use.
func (s *Signer) Digest() Digest { return s.digest }

// SignatureLen is the length of an encoded signature (27 for SHA1).
func (s *Signer) SignatureLen() int { return s.sigLen }

// Sign returns value + sep + signature, signed with the newest key.
func (s *Signer) Sign(value []byte) []byte {
	return s.AppendSign(make([]byte, 0, len(value)+1+s.sigLen), value)
}

// AppendSign appends value + sep + signature to dst and returns the result.
// value may alias dst's spare capacity only if it does not overlap dst[len(dst):].
func (s *Signer) AppendSign(dst, value []byte) []byte {
	dst = slices.Grow(dst, len(value)+1+s.sigLen)
	start := len(dst)
	dst = append(dst, value...)
	return s.appendSignature(dst, start)
}

// appendSignature appends sep + base64url(HMAC(dst[start:])) to dst. The
// capacity for it must already be there.
func (s *Signer) appendSignature(dst []byte, start int) []byte {
	k := s.keys[len(s.keys)-1]
	st := k.get()
	st.h.Reset()
	st.h.Write(dst[start:])
	sum := st.h.Sum(st.sum[:0])
	dst = append(dst, s.sep)
	dst = base64.RawURLEncoding.AppendEncode(dst, sum)
	k.put(st)
	return dst
}

// verify reports whether sig is the signature of signed under any key,
// trying the newest key first. It allocates nothing and compares in
// constant time. Trailing '=' on sig is ignored, like Python's decoder.
func (s *Signer) verify(signed, sig []byte) bool {
	sig = trimPadding(sig)
	if len(sig) != s.sigLen {
		return false
	}
	var want [MaxDigestSize]byte
	n, err := base64.RawURLEncoding.Decode(want[:], sig)
	if err != nil || n != s.size {
		return false
	}
	for i := len(s.keys) - 1; i >= 0; i-- {
		k := s.keys[i]
		st := k.get()
		st.h.Reset()
		st.h.Write(signed)
		ok := hmac.Equal(st.h.Sum(st.sum[:0]), want[:n])
		k.put(st)
		if ok {
			return true
		}
	}
	return false
}

// Unsign verifies a value produced by Sign and returns the part before the
// signature (a subslice of value, not a copy). Errors: ErrMalformed (no
// separator) or ErrBadSignature (no key's signature matches). Unsign does
// not allocate.
func (s *Signer) Unsign(value []byte) ([]byte, error) {
	i := bytes.LastIndexByte(value, s.sep)
	if i < 0 {
		return nil, errNoSeparator
	}
	if !s.verify(value[:i], value[i+1:]) {
		return nil, errSignatureMismatch
	}
	return value[:i], nil
}

// Validate reports whether value carries a valid signature.
func (s *Signer) Validate(value []byte) bool {
	_, err := s.Unsign(value)
	return err == nil
}

// VerifySignature reports whether sig (base64url, as in a signed value) is
// a valid signature of value under any key (itsdangerous' verify_signature).
func (s *Signer) VerifySignature(value, sig []byte) bool {
	return s.verify(value, sig)
}

func trimPadding(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '=' {
		b = b[:len(b)-1]
	}
	return b
}
