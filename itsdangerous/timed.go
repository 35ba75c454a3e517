package itsdangerous

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"time"
)

// NoMaxAge, passed as maxAge, disables the age check entirely (Python's
// max_age=None): neither old nor future timestamps are rejected. Any negative
// maxAge has this meaning.
const NoMaxAge time.Duration = -1

// maxTimestampLen is the longest encoded timestamp: 8 bytes → 11 characters.
const maxTimestampLen = 11

// maxUnix bounds the seconds handed to time.Unix so that absurd (but validly
// signed) 8-byte timestamps cannot overflow time arithmetic.
const maxUnix = 1 << 62

// TimestampSigner is itsdangerous' TimestampSigner: it signs
// value + sep + timestamp, where timestamp is the base64url encoding of the
// signing time in whole Unix seconds as a minimal big-endian integer
// (1700000000 → "ZVPxAA"). A TimestampSigner is safe for concurrent use.
//
// Time is always passed in explicitly, so callers decide the clock.
type TimestampSigner struct {
	s *Signer
}

// NewTimestampSigner validates cfg (see SignerConfig; the default salt is
// "itsdangerous.Signer") and returns a TimestampSigner.
func NewTimestampSigner(cfg SignerConfig) (*TimestampSigner, error) {
	s, err := NewSigner(cfg)
	if err != nil {
		return nil, err
	}
	return &TimestampSigner{s: s}, nil
}

// Signer returns the underlying Signer, which signs and verifies without
// timestamps.
func (t *TimestampSigner) Signer() *Signer { return t.s }

// Sign returns value + sep + timestamp(now) + sep + signature.
func (t *TimestampSigner) Sign(value []byte, now time.Time) []byte {
	return t.AppendSign(nil, value, now)
}

// AppendSign appends value + sep + timestamp(now) + sep + signature to dst.
// Times before the Unix epoch are encoded as 0.
func (t *TimestampSigner) AppendSign(dst, value []byte, now time.Time) []byte {
	dst = slices.Grow(dst, len(value)+1+maxTimestampLen+1+t.s.sigLen)
	start := len(dst)
	dst = append(dst, value...)
	dst = append(dst, t.s.sep)
	dst = AppendTimestamp(dst, now)
	return t.s.appendSignature(dst, start)
}

// AppendTimestamp appends itsdangerous' encoding of now (whole seconds,
// minimal big-endian, base64url without padding) to dst. Times before the
// Unix epoch are encoded as 0, which is the empty string.
func AppendTimestamp(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	if sec < 0 {
		sec = 0
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(sec))
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	return base64.RawURLEncoding.AppendEncode(dst, b[i:])
}

// ParseTimestamp decodes an encoded timestamp (as in a signed value) to
// seconds since the epoch. Like itsdangerous it accepts up to 8 bytes,
// leading zero bytes included, and trailing '=' padding; anything else is
// reported as not ok.
func ParseTimestamp(enc []byte) (sec uint64, ok bool) {
	enc = trimPadding(enc)
	if len(enc) > maxTimestampLen {
		return 0, false
	}
	var b [8]byte
	n, err := base64.RawURLEncoding.Decode(b[:], enc)
	if err != nil || n > 8 {
		return 0, false
	}
	for _, c := range b[:n] {
		sec = sec<<8 | uint64(c)
	}
	return sec, true
}

// Unsign verifies value and its age, and returns the payload (a subslice of
// value) and the signing time (UTC).
//
// The signature is checked first (with every key, newest first), then the
// timestamp, then the age: with maxAge >= 0, a value older than maxAge, or
// signed in the future (age < 0), is rejected with an *ExpiredError; an age
// equal to maxAge is still valid. Ages are whole seconds, now - timestamp,
// as in itsdangerous. A negative maxAge (NoMaxAge) skips the age check.
//
// Errors: ErrMalformed (no separator; missing or malformed timestamp, the
// latter two also ErrBadTimeSignature), ErrBadTimeSignature (signature does
// not match), *ExpiredError (ErrSignatureExpired). Unsign of a valid value
// does not allocate.
func (t *TimestampSigner) Unsign(value []byte, maxAge time.Duration, now time.Time) (payload []byte, signedAt time.Time, err error) {
	sep := t.s.sep
	i := bytes.LastIndexByte(value, sep)
	if i < 0 {
		return nil, time.Time{}, errNoSeparator
	}
	signed := value[:i]
	if !t.s.verify(signed, value[i+1:]) {
		return nil, time.Time{}, errTimeSigMismatch
	}
	j := bytes.LastIndexByte(signed, sep)
	if j < 0 {
		return nil, time.Time{}, errTimestampMissing
	}
	ts, ok := ParseTimestamp(signed[j+1:])
	if !ok {
		return nil, time.Time{}, errMalformedTimestamp
	}
	payload = signed[:j]
	if ts > maxUnix {
		ts = maxUnix
	}
	sec := int64(ts)
	signedAt = time.Unix(sec, 0).UTC()
	if maxAge < 0 {
		return payload, signedAt, nil
	}
	nowSec := now.Unix()
	switch {
	case nowSec < sec:
		age := int64(math.MinInt64)
		if nowSec >= -maxUnix {
			age = nowSec - sec
		}
		return nil, signedAt, &ExpiredError{SignedAt: signedAt, Age: age, MaxAge: maxAge, Payload: payload}
	case nowSec-sec > int64(maxAge/time.Second):
		return nil, signedAt, &ExpiredError{SignedAt: signedAt, Age: nowSec - sec, MaxAge: maxAge, Payload: payload}
	}
	return payload, signedAt, nil
}

// Validate reports whether value has a valid signature and age.
func (t *TimestampSigner) Validate(value []byte, maxAge time.Duration, now time.Time) bool {
	_, _, err := t.Unsign(value, maxAge, now)
	return err == nil
}
