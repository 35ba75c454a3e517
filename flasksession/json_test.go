package flasksession

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// jsonVectors are known-answer encodings of {"v": value}. Expected text
// follows msgspec's documented output (supported-types docs: "123.0",
// "null" for NaN, raw UTF-8, base64 bytes, "2021-04-02T18:18:10.000123-06:00")
// and its float formatter (msgspec/ryu.h format_double: "1e16", "0.00001",
// "1e-6", no "+" in exponents).
var jsonVectors = []struct {
	name string
	v    any
	want string
}{
	{"null", nil, `null`},
	{"true", true, `true`},
	{"false", false, `false`},
	{"int", 42, `42`},
	{"neg", -129, `-129`},
	{"int64min", int64(math.MinInt64), `-9223372036854775808`},
	{"uint64max", uint64(math.MaxUint64), `18446744073709551615`},
	{"bigint-in-range", new(big.Int).SetUint64(1 << 63), `9223372036854775808`},
	{"f1", 1.0, `1.0`},
	{"f1.5", 1.5, `1.5`},
	{"f0.1", 0.1, `0.1`},
	{"f-0", math.Copysign(0, -1), `-0.0`},
	{"f0", 0.0, `0.0`},
	{"f1e15", 1e15, `1000000000000000.0`},
	{"f1e16", 1e16, `1e16`},
	{"f1.5e16", 1.5e16, `1.5e16`},
	{"f1e100", 1e100, `1e100`},
	{"f1e-4", 1e-4, `0.0001`},
	{"f1e-5", 1e-5, `0.00001`},
	{"f2.5e-5", 2.5e-5, `0.000025`},
	{"f1e-6", 1e-6, `1e-6`},
	{"f1.5e-7", 1.5e-7, `1.5e-7`},
	{"f123456789.125", 123456789.125, `123456789.125`},
	{"f-2.5", -2.5, `-2.5`},
	{"fthird", 1.0 / 3, `0.3333333333333333`},
	{"fmax", math.MaxFloat64, `1.7976931348623157e308`},
	{"fmin", 5e-324, `5e-324`},
	{"f32", float32(0.5), `0.5`},
	{"nan", math.NaN(), `null`},
	{"inf", math.Inf(1), `null`},
	{"-inf", math.Inf(-1), `null`},
	{"str", "héllo ✓ 😀", `"héllo ✓ 😀"`},
	{"escapes", "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\u2028", `"a\"b\\c/\b\f\n\r\t\u0001\u001f` + "\x7f\u2028" + `"`},
	{"html-not-escaped", "<&>", `"<&>"`},
	{"bytes", []byte("\x00\x01binary\xff"), `"AAFiaW5hcnn/"`},
	{"bytes-plus-slash", []byte{0xfb, 0xff, 0xfe}, `"+//+"`},
	{"bytes-empty", []byte{}, `""`},
	{"list", []any{1, "a", []any{}, map[string]any{}}, `[1,"a",[],{}]`},
	{"tuple", pyval.Tuple{1, pyval.Tuple{2, 3}}, `[1,[2,3]]`},
	{"map-sorted", map[string]any{"b": 1, "a": map[string]any{"d": 1, "c": 2}}, `{"a":{"c":2,"d":1},"b":1}`},
	{"aware-offset", time.Date(2021, 4, 2, 18, 18, 10, 123000, time.FixedZone("", -6*3600)), `"2021-04-02T18:18:10.000123-06:00"`},
	{"aware-plus", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 19800)), `"2024-01-02T03:04:05+05:30"`},
	{"aware-utc", time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC), `"2024-01-02T03:04:05.678901Z"`},
	{"aware-zero-offset-named", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("GMT", 0)), `"2024-01-02T03:04:05Z"`},
	{"aware-offset-seconds", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("LMT", 61)), `"2024-01-02T03:03:04Z"`},
	{"naive", time.Date(2024, 1, 2, 3, 4, 5, 678901000, pyval.Naive), `"2024-01-02T03:04:05.678901"`},
	{"naive-year1", time.Date(1, 1, 1, 0, 0, 0, 0, pyval.Naive), `"0001-01-01T00:00:00"`},
	{"date", pyval.Date{Year: 2024, Month: 2, Day: 29}, `"2024-02-29"`},
	{"uuid", mustUUID("12345678-1234-5678-1234-567812345678"), `"12345678-1234-5678-1234-567812345678"`},
	{"decimal", pyval.Decimal("3.14"), `"3.14"`},
	{"markup", pyval.Markup("<b>x</b>"), `"<b>x</b>"`},
}

func TestJSONVectors(t *testing.T) {
	for _, tc := range jsonVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JSON.Encode(map[string]any{"v": tc.v})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"v":` + tc.want + `}`; string(got) != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			m, err := JSON.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := JSON.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(got) {
				t.Fatalf("re-encoded %s", again)
			}
		})
	}
}

func TestJSONFlaskExample(t *testing.T) {
	got, err := JSON.Encode(map[string]any{"user_id": 42, "_permanent": true})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"_permanent":true,"user_id":42}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestJSONDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{" \t\r\n{ \"a\" : [ 1 , 2.5 , -0 , 1e2 , 1E-2, -0.0 ] } \n", `{'a': [1, 2.5, 0, 100.0, 0.01, -0.0]}`},
		{`{"a":9223372036854775807,"b":-9223372036854775808}`, `{'a': 9223372036854775807, 'b': -9223372036854775808}`},
		{`{"a":9223372036854775808,"b":-9223372036854775809}`, `{'a': 9223372036854775808, 'b': -9223372036854775809}`},
		{`{"a":100000000000000000000000000000}`, `{'a': 100000000000000000000000000000}`},
		{`{"a":1e400,"b":-1e400,"c":1e-400}`, `{'a': inf, 'b': -inf, 'c': 0.0}`},
		{`{"a":true,"b":false,"c":null}`, `{'a': True, 'b': False, 'c': None}`},
		{`{"a":"\u00e9\ud83d\ude00\n\"\\\/","b":"é"}`, `{'a': 'é😀\n"\\/', 'b': 'é'}`},
		{`{"a":1,"a":2}`, `{'a': 2}`},
		{`{"d":{"x":{"y":[{}]}}}`, `{'d': {'x': {'y': [{}]}}}`},
		{`{"when":"2024-01-02T03:04:05Z","b":"AAE="}`, `{'b': 'AAE=', 'when': '2024-01-02T03:04:05Z'}`},
	}
	for _, tc := range tests {
		m, err := JSON.Decode([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := pyval.Repr(m); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	// ints never decode to float64
	m, _ := JSON.Decode([]byte(`{"i":1,"b":18446744073709551615}`))
	if _, ok := m["i"].(int64); !ok {
		t.Errorf("1 decoded as %T", m["i"])
	}
	if _, ok := m["b"].(*big.Int); !ok {
		t.Errorf("2**64-1 decoded as %T", m["b"])
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	tests := []string{
		``, ` `, `[]`, `1`, `"a"`, `null`, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`,
		`{"a":1}x`, `{"a":1}{}`, `{a:1}`, `{'a':1}`, `{"a":NaN}`, `{"a":Infinity}`, `{"a":-Infinity}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":-}`, `{"a":0x1}`,
		`{"a":[1,]}`, `{"a":[1 2]}`, `{"a":tru}`, `{"a":nul}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
		"{\"\xff\":1}", `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\ud800"}`, `{"a":"\udc00"}`,
		`{"a":"\ud800\u0041"}`, `{"a":"abc`, `{"a":"\`, `{1:2}`, `{"a":1 /* c */}`,
		`{"a":` + strings.Repeat("9", maxIntDigits+1) + `}`,
		`{"a":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `}`,
	}
	for _, in := range tests {
		if m, err := JSON.Decode([]byte(in)); err == nil {
			t.Errorf("%.80q decoded to %.80s", in, pyval.Repr(m))
		} else if !errorsIs(err, ErrMalformed) {
			t.Errorf("%.80q: error %v does not wrap ErrMalformed", in, err)
		}
	}
}

func TestJSONEncodeErrors(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	for _, v := range []any{two64, "\xff", struct{}{}, map[string]int{}} {
		if _, err := JSON.Encode(map[string]any{"v": v}); !errorsIs(err, ErrUnsupportedValue) {
			t.Errorf("%#v: %v", v, err)
		}
	}
}
