package taggedjson

import (
	"errors"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var monthNames = []string{
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
}

var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

var zoneOffsets = map[string]int64{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
	"AST": -400, "ADT": -300, "EST": -500, "EDT": -400,
	"CST": -600, "CDT": -500, "MST": -700, "MDT": -600,
	"PST": -800, "PDT": -700,
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

var errDateOverflow = errors.New(`" d" payload overflows Python's datetime arithmetic (OverflowError)`)

// parseDate is werkzeug.http.parse_date: email.utils.parsedate_to_datetime
// (CPython 3.11's _parsedate_tz, ported line by line), with None on
// TypeError/ValueError and UTC for a zone-less result. It returns nil, a
// time.Time (time.UTC for a zero offset, a fixed zone otherwise), or an
// error where Python raises something parse_date does not catch.
func parseDate(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	data := strings.FieldsFunc(s, pyIsSpace)
	if len(data) == 0 {
		return nil, nil
	}
	if strings.HasSuffix(data[0], ",") || index(dayNames, strings.ToLower(data[0])) >= 0 {
		data = data[1:]
	} else if i := strings.LastIndexByte(data[0], ','); i >= 0 {
		data[0] = data[0][i+1:]
	}
	if len(data) == 3 { // RFC 850 date
		if stuff := strings.Split(data[0], "-"); len(stuff) == 3 {
			data = append(stuff, data[1:]...)
		}
	}
	if len(data) == 4 {
		s := data[3]
		i := strings.IndexByte(s, '+')
		if i == -1 {
			i = strings.IndexByte(s, '-')
		}
		if i > 0 {
			data = append(data[:3:3], s[:i], s[i:])
		} else {
			data = append(data, "")
		}
	}
	if len(data) < 5 {
		return nil, nil
	}
	dd, mm, yy, tm, tz := data[0], data[1], data[2], data[3], data[4]
	if dd == "" || mm == "" || yy == "" {
		return nil, nil
	}
	mm = strings.ToLower(mm)
	if index(monthNames, mm) < 0 {
		dd, mm = mm, strings.ToLower(dd)
		if index(monthNames, mm) < 0 {
			return nil, nil
		}
	}
	month := index(monthNames, mm) + 1
	if month > 12 {
		month -= 12
	}
	dd = strings.TrimSuffix(dd, ",")
	if i := strings.IndexByte(yy, ':'); i > 0 {
		yy, tm = tm, yy
	}
	if strings.HasSuffix(yy, ",") {
		yy = yy[:len(yy)-1]
		if yy == "" {
			return nil, nil
		}
	}
	if r, _ := utf8.DecodeRuneInString(yy); !unicode.IsDigit(r) {
		yy, tz = tz, yy
	}
	tm = strings.TrimSuffix(tm, ",")
	var thh, tmm, tss string
	parts := strings.Split(tm, ":")
	switch {
	case len(parts) == 2:
		thh, tmm, tss = parts[0], parts[1], "0"
	case len(parts) == 3:
		thh, tmm, tss = parts[0], parts[1], parts[2]
	case len(parts) == 1 && strings.Contains(tm, "."):
		parts = strings.Split(tm, ".")
		switch len(parts) {
		case 2:
			thh, tmm, tss = parts[0], parts[1], "0"
		case 3:
			thh, tmm, tss = parts[0], parts[1], parts[2]
		default:
			return nil, nil
		}
	default:
		return nil, nil
	}
	var n [5]pyInt
	for i, f := range [5]string{yy, dd, thh, tmm, tss} {
		var ok bool
		if n[i], ok = parsePyInt(f); !ok {
			return nil, nil // ValueError
		}
	}
	year, day, hour, minute, second := n[0], n[1], n[2], n[3], n[4]
	if !year.huge && year.v < 100 {
		if year.v > 68 {
			year.v += 1900
		} else {
			year.v += 2000
		}
	}
	// time zone: None (→ UTC) or an offset in seconds
	var off int64
	hasOff := false
	tz = strings.ToUpper(tz)
	if z, ok := zoneOffsets[tz]; ok {
		off, hasOff = z, true
	} else if z, ok := parsePyInt(tz); ok {
		if z.huge {
			return nil, errDateOverflow // timedelta(seconds=…) OverflowError
		}
		off, hasOff = z.v, true
		if off == 0 && strings.HasPrefix(tz, "-") {
			hasOff = false
		}
	}
	if hasOff && off != 0 {
		sign := int64(1)
		if off < 0 {
			sign, off = -1, -off
		}
		off = sign * ((off/100)*3600 + (off%100)*60)
		if days := floorDiv(off, 86400); days > 999999999 || days < -999999999 {
			return nil, errDateOverflow
		}
		if off <= -86400 || off >= 86400 {
			return nil, nil // timezone(): ValueError
		}
	}
	for _, x := range n {
		if x.huge || x.v > math.MaxInt32 || x.v < math.MinInt32 {
			return nil, errDateOverflow // datetime(): C int OverflowError
		}
	}
	if year.v < 1 || year.v > 9999 || day.v < 1 || day.v > int64(daysIn(int(year.v), month)) ||
		hour.v < 0 || hour.v > 23 || minute.v < 0 || minute.v > 59 || second.v < 0 || second.v > 59 {
		return nil, nil // datetime(): ValueError
	}
	loc := time.UTC
	if hasOff && off != 0 {
		loc = time.FixedZone("", int(off))
	}
	return time.Date(int(year.v), time.Month(month), int(day.v), int(hour.v), int(minute.v), int(second.v), 0, loc), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func daysIn(year int, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// pyInt is a Python int: v when it fits comfortably, huge otherwise (the
// sign of v is still right).
type pyInt struct {
	v    int64
	huge bool
}

// parsePyInt is int(s) for base 10 (ASCII digits only): surrounding
// whitespace, a sign, single underscores between digits.
func parsePyInt(s string) (pyInt, bool) {
	s = strings.TrimFunc(s, pyIsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	digits, ok := pyDigits(s, 10)
	if !ok {
		return pyInt{}, false
	}
	var r pyInt
	for _, dg := range digits {
		if r.v > (math.MaxInt64-9)/10/1000 {
			r.huge = true
			continue
		}
		r.v = r.v*10 + int64(dg)
	}
	if neg {
		r.v = -r.v
	}
	if r.huge && r.v == 0 {
		r.v = 1
		if neg {
			r.v = -1
		}
	}
	return r, true
}
