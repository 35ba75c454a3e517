// Package pyval defines the Go representation of the Python values that Flask
// and Flask-Session keep in a session, and the helpers every codec shares.
//
// One value model serves every wire format Coatcheck speaks (Flask's tagged
// JSON, pickle, msgpack), so a value read by one codec can be written by
// another:
//
//	Python                     Go
//	None                       nil
//	bool                       bool
//	int                        int64, or *big.Int when it does not fit in 64 bits
//	float                      float64
//	str                        string
//	bytes                      []byte
//	list                       []any
//	tuple                      Tuple
//	dict (str keys)            map[string]any
//	markupsafe.Markup          Markup
//	uuid.UUID                  UUID
//	datetime.datetime (aware)  time.Time in its zone (UTC → time.UTC)
//	datetime.datetime (naive)  time.Time in the location Naive
//	datetime.date              Date
//	decimal.Decimal            Decimal
//
// Encoders also accept every Go integer type, float32, and the named types
// above; decoders always produce the canonical types of the table.
package pyval

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Tuple is a Python tuple.
type Tuple []any

// Markup is a markupsafe.Markup: text that is already safe to insert in HTML.
type Markup string

// Decimal is a decimal.Decimal, kept as its exact decimal text (str(d)).
type Decimal string

// Date is a Python datetime.date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// String formats d as ISO 8601 (YYYY-MM-DD), like date.isoformat().
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Naive is the location given to naive Python datetimes (no tzinfo). It has a
// zero offset, so such times behave as UTC in Go; IsNaive tells them apart so
// that a writer can emit them naive again.
var Naive = time.FixedZone("naive", 0)

// IsNaive reports whether t came from a naive Python datetime.
func IsNaive(t time.Time) bool { return t.Location() == Naive }

// UUID is a Python uuid.UUID.
type UUID [16]byte

// String returns the canonical hyphenated form, like str(uuid).
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Hex returns the 32 lowercase hex digits, like uuid.hex.
func (u UUID) Hex() string { return hex.EncodeToString(u[:]) }

// ErrBadUUID is returned by ParseUUID for text uuid.UUID() would reject.
var ErrBadUUID = errors.New("pyval: badly formed hexadecimal UUID string")

// ParseUUID accepts every form uuid.UUID(hex) accepts: 32 hex digits with any
// hyphens, optionally in braces or with a "urn:uuid:" prefix.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	s = strings.ReplaceAll(s, "urn:", "")
	s = strings.ReplaceAll(s, "uuid:", "")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return u, ErrBadUUID
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, ErrBadUUID
	}
	return u, nil
}

// Int returns v as an int64 if v is any Go integer type (or a *big.Int) whose
// value fits.
func Int(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case *big.Int:
		if n != nil && n.IsInt64() {
			return n.Int64(), true
		}
	}
	return 0, false
}

// BigInt returns v as a *big.Int if v is any Go integer type or a *big.Int.
func BigInt(v any) (*big.Int, bool) {
	switch n := v.(type) {
	case *big.Int:
		if n == nil {
			return nil, false
		}
		return n, true
	case uint:
		return new(big.Int).SetUint64(uint64(n)), true
	case uint64:
		return new(big.Int).SetUint64(n), true
	}
	if i, ok := Int(v); ok {
		return big.NewInt(i), true
	}
	return nil, false
}

// NormalizeInt returns n as an int64 when it fits, else n itself: the form
// decoders hand out.
func NormalizeInt(n *big.Int) any {
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

// FormatFloat formats a finite float64 exactly as Python's repr(float) does:
// the shortest digits that round-trip, fixed notation when 1e-4 <= |f| < 1e16
// (always with a fractional part: "1.0"), otherwise "d[.ddd]e±XX".
// For NaN and the infinities it returns repr's "nan", "inf" and "-inf";
// formats that spell them otherwise (JSON's NaN, Infinity) handle them
// before calling it.
func FormatFloat(f float64) string {
	return string(AppendFloat(nil, f))
}

// AppendFloat appends FormatFloat(f) to dst.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "nan"...)
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
		dst = append(dst, '-')
	}
	epos := 0
	for i, c := range e {
		if c == 'e' {
			epos = i
			break
		}
	}
	exp, _ := strconv.Atoi(string(e[epos+1:]))
	// digits without the decimal point
	var dbuf [24]byte
	digits := append(dbuf[:0], e[0])
	if epos > 1 {
		digits = append(digits, e[2:epos]...)
	}
	if exp >= -4 && exp < 16 {
		if exp < 0 {
			dst = append(dst, '0', '.')
			for i := 0; i < -exp-1; i++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		intLen := exp + 1
		if len(digits) <= intLen {
			dst = append(dst, digits...)
			for i := len(digits); i < intLen; i++ {
				dst = append(dst, '0')
			}
			return append(dst, '.', '0')
		}
		dst = append(dst, digits[:intLen]...)
		dst = append(dst, '.')
		return append(dst, digits[intLen:]...)
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	if exp < 0 {
		dst = append(dst, '-')
		exp = -exp
	} else {
		dst = append(dst, '+')
	}
	if exp < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(exp), 10)
}
