package pyval

import (
	"math"
	"math/big"
	"testing"
	"time"
)

// Expected strings are Python 3.11's repr() of the same values.
var floatTests = []struct {
	f    float64
	want string
}{
	{1.5, "1.5"}, {0.1, "0.1"}, {1.0, "1.0"}, {math.Copysign(0, -1), "-0.0"}, {0, "0.0"},
	{1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {1e6, "1000000.0"}, {0.0001, "0.0001"},
	{1e-05, "1e-05"}, {1e100, "1e+100"}, {2.5e-05, "2.5e-05"}, {123456789.125, "123456789.125"},
	{1.2345678901234568e+16, "1.2345678901234568e+16"}, {5e-324, "5e-324"}, {-1.5, "-1.5"},
	{0.3, "0.3"}, {1.7976931348623157e+308, "1.7976931348623157e+308"}, {123.0, "123.0"},
	{0.00012345, "0.00012345"}, {9999999999999998.0, "9999999999999998.0"},
}

func TestFormatFloat(t *testing.T) {
	for _, tt := range floatTests {
		if got := FormatFloat(tt.f); got != tt.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestRepr(t *testing.T) {
	u, err := ParseUUID("12345678-1234-5678-1234-567812345678")
	if err != nil {
		t.Fatal(err)
	}
	huge, _ := new(big.Int).SetString("18446744073709551616", 10)
	tests := []struct {
		v    any
		want string
	}{
		{map[string]any{"b": int64(1), "a": "x"}, "{'a': 'x', 'b': 1}"},
		{Tuple{int64(1), "a", Tuple{int64(2), int64(3)}}, "(1, 'a', (2, 3))"},
		{Tuple{int64(1)}, "(1,)"},
		{Tuple{}, "()"},
		{[]byte("\x00\x01binary\xff"), `b'\x00\x01binary\xff'`},
		{Markup("<b>bold</b> &amp; more"), "Markup('<b>bold</b> &amp; more')"},
		{u, "UUID('12345678-1234-5678-1234-567812345678')"},
		{Date{2024, 2, 29}, "datetime.date(2024, 2, 29)"},
		{Decimal("3.14"), "Decimal('3.14')"},
		{time.Date(2024, 1, 2, 3, 4, 5, 678901000, Naive), "datetime.datetime(2024, 1, 2, 3, 4, 5, 678901)"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)), "datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))"},
		{time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC), "datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)"},
		{time.Date(2024, 1, 2, 3, 4, 0, 0, time.FixedZone("", -5*3600)), "datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))"},
		{"héllo wörld ✓ 日本語 😀", "'héllo wörld ✓ 日本語 😀'"},
		{"it's", `"it's"`},
		{"nul\x00 \u2028", `'nul\x00 \u2028'`},
		{huge, "18446744073709551616"},
		{nil, "None"}, {true, "True"}, {[]any{int64(1), 2.5}, "[1, 2.5]"},
	}
	for _, tt := range tests {
		if got := Repr(tt.v); got != tt.want {
			t.Errorf("Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestParseUUID(t *testing.T) {
	for _, s := range []string{"12345678123456781234567812345678", "{12345678-1234-5678-1234-567812345678}", "urn:uuid:12345678-1234-5678-1234-567812345678"} {
		u, err := ParseUUID(s)
		if err != nil || u.Hex() != "12345678123456781234567812345678" {
			t.Errorf("ParseUUID(%q) = %v, %v", s, u, err)
		}
	}
	if _, err := ParseUUID("xyz"); err == nil {
		t.Error("ParseUUID accepted garbage")
	}
}
