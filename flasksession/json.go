package flasksession

import (
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// JSON is the codec of Flask-Session 0.7/0.8 with
// SESSION_SERIALIZATION_FORMAT="json": JSON as msgspec.json.Encoder()
// writes it.
//
// Encoding: compact (no spaces), keys sorted (see Msgpack on key order), raw
// UTF-8 with only the escapes JSON requires (\" \\ \b \t \n \f \r and
// \u00XX, lowercase, for other control characters); ints as decimal (beyond
// [-2**63, 2**64-1] → error, like msgspec); floats as msgspec formats them
// (shortest round-trip digits: 1.0, 0.1, 1e16, 1.5e-7, 0.00001), NaN and
// infinities as null; []byte as standard padded base64; aware time.Time as
// RFC 3339 in its own offset with microseconds when non-zero
// (2021-04-02T18:18:10.000123-06:00, "Z" for a zero offset; an offset with
// seconds, which RFC 3339 cannot carry, is written as the same instant in
// UTC); naive time.Time, pyval.Date, pyval.UUID, pyval.Decimal and
// pyval.Markup as strings, exactly as for Msgpack.
//
// Decoding: strict RFC 8259 JSON (no NaN/Infinity literals, no trailing
// commas, no comments), one object at the top level with nothing but
// whitespace after it. Numbers without fraction or exponent decode to int64,
// or *big.Int when out of range (msgspec itself would return a float beyond
// uint64; at most 4300 digits, Python's own int limit); other numbers decode
// to float64 (overflow gives ±Inf). Strings stay strings: msgspec does not
// tag values, so a datetime or bytes written as JSON comes back as str.
// Strings must be valid UTF-8; a \u escape of a lone surrogate is an error
// (Go strings cannot hold one). Duplicate keys: the last one wins.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string { return FormatJSON }

func (jsonCodec) Encode(m map[string]any) ([]byte, error) {
	return jsEncodeMap(make([]byte, 0, 64), m, 1)
}

func jsEncodeMap(b []byte, m map[string]any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, unsupported("json: nesting deeper than %d", MaxDepth)
	}
	b = append(b, '{')
	var err error
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = jsEncodeStr(b, k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = jsEncode(b, m[k], depth); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func jsEncodeArray(b []byte, xs []any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, unsupported("json: nesting deeper than %d", MaxDepth)
	}
	b = append(b, '[')
	var err error
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = jsEncode(b, x, depth); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

const hexDigits = "0123456789abcdef"

func jsEncodeStr(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, unsupported("string %q is not valid UTF-8", s)
	}
	return jsAppendStr(b, s), nil
}

func jsAppendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendMsgspecFloat formats f as msgspec's JSON encoder does (its ryu-based
// format_double): shortest round-trip digits; integers up to 16 digits as
// "123.0"; plain decimals when the decimal exponent is in (-5, 16]; otherwise
// "d[.ddd]e[-]X" with no "+" and no zero padding; non-finite → null.
func appendMsgspecFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±XX
	epos := 0
	for i, c := range e {
		if c == 'e' {
			epos = i
			break
		}
	}
	x, _ := strconv.Atoi(string(e[epos+1:]))
	var dbuf [24]byte
	digits := append(dbuf[:0], e[0])
	if epos > 1 {
		digits = append(digits, e[2:epos]...)
	}
	n := len(digits)
	k := x - (n - 1) // value = digits × 10^k
	kk := n + k      // position of the decimal point
	switch {
	case k >= 0 && kk <= 16:
		b = append(b, digits...)
		for i := 0; i < kk-n; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	case kk > 0 && kk <= 16:
		b = append(b, digits[:kk]...)
		b = append(b, '.')
		return append(b, digits[kk:]...)
	case kk > -5 && kk <= 0:
		b = append(b, '0', '.')
		for i := 0; i < -kk; i++ {
			b = append(b, '0')
		}
		return append(b, digits...)
	case n == 1:
		b = append(b, digits[0], 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	default:
		b = append(b, digits[0], '.')
		b = append(b, digits[1:]...)
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(kk-1), 10)
	}
}

func jsAppendTime(b []byte, t time.Time) []byte {
	_, off := t.Zone()
	if off%60 != 0 {
		t = t.UTC()
		off = 0
	}
	b = append(b, '"')
	b = appendISO(b, t)
	if off == 0 {
		b = append(b, 'Z')
	} else {
		if off < 0 {
			b = append(b, '-')
			off = -off
		} else {
			b = append(b, '+')
		}
		b = append2(b, off/3600)
		b = append(b, ':')
		b = append2(b, off/60%60)
	}
	return append(b, '"')
}

func jsEncode(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case string:
		return jsEncodeStr(b, x)
	case pyval.Markup:
		return jsEncodeStr(b, string(x))
	case pyval.Decimal:
		return jsEncodeStr(b, string(x))
	case pyval.UUID:
		return jsAppendStr(b, x.String()), nil
	case pyval.Date:
		b = append(b, '"')
		b = appendDate(b, x.Year, int(x.Month), x.Day)
		return append(b, '"'), nil
	case time.Time:
		if !pyTimeOK(x) {
			return nil, unsupported("datetime %s is outside Python's range", x)
		}
		if pyval.IsNaive(x) {
			b = append(b, '"')
			b = appendISO(b, x)
			return append(b, '"'), nil
		}
		return jsAppendTime(b, x), nil
	case float64:
		return appendMsgspecFloat(b, x), nil
	case float32:
		return appendMsgspecFloat(b, float64(x)), nil
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, '"'), nil
	case []any:
		return jsEncodeArray(b, x, depth+1)
	case pyval.Tuple:
		return jsEncodeArray(b, x, depth+1)
	case map[string]any:
		return jsEncodeMap(b, x, depth+1)
	}
	i, u, isU, ok, isInt := intKind(v)
	switch {
	case isInt && !ok:
		return nil, unsupported("json: integer %v out of range [-2**63, 2**64-1]", v)
	case isU:
		return strconv.AppendUint(b, u, 10), nil
	case isInt:
		return strconv.AppendInt(b, i, 10), nil
	}
	return nil, unsupported("json: cannot encode %T", v)
}

// maxIntDigits is Python's default int_max_str_digits.
const maxIntDigits = 4300

func (jsonCodec) Decode(data []byte) (map[string]any, error) {
	d := jsDecoder{data: data}
	d.ws()
	if d.pos >= len(data) || data[d.pos] != '{' {
		return nil, malformed("json: top-level value is not an object")
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos != len(data) {
		return nil, malformed("json: trailing data at offset %d", d.pos)
	}
	return v.(map[string]any), nil
}

type jsDecoder struct {
	data []byte
	pos  int
}

func (d *jsDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsDecoder) errAt(what string) error {
	if d.pos >= len(d.data) {
		return malformed("json: unexpected end of input (%s)", what)
	}
	return malformed("json: %s at offset %d", what, d.pos)
}

func (d *jsDecoder) literal(lit string, v any) (any, error) {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return nil, d.errAt("invalid literal")
	}
	d.pos += len(lit)
	return v, nil
}

func (d *jsDecoder) value(depth int) (any, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, d.errAt("expected a value")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.errAt("invalid character")
}

func (d *jsDecoder) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("json: nesting deeper than %d", MaxDepth)
	}
	d.pos++ // {
	m := map[string]any{}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errAt("expected a string key")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errAt("expected ':'")
		}
		d.pos++
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k.(string)] = v
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.errAt("unterminated object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.errAt("expected ',' or '}'")
		}
	}
}

func (d *jsDecoder) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("json: nesting deeper than %d", MaxDepth)
	}
	d.pos++ // [
	xs := []any{}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return xs, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		xs = append(xs, v)
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.errAt("unterminated array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return xs, nil
		default:
			return nil, d.errAt("expected ',' or ']'")
		}
	}
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func (d *jsDecoder) hex4() (rune, error) {
	if len(d.data)-d.pos < 4 {
		return 0, d.errAt("truncated \\u escape")
	}
	var r rune
	for i := 0; i < 4; i++ {
		h := hexVal(d.data[d.pos+i])
		if h < 0 {
			return 0, d.errAt("invalid \\u escape")
		}
		r = r<<4 | h
	}
	d.pos += 4
	return r, nil
}

func (d *jsDecoder) str() (any, error) {
	d.pos++ // opening quote
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(s) {
				return nil, malformed("json: string at offset %d is not valid UTF-8", start)
			}
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.pos++
	}
	buf := append([]byte{}, d.data[start:d.pos]...)
	for {
		if d.pos >= len(d.data) {
			return nil, d.errAt("unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				return nil, malformed("json: string at offset %d is not valid UTF-8", start)
			}
			return string(buf), nil
		case c < 0x20:
			return nil, d.errAt("control character in string")
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			return nil, d.errAt("truncated escape")
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := d.hex4()
			if err != nil {
				return nil, err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || len(d.data)-d.pos < 6 || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
					return nil, d.errAt("lone surrogate in \\u escape")
				}
				d.pos += 2
				r2, err := d.hex4()
				if err != nil {
					return nil, err
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return nil, d.errAt("lone surrogate in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, d.errAt("invalid escape")
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (d *jsDecoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
		return nil, d.errAt("invalid number")
	}
	if d.data[d.pos] == '0' {
		d.pos++
	} else {
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	isFloat := false
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		isFloat = true
		d.pos++
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			return nil, d.errAt("invalid number")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		isFloat = true
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.pos >= len(d.data) || !isDigit(d.data[d.pos]) {
			return nil, d.errAt("invalid number")
		}
		for d.pos < len(d.data) && isDigit(d.data[d.pos]) {
			d.pos++
		}
	}
	text := string(d.data[start:d.pos])
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !isRangeErr(err) {
			return nil, malformed("json: invalid number %q", text)
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return i, nil
	}
	if digits := len(strings.TrimPrefix(text, "-")); digits > maxIntDigits {
		return nil, malformed("json: integer with more than %d digits", maxIntDigits)
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok {
		return nil, malformed("json: invalid number %q", text)
	}
	return n, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
