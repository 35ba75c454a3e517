package flasksession

import (
	"errors"
	"fmt"
	"strings"
)

// Codec turns a session dict into the bytes Flask-Session stores and back.
// Implementations are safe for concurrent use.
type Codec interface {
	// Name is "msgpack", "json" or "pickle" (a Fallback reports its primary's name).
	Name() string
	// Encode serializes a session. Values must belong to the pyval model.
	Encode(m map[string]any) ([]byte, error)
	// Decode parses stored bytes; the top-level value must be a dict with
	// string keys. Hostile input returns an error and never panics.
	Decode(data []byte) (map[string]any, error)
}

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrUnsupportedValue: Encode met a value outside the pyval model, or a
	// value the format cannot carry (an int beyond 64 bits for msgspec, a
	// datetime outside Python's years 1–9999, a string that is not UTF-8).
	ErrUnsupportedValue = errors.New("flasksession: unsupported session value")

	// ErrMalformed: Decode met bytes that are not a valid encoding of a
	// session dict in that format (truncated, trailing data, bad UTF-8, an
	// unknown msgpack extension, a non-string key, a top-level non-dict,
	// nesting deeper than MaxDepth...).
	ErrMalformed = errors.New("flasksession: malformed session value")

	// ErrUndecodable: no codec of a Fallback chain could decode the value.
	// The error also wraps each codec's own failure.
	ErrUndecodable = errors.New("flasksession: undecodable session value")

	// ErrUnknownFormat: CodecFor was given a format other than "msgpack",
	// "json" or "pickle".
	ErrUnknownFormat = errors.New("flasksession: unknown serialization format")

	// ErrUnknownProfile: ProfileFor was given a version or backend it does
	// not know.
	ErrUnknownProfile = errors.New("flasksession: unknown compatibility profile")
)

// MaxDepth is the deepest nesting of lists/tuples/dicts the codecs encode
// or decode (the session dict itself is depth 1). It bounds recursion on
// hostile input and on cyclic Go values.
const MaxDepth = 256

// Format names, as in SESSION_SERIALIZATION_FORMAT (plus "pickle").
const (
	FormatMsgpack = "msgpack"
	FormatJSON    = "json"
	FormatPickle  = "pickle"
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupportedValue}, args...)...)
}

// Fallback returns a Codec that encodes with primary and decodes with
// primary, then each of others in order, returning the first success. This
// is how Flask-Session 0.7/0.8 reads stored values: the configured msgspec
// format, then the other msgspec format, then pickle. When every codec
// fails the error wraps ErrUndecodable and each codec's error, and its
// message lists them.
func Fallback(primary Codec, others ...Codec) Codec {
	cs := make([]Codec, 0, 1+len(others))
	cs = append(cs, primary)
	cs = append(cs, others...)
	return fallback{codecs: cs}
}

type fallback struct{ codecs []Codec }

func (f fallback) Name() string { return f.codecs[0].Name() }

func (f fallback) Encode(m map[string]any) ([]byte, error) { return f.codecs[0].Encode(m) }

func (f fallback) Decode(data []byte) (map[string]any, error) {
	errs := make([]error, 0, len(f.codecs))
	for _, c := range f.codecs {
		m, err := c.Decode(data)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	var b strings.Builder
	args := make([]any, 0, 1+len(errs))
	b.WriteString("%w (")
	args = append(args, ErrUndecodable)
	for i, err := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.codecs[i].Name())
		b.WriteString(": %w")
		args = append(args, err)
	}
	b.WriteString(")")
	return nil, fmt.Errorf(b.String(), args...)
}
