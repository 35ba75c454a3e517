package pickle

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// global is a Python callable or class on the allow-list. Nothing is ever
// imported or called: each one is a constructor of a plain value,
// implemented here.
type global int

const (
	gDatetime global = iota + 1
	gDate
	gTimezone
	gTimedelta
	gUUID
	gDecimal
	gMarkup
	gReconstructor // copyreg._reconstructor
	gObject        // builtins.object (only as _reconstructor's base)
	gStr           // builtins.str, Python 2 __builtin__.unicode (only as _reconstructor's base)
	gSet
	gFrozenset
	gBytearray
	gBytes
	gEncode // _codecs.encode
)

var globalNames = map[global]string{
	gDatetime: "datetime.datetime", gDate: "datetime.date", gTimezone: "datetime.timezone",
	gTimedelta: "datetime.timedelta", gUUID: "uuid.UUID", gDecimal: "decimal.Decimal",
	gMarkup: "markupsafe.Markup", gReconstructor: "copyreg._reconstructor",
	gObject: "builtins.object", gStr: "builtins.str", gSet: "builtins.set",
	gFrozenset: "builtins.frozenset", gBytearray: "builtins.bytearray",
	gBytes: "builtins.bytes", gEncode: "_codecs.encode",
}

func (g global) String() string { return globalNames[g] }

// allowed is the allow-list, keyed by "module\x00name" after Python 3's
// fix_imports mapping of Python 2 names (copy_reg, __builtin__, unicode).
var allowed = map[string]global{
	"datetime\x00datetime":      gDatetime,
	"datetime\x00date":          gDate,
	"datetime\x00timezone":      gTimezone,
	"datetime\x00timedelta":     gTimedelta,
	"uuid\x00UUID":              gUUID,
	"decimal\x00Decimal":        gDecimal,
	"markupsafe\x00Markup":      gMarkup,
	"copyreg\x00_reconstructor": gReconstructor,
	"builtins\x00object":        gObject,
	"builtins\x00str":           gStr,
	"builtins\x00set":           gSet,
	"builtins\x00frozenset":     gFrozenset,
	"builtins\x00bytearray":     gBytearray,
	"builtins\x00bytes":         gBytes,
	"_codecs\x00encode":         gEncode,
	"codecs\x00encode":          gEncode,
}

func (d *decoder) lookupGlobal(module, name string) (global, error) {
	m, n := module, name
	switch m {
	case "copy_reg":
		m = "copyreg"
	case "__builtin__":
		m = "builtins"
		if n == "unicode" {
			n = "str"
		}
	}
	if g, ok := allowed[m+"\x00"+n]; ok {
		return g, nil
	}
	q := module + "." + name
	if len(q) > 200 {
		q = q[:200] + "..."
	}
	return 0, d.errf(ErrForbiddenGlobal, "global %s is not allowed", strconv.Quote(q))
}

// reduce implements REDUCE: fn(*args) for the allowed globals.
func (d *decoder) reduce(fn, argsV any) (any, error) {
	g, ok := fn.(global)
	if !ok {
		return nil, d.errf(ErrUnsupported, "REDUCE on %s, not an allowed callable", typeName(fn))
	}
	at, ok := argsV.(*pyTuple)
	if !ok {
		return nil, d.malformed("REDUCE arguments must be a tuple, not %s", typeName(argsV))
	}
	args := at.items
	switch g {
	case gDatetime:
		return d.makeDatetime(args)
	case gDate:
		return d.makeDate(args)
	case gTimezone:
		return d.makeTimezone(args)
	case gTimedelta:
		return d.makeTimedelta(args)
	case gUUID:
		if len(args) == 1 {
			if s, ok := args[0].(string); ok {
				u, err := pyval.ParseUUID(s)
				if err != nil {
					return nil, d.malformed("uuid.UUID(%q): badly formed hexadecimal UUID string", s)
				}
				return &pyUUID{u: u, built: true}, nil
			}
		}
		return nil, d.errf(ErrUnsupported, "uuid.UUID called with unsupported arguments")
	case gDecimal:
		return d.makeDecimal(args)
	case gMarkup:
		return d.makeMarkup(args)
	case gReconstructor:
		if len(args) != 3 {
			return nil, d.malformed("copyreg._reconstructor takes 3 arguments, got %d", len(args))
		}
		cls, base := args[0], args[1]
		switch {
		case cls == gUUID && base == gObject && args[2] == nil:
			return &pyUUID{}, nil
		case cls == gMarkup && base == gStr:
			return d.makeMarkup(args[2:])
		}
		return nil, d.errf(ErrUnsupported, "copyreg._reconstructor(%s, %s, ...) is not supported", typeName(cls), typeName(base))
	case gSet, gFrozenset:
		s := &pySet{frozen: g == gFrozenset}
		switch len(args) {
		case 0:
		case 1:
			var items []any
			switch x := args[0].(type) {
			case *pyList:
				items = x.items
			case *pyTuple:
				items = x.items
			case *pySet:
				items = x.items
			default:
				return nil, d.errf(ErrUnsupported, "%s(%s) is not supported", g, typeName(args[0]))
			}
			if err := d.charge(len(items) * slotCost); err != nil {
				return nil, err
			}
			s.items = append([]any(nil), items...)
		default:
			return nil, d.malformed("%s takes at most 1 argument", g)
		}
		return s, nil
	case gBytes, gBytearray:
		switch len(args) {
		case 0:
			return []byte{}, nil
		case 1:
			switch x := args[0].(type) {
			case []byte:
				return x, nil // immutable once decoded: sharing is safe
			case py2str:
				return []byte(x), nil
			}
			return nil, d.errf(ErrUnsupported, "%s(%s) is not supported", g, typeName(args[0]))
		}
		return d.encode(g, args)
	case gEncode:
		return d.encode(g, args)
	}
	return nil, d.errf(ErrUnsupported, "%s cannot be called", g)
}

// encode implements _codecs.encode(str, encoding='utf-8'), and
// bytes/bytearray(str, encoding), for the encodings pickle uses.
func (d *decoder) encode(g global, args []any) (any, error) {
	if len(args) < 1 || len(args) > 3 {
		return nil, d.malformed("%s: wrong number of arguments (%d)", g, len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, d.errf(ErrUnsupported, "%s(%s) is not supported", g, typeName(args[0]))
	}
	enc := "utf-8"
	if len(args) >= 2 {
		e, ok := args[1].(string)
		if !ok {
			if p, ok2 := args[1].(py2str); ok2 {
				e, ok = string(p), true
			}
		}
		if !ok {
			return nil, d.malformed("%s: encoding must be a str", g)
		}
		enc = e
	}
	switch strings.ReplaceAll(strings.ToLower(enc), "_", "-") {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
		b, ok := latin1(s)
		if !ok {
			return nil, d.malformed("%s: string is not encodable as latin-1", g)
		}
		return b, nil
	case "utf-8", "utf8":
		if !validUTF8NoSurrogates(s) {
			return nil, d.malformed("%s: string is not encodable as utf-8", g)
		}
		return []byte(s), nil
	case "ascii", "us-ascii":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, d.malformed("%s: string is not encodable as ascii", g)
			}
		}
		return []byte(s), nil
	}
	return nil, d.errf(ErrUnsupported, "%s: encoding %q is not supported", g, enc)
}

// latin1 encodes s (UTF-8) as latin-1; ok is false if s has a code point
// above U+00FF.
func latin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	// a lone surrogate in s shows up as RuneError (> 0xff): rejected above.
	return b, true
}

// stateBytes returns the bytes of a datetime/date pickled state: bytes, a
// Python 2 str, or a str of latin-1 code points (Python 3 accepts all three).
func stateBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case py2str:
		return []byte(x), true
	case string:
		return latin1(x)
	}
	return nil, false
}

func toInt(v any) (int64, bool) {
	if i, ok := v.(int64); ok {
		return i, true
	}
	return 0, false
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (d *decoder) checkDate(y, m, day int64) error {
	if y < 1 || y > 9999 || m < 1 || m > 12 || day < 1 || day > int64(daysIn(time.Month(m), int(y))) {
		return d.malformed("date out of range: %d-%d-%d", y, m, day)
	}
	return nil
}

func (d *decoder) makeDate(args []any) (any, error) {
	if len(args) == 1 {
		b, ok := stateBytes(args[0])
		if !ok || len(b) != 4 {
			return nil, d.malformed("bad datetime.date state")
		}
		y, m, day := int64(b[0])<<8|int64(b[1]), int64(b[2]), int64(b[3])
		if err := d.checkDate(y, m, day); err != nil {
			return nil, err
		}
		return pyval.Date{Year: int(y), Month: time.Month(m), Day: int(day)}, nil
	}
	if len(args) == 3 {
		y, ok1 := toInt(args[0])
		m, ok2 := toInt(args[1])
		day, ok3 := toInt(args[2])
		if ok1 && ok2 && ok3 {
			if err := d.checkDate(y, m, day); err != nil {
				return nil, err
			}
			return pyval.Date{Year: int(y), Month: time.Month(m), Day: int(day)}, nil
		}
	}
	return nil, d.malformed("bad arguments for datetime.date")
}

func (d *decoder) makeDatetime(args []any) (any, error) {
	var f [7]int64 // year month day hour minute second microsecond
	var tz any
	if len(args) >= 1 && len(args) <= 2 {
		if b, ok := stateBytes(args[0]); ok {
			if len(b) != 10 {
				return nil, d.malformed("bad datetime.datetime state (%d bytes)", len(b))
			}
			f = [7]int64{int64(b[0])<<8 | int64(b[1]), int64(b[2] & 0x7f), int64(b[3]), int64(b[4]), int64(b[5]), int64(b[6]),
				int64(b[7])<<16 | int64(b[8])<<8 | int64(b[9])}
			if len(args) == 2 {
				tz = args[1]
			}
			return d.datetimeFrom(f, tz)
		}
	}
	// datetime(year, month, day[, hour[, minute[, second[, microsecond[, tzinfo]]]]])
	if len(args) < 3 || len(args) > 8 {
		return nil, d.malformed("bad arguments for datetime.datetime")
	}
	for i, a := range args {
		if i == 7 {
			tz = a
			break
		}
		n, ok := toInt(a)
		if !ok {
			return nil, d.malformed("bad arguments for datetime.datetime")
		}
		f[i] = n
	}
	return d.datetimeFrom(f, tz)
}

func (d *decoder) datetimeFrom(f [7]int64, tz any) (any, error) {
	if err := d.checkDate(f[0], f[1], f[2]); err != nil {
		return nil, err
	}
	if f[3] < 0 || f[3] > 23 || f[4] < 0 || f[4] > 59 || f[5] < 0 || f[5] > 59 || f[6] < 0 || f[6] > 999999 {
		return nil, d.malformed("time out of range")
	}
	var loc *time.Location
	switch z := tz.(type) {
	case nil:
		loc = pyval.Naive
	case pyTimezone:
		if z.off == 0 {
			loc = time.UTC
		} else {
			loc = time.FixedZone("", z.off) // the value model has no named offsets
		}
	default:
		return nil, d.errf(ErrUnsupported, "datetime tzinfo of type %s is not supported", typeName(tz))
	}
	return time.Date(int(f[0]), time.Month(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5]), int(f[6])*1000, loc), nil
}

func (d *decoder) makeTimedelta(args []any) (any, error) {
	if len(args) > 3 {
		return nil, d.malformed("datetime.timedelta takes at most 3 positional arguments")
	}
	var f [3]int64
	for i, a := range args {
		n, ok := toInt(a)
		if !ok {
			return nil, d.errf(ErrUnsupported, "datetime.timedelta argument of type %s is not supported", typeName(a))
		}
		f[i] = n
	}
	const maxDays, maxSecs, maxUs = 1_000_000, 1 << 40, 1 << 50
	if f[0] < -maxDays || f[0] > maxDays || f[1] < -maxSecs || f[1] > maxSecs || f[2] < -maxUs || f[2] > maxUs {
		return nil, d.errf(ErrUnsupported, "datetime.timedelta out of the supported range")
	}
	return pyTimedelta{us: f[0]*86400_000_000 + f[1]*1_000_000 + f[2]}, nil
}

func (d *decoder) makeTimezone(args []any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, d.malformed("datetime.timezone takes 1 or 2 arguments")
	}
	td, ok := args[0].(pyTimedelta)
	if !ok {
		return nil, d.malformed("datetime.timezone offset must be a timedelta, not %s", typeName(args[0]))
	}
	if td.us <= -86400_000_000 || td.us >= 86400_000_000 {
		return nil, d.malformed("datetime.timezone offset out of range")
	}
	if td.us%1_000_000 != 0 {
		return nil, d.errf(ErrUnsupported, "datetime.timezone offset with microseconds is not supported")
	}
	z := pyTimezone{off: int(td.us / 1_000_000)}
	if len(args) == 2 {
		switch args[1].(type) {
		case string, py2str: // the name is dropped (see datetimeFrom)
		default:
			return nil, d.malformed("datetime.timezone name must be a str")
		}
	}
	return z, nil
}

func (d *decoder) makeMarkup(args []any) (any, error) {
	switch len(args) {
	case 0:
		return pyval.Markup(""), nil
	case 1:
		switch s := args[0].(type) {
		case string:
			return pyval.Markup(s), nil
		case pyval.Markup:
			return s, nil
		case py2str:
			if validUTF8NoSurrogates(string(s)) {
				return pyval.Markup(s), nil
			}
		}
		return nil, d.errf(ErrUnsupported, "markupsafe.Markup(%s) is not supported", typeName(args[0]))
	}
	return nil, d.errf(ErrUnsupported, "markupsafe.Markup with %d arguments is not supported", len(args))
}

func (d *decoder) makeDecimal(args []any) (any, error) {
	if len(args) != 1 {
		return nil, d.errf(ErrUnsupported, "decimal.Decimal with %d arguments is not supported", len(args))
	}
	var s string
	switch x := args[0].(type) {
	case string:
		s = x
	case py2str:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case *big.Int:
		s = x.String()
	default:
		return nil, d.errf(ErrUnsupported, "decimal.Decimal(%s) is not supported", typeName(args[0]))
	}
	s = strings.TrimSpace(s)
	if !validDecimal(s) {
		return nil, d.malformed("invalid decimal.Decimal literal %q", s)
	}
	return pyval.Decimal(s), nil
}

// validDecimal reports whether s is in the syntax decimal.Decimal accepts
// (without underscores): [sign] (digits [. digits] | . digits) [e [sign]
// digits], or Inf, Infinity, NaN, sNaN with an optional payload.
func validDecimal(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	switch l := lower(s); {
	case l == "inf" || l == "infinity":
		return true
	case strings.HasPrefix(l, "nan"):
		return allDigits(l[3:], true)
	case strings.HasPrefix(l, "snan"):
		return allDigits(l[4:], true)
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if !allDigits(exp, false) {
			return false
		}
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" {
		return false
	}
	return allDigits(intPart, true) && allDigits(frac, true)
}

func allDigits(s string, emptyOK bool) bool {
	if s == "" {
		return emptyOK
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// newobj implements NEWOBJ: cls.__new__(cls, *args).
func (d *decoder) newobj(clsV, argsV any) (any, error) {
	cls, ok := clsV.(global)
	if !ok {
		return nil, d.errf(ErrUnsupported, "NEWOBJ on %s, not an allowed class", typeName(clsV))
	}
	at, ok := argsV.(*pyTuple)
	if !ok {
		return nil, d.malformed("NEWOBJ arguments must be a tuple, not %s", typeName(argsV))
	}
	switch cls {
	case gUUID:
		if len(at.items) == 0 {
			return &pyUUID{}, nil
		}
	case gMarkup:
		return d.makeMarkup(at.items)
	case gSet, gFrozenset:
		if len(at.items) == 0 {
			return &pySet{frozen: cls == gFrozenset}, nil
		}
	}
	return nil, d.errf(ErrUnsupported, "NEWOBJ of %s with these arguments is not supported", cls)
}

// build implements BUILD (__setstate__) for the one allowed case: uuid.UUID
// with a state {'int': n} (optionally with 'is_safe').
func (d *decoder) build(inst, state any) error {
	u, ok := inst.(*pyUUID)
	if !ok {
		return d.errf(ErrUnsupported, "BUILD on %s is not supported", typeName(inst))
	}
	if t, ok := state.(*pyTuple); ok && len(t.items) == 2 && t.items[0] == nil {
		state = t.items[1] // (None, slotstate)
	}
	dict, ok := state.(*pyDict)
	if !ok {
		return d.errf(ErrUnsupported, "uuid.UUID state of type %s is not supported", typeName(state))
	}
	var n *big.Int
	for k, v := range dict.m {
		switch k {
		case "int":
			switch x := v.(type) {
			case int64:
				n = big.NewInt(x)
			case *big.Int:
				n = x
			default:
				return d.malformed("uuid.UUID int must be an int, not %s", typeName(v))
			}
		case "is_safe":
			// SafeUUID value (int or None): informational only.
		default:
			return d.errf(ErrUnsupported, "uuid.UUID state with key %q is not supported", k)
		}
	}
	if n == nil {
		return d.malformed("uuid.UUID state without 'int'")
	}
	if n.Sign() < 0 || n.BitLen() > 128 {
		return d.malformed("uuid.UUID int out of range")
	}
	n.FillBytes(u.u[:])
	u.built = true
	return nil
}

// setItem stores dict[k] = v, converting the key to a string: str (and
// Markup) keys as they are, Python 2 str keys when they are valid UTF-8, int
// keys as their decimal text (the way json.dumps writes them). Any other key
// type is ErrUnsupported. Later keys win over earlier equal ones.
func (d *decoder) setItem(dict *pyDict, k, v any) error {
	var key string
	switch x := k.(type) {
	case string:
		key = x
	case pyval.Markup:
		key = string(x)
	case py2str:
		if !validUTF8NoSurrogates(string(x)) {
			return d.errf(ErrUnsupported, "dict key is a Python 2 str that is not valid UTF-8")
		}
		key = string(x)
	case int64:
		key = strconv.FormatInt(x, 10)
	case *big.Int:
		key = x.String()
	default:
		return d.errf(ErrUnsupported, "dict key of type %s is not supported (only str and int keys)", typeName(k))
	}
	if _, exists := dict.m[key]; !exists {
		if err := d.charge(3 * slotCost); err != nil {
			return err
		}
	}
	dict.m[key] = v
	return nil
}
