package taggedjson

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

func TestFlaskAnswers(t *testing.T) {
	for _, c := range flaskAnswers {
		v, err := UnmarshalValue([]byte(c.in))
		if strings.HasPrefix(c.want, "ERR ") {
			if err == nil {
				t.Errorf("%q: got %s, Flask raised %s", c.in, pyval.Repr(v), c.want[4:])
				continue
			}
			want := ErrInvalidTag
			if c.want == "ERR JSONDecodeError" {
				want = ErrSyntax
			}
			if !errors.Is(err, want) {
				t.Errorf("%q: error %v does not wrap %v", c.in, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v, want %s", c.in, err, c.want)
			continue
		}
		if got := pyval.Repr(v); got != c.want {
			t.Errorf("%q:\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

var encodeTests = []struct {
	name string
	in   any
	want string
}{
	{"nil map", map[string]any(nil), `{}`},
	{"tag key top", map[string]any{" t": 1}, `{" di":{" t__":1}}`},
	{"nested di", map[string]any{" di": map[string]any{" di": map[string]any{" b": 1}}},
		`{" di":{" di__":{" di":{" di__":{" di":{" b__":1}}}}}}`},
	{"di value is tagged", map[string]any{" u": pyval.Tuple{1}}, `{" di":{" u__":{" t":[1]}}}`},
	{"two keys never escaped", map[string]any{" t": 1, " b": 2}, `{" b":2," t":1}`},
	{"unknown space keys pass", map[string]any{" x": 1, "x": map[string]any{" od": []any{}}}, `{" x":1,"x":{" od":[]}}`},
	{"tag-like keys pass", map[string]any{" t__": 1}, `{" t__":1}`},
	{"nonfinite", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, `[NaN,Infinity,-Infinity]`},
	{"float32", float32(0.1), `0.10000000149011612`},
	{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
	{"int8", int8(-128), `-128`},
	{"uint", uint(7), `7`},
	{"uintptr-free ints", []any{int16(1), uint8(2), uint32(3), int32(4)}, `[1,2,3,4]`},
	{"negative big", new(big.Int).Lsh(big.NewInt(-1), 100), `-1267650600228229401496703205376`},
	{"string slice", []string{"a", "é"}, `["a","\u00e9"]`},
	{"nil slices", []any{[]any(nil), []byte(nil), pyval.Tuple(nil)}, `[[],{" b":""},{" t":[]}]`},
	{"bytes padding", []any{[]byte("a"), []byte("ab"), []byte("abc")}, `[{" b":"YQ=="},{" b":"YWI="},{" b":"YWJj"}]`},
	{"markup escapes", pyval.Markup("<\"é\">"), `{" m":"<\"\u00e9\">"}`},
	{"uuid", pyval.UUID{0xde, 0xad, 0xbe, 0xef}, `{" u":"deadbeef000000000000000000000000"}`},
	{"aware negative offset", time.Date(2024, 1, 1, 22, 0, 0, 999999999, time.FixedZone("", -3*3600)), `{" d":"Tue, 02 Jan 2024 01:00:00 GMT"}`},
	{"year 50 pads", time.Date(50, 1, 1, 0, 0, 0, 0, time.UTC), `{" d":"Sat, 01 Jan 0050 00:00:00 GMT"}`},
	{"date", pyval.Date{Year: 1999, Month: 12, Day: 31}, `"Fri, 31 Dec 1999 00:00:00 GMT"`},
	{"decimal", pyval.Decimal("-1E+3"), `"-1E+3"`},
	{"escapes", "\x00\x08\x09\x0a\x0b\x0c\x0d\x1f \"\\/<>&\x7f\u0080\u2028\U0010ffff",
		`"\u0000\b\t\n\u000b\f\r\u001f \"\\/<>&\u007f\u0080\u2028\udbff\udfff"`},
	{"sorted by code point", map[string]any{"é": 1, "z": 2, "\U0001f600": 3, "\uffff": 4, "": 5},
		`{"":5,"z":2,"\u00e9":1,"\uffff":4,"\ud83d\ude00":3}`},
	{"many keys", manyKeys(27), manyKeysJSON(27)},
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[string(rune('A'+i))] = i
	}
	return m
}

func manyKeysJSON(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + string(rune('A'+i)) + `":`)
		b.WriteString(pyval.Repr(i))
	}
	b.WriteByte('}')
	return b.String()
}

func TestMarshalValue(t *testing.T) {
	for _, c := range encodeTests {
		got, err := MarshalValue(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
		// and it reads back to the same repr (except lossy Date/Decimal)
		switch c.in.(type) {
		case pyval.Date, pyval.Decimal, float32, time.Time:
			continue
		}
		back, err := UnmarshalValue(got)
		if err != nil {
			t.Errorf("%s: reading back: %v", c.name, err)
		}
		_ = back
	}
}

func TestMarshalErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := []any{}
	for i := 0; i < MaxDepth; i++ {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		in   any
		want error
	}{
		{"struct", struct{}{}, ErrUnsupportedType},
		{"map[string]string", map[string]string{}, ErrUnsupportedType},
		{"uintptr", uintptr(1), ErrUnsupportedType},
		{"nested unsupported", map[string]any{"a": []any{1, make(chan int)}}, ErrUnsupportedType},
		{"pointer", new(int), ErrUnsupportedType},
		{"invalid utf8 value", "a\xffb", ErrInvalidValue},
		{"invalid utf8 key", map[string]any{"\xc3": 1, "b": 2}, ErrInvalidValue},
		{"invalid utf8 markup", pyval.Markup("\xed\xa0\x80"), ErrInvalidValue},
		{"nil big", (*big.Int)(nil), ErrInvalidValue},
		{"year 0", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), ErrInvalidValue},
		{"year 10000", time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -3600)), ErrInvalidValue},
		{"bad date", pyval.Date{Year: 2023, Month: 2, Day: 29}, ErrInvalidValue},
		{"cycle", cyclic, ErrDepth},
		{"too deep", deep, ErrDepth},
	}
	for _, c := range tests {
		dst := []byte("keep")
		out, err := AppendMarshalValue(dst, c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "taggedjson:") {
			t.Errorf("%s: message %q lacks prefix", c.name, err)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", c.name, out)
		}
	}
	// exactly MaxDepth levels is fine
	ok := []any{}
	for i := 1; i < MaxDepth; i++ {
		ok = []any{ok}
	}
	if _, err := MarshalValue(ok); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
}

func TestAppendMarshal(t *testing.T) {
	out, err := AppendMarshal([]byte("x="), map[string]any{"a": 1})
	if err != nil || string(out) != `x={"a":1}` {
		t.Fatalf("%q %v", out, err)
	}
}

var decodeTests = []struct {
	name, in, want string
}{
	{"whitespace everywhere", " \t\n\r{ \"b\" :\t2 ,\n\"a\"\r: { \" t\" : [ 1 , 2 ] } } \n", "{'a': (1, 2), 'b': 2}"},
	{"duplicate keys last wins", `{"a":1,"b":2,"a":3}`, "{'a': 3, 'b': 2}"},
	{"duplicate tag key is still one key", `{"x":{" t":[1]," t":[2]}}`, "{'x': (2,)}"},
	{"two tag keys not untagged", `{"x":{" t":[1]," b":"AA=="}}`, "{'x': {' b': 'AA==', ' t': [1]}}"},
	{"nested di", `{"x":{" di":{" di__":{" di":{" t__":1}}}}}`, "{'x': {' di': {' t': 1}}}"},
	{"di is not re-examined", `{"x":{" di":{" t  ":[1]}}}`, "{'x': {' t': [1]}}"},
	{"di strips code points", `{"x":{" di":{"a\u00e9\u00e9":1}}}`, "{'x': {'a': 1}}"},
	{"di short key", `{"x":{" di":{"a":1}}}`, "{'x': {'': 1}}"},
	{"di first key in document order", `{"x":{" di":{"zz__":1,"aa__":2,"zz__":3}}}`, "{'x': {'zz': 3}}"},
	{"unknown space keys pass", `{" od":[[1,2]]," t__":1}`, "{' od': [[1, 2]], ' t__': 1}"},
	{"unknown single space key", `{"x":{" od":[[1,2]]}}`, "{'x': {' od': [[1, 2]]}}"},
	{"NaN tokens", `{"a":NaN,"b":Infinity,"c":-Infinity}`, "{'a': nan, 'b': inf, 'c': -inf}"},
	{"big ints", `{"a":9223372036854775807,"b":9223372036854775808,"c":-9223372036854775808,"d":-9223372036854775809}`,
		"{'a': 9223372036854775807, 'b': 9223372036854775808, 'c': -9223372036854775808, 'd': -9223372036854775809}"},
	{"floats", `{"a":1E2,"b":-0.0,"c":1e400,"d":0.1e-400,"e":123456789012345678901234567890.5}`,
		"{'a': 100.0, 'b': -0.0, 'c': inf, 'd': 0.0, 'e': 1.2345678901234568e+29}"},
	{"escapes", `{"a":"\"\\\/\b\f\n\r\t\u0041\u00e9\uD83D\uDE00"}`, `{'a': '"\\/\x08\x0c\n\r\tAé😀'}`},
	{"lone high surrogate", `{"a":"\ud800x"}`, "{'a': '\ufffdx'}"},
	{"lone low surrogate", `{"a":"\udc00"}`, "{'a': '\ufffd'}"},
	{"high then non-low", `{"a":"\ud800\u0041"}`, "{'a': '\ufffdA'}"},
	{"raw utf8 and del", "{\"a\":\"é\x7f\"}", "{'a': 'é\\x7f'}"},
	{"top-level di", `{" di":{" t__":1}}`, "{' t': 1}"},
	{"empty", `{}`, "{}"},
	{"datetime utc", `{"d":{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}}`, "{'d': datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)}"},
	{"datetime unparseable", `{"d":{" d":"soon"}}`, "{'d': None}"},
	{"bytes lenient", `{"b":{" b":"A A\nE=\u0021="}}`, "{'b': b'\\x00\\x01'}"},
	{"bytes stop at padding", `{"b":{" b":"AAE=AAAA"}}`, "{'b': b'\\x00\\x01'}"},
}

func TestUnmarshalEdgeCases(t *testing.T) {
	for _, c := range decodeTests {
		m, err := Unmarshal([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := pyval.Repr(m); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
}

func TestUnmarshalCanonicalTypes(t *testing.T) {
	m, err := Unmarshal([]byte(`{"i":1,"big":1e0,"l":[1],"t":{" t":[1]},"m":{"x":{}},"d":{" d":"Tue, 02 Jan 2024 03:04:05 GMT"},` +
		`"z":{" d":"Tue, 02 Jan 2024 03:04:05 +0100"},"h":123456789012345678901234567890,"u":{" u":"12345678123456781234567812345678"},"b":{" b":""},"mk":{" m":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	check := func(k string, ok bool) {
		if !ok {
			t.Errorf("%s has type %T", k, m[k])
		}
	}
	_, ok := m["i"].(int64)
	check("i", ok)
	_, ok = m["big"].(float64)
	check("big", ok)
	_, ok = m["l"].([]any)
	check("l", ok)
	_, ok = m["t"].(pyval.Tuple)
	check("t", ok)
	_, ok = m["m"].(map[string]any)["x"].(map[string]any)
	check("m", ok)
	d, ok := m["d"].(time.Time)
	check("d", ok && d.Location() == time.UTC)
	z, ok := m["z"].(time.Time)
	_, off := z.Zone()
	check("z", ok && off == 3600 && z.Hour() == 3)
	_, ok = m["h"].(*big.Int)
	check("h", ok)
	_, ok = m["u"].(pyval.UUID)
	check("u", ok)
	b, ok := m["b"].([]byte)
	check("b", ok && b != nil)
	_, ok = m["mk"].(pyval.Markup)
	check("mk", ok)
}

func TestUnmarshalErrors(t *testing.T) {
	deepOK := strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)
	if _, err := Unmarshal([]byte(`{"a":` + deepOK + `}`)); err != nil {
		t.Errorf("depth %d rejected: %v", MaxDepth, err)
	}
	tests := []struct {
		name, in string
		want     error
		offset   int
	}{
		{"empty input", ``, ErrSyntax, 0},
		{"only spaces", `   `, ErrSyntax, 3},
		{"truncated object", `{"a":1`, ErrSyntax, 6},
		{"truncated key", `{"a`, ErrSyntax, 3},
		{"truncated escape", `{"a":"\`, ErrSyntax, 6},
		{"truncated literal", `{"a":tru`, ErrSyntax, 5},
		{"bad escape", `{"a":"\q"}`, ErrSyntax, 6},
		{"bad unicode escape", `{"a":"\u12G4"}`, ErrSyntax, 6},
		{"raw control char", "{\"a\":\"\x01\"}", ErrSyntax, 6},
		{"invalid utf8", "{\"a\":\"\xff\"}", ErrSyntax, 6},
		{"surrogate in utf8", "{\"a\":\"\xed\xa0\x80\"}", ErrSyntax, 6},
		{"trailing garbage", `{"a":1}x`, ErrSyntax, 7},
		{"two documents", `{} {}`, ErrSyntax, 3},
		{"trailing comma", `{"a":1,}`, ErrSyntax, 7},
		{"missing colon", `{"a" 1}`, ErrSyntax, 5},
		{"single quotes", `{'a':1}`, ErrSyntax, 1},
		{"unquoted key", `{a:1}`, ErrSyntax, 1},
		{"leading zero", `{"a":01}`, ErrSyntax, 6},
		{"plus sign", `{"a":+1}`, ErrSyntax, 5},
		{"lone minus", `{"a":-}`, ErrSyntax, 5},
		{"dot without digits", `{"a":1.}`, ErrSyntax, 6},
		{"bom", "\ufeff{}", ErrSyntax, 0},
		{"lowercase nan", `{"a":nan}`, ErrSyntax, 5},
		{"-NaN", `{"a":-NaN}`, ErrSyntax, 5},
		{"int over 4300 digits", `{"a":1` + strings.Repeat("0", 4300) + `}`, ErrSyntax, 5},
		{"too deep", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, ErrDepth, 5 + MaxDepth - 1},
		{"top-level list", `[1]`, ErrNotObject, 0},
		{"top-level tuple", `{" t":[1]}`, ErrNotObject, 0},
		{"top-level string", `"x"`, ErrNotObject, 0},
		{"bad uuid", `{"a":{" u":"nope"}}`, ErrInvalidTag, 5},
		{"bad base64", `{"a":{" b":"AAA"}}`, ErrInvalidTag, 5},
		{"empty di", `{"a":{" di":{}}}`, ErrInvalidTag, 5},
		{"tuple of int", `{"a":{" t":1}}`, ErrInvalidTag, 5},
		{"date overflow", `{"a":{" d":"02 Jan 2024 03:04:05 +99999999999999"}}`, ErrInvalidTag, 5},
	}
	for _, c := range tests {
		_, err := Unmarshal([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
			continue
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DecodeError", c.name, err)
			continue
		}
		if de.Offset != c.offset {
			t.Errorf("%s: offset %d, want %d (%v)", c.name, de.Offset, c.offset, err)
		}
		if !strings.HasPrefix(err.Error(), "taggedjson: ") {
			t.Errorf("%s: message %q lacks prefix", c.name, err)
		}
	}
	if _, err := Unmarshal([]byte(`{"a":1` + strings.Repeat("0", 4299) + `}`)); err != nil {
		t.Errorf("4300-digit int rejected: %v", err)
	}
}

// Every proper prefix of a valid document is an error, never a panic.
func TestUnmarshalTruncated(t *testing.T) {
	doc := `{"a":[1,-2.5e3,"x\u00e9\ud83d\ude00",{" t":[true,false,null]}],"b":{" di":{" b__":{" b":"AAE="}}},"c":NaN,"d":-Infinity}`
	if _, err := Unmarshal([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(doc); i++ {
		if _, err := Unmarshal([]byte(doc[:i])); !errors.Is(err, ErrSyntax) {
			t.Errorf("prefix %q: err %v", doc[:i], err)
		}
	}
}

// The untagging produces values that Marshal writes back in the canonical
// Flask form.
func TestRoundTripCanonicalizes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b": 2, "a": {" t": [1, 2]}}`, `{"a":{" t":[1,2]},"b":2}`},
		{`{"a":{" t":"ab"}}`, `{"a":{" t":["a","b"]}}`},
		{`{"a":{" b":"AAE"}}`, ``},
		{`{"a":{" b":"A-A_E="}}`, `{"a":{" b":"AAE="}}`},
		{`{"a":{" u":"{12345678-1234-5678-1234-567812345678}"}}`, `{"a":{" u":"12345678123456781234567812345678"}}`},
		{`{"a":{" d":"Tue, 02 Jan 2024 03:04:05 +0100"}}`, `{"a":{" d":"Tue, 02 Jan 2024 02:04:05 GMT"}}`},
		{`{"a":{" m":[1]}}`, `{"a":{" m":"[1]"}}`},
		{`{"a":1.0E0,"b":1e16,"c":-0}`, `{"a":1.0,"b":1e+16,"c":0}`},
	}
	for _, c := range tests {
		m, err := Unmarshal([]byte(c.in))
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: expected an error", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		out, err := Marshal(m)
		if err != nil || string(out) != c.want {
			t.Errorf("%s:\n got  %s (%v)\n want %s", c.in, out, err, c.want)
		}
	}
}
