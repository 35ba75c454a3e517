// The decoder as it was before the single-pass rewrite with interning
// (commit 796ef84), kept verbatim as the differential oracle of
// FuzzDecodeOracle.

package taggedjson

import (
	"math/big"
	"strconv"
	"unicode/utf8"
)

// Unmarshal is Flask's TaggedJSONSerializer.loads for a session: it parses
// data as Python's json.loads does and untags the result post-order. The
// document must be an object once untagged; otherwise the error wraps
// ErrNotObject. Errors are *DecodeError values wrapping ErrSyntax, ErrDepth,
// ErrInvalidTag or ErrNotObject. Unmarshal never panics.
func oracleUnmarshal(data []byte) (map[string]any, error) {
	v, err := oracleUnmarshalValue(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &DecodeError{Offset: 0, Msg: "top-level value is not an object", Err: ErrNotObject}
	}
	return m, nil
}

// UnmarshalValue is Unmarshal for any JSON document (Python's loads accepts
// a bare value too).
func oracleUnmarshalValue(data []byte) (any, error) {
	d := oracleDecoder{data: data}
	d.ws()
	v, err := d.value(nil)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos != len(d.data) {
		return nil, d.syntax("extra data after JSON value")
	}
	return v, nil
}

type oracleDecoder struct {
	data  []byte
	pos   int
	depth int
	stack []any  // scratch for array elements (LIFO across nesting)
	buf   []byte // scratch for strings with escapes
}

func (d *oracleDecoder) syntax(msg string) error {
	return &DecodeError{Offset: d.pos, Msg: msg, Err: ErrSyntax}
}

func (d *oracleDecoder) eof() error {
	return &DecodeError{Offset: d.pos, Msg: "unexpected end of input", Err: ErrSyntax}
}

// ws skips JSON whitespace: exactly the four characters Python's json skips.
func (d *oracleDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *oracleDecoder) literal(lit string, v any) (any, error) {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return v, nil
	}
	return nil, d.syntax("expecting value")
}

// value parses one JSON value at d.pos (whitespace already skipped). When
// ord is non-nil and the value is an object, the object's keys are stored
// in *ord in Python's insertion order (some tags need it).
func (d *oracleDecoder) value(ord *[]string) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.eof()
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(ord)
	case '[':
		return d.array()
	case '"':
		return d.str()
	case 't':
		return d.literal("true", true)
	case 'f':
		return d.literal("false", false)
	case 'n':
		return d.literal("null", nil)
	case 'N':
		return d.literal("NaN", nan)
	case 'I':
		return d.literal("Infinity", posInf)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
	}
	return nil, d.syntax("expecting value")
}

func (d *oracleDecoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return &DecodeError{Offset: d.pos, Msg: "nesting deeper than " + strconv.Itoa(MaxDepth), Err: ErrDepth}
	}
	return nil
}

func (d *oracleDecoder) object(ord *[]string) (any, error) {
	start := d.pos
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '{'
	d.ws()
	m := make(map[string]any)
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return m, nil
	}
	var first string
	var tagOrd []string
	for {
		if d.pos >= len(d.data) {
			return nil, d.eof()
		}
		if d.data[d.pos] != '"' {
			return nil, d.syntax("expecting property name enclosed in double quotes")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.eof()
		}
		if d.data[d.pos] != ':' {
			return nil, d.syntax("expecting ':' delimiter")
		}
		d.pos++
		d.ws()
		var v any
		if tagKey(k) {
			tagOrd = tagOrd[:0]
			v, err = d.value(&tagOrd)
		} else {
			v, err = d.value(nil)
		}
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			first = k
		}
		if ord != nil {
			if _, dup := m[k]; !dup {
				*ord = append(*ord, k)
			}
		}
		m[k] = v
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.eof()
		}
		c := d.data[d.pos]
		d.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			d.pos--
			return nil, d.syntax("expecting ',' delimiter")
		}
		d.ws()
	}
	d.depth--
	if len(m) == 1 && tagKey(first) {
		v, err := untag(first, m[first], tagOrd)
		if err != nil {
			return nil, &DecodeError{Offset: start, Msg: err.Error(), Err: ErrInvalidTag}
		}
		if ord != nil {
			*ord = (*ord)[:0]
			if nm, ok := v.(map[string]any); ok {
				for k := range nm { // " di" gives a 1-key dict
					*ord = append(*ord, k)
				}
			}
		}
		return v, nil
	}
	return m, nil
}

func (d *oracleDecoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // '['
	d.ws()
	base := len(d.stack)
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return []any{}, nil
	}
	for {
		v, err := d.value(nil)
		if err != nil {
			return nil, err
		}
		d.stack = append(d.stack, v)
		d.ws()
		if d.pos >= len(d.data) {
			return nil, d.eof()
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			d.pos--
			return nil, d.syntax("expecting ',' delimiter")
		}
		d.ws()
	}
	l := make([]any, len(d.stack)-base)
	copy(l, d.stack[base:])
	clear(d.stack[base:])
	d.stack = d.stack[:base]
	d.depth--
	return l, nil
}

// str parses a JSON string at d.pos (which holds '"').
func (d *oracleDecoder) str() (string, error) {
	data := d.data
	i := d.pos + 1
	for i < len(data) {
		c := data[i]
		if c == '"' {
			s := string(data[d.pos+1 : i])
			d.pos = i + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return d.strSlow(i)
		}
		i++
	}
	d.pos = i
	return "", d.syntax("unterminated string")
}

// strSlow finishes a string whose plain ASCII prefix ends at i.
func (d *oracleDecoder) strSlow(i int) (string, error) {
	data := d.data
	b := append(d.buf[:0], data[d.pos+1:i]...)
	for {
		if i >= len(data) {
			d.pos = i
			return "", d.syntax("unterminated string")
		}
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = b
			return string(b), nil
		case c < 0x20:
			d.pos = i
			return "", d.syntax("invalid control character in string")
		case c >= utf8.RuneSelf:
			_, size := utf8.DecodeRune(data[i:])
			if size == 1 {
				d.pos = i
				return "", d.syntax("invalid UTF-8")
			}
			b = append(b, data[i:i+size]...)
			i += size
		case c != '\\':
			b = append(b, c)
			i++
		default:
			if i+1 >= len(data) {
				d.pos = i
				return "", d.syntax("unterminated string")
			}
			e := data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := oracleHex4(data, i)
				if !ok {
					d.pos = i - 2
					return "", d.syntax("invalid \\uXXXX escape")
				}
				i += 4
				if r >= 0xd800 && r < 0xdc00 && i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
					if r2, ok := oracleHex4(data, i+2); ok && r2 >= 0xdc00 && r2 < 0xe000 {
						r = 0x10000 + (r-0xd800)<<10 + (r2 - 0xdc00)
						i += 6
					}
				}
				// A lone surrogate (legal in a Python str, impossible in
				// valid UTF-8) becomes U+FFFD: utf8.AppendRune does that.
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i - 2
				return "", d.syntax("invalid \\escape")
			}
		}
	}
}

func oracleHex4(data []byte, i int) (rune, bool) {
	if len(data)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// maxIntDigits is CPython's default int_max_str_digits (3.11+): json.loads
// raises ValueError for a longer integer literal.
const oracleMaxIntDigits = 4300

// number parses what Python's NUMBER_RE matches,
// -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, and -Infinity.
func (d *oracleDecoder) number() (any, error) {
	data := d.data
	start := d.pos
	i := start
	if data[i] == '-' {
		i++
		if i < len(data) && data[i] == 'I' {
			return d.literal("-Infinity", negInf)
		}
	}
	digStart := i
	if i >= len(data) {
		return nil, d.syntax("expecting value")
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return nil, d.syntax("expecting value")
	}
	intEnd := i
	isFloat := false
	if i+1 < len(data) && data[i] == '.' && data[i+1] >= '0' && data[i+1] <= '9' {
		i += 2
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		isFloat = true
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		j := i + 1
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		if j < len(data) && data[j] >= '0' && data[j] <= '9' {
			for j < len(data) && data[j] >= '0' && data[j] <= '9' {
				j++
			}
			i = j
			isFloat = true
		}
	}
	d.pos = i
	if isFloat {
		f, err := strconv.ParseFloat(string(data[start:i]), 64)
		if err != nil && !oracleIsRangeErr(err) { // overflow gives ±Inf, as Python's float()
			d.pos = start
			return nil, d.syntax("invalid number")
		}
		return f, nil
	}
	nd := intEnd - digStart
	if nd <= 18 {
		var n int64
		for _, c := range data[digStart:intEnd] {
			n = n*10 + int64(c-'0')
		}
		if digStart != start {
			n = -n
		}
		return n, nil
	}
	if nd > oracleMaxIntDigits {
		d.pos = start
		return nil, d.syntax("integer literal exceeds Python's 4300-digit limit")
	}
	n, ok := new(big.Int).SetString(string(data[start:i]), 10)
	if !ok {
		d.pos = start
		return nil, d.syntax("invalid number")
	}
	return pyvalNormalizeInt(n), nil
}

func oracleIsRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
