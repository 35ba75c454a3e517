package flasksession

import (
	"math"
	"math/big"
	"sort"
	"time"
)

// Python's datetime range, as Unix seconds (0001-01-01T00:00:00Z and
// 9999-12-31T23:59:59Z).
const (
	minPySec = -62135596800
	maxPySec = 253402300799
)

// intKind classifies an integer value for msgspec: it fits int64 (i), or
// uint64 (u, isU), or it is out of msgspec's range (ok == false with
// isInt == true). isInt reports whether v is an integer at all.
func intKind(v any) (i int64, u uint64, isU, ok, isInt bool) {
	switch n := v.(type) {
	case int64:
		return n, 0, false, true, true
	case int:
		return int64(n), 0, false, true, true
	case int8:
		return int64(n), 0, false, true, true
	case int16:
		return int64(n), 0, false, true, true
	case int32:
		return int64(n), 0, false, true, true
	case uint8:
		return int64(n), 0, false, true, true
	case uint16:
		return int64(n), 0, false, true, true
	case uint32:
		return int64(n), 0, false, true, true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, uint64(n), true, true, true
		}
		return int64(n), 0, false, true, true
	case uint64:
		if n > math.MaxInt64 {
			return 0, n, true, true, true
		}
		return int64(n), 0, false, true, true
	case *big.Int:
		if n == nil {
			return 0, 0, false, false, true
		}
		if n.IsInt64() {
			return n.Int64(), 0, false, true, true
		}
		if n.IsUint64() {
			return 0, n.Uint64(), true, true, true
		}
		return 0, 0, false, false, true
	}
	return 0, 0, false, false, false
}

// sortedKeys returns m's keys in byte order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyTimeOK reports whether t can be a Python datetime (wall-clock year
// 1–9999 in its own zone and in UTC).
func pyTimeOK(t time.Time) bool {
	y := t.Year()
	if y < 1 || y > 9999 {
		return false
	}
	s := t.Unix()
	return s >= minPySec-14*3600 && s <= maxPySec+14*3600
}

// appendISO appends Python's isoformat() of t's wall clock, without an
// offset: YYYY-MM-DDTHH:MM:SS[.ffffff] (microseconds, truncated).
func appendISO(b []byte, t time.Time) []byte {
	b = appendDate(b, t.Year(), int(t.Month()), t.Day())
	b = append(b, 'T')
	b = append2(b, t.Hour())
	b = append(b, ':')
	b = append2(b, t.Minute())
	b = append(b, ':')
	b = append2(b, t.Second())
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendN(b, us, 6)
	}
	return b
}

func appendDate(b []byte, y, m, d int) []byte {
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	b = appendN(b, y, 4)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

func append2(b []byte, n int) []byte { return appendN(b, n, 2) }

// appendN appends n (>= 0) zero-padded to at least width digits.
func appendN(b []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n > 0 || width > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(b, buf[i:]...)
}
