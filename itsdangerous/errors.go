package itsdangerous

import (
	"errors"
	"fmt"
	"time"
)

// kindError is an error class. It unwraps to its parent classes, so
// errors.Is(err, ErrBadSignature) holds for every descendant, mirroring the
// exception hierarchy of itsdangerous (exc.py).
type kindError struct {
	msg     string
	parents []error
}

func (e *kindError) Error() string   { return e.msg }
func (e *kindError) Unwrap() []error { return e.parents }

// The error classes, nested like itsdangerous' exceptions:
//
//	ErrBadData
//	├── ErrBadSignature
//	│   ├── ErrBadTimeSignature
//	│   │   └── ErrSignatureExpired   (concrete error: *ExpiredError)
//	│   └── ErrMalformed              (no separator, missing or malformed timestamp)
//	└── ErrBadPayload                 (concrete error: *PayloadError)
//
// ErrMalformed has no counterpart in itsdangerous (which raises a plain
// BadSignature or BadTimeSignature with a message); it lets callers tell
// "not a signed value at all" from "signature does not match". A missing or
// malformed timestamp is both ErrMalformed and ErrBadTimeSignature.
//
// ErrBadPayload is not an ErrBadSignature: it means the signature was valid
// but the signed payload could not be decoded, which only a holder of the
// key can cause (Flask answers it with HTTP 500, not an empty session).
//
// To classify an error, test the most specific classes first:
// ErrBadPayload, ErrSignatureExpired, ErrMalformed, then ErrBadSignature.
var (
	ErrBadData          error = &kindError{msg: "itsdangerous: bad data"}
	ErrBadSignature     error = &kindError{msg: "itsdangerous: bad signature", parents: []error{ErrBadData}}
	ErrBadTimeSignature error = &kindError{msg: "itsdangerous: bad time signature", parents: []error{ErrBadSignature}}
	ErrSignatureExpired error = &kindError{msg: "itsdangerous: signature expired", parents: []error{ErrBadTimeSignature}}
	ErrMalformed        error = &kindError{msg: "itsdangerous: malformed signed value", parents: []error{ErrBadSignature}}
	ErrBadPayload       error = &kindError{msg: "itsdangerous: bad payload", parents: []error{ErrBadData}}
)

// Preallocated concrete errors: returning them never allocates.
var (
	errNoSeparator        = &kindError{msg: "itsdangerous: no separator found in value", parents: []error{ErrMalformed}}
	errSignatureMismatch  = &kindError{msg: "itsdangerous: signature does not match", parents: []error{ErrBadSignature}}
	errTimeSigMismatch    = &kindError{msg: "itsdangerous: signature does not match", parents: []error{ErrBadTimeSignature}}
	errTimestampMissing   = &kindError{msg: "itsdangerous: timestamp missing", parents: []error{ErrMalformed, ErrBadTimeSignature}}
	errMalformedTimestamp = &kindError{msg: "itsdangerous: malformed timestamp", parents: []error{ErrMalformed, ErrBadTimeSignature}}
)

// ExpiredError reports a valid signature whose timestamp is older than the
// allowed maximum age, or lies in the future (itsdangerous rejects both as
// SignatureExpired). It matches ErrSignatureExpired, ErrBadTimeSignature,
// ErrBadSignature and ErrBadData with errors.Is.
type ExpiredError struct {
	// SignedAt is the signing time recorded in the value (UTC).
	SignedAt time.Time
	// Age is now minus SignedAt in whole seconds; negative for a timestamp
	// in the future.
	Age int64
	// MaxAge is the maximum age the value was checked against.
	MaxAge time.Duration
	// Payload is the signed payload (still encoded, for the serializer).
	// The signature over it was valid, so it is authentic but stale. It
	// aliases the value passed to Unsign or Loads.
	Payload []byte
}

func (e *ExpiredError) Error() string {
	if e.Age < 0 {
		return fmt.Sprintf("itsdangerous: signature age %d < 0 seconds", e.Age)
	}
	return fmt.Sprintf("itsdangerous: signature age %d > %d seconds", e.Age, int64(e.MaxAge/time.Second))
}

// Unwrap returns ErrSignatureExpired, so errors.Is matches it and its parents.
func (e *ExpiredError) Unwrap() error { return ErrSignatureExpired }

// PayloadError reports a payload that could not be decoded after its
// signature was verified: bad base64, a broken zlib stream, a stream that
// inflates beyond the configured maximum, or (when a caller wraps its own
// decoder's error in it) bad JSON. It matches ErrBadPayload and ErrBadData
// with errors.Is, and never ErrBadSignature.
type PayloadError struct {
	// Reason is a short description of what failed.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *PayloadError) Error() string {
	msg := "itsdangerous: bad payload"
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrBadPayload and the underlying error.
func (e *PayloadError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrBadPayload}
	}
	return []error{ErrBadPayload, e.Err}
}

// errConfig builds a configuration error (returned by the constructors).
func errConfig(format string, args ...any) error {
	return errors.New("itsdangerous: " + fmt.Sprintf(format, args...))
}
