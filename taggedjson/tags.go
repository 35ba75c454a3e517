package taggedjson

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

var (
	nan    = math.NaN()
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

var pyvalNormalizeInt = pyval.NormalizeInt

// untag converts the payload v of a 1-key object {key: v} whose key is a
// registered tag, as the tag's to_python does. ord is the insertion order
// of v's keys when v is a dict.
func untag(key string, v any, ord []string) (any, error) {
	switch key {
	case " di": // TagDict: {key[:-2]: value[key]} for the first key
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			return nil, errors.New(`" di" payload is not a non-empty object`)
		}
		var k string
		if len(m) == 1 || len(ord) == 0 {
			for k = range m {
				break
			}
		} else {
			k = ord[0]
		}
		return map[string]any{dropLast2(k): m[k]}, nil
	case " t": // TagTuple: tuple(value)
		switch x := v.(type) {
		case []any:
			return pyval.Tuple(x), nil
		case pyval.Tuple:
			return x, nil
		case string:
			return strTuple(x), nil
		case pyval.Markup:
			return strTuple(string(x)), nil
		case []byte:
			t := make(pyval.Tuple, len(x))
			for i, c := range x {
				t[i] = int64(c)
			}
			return t, nil
		case map[string]any:
			t := make(pyval.Tuple, 0, len(x))
			for _, k := range orderedKeys(x, ord) {
				t = append(t, k)
			}
			return t, nil
		}
		return nil, errors.New(`" t" payload is not iterable`)
	case " b": // TagBytes: base64.b64decode(value), not validating
		switch x := v.(type) {
		case string:
			return b64decodeStr(x)
		case pyval.Markup:
			return b64decodeStr(string(x))
		case []byte:
			return a2bBase64(x)
		}
		return nil, errors.New(`" b" payload is not a string`)
	case " m": // TagMarkup: Markup(value)
		if s, ok := v.(string); ok {
			return pyval.Markup(s), nil
		}
		return pyval.Markup(pyStr(v, ord)), nil
	case " u": // TagUUID: uuid.UUID(value)
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case pyval.Markup:
			s = string(x)
		default:
			return nil, errors.New(`" u" payload is not a string`)
		}
		u, err := parseUUID(s)
		if err != nil {
			return nil, errors.New(`" u" payload is not a UUID`)
		}
		return u, nil
	case " d": // TagDateTime: werkzeug.http.parse_date(value)
		switch x := v.(type) {
		case string:
			return parseDate(x)
		case pyval.Markup:
			return parseDate(string(x))
		case []byte:
			return nil, nil // bytes.split() works, then str/bytes mixing raises TypeError → None
		}
		if falsy(v) {
			return nil, nil
		}
		return nil, errors.New(`" d" payload is not a string`)
	}
	return nil, errors.New("unknown tag") // unreachable: key passed tagKey
}

// dropLast2 is Python's key[:-2] (code points, not bytes).
func dropLast2(k string) string {
	for n := 0; n < 2 && len(k) > 0; n++ {
		_, size := utf8.DecodeLastRuneInString(k)
		k = k[:len(k)-size]
	}
	return k
}

func strTuple(s string) pyval.Tuple {
	t := make(pyval.Tuple, 0, utf8.RuneCountInString(s))
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		t = append(t, s[i:i+size])
		i += size
	}
	return t
}

// orderedKeys returns m's keys in insertion order when ord describes m,
// otherwise sorted.
func orderedKeys(m map[string]any, ord []string) []string {
	if len(ord) == len(m) {
		return ord
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

func sortStrings(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case int64:
		return x == 0
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case pyval.Tuple:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false // *big.Int from the decoder is never zero; UUID, time are truthy
}

// pyStr is Python's str(v) for decoded values. Nested dicts print with
// sorted keys (pyval.Repr) rather than insertion order.
func pyStr(v any, ord []string) string {
	switch x := v.(type) {
	case string:
		return x
	case pyval.Markup:
		return string(x)
	case pyval.UUID:
		return x.String()
	case time.Time:
		s := x.Format("2006-01-02 15:04:05")
		if us := x.Nanosecond() / 1000; us != 0 {
			s += "." + strconv.Itoa(1000000 + us)[1:]
		}
		if !pyval.IsNaive(x) {
			_, off := x.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			s += string(sign) + strconv.Itoa(100 + off/3600)[1:] + ":" + strconv.Itoa(100 + off/60%60)[1:]
			if off%60 != 0 {
				s += ":" + strconv.Itoa(100 + off%60)[1:]
			}
		}
		return s
	case map[string]any:
		if len(ord) == len(x) && len(x) > 1 {
			var b strings.Builder
			b.WriteByte('{')
			for i, k := range ord {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(pyval.StrRepr(k))
				b.WriteString(": ")
				b.WriteString(pyval.Repr(x[k]))
			}
			b.WriteByte('}')
			return b.String()
		}
	}
	return pyval.Repr(v)
}

// b64decodeStr is base64.b64decode(str): the str must be ASCII.
func b64decodeStr(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return nil, errors.New(`" b" payload has non-ASCII characters`)
		}
	}
	return a2bBase64([]byte(s))
}

var b64Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(b64Std); i++ {
		t[b64Std[i]] = byte(i)
	}
	return
}()

// a2bBase64 is CPython's binascii.a2b_base64 in non-strict mode: characters
// outside the alphabet are skipped, a complete pad sequence ends the data,
// and a partial final quantum is an error.
func a2bBase64(p []byte) ([]byte, error) {
	out := make([]byte, 0, len(p)*3/4)
	quad, pads := 0, 0
	var left byte
	for _, c := range p {
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, nil
				}
			}
			continue
		}
		v := b64Index[c]
		if v == 0xff {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, v
		case 1:
			quad = 2
			out = append(out, left<<2|v>>4)
			left = v & 0x0f
		case 2:
			quad = 3
			out = append(out, left<<4|v>>2)
			left = v & 0x03
		case 3:
			quad = 0
			out = append(out, left<<6|v)
			left = 0
		}
	}
	if quad != 0 {
		return nil, errors.New(`" b" payload: incorrect base64 padding`)
	}
	return out, nil
}

// parseUUID is uuid.UUID(hex): pyval.ParseUUID, then the extra spellings
// int(hex, 16) admits (surrounding whitespace, a sign, a 0x prefix,
// underscores between digits) in the 32 characters left after stripping.
func parseUUID(s string) (pyval.UUID, error) {
	u, err := pyval.ParseUUID(s)
	if err == nil {
		return u, nil
	}
	u = pyval.UUID{}
	h := strings.ReplaceAll(s, "urn:", "")
	h = strings.ReplaceAll(h, "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if utf8.RuneCountInString(h) != 32 {
		return u, err
	}
	h = strings.TrimFunc(h, pyIsSpace)
	neg := false
	if h != "" && (h[0] == '+' || h[0] == '-') {
		neg = h[0] == '-'
		h = h[1:]
	}
	if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
		if h != "" && h[0] == '_' {
			h = h[1:]
		}
	}
	digits, ok := pyDigits(h, 16)
	if !ok || len(digits) > 32 {
		return u, err
	}
	nonzero := false
	for i, dg := range digits {
		pos := 32 - len(digits) + i
		u[pos/2] |= dg << (4 * (1 - pos%2))
		nonzero = nonzero || dg != 0
	}
	if neg && nonzero {
		return pyval.UUID{}, err
	}
	return u, nil
}

// pyDigits returns the digit values of s if s is a run of base-b ASCII
// digits with single underscores between them, as Python's int() accepts.
func pyDigits(s string, base byte) ([]byte, bool) {
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return nil, false
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c == '_':
			if s[i-1] == '_' {
				return nil, false
			}
			continue
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'Z':
			v = c - 'A' + 10
		default:
			return nil, false
		}
		if v >= base {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// pyIsSpace approximates str.isspace.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
