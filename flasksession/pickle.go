package flasksession

import (
	"fmt"

	"github.com/coatcheck/coatcheck/pickle"
)

// Pickle returns the codec of Flask-Session 0.3–0.6 (every backend) and of
// the filesystem/cachelib backends in every version: Python's pickle of the
// session dict.
//
// Decode reads protocols 0 to 5 through package pickle's safe reader (plain
// values and an allow-list of value types only; nothing is ever called); the
// top-level value must be a dict. Encode writes the given protocol, 0 or 2
// (Marshal's two; any other protocol makes Encode fail): protocol 0 is what
// python-memcached stores for Flask-Session ≤ 0.6, and protocol 2 is read by
// every Python 3 pickle.loads, so Go uses it for Redis, MongoDB, SQL and
// filesystem values even though Python itself writes protocol 4 or 5.
func Pickle(protocol int) Codec { return pickleCodec{protocol: protocol} }

type pickleCodec struct{ protocol int }

func (pickleCodec) Name() string { return FormatPickle }

func (c pickleCodec) Encode(m map[string]any) ([]byte, error) {
	if m == nil {
		m = map[string]any{}
	}
	b, err := pickle.Marshal(m, c.protocol)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return b, nil
}

func (pickleCodec) Decode(data []byte) (map[string]any, error) {
	v, err := pickle.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("pickle: top-level value is %T, not a dict", v)
	}
	return m, nil
}

// CodecFor returns the codec Flask-Session 0.7/0.8 uses for
// SESSION_SERIALIZATION_FORMAT = format:
//
//	"msgpack": Fallback(Msgpack, JSON, Pickle(2))
//	"json":    Fallback(JSON, Msgpack, Pickle(2))
//	"pickle":  Pickle(2) (the ≤ 0.6 format and the filesystem/cachelib one)
//
// Encoding always uses the first codec; Go writes pickle protocol 2, which
// every Python 3 reads.
func CodecFor(format string) (Codec, error) {
	switch format {
	case FormatMsgpack:
		return Fallback(Msgpack, JSON, Pickle(2)), nil
	case FormatJSON:
		return Fallback(JSON, Msgpack, Pickle(2)), nil
	case FormatPickle:
		return Pickle(2), nil
	}
	return nil, fmt.Errorf("%w: %q (want %q, %q or %q)", ErrUnknownFormat, format, FormatMsgpack, FormatJSON, FormatPickle)
}
