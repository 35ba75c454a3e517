package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// maxMarshalDepth bounds the nesting Marshal follows, so that a Go value
// that contains itself fails instead of recursing forever.
const maxMarshalDepth = 1000

// Marshal encodes v as a pickle of the given protocol, 0 or 2, emitting the
// opcodes CPython's pickle.dumps(v, protocol) emits.
//
// v may hold nil, bool, every Go integer type and *big.Int, float32 and
// float64, string, []byte, []any, pyval.Tuple, map[string]any (written with
// its keys sorted), pyval.Markup, pyval.UUID, pyval.Decimal, pyval.Date and
// time.Time (naive when its location is pyval.Naive, else aware with a
// datetime.timezone of its offset; Python's datetime has microsecond
// resolution and no fold, so nanoseconds are truncated). Strings that are not
// valid UTF-8 are written with each invalid byte replaced by U+FFFD, except
// encoded surrogates, which Python reads back as lone surrogates. Any other
// type is an error wrapping ErrUnsupported.
func Marshal(v any, protocol int) ([]byte, error) {
	if protocol != 0 && protocol != 2 {
		return nil, fmt.Errorf("pickle: Marshal writes protocol 0 or 2, not %d: %w", protocol, ErrUnsupported)
	}
	e := &encoder{proto: protocol, shared: make(map[string]int)}
	if protocol >= 2 {
		e.buf = append(e.buf, opProto, byte(protocol))
	}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, opStop)
	return e.buf, nil
}

type encoder struct {
	buf    []byte
	proto  int
	memo   int            // next memo index
	shared map[string]int // memo index of objects Python would share: globals, interned strings, timezone.utc
}

// batchSize is pickle's _BATCHSIZE: APPENDS/SETITEMS carry at most this
// many items.
const batchSize = 1000

func (e *encoder) memoize() int {
	idx := e.memo
	e.memo++
	switch {
	case e.proto == 0:
		e.buf = append(e.buf, opPut)
		e.buf = strconv.AppendInt(e.buf, int64(idx), 10)
		e.buf = append(e.buf, '\n')
	case idx < 256:
		e.buf = append(e.buf, opBinput, byte(idx))
	default:
		e.buf = append(e.buf, opLongBinput)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
	}
	return idx
}

func (e *encoder) get(idx int) {
	switch {
	case e.proto == 0:
		e.buf = append(e.buf, opGet)
		e.buf = strconv.AppendInt(e.buf, int64(idx), 10)
		e.buf = append(e.buf, '\n')
	case idx < 256:
		e.buf = append(e.buf, opBinget, byte(idx))
	default:
		e.buf = append(e.buf, opLongBinget)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(idx))
	}
}

// sharedGet writes a memo reference to the object named key if it was
// written before.
func (e *encoder) sharedGet(key string) bool {
	if idx, ok := e.shared[key]; ok {
		e.get(idx)
		return true
	}
	return false
}

// global writes a class or function reference (memoized, like Python).
func (e *encoder) global(module, name string) {
	key := "g\x00" + module + "\x00" + name
	if e.sharedGet(key) {
		return
	}
	e.buf = append(e.buf, opGlobal)
	e.buf = append(e.buf, module...)
	e.buf = append(e.buf, '\n')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '\n')
	e.shared[key] = e.memoize()
}

func (e *encoder) value(v any, depth int) error {
	if depth > maxMarshalDepth {
		return fmt.Errorf("pickle: cannot marshal a value nested deeper than %d (does it contain itself?): %w", maxMarshalDepth, ErrUnsupported)
	}
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, opNone)
	case bool:
		e.bool(x)
	case string:
		e.str(x, false)
	case float64:
		e.float(x)
	case float32:
		e.float(float64(x))
	case []byte:
		e.bytes(x)
	case []any:
		return e.list(x, depth)
	case pyval.Tuple:
		return e.tuple(len(x), func(i int) error { return e.value(x[i], depth+1) })
	case map[string]any:
		return e.dict(x, depth)
	case pyval.Markup:
		e.markup(string(x))
	case pyval.UUID:
		e.uuid(x)
	case pyval.Decimal:
		if !validDecimal(string(x)) {
			return fmt.Errorf("pickle: cannot marshal pyval.Decimal(%q): not a decimal literal: %w", string(x), ErrUnsupported)
		}
		e.global("decimal", "Decimal")
		_ = e.tuple(1, func(int) error { e.str(string(x), false); return nil })
		e.buf = append(e.buf, opReduce)
		e.memoize()
	case pyval.Date:
		if x.Year < 1 || x.Year > 9999 || x.Month < 1 || x.Month > 12 || x.Day < 1 || x.Day > daysIn(x.Month, x.Year) {
			return fmt.Errorf("pickle: cannot marshal date %v: out of range: %w", x, ErrUnsupported)
		}
		e.global("datetime", "date")
		state := []byte{byte(x.Year >> 8), byte(x.Year), byte(x.Month), byte(x.Day)}
		_ = e.tuple(1, func(int) error { e.bytes(state); return nil })
		e.buf = append(e.buf, opReduce)
		e.memoize()
	case time.Time:
		return e.datetime(x)
	case *big.Int:
		if x == nil {
			return fmt.Errorf("pickle: cannot marshal a nil *big.Int: %w", ErrUnsupported)
		}
		e.bigInt(x)
	default:
		if i, ok := pyval.Int(v); ok {
			e.int(i)
			return nil
		}
		if n, ok := pyval.BigInt(v); ok {
			e.bigInt(n)
			return nil
		}
		return fmt.Errorf("pickle: cannot marshal Go type %T: %w", v, ErrUnsupported)
	}
	return nil
}

func (e *encoder) bool(b bool) {
	switch {
	case e.proto >= 2 && b:
		e.buf = append(e.buf, opNewtrue)
	case e.proto >= 2:
		e.buf = append(e.buf, opNewfalse)
	case b:
		e.buf = append(e.buf, "I01\n"...)
	default:
		e.buf = append(e.buf, "I00\n"...)
	}
}

func (e *encoder) int(i int64) {
	if e.proto == 0 {
		if i >= math.MinInt32 && i <= math.MaxInt32 {
			e.buf = append(e.buf, opInt)
			e.buf = strconv.AppendInt(e.buf, i, 10)
			e.buf = append(e.buf, '\n')
		} else {
			e.buf = append(e.buf, opLong)
			e.buf = strconv.AppendInt(e.buf, i, 10)
			e.buf = append(e.buf, 'L', '\n')
		}
		return
	}
	switch {
	case i >= 0 && i < 256:
		e.buf = append(e.buf, opBinint1, byte(i))
	case i >= 0 && i < 65536:
		e.buf = append(e.buf, opBinint2, byte(i), byte(i>>8))
	case i >= math.MinInt32 && i <= math.MaxInt32:
		e.buf = append(e.buf, opBinint)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(int32(i)))
	default:
		e.long(big.NewInt(i))
	}
}

func (e *encoder) bigInt(n *big.Int) {
	if n.IsInt64() {
		e.int(n.Int64())
		return
	}
	if e.proto == 0 {
		e.buf = append(e.buf, opLong)
		e.buf = n.Append(e.buf, 10)
		e.buf = append(e.buf, 'L', '\n')
		return
	}
	e.long(n)
}

// long writes LONG1 or LONG4 with pickle's encode_long: little-endian two's
// complement in the fewest bytes.
func (e *encoder) long(n *big.Int) {
	b := encodeLong(n)
	if len(b) < 256 {
		e.buf = append(e.buf, opLong1, byte(len(b)))
	} else {
		e.buf = append(e.buf, opLong4)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(b)))
	}
	e.buf = append(e.buf, b...)
}

func encodeLong(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	nbytes := x.BitLen()>>3 + 1
	v := x
	if x.Sign() < 0 {
		v = new(big.Int).Add(x, new(big.Int).Lsh(big.NewInt(1), uint(8*nbytes)))
	}
	be := v.FillBytes(make([]byte, nbytes))
	le := make([]byte, nbytes)
	for i, c := range be {
		le[nbytes-1-i] = c
	}
	if x.Sign() < 0 && nbytes > 1 && le[nbytes-1] == 0xff && le[nbytes-2]&0x80 != 0 {
		le = le[:nbytes-1]
	}
	return le
}

// goNaN is the bit pattern of math.NaN(); Python's float('nan') is
// 0x7ff8000000000000, which Marshal writes instead.
const goNaN = 0x7ff8000000000001

func (e *encoder) float(f float64) {
	if e.proto == 0 {
		e.buf = append(e.buf, opFloat)
		e.buf = pyval.AppendFloat(e.buf, f)
		e.buf = append(e.buf, '\n')
		return
	}
	bits := math.Float64bits(f)
	if bits == goNaN {
		bits = 0x7ff8000000000000
	}
	e.buf = append(e.buf, opBinfloat)
	e.buf = binary.BigEndian.AppendUint64(e.buf, bits)
}

// sanitize returns s as Python's 'surrogatepass' UTF-8 accepts it: invalid
// bytes (other than encoded surrogates) become U+FFFD.
func sanitize(s string) string {
	if validSurrogatePass(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if isEncodedSurrogate(s[i:]) {
				b = append(b, s[i:i+3]...)
				i += 3
				continue
			}
		}
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

// str writes a str and memoizes it. CPython shares one object for the empty
// string and for each one-character string below U+0100, so those, and the
// strings Python's own reducers use as constants (intern), are written
// once and referenced afterwards, as pickle.dumps does.
func (e *encoder) str(s string, intern bool) {
	s = sanitize(s)
	if !intern {
		if s == "" {
			intern = true
		} else if r, size := utf8.DecodeRuneInString(s); size == len(s) && r < 0x100 && r != utf8.RuneError {
			intern = true
		}
	}
	var key string
	if intern {
		key = "s\x00" + s
		if e.sharedGet(key) {
			return
		}
	}
	if e.proto == 0 {
		e.buf = append(e.buf, opUnicode)
		e.buf = appendRawUnicodeEscape(e.buf, s)
		e.buf = append(e.buf, '\n')
	} else {
		e.buf = append(e.buf, opBinunicode)
		e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(len(s)))
		e.buf = append(e.buf, s...)
	}
	idx := e.memoize()
	if intern {
		e.shared[key] = idx
	}
}

// appendRawUnicodeEscape writes s as the argument of UNICODE, like CPython's
// pickler: raw-unicode-escape with backslash, NUL, \n, \r and \x1a escaped.
func appendRawUnicodeEscape(b []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 && isEncodedSurrogate(s[i:]) {
			r = 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f)
			size = 3
		}
		i += size
		switch {
		case r >= 0x10000:
			b = append(b, '\\', 'U')
			for sh := 28; sh >= 0; sh -= 4 {
				b = append(b, hexdigits[(r>>sh)&0xf])
			}
		case r >= 0x100 || r == '\\' || r == 0 || r == '\n' || r == '\r' || r == 0x1a:
			b = append(b, '\\', 'u')
			for sh := 12; sh >= 0; sh -= 4 {
				b = append(b, hexdigits[(r>>sh)&0xf])
			}
		default:
			b = append(b, byte(r))
		}
	}
	return b
}

// bytes writes a bytes object the way protocols 0-2 do: bytes() when empty,
// else _codecs.encode(text, 'latin1').
func (e *encoder) bytes(p []byte) {
	if len(p) == 0 {
		e.global("__builtin__", "bytes")
		_ = e.tuple(0, nil)
	} else {
		e.global("_codecs", "encode")
		text := make([]byte, 0, len(p)+len(p)/2)
		for _, c := range p {
			text = utf8.AppendRune(text, rune(c))
		}
		_ = e.tuple(2, func(i int) error {
			if i == 0 {
				e.str(string(text), false)
			} else {
				e.str("latin1", true)
			}
			return nil
		})
	}
	e.buf = append(e.buf, opReduce)
	e.memoize()
}

// tuple writes an n-tuple whose items item(i) writes.
func (e *encoder) tuple(n int, item func(i int) error) error {
	if n == 0 {
		if e.proto >= 2 {
			e.buf = append(e.buf, opEmptyTuple)
		} else {
			e.buf = append(e.buf, opMark, opTuple)
		}
		return nil
	}
	short := e.proto >= 2 && n <= 3
	if !short {
		e.buf = append(e.buf, opMark)
	}
	for i := 0; i < n; i++ {
		if err := item(i); err != nil {
			return err
		}
	}
	if short {
		e.buf = append(e.buf, byte(opTuple1+n-1))
	} else {
		e.buf = append(e.buf, opTuple)
	}
	e.memoize()
	return nil
}

func (e *encoder) list(l []any, depth int) error {
	if e.proto == 0 {
		e.buf = append(e.buf, opMark, opList)
		e.memoize()
		for _, it := range l {
			if err := e.value(it, depth+1); err != nil {
				return err
			}
			e.buf = append(e.buf, opAppend)
		}
		return nil
	}
	e.buf = append(e.buf, opEmptyList)
	e.memoize()
	// Like CPython's batch_list_exact: one item is APPEND, more go in
	// MARK ... APPENDS batches of at most batchSize.
	if len(l) == 1 {
		if err := e.value(l[0], depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, opAppend)
		return nil
	}
	for start := 0; start < len(l); start += batchSize {
		e.buf = append(e.buf, opMark)
		for _, it := range l[start:min(start+batchSize, len(l))] {
			if err := e.value(it, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, opAppends)
	}
	return nil
}

func (e *encoder) dict(m map[string]any, depth int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return e.dictKeys(keys, false, func(k string) error { return e.value(m[k], depth+1) })
}

// dictKeys writes a dict with the given keys in order; val writes the value
// of a key. intern marks the keys as shared constants (see str).
func (e *encoder) dictKeys(keys []string, intern bool, val func(k string) error) error {
	if e.proto == 0 {
		e.buf = append(e.buf, opMark, opDict)
		e.memoize()
		for _, k := range keys {
			e.str(k, intern)
			if err := val(k); err != nil {
				return err
			}
			e.buf = append(e.buf, opSetitem)
		}
		return nil
	}
	e.buf = append(e.buf, opEmptyDict)
	e.memoize()
	// Like CPython's batch_dict_exact: one item is SETITEM, more go in
	// MARK ... SETITEMS batches of batchSize, and a full last batch is
	// followed by an empty one.
	if len(keys) == 1 {
		e.str(keys[0], intern)
		if err := val(keys[0]); err != nil {
			return err
		}
		e.buf = append(e.buf, opSetitem)
		return nil
	}
	if len(keys) == 0 {
		return nil
	}
	for start := 0; ; start += batchSize {
		batch := keys[start:min(start+batchSize, len(keys))]
		e.buf = append(e.buf, opMark)
		for _, k := range batch {
			e.str(k, intern)
			if err := val(k); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, opSetitems)
		if len(batch) < batchSize {
			return nil
		}
	}
}

// markup writes markupsafe.Markup(s): NEWOBJ at protocol 2,
// copyreg._reconstructor(Markup, unicode, s) at protocol 0.
func (e *encoder) markup(s string) {
	if e.proto >= 2 {
		e.global("markupsafe", "Markup")
		_ = e.tuple(1, func(int) error { e.str(s, false); return nil })
		e.buf = append(e.buf, opNewobj)
		e.memoize()
		return
	}
	e.global("copy_reg", "_reconstructor")
	_ = e.tuple(3, func(i int) error {
		switch i {
		case 0:
			e.global("markupsafe", "Markup")
		case 1:
			e.global("__builtin__", "unicode")
		default:
			e.str(s, false)
		}
		return nil
	})
	e.buf = append(e.buf, opReduce)
	e.memoize()
}

// uuid writes uuid.UUID with its state {'int': n}.
func (e *encoder) uuid(u pyval.UUID) {
	if e.proto >= 2 {
		e.global("uuid", "UUID")
		_ = e.tuple(0, nil)
		e.buf = append(e.buf, opNewobj)
		e.memoize()
	} else {
		e.global("copy_reg", "_reconstructor")
		_ = e.tuple(3, func(i int) error {
			switch i {
			case 0:
				e.global("uuid", "UUID")
			case 1:
				e.global("__builtin__", "object")
			default:
				e.buf = append(e.buf, opNone)
			}
			return nil
		})
		e.buf = append(e.buf, opReduce)
		e.memoize()
	}
	n := new(big.Int).SetBytes(u[:])
	// 'int' is a constant of UUID.__getstate__: one shared str object.
	_ = e.dictKeys([]string{"int"}, true, func(string) error { e.bigInt(n); return nil })
	e.buf = append(e.buf, opBuild)
}

// datetime writes datetime.datetime(state[, tz]).
func (e *encoder) datetime(t time.Time) error {
	if t.Year() < 1 || t.Year() > 9999 {
		return fmt.Errorf("pickle: cannot marshal time %v: year out of range 1..9999: %w", t, ErrUnsupported)
	}
	naive := pyval.IsNaive(t)
	_, off := t.Zone()
	if !naive && (off <= -86400 || off >= 86400) {
		return fmt.Errorf("pickle: cannot marshal time %v: UTC offset out of range: %w", t, ErrUnsupported)
	}
	us := t.Nanosecond() / 1000
	state := []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(us >> 16), byte(us >> 8), byte(us)}
	e.global("datetime", "datetime")
	n := 2
	if naive {
		n = 1
	}
	_ = e.tuple(n, func(i int) error {
		if i == 0 {
			e.bytes(state)
		} else {
			e.timezone(off)
		}
		return nil
	})
	e.buf = append(e.buf, opReduce)
	e.memoize()
	return nil
}

// timezone writes datetime.timezone(datetime.timedelta(days, seconds, 0)).
// timezone.utc is one shared object in Python, so it is written once.
func (e *encoder) timezone(off int) {
	if off == 0 && e.sharedGet("tz\x00utc") {
		return
	}
	e.global("datetime", "timezone")
	_ = e.tuple(1, func(int) error {
		e.global("datetime", "timedelta")
		days := off / 86400
		secs := off % 86400
		if secs < 0 {
			secs += 86400
			days--
		}
		_ = e.tuple(3, func(i int) error {
			e.int([]int64{int64(days), int64(secs), 0}[i])
			return nil
		})
		e.buf = append(e.buf, opReduce)
		e.memoize()
		return nil
	})
	e.buf = append(e.buf, opReduce)
	idx := e.memoize()
	if off == 0 {
		e.shared["tz\x00utc"] = idx
	}
}
