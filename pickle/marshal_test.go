package pickle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

func mustBig(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

// richValue mirrors rich() in testdata/gen_marshal_expected.py.
func richValue() map[string]any {
	u, _ := pyval.ParseUUID("12345678-1234-5678-1234-567812345678")
	var small pyval.UUID
	small[15] = 5
	return map[string]any{
		"_flashes":   []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", "Oops"}},
		"_permanent": true,
		"a":          "a",
		"big":        mustBig("1180591620717411303424"),
		"bytes":      []byte("\x00\x01binary\xff"),
		"d":          pyval.Date{Year: 2024, Month: 2, Day: 29},
		"dec":        pyval.Decimal("3.14"),
		"dt_naive":   time.Date(2024, 1, 2, 3, 4, 5, 678901000, pyval.Naive),
		"dt_neg":     time.Date(2024, 1, 2, 3, 4, 0, 0, time.FixedZone("", -5*3600)),
		"dt_off":     time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 19800)),
		"dt_utc":     time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"dt_utc2":    time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"empty":      []byte{},
		"empty_str":  "",
		"f":          1.5,
		"false":      false,
		"floats":     []any{0.1, math.Copysign(0, -1), 1e16, 1e-05, 1e100, math.Inf(1), math.NaN()},
		"ints": []any{0, uint8(255), int16(256), uint16(65535), int32(65536), int8(-1), int32(math.MinInt32),
			int64(math.MaxInt32), uint32(1 << 31), int64(math.MinInt32 - 1), uint64(math.MaxInt64), int64(math.MinInt64),
			mustBig("-18446744073709551616"), uint64(math.MaxUint64) /* 2**64-1: see below */},
		"m":       pyval.Markup("<b>bold</b> &amp; more"),
		"nested":  map[string]any{"l": []any{1, []any{2, []any{3, []any{}}}, map[string]any{}}, "t": pyval.Tuple{}},
		"none":    nil,
		"s":       "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f600 \\ \n \r \x00 \x1a \x7f",
		"t1":      pyval.Tuple{1},
		"t4":      pyval.Tuple{1, 2, 3, 4},
		"tuple":   pyval.Tuple{1, "x", pyval.Tuple{2, 3}},
		"u":       u,
		"u_small": small,
	}
}

func bigValue() map[string]any {
	l := make([]any, 2500)
	for i := range l {
		l[i] = i
	}
	d := make(map[string]any, 1001)
	for i := 0; i < 1001; i++ {
		d[fmt.Sprintf("k%04d", i)] = i
	}
	d1000 := make(map[string]any, 1000)
	for i := 0; i < 1000; i++ {
		d1000[fmt.Sprintf("j%04d", i)] = i
	}
	return map[string]any{"list": l, "dict": d, "dict1000": d1000, "list1001": l[:1001]}
}

func TestMarshalMatchesCPython(t *testing.T) {
	rich := richValue()
	// The Python value ends with 2**64; uint64 max is 2**64-1, so use a
	// *big.Int there.
	rich["ints"].([]any)[13] = mustBig("18446744073709551616")
	values := map[string]any{
		"session": map[string]any{"_permanent": true, "user_id": 42},
		"rich":    rich,
	}
	for name, v := range values {
		for _, proto := range []int{0, 2} {
			key := fmt.Sprintf("%s/%d", name, proto)
			want, err := hex.DecodeString(cpythonPickles[key])
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(v, proto)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("%s: differs from CPython at byte %d:\n got %q\nwant %q", key, i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
			}
		}
	}
	for _, proto := range []int{0, 2} {
		got, err := Marshal(bigValue(), proto)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(got)
		if w := cpythonBig[proto]; len(got) != w.n || hex.EncodeToString(sum[:]) != w.sum {
			t.Errorf("big/%d: %d bytes sha256 %x, want %d bytes %s", proto, len(got), sum, w.n, w.sum)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	type custom struct{}
	self := []any{nil}
	self[0] = self
	for _, tc := range []struct {
		name  string
		v     any
		proto int
	}{
		{"proto 4", 1, 4},
		{"proto 1", 1, 1},
		{"struct", custom{}, 2},
		{"nested struct", map[string]any{"x": []any{custom{}}}, 0},
		{"map[string]int", map[string]int{"a": 1}, 2},
		{"self-referencing", self, 2},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), 2},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, pyval.Naive), 2},
		{"bad date", pyval.Date{Year: 2023, Month: 2, Day: 29}, 2},
		{"bad decimal", pyval.Decimal("3,14"), 2},
		{"nil big", (*big.Int)(nil), 2},
	} {
		_, err := Marshal(tc.v, tc.proto)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", tc.name, err)
		}
	}
}

// TestMarshalInvalidUTF8: invalid bytes become U+FFFD, encoded surrogates
// stay (Python reads them as lone surrogates).
func TestMarshalInvalidUTF8(t *testing.T) {
	for _, proto := range []int{0, 2} {
		b, err := Marshal("a\xffb\xed\xa0\x80c", proto)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if v != "a\uFFFDb\xed\xa0\x80c" {
			t.Errorf("proto %d: got %q", proto, v)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rich := richValue()
	for _, proto := range []int{0, 2} {
		for name, v := range map[string]any{"rich": rich, "big": bigValue(), "scalar": int64(7), "str": "x", "list": []any{}} {
			b, err := Marshal(v, proto)
			if err != nil {
				t.Fatalf("%s/%d: %v", name, proto, err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("%s/%d: Unmarshal: %v", name, proto, err)
			}
			want := pyval.Repr(canonical(v))
			if r := pyval.Repr(got); r != want {
				t.Errorf("%s/%d:\n got %s\nwant %s", name, proto, r, want)
			}
		}
	}
	// canonical types come back
	v, _ := Unmarshal(mustMarshal(t, map[string]any{"i": 5, "u": uint64(math.MaxUint64), "f": float32(0.5)}, 2))
	m := v.(map[string]any)
	if _, ok := m["i"].(int64); !ok {
		t.Errorf("int came back as %T", m["i"])
	}
	if _, ok := m["u"].(*big.Int); !ok {
		t.Errorf("uint64 max came back as %T", m["u"])
	}
	if m["f"] != 0.5 {
		t.Errorf("float32 came back as %#v", m["f"])
	}
	// datetime zones
	v, _ = Unmarshal(mustMarshal(t, []any{
		time.Date(2024, 1, 2, 3, 4, 5, 6000, pyval.Naive),
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
	}, 2))
	ts := v.([]any)
	if !pyval.IsNaive(ts[0].(time.Time)) || ts[1].(time.Time).Location() != time.UTC {
		t.Errorf("zones: %v", ts)
	}
	if _, off := ts[2].(time.Time).Zone(); off != 3600 || !ts[2].(time.Time).Equal(time.Date(2024, 1, 2, 2, 4, 5, 0, time.UTC)) {
		t.Errorf("fixed zone: %v", ts[2])
	}
}

func mustMarshal(t *testing.T, v any, proto int) []byte {
	t.Helper()
	b, err := Marshal(v, proto)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonical converts the Go types Marshal accepts to the ones Unmarshal
// returns (for comparing reprs: only ints and float32 differ).
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = canonical(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = canonical(e)
		}
		return l
	case pyval.Tuple:
		return pyval.Tuple(canonical([]any(x)).([]any))
	case float32:
		return float64(x)
	case time.Time:
		return x.Truncate(time.Microsecond)
	}
	if n, ok := pyval.BigInt(v); ok {
		return pyval.NormalizeInt(n)
	}
	return v
}
