package pyval

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Repr returns Python's repr() of v, except that dict keys are sorted (Go maps
// have no order). It is meant for diagnostics, the CLI and tests that compare
// against values recorded by Python; values outside the model are printed
// with %#v.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(StrRepr(x))
	case float64:
		b.WriteString(FormatFloat(x))
	case float32:
		b.WriteString(FormatFloat(float64(x)))
	case *big.Int:
		b.WriteString(x.String())
	case []byte:
		b.WriteString(BytesRepr(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(StrRepr(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	case Markup:
		b.WriteString("Markup(" + StrRepr(string(x)) + ")")
	case Decimal:
		b.WriteString("Decimal(" + StrRepr(string(x)) + ")")
	case UUID:
		b.WriteString("UUID('" + x.String() + "')")
	case Date:
		fmt.Fprintf(b, "datetime.date(%d, %d, %d)", x.Year, int(x.Month), x.Day)
	case time.Time:
		writeTimeRepr(b, x)
	default:
		if i, ok := Int(v); ok {
			b.WriteString(strconv.FormatInt(i, 10))
			return
		}
		if n, ok := BigInt(v); ok {
			b.WriteString(n.String())
			return
		}
		fmt.Fprintf(b, "%#v", v)
	}
}

func writeTimeRepr(b *strings.Builder, t time.Time) {
	us := t.Nanosecond() / 1000
	fmt.Fprintf(b, "datetime.datetime(%d, %d, %d, %d, %d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	if t.Second() != 0 || us != 0 {
		fmt.Fprintf(b, ", %d", t.Second())
	}
	if us != 0 {
		fmt.Fprintf(b, ", %d", us)
	}
	if !IsNaive(t) {
		_, off := t.Zone()
		if t.Location() == time.UTC {
			b.WriteString(", tzinfo=datetime.timezone.utc")
		} else {
			b.WriteString(", tzinfo=datetime.timezone(" + TimedeltaRepr(time.Duration(off)*time.Second) + ")")
		}
	}
	b.WriteByte(')')
}

// TimedeltaRepr returns the repr of a datetime.timedelta of d (microsecond
// resolution), e.g. "datetime.timedelta(days=-1, seconds=82800)".
func TimedeltaRepr(d time.Duration) string {
	us := d.Microseconds()
	days := us / 86400e6
	rem := us % 86400e6
	if rem < 0 {
		rem += 86400e6
		days--
	}
	secs, micros := rem/1e6, rem%1e6
	var parts []string
	if days != 0 {
		parts = append(parts, fmt.Sprintf("days=%d", days))
	}
	if secs != 0 {
		parts = append(parts, fmt.Sprintf("seconds=%d", secs))
	}
	if micros != 0 {
		parts = append(parts, fmt.Sprintf("microseconds=%d", micros))
	}
	if len(parts) == 0 {
		return "datetime.timedelta(0)"
	}
	return "datetime.timedelta(" + strings.Join(parts, ", ") + ")"
}

// StrRepr returns Python's repr() of a str.
func StrRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// not valid UTF-8: Python would hold a surrogate escape; show the byte
			fmt.Fprintf(&b, "\\udc%02x", s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x7f:
			b.WriteRune(r)
		case pyPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// pyPrintable approximates str.isprintable for one non-ASCII code point.
func pyPrintable(r rune) bool {
	if unicode.Is(unicode.Zs, r) { // only ASCII space is printable in Python
		return false
	}
	return unicode.IsPrint(r)
}

// BytesRepr returns Python's repr() of a bytes object.
func BytesRepr(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(quote)
	for _, c := range p {
		switch {
		case c == quote || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// FloatRepr is FormatFloat with Python's spelling of NaN and the infinities
// ("nan", "inf", "-inf").
func FloatRepr(f float64) string {
	if math.IsNaN(f) {
		return "nan"
	}
	return FormatFloat(f)
}
