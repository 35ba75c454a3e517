package flasksession

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// Msgpack is the codec of Flask-Session 0.7/0.8's default
// SESSION_SERIALIZATION_FORMAT="msgpack": msgpack exactly as
// msgspec.msgpack.Encoder() writes it with its default settings.
//
// Encoding, by value type:
//
//	map[string]any          fixmap/map16/map32, keys in sorted byte order
//	string, pyval.Markup    fixstr/str8/str16/str32, shortest header
//	int types, *big.Int     shortest of positive fixint, uint8–64, negative
//	                        fixint, int8–64; beyond [-2**63, 2**64-1] → error
//	float64, float32        always float64 (0xcb)
//	bool, nil               0xc3/0xc2, 0xc0
//	[]byte                  bin8/bin16/bin32
//	[]any, pyval.Tuple      fixarray/array16/array32
//	time.Time (aware)       timestamp extension -1 (ts32, ts64 or ts96),
//	                        truncated to microseconds like a Python datetime
//	time.Time (naive)       isoformat string, 2024-01-02T03:04:05.678901
//	pyval.Date              isoformat string, 2024-02-29
//	pyval.UUID              canonical string
//	pyval.Decimal           its text
//
// Key order: msgspec writes a dict in insertion order; Go maps have none, so
// keys are sorted to make the output deterministic. Python builds a dict from
// whatever order it reads, and Flask never depends on key order, so the bytes
// differ from Flask's only by the order of map entries.
//
// Markup: msgspec cannot encode markupsafe.Markup (a str subclass) and
// Flask-Session 0.7/0.8 answers a flash of Markup with a 500
// (pallets/flask#5653). Coatcheck encodes pyval.Markup as a plain string
// instead: a Go handler flashing Markup keeps working, Python reads the value
// back as str (its safe-HTML mark is lost, so Jinja escapes it: the failure
// is visible but never unsafe), and Go reads it back as string too.
//
// Decoding accepts the whole msgpack spec: every int, float32/float64, str,
// bin, array and map form; nil, bools. The timestamp extension (-1) becomes a
// time.Time in time.UTC (like msgspec: an aware UTC datetime); any other
// extension type is an error, as is the never-used byte 0xc1. uint64 values
// above 2**63-1 decode to *big.Int. Map keys: the value model has only
// map[string]any, so the session dict itself must have string keys; in a
// nested dict an integer key becomes its decimal text ({1: "a"} reads as
// {"1": "a"}, as package pickle does and as json.dumps would write it), so
// one Python dict with int keys does not make the whole session unreadable;
// any other key type (bytes, float, bool, None, array, map) is an error.
// Duplicate keys, also after that conversion: the last one wins (Python's
// dict semantics). Strings
// must be valid UTF-8. Trailing bytes, nesting deeper than MaxDepth and
// length fields longer than the remaining input are errors; nothing is
// allocated before its length has been checked against the input.
var Msgpack Codec = msgpackCodec{}

type msgpackCodec struct{}

func (msgpackCodec) Name() string { return FormatMsgpack }

func (msgpackCodec) Encode(m map[string]any) ([]byte, error) {
	b := make([]byte, 0, 64)
	return mpEncodeMap(b, m, 1)
}

func mpEncodeMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, unsupported("msgpack: nesting deeper than %d", MaxDepth)
	}
	n := len(m)
	switch {
	case n < 16:
		b = append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xde, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdf)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	var err error
	for _, k := range sortedKeys(m) {
		if b, err = mpEncodeStr(b, k); err != nil {
			return nil, err
		}
		if b, err = mpEncode(b, m[k], depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func mpEncodeStr(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, unsupported("string %q is not valid UTF-8", s)
	}
	return mpStrHeader(b, len(s), s), nil
}

func mpStrHeader(b []byte, n int, s string) []byte {
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	return append(b, s...)
}

func mpEncodeInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return mpEncodeUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(b, 0xd1, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		b = append(b, 0xd2)
		return binary.BigEndian.AppendUint32(b, uint32(i))
	default:
		b = append(b, 0xd3)
		return binary.BigEndian.AppendUint64(b, uint64(i))
	}
}

func mpEncodeUint(b []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		b = append(b, 0xce)
		return binary.BigEndian.AppendUint32(b, uint32(u))
	default:
		b = append(b, 0xcf)
		return binary.BigEndian.AppendUint64(b, u)
	}
}

func mpEncodeArray(b []byte, xs []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, unsupported("msgpack: nesting deeper than %d", MaxDepth)
	}
	n := len(xs)
	switch {
	case n < 16:
		b = append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xdc, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdd)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	var err error
	for _, x := range xs {
		if b, err = mpEncode(b, x, depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// mpEncodeTime writes an aware time as msgspec does: ts32 when there is no
// sub-second part and 0 <= sec < 2**32, ts64 when 0 <= sec < 2**34, ts96
// otherwise (including every time before 1970).
func mpEncodeTime(b []byte, t time.Time) ([]byte, error) {
	if !pyTimeOK(t) {
		return nil, unsupported("datetime %s is outside Python's range", t)
	}
	sec := t.Unix()
	ns := uint32(t.Nanosecond() / 1000 * 1000)
	switch {
	case sec>>34 == 0 && ns == 0 && sec < 1<<32:
		b = append(b, 0xd6, 0xff)
		return binary.BigEndian.AppendUint32(b, uint32(sec)), nil
	case sec>>34 == 0:
		b = append(b, 0xd7, 0xff)
		return binary.BigEndian.AppendUint64(b, uint64(ns)<<34|uint64(sec)), nil
	default:
		b = append(b, 0xc7, 12, 0xff)
		b = binary.BigEndian.AppendUint32(b, ns)
		return binary.BigEndian.AppendUint64(b, uint64(sec)), nil
	}
}

func mpEncode(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case string:
		return mpEncodeStr(b, x)
	case pyval.Markup:
		return mpEncodeStr(b, string(x))
	case pyval.Decimal:
		return mpEncodeStr(b, string(x))
	case pyval.UUID:
		return mpStrHeader(b, 36, x.String()), nil
	case pyval.Date:
		return mpEncodeStr(b, string(appendDate(nil, x.Year, int(x.Month), x.Day)))
	case time.Time:
		if pyval.IsNaive(x) {
			if !pyTimeOK(x) {
				return nil, unsupported("datetime %s is outside Python's range", x)
			}
			s := appendISO(nil, x)
			return mpStrHeader(b, len(s), string(s)), nil
		}
		return mpEncodeTime(b, x)
	case float64:
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case float32:
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(x))), nil
	case []byte:
		n := len(x)
		switch {
		case n <= math.MaxUint8:
			b = append(b, 0xc4, byte(n))
		case n <= math.MaxUint16:
			b = append(b, 0xc5, byte(n>>8), byte(n))
		default:
			b = append(b, 0xc6)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return append(b, x...), nil
	case []any:
		return mpEncodeArray(b, x, depth+1)
	case pyval.Tuple:
		return mpEncodeArray(b, x, depth+1)
	case map[string]any:
		return mpEncodeMap(b, x, depth+1)
	}
	i, u, isU, ok, isInt := intKind(v)
	switch {
	case isInt && !ok:
		return nil, unsupported("msgpack: integer %v out of range [-2**63, 2**64-1]", v)
	case isU:
		return mpEncodeUint(b, u), nil
	case isInt:
		return mpEncodeInt(b, i), nil
	}
	return nil, unsupported("msgpack: cannot encode %T", v)
}

func (msgpackCodec) Decode(data []byte) (map[string]any, error) {
	d := mpDecoder{data: data}
	if len(data) == 0 {
		return nil, malformed("msgpack: empty input")
	}
	c := data[0]
	if !(c&0xf0 == 0x80 || c == 0xde || c == 0xdf) {
		return nil, malformed("msgpack: top-level value is not a map (byte 0x%02x)", c)
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, malformed("msgpack: %d trailing bytes", len(data)-d.pos)
	}
	return v.(map[string]any), nil
}

type mpDecoder struct {
	data []byte
	pos  int
}

func (d *mpDecoder) need(n uint64) ([]byte, error) {
	if n > uint64(len(d.data)-d.pos) {
		return nil, malformed("msgpack: truncated input at offset %d", d.pos)
	}
	p := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return p, nil
}

// length reads an n-byte big-endian length.
func (d *mpDecoder) length(n int) (uint64, error) {
	p, err := d.need(uint64(n))
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	default:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
}

func (d *mpDecoder) str(n uint64) (string, error) {
	p, err := d.need(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", malformed("msgpack: string at offset %d is not valid UTF-8", d.pos-len(p))
	}
	return string(p), nil
}

func (d *mpDecoder) bin(n uint64) ([]byte, error) {
	p, err := d.need(n)
	if err != nil {
		return nil, err
	}
	return append([]byte{}, p...), nil
}

func (d *mpDecoder) array(n uint64, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("msgpack: nesting deeper than %d", MaxDepth)
	}
	// Every element takes at least one byte.
	if n > uint64(len(d.data)-d.pos) {
		return nil, malformed("msgpack: array of %d elements longer than the input", n)
	}
	xs := make([]any, n)
	for i := range xs {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		xs[i] = v
	}
	return xs, nil
}

func (d *mpDecoder) mapv(n uint64, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("msgpack: nesting deeper than %d", MaxDepth)
	}
	// Every entry takes at least two bytes.
	if n > uint64(len(d.data)-d.pos)/2 {
		return nil, malformed("msgpack: map of %d entries longer than the input", n)
	}
	m := make(map[string]any, n)
	for i := uint64(0); i < n; i++ {
		k, err := d.key(depth == 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// key reads a map key: a string, or below the top level an integer, which
// becomes its decimal text (as package pickle and json.dumps do).
func (d *mpDecoder) key(top bool) (string, error) {
	if d.pos >= len(d.data) {
		return "", malformed("msgpack: truncated input at offset %d", d.pos)
	}
	c := d.data[d.pos]
	var n uint64
	var err error
	switch {
	case c&0xe0 == 0xa0:
		d.pos++
		n = uint64(c & 0x1f)
	case c == 0xd9 || c == 0xda || c == 0xdb:
		d.pos++
		n, err = d.length(1 << (c - 0xd9))
		if err != nil {
			return "", err
		}
	case !top && (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3)):
		v, err := d.value(MaxDepth)
		if err != nil {
			return "", err
		}
		if n, ok := v.(*big.Int); ok {
			return n.String(), nil
		}
		return strconv.FormatInt(v.(int64), 10), nil
	default:
		return "", malformed("msgpack: map key at offset %d is not a string (byte 0x%02x)", d.pos, c)
	}
	return d.str(n)
}

func (d *mpDecoder) ext(n uint64) (any, error) {
	p, err := d.need(1)
	if err != nil {
		return nil, err
	}
	typ := int8(p[0])
	body, err := d.need(n)
	if err != nil {
		return nil, err
	}
	if typ != -1 {
		return nil, malformed("msgpack: unsupported extension type %d", typ)
	}
	var sec int64
	var ns uint32
	switch n {
	case 4:
		sec = int64(binary.BigEndian.Uint32(body))
	case 8:
		v := binary.BigEndian.Uint64(body)
		ns = uint32(v >> 34)
		sec = int64(v & (1<<34 - 1))
	case 12:
		ns = binary.BigEndian.Uint32(body)
		sec = int64(binary.BigEndian.Uint64(body[4:]))
	default:
		return nil, malformed("msgpack: timestamp extension of %d bytes", n)
	}
	if ns > 999999999 {
		return nil, malformed("msgpack: timestamp nanoseconds %d out of range", ns)
	}
	if sec < minPySec || sec > maxPySec {
		return nil, malformed("msgpack: timestamp %d outside Python's datetime range", sec)
	}
	return time.Unix(sec, int64(ns)).UTC(), nil
}

func (d *mpDecoder) value(depth int) (any, error) {
	p, err := d.need(1)
	if err != nil {
		return nil, err
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xf0 == 0x80:
		return d.mapv(uint64(c&0x0f), depth+1)
	case c&0xf0 == 0x90:
		return d.array(uint64(c&0x0f), depth+1)
	case c&0xe0 == 0xa0:
		return d.str(uint64(c & 0x1f))
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.length(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		return d.bin(n)
	case 0xc7, 0xc8, 0xc9:
		n, err := d.length(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(n)
	case 0xca:
		p, err := d.need(4)
		if err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(p))), nil
	case 0xcb:
		p, err := d.need(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		p, err := d.need(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		var u uint64
		for _, x := range p {
			u = u<<8 | uint64(x)
		}
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case 0xd0:
		p, err := d.need(1)
		if err != nil {
			return nil, err
		}
		return int64(int8(p[0])), nil
	case 0xd1:
		p, err := d.need(2)
		if err != nil {
			return nil, err
		}
		return int64(int16(binary.BigEndian.Uint16(p))), nil
	case 0xd2:
		p, err := d.need(4)
		if err != nil {
			return nil, err
		}
		return int64(int32(binary.BigEndian.Uint32(p))), nil
	case 0xd3:
		p, err := d.need(8)
		if err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint64(p)), nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := d.length(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(n)
	case 0xdc, 0xdd:
		n, err := d.length(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(n, depth+1)
	case 0xde, 0xdf:
		n, err := d.length(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapv(n, depth+1)
	}
	return nil, malformed("msgpack: invalid type byte 0x%02x at offset %d", c, d.pos-1)
}
