package taggedjson

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// Marshal returns Flask's TaggedJSONSerializer.dumps(m): the compact,
// key-sorted, ASCII-only tagged JSON text, byte for byte. A nil map encodes
// as {}.
func Marshal(m map[string]any) ([]byte, error) {
	return AppendMarshal(make([]byte, 0, 64), m)
}

// AppendMarshal appends Marshal(m) to dst and returns the extended buffer.
// On error dst is returned unchanged (its spare capacity may be clobbered).
func AppendMarshal(dst []byte, m map[string]any) ([]byte, error) {
	out, err := appendMap(dst, m, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// MarshalValue is Marshal for any value of the model, not only a dict.
func MarshalValue(v any) ([]byte, error) {
	return AppendMarshalValue(make([]byte, 0, 64), v)
}

// AppendMarshalValue appends MarshalValue(v) to dst.
func AppendMarshalValue(dst []byte, v any) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// tagKey reports whether k is one of the six registered tag keys.
func tagKey(k string) bool {
	if len(k) < 2 || len(k) > 3 || k[0] != ' ' {
		return false
	}
	switch k {
	case " di", " t", " b", " m", " u", " d":
		return true
	}
	return false
}

func errDepth() error {
	return fmt.Errorf("%w: more than %d levels", ErrDepth, MaxDepth)
}

// appendValue writes the tagged JSON of v. depth counts the JSON containers
// already open around it.
func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return appendString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return appendFloat(dst, x), nil
	case map[string]any:
		return appendMap(dst, x, depth)
	case []any:
		return appendList(dst, x, depth)
	case pyval.Tuple:
		if depth+2 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, `{" t":`...)
		dst, err := appendList(dst, x, depth+1)
		if err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	case []byte:
		if depth+1 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, `{" b":"`...)
		dst = appendBase64(dst, x)
		return append(dst, `"}`...), nil
	case pyval.Markup:
		if depth+1 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, `{" m":`...)
		dst, err := appendString(dst, string(x))
		if err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	case pyval.UUID:
		if depth+1 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, `{" u":"`...)
		for _, b := range x {
			dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
		}
		return append(dst, `"}`...), nil
	case time.Time:
		if depth+1 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, `{" d":`...)
		dst, err := appendHTTPDate(dst, x)
		if err != nil {
			return dst, err
		}
		return append(dst, '}'), nil
	case pyval.Date:
		// Flask's default hook: http_date(date) at midnight UTC, untagged.
		t := x.Time()
		if t.Year() != x.Year || t.Month() != x.Month || t.Day() != x.Day {
			return dst, fmt.Errorf("%w: invalid date %d-%d-%d", ErrInvalidValue, x.Year, int(x.Month), x.Day)
		}
		return appendHTTPDate(dst, t)
	case pyval.Decimal:
		// Flask's default hook: str(decimal), untagged.
		return appendString(dst, string(x))
	case *big.Int:
		if x == nil {
			return dst, fmt.Errorf("%w: nil *big.Int", ErrInvalidValue)
		}
		return x.Append(dst, 10), nil
	case float32:
		return appendFloat(dst, float64(x)), nil
	case []string:
		if depth+1 > MaxDepth {
			return dst, errDepth()
		}
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, s); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	}
	if i, ok := pyval.Int(v); ok { // int8 … uint32
		return strconv.AppendInt(dst, i, 10), nil
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return pyval.AppendFloat(dst, f)
}

func appendList(dst []byte, l []any, depth int) ([]byte, error) {
	depth++
	if depth > MaxDepth {
		return dst, errDepth()
	}
	dst = append(dst, '[')
	var err error
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendValue(dst, e, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendMap(dst []byte, m map[string]any, depth int) ([]byte, error) {
	depth++
	if depth > MaxDepth {
		return dst, errDepth()
	}
	var err error
	switch len(m) {
	case 0:
		return append(dst, "{}"...), nil
	case 1:
		for k, v := range m {
			if tagKey(k) {
				// TagDict: {" di": {key + "__": tag(value)}}
				if depth+1 > MaxDepth {
					return dst, errDepth()
				}
				dst = append(dst, `{" di":{"`...)
				dst = append(dst, k...)
				dst = append(dst, `__":`...)
				if dst, err = appendValue(dst, v, depth+1); err != nil {
					return dst, err
				}
				return append(dst, "}}"...), nil
			}
			dst = append(dst, '{')
			if dst, err = appendString(dst, k); err != nil {
				return dst, err
			}
			dst = append(dst, ':')
			if dst, err = appendValue(dst, v, depth); err != nil {
				return dst, err
			}
			return append(dst, '}'), nil
		}
	}
	var keys []string
	var small [16]string
	if len(m) <= len(small) {
		keys = small[:0]
	} else {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) <= len(small) {
		// insertion sort: no allocation for small sessions
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
	} else {
		slices.Sort(keys)
	}
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendString(dst, k); err != nil {
			return dst, err
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, m[k], depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

const hexDigits = "0123456789abcdef"

// safe[c] is true for the ASCII bytes Python's ensure_ascii encoder writes
// literally: U+0020–U+007E except '"' and '\\'.
var safe = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

// appendString writes s as Python's json.dumps(ensure_ascii=True) does.
func appendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if safe[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default: // other C0 controls and DEL
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return dst, fmt.Errorf("%w: string is not valid UTF-8 (byte %#x at %d)", ErrInvalidValue, c, i)
		}
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU4(dst, 0xd800+(r>>10))
			dst = appendU4(dst, 0xdc00+(r&0x3ff))
		} else {
			dst = appendU4(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

const b64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendBase64 is base64.StdEncoding.AppendEncode (Go 1.22), spelled out so
// the module's go 1.23 floor and the allocation count stay obvious.
func appendBase64(dst []byte, p []byte) []byte {
	for len(p) >= 3 {
		v := uint(p[0])<<16 | uint(p[1])<<8 | uint(p[2])
		dst = append(dst, b64Std[v>>18&63], b64Std[v>>12&63], b64Std[v>>6&63], b64Std[v&63])
		p = p[3:]
	}
	switch len(p) {
	case 1:
		v := uint(p[0]) << 16
		dst = append(dst, b64Std[v>>18&63], b64Std[v>>12&63], '=', '=')
	case 2:
		v := uint(p[0])<<16 | uint(p[1])<<8
		dst = append(dst, b64Std[v>>18&63], b64Std[v>>12&63], b64Std[v>>6&63], '=')
	}
	return dst
}

// appendHTTPDate writes Werkzeug's http_date(t) as a JSON string: converted
// to UTC (naive = UTC), microseconds dropped, "Tue, 02 Jan 2024 03:04:05 GMT".
func appendHTTPDate(dst []byte, t time.Time) ([]byte, error) {
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return dst, fmt.Errorf("%w: datetime year %d outside Python's 1–9999", ErrInvalidValue, y)
	}
	dst = append(dst, '"')
	dst = u.AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 GMT")
	return append(dst, '"'), nil
}
