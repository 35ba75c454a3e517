package flasksession

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// mpVectors are known-answer msgpack encodings of single values, each stored
// under the key "v" (the session {"v": value} encodes as 81 a1 76 <hex>).
// The hex was written by hand from the msgpack spec (format byte, then the
// big-endian length or value) and msgspec's rules in FLASK-WIRE §9.5, and is
// cross-checked against msgpack-python by TestMsgpackVectorsPython (Debian
// python3-msgpack 1.0.3: packb(value, datetime=True) with the same Python
// value; same int/str/bin/array/map/timestamp choices as msgspec).
var mpVectors = []struct {
	name string
	v    any
	hex  string
}{
	{"nil", nil, "c0"},
	{"true", true, "c3"},
	{"false", false, "c2"},
	// ints: positive fixint up to 127, then uint8/16/32/64.
	{"int0", 0, "00"},
	{"int127", 127, "7f"},
	{"int128", 128, "cc80"},
	{"int255", 255, "ccff"},
	{"int256", 256, "cd0100"},
	{"int65535", 65535, "cdffff"},
	{"int65536", 65536, "ce00010000"},
	{"int2^32-1", int64(math.MaxUint32), "ceffffffff"},
	{"int2^32", int64(1) << 32, "cf0000000100000000"},
	{"int2^63-1", int64(math.MaxInt64), "cf7fffffffffffffff"},
	{"uint2^63", uint64(1) << 63, "cf8000000000000000"},
	{"uint2^64-1", uint64(math.MaxUint64), "cfffffffffffffffff"},
	{"bigint2^64-1", new(big.Int).SetUint64(math.MaxUint64), "cfffffffffffffffff"},
	{"bigint-small", big.NewInt(5), "05"},
	// negative: fixint down to -32, then int8/16/32/64.
	{"int-1", -1, "ff"},
	{"int-32", -32, "e0"},
	{"int-33", -33, "d0df"},
	{"int-128", -128, "d080"},
	{"int-129", -129, "d1ff7f"},
	{"int-32768", -32768, "d18000"},
	{"int-32769", -32769, "d2ffff7fff"},
	{"int-2^31", int64(math.MinInt32), "d280000000"},
	{"int-2^31-1", int64(math.MinInt32) - 1, "d3ffffffff7fffffff"},
	{"int-2^63", int64(math.MinInt64), "d38000000000000000"},
	{"int8", int8(-5), "fb"},
	{"uint16", uint16(300), "cd012c"},
	// floats: always float64.
	{"float1.5", 1.5, "cb3ff8000000000000"},
	{"float0.1", 0.1, "cb3fb999999999999a"},
	{"float-0", math.Copysign(0, -1), "cb8000000000000000"},
	{"float+inf", math.Inf(1), "cb7ff0000000000000"},
	{"float32", float32(0.5), "cb3fe0000000000000"},
	// str: fixstr < 32 bytes, str8 < 256, str16 < 65536, str32.
	{"str0", "", "a0"},
	{"str1", "a", "a161"},
	{"str-utf8", "é", "a2c3a9"},
	{"str31", strings.Repeat("a", 31), "bf" + strings.Repeat("61", 31)},
	{"str32", strings.Repeat("a", 32), "d920" + strings.Repeat("61", 32)},
	{"str255", strings.Repeat("a", 255), "d9ff" + strings.Repeat("61", 255)},
	{"str256", strings.Repeat("a", 256), "da0100" + strings.Repeat("61", 256)},
	{"str65535", strings.Repeat("a", 65535), "daffff" + strings.Repeat("61", 65535)},
	{"str65536", strings.Repeat("a", 65536), "db00010000" + strings.Repeat("61", 65536)},
	// bin: bin8 < 256, bin16 < 65536, bin32.
	{"bin0", []byte{}, "c400"},
	{"bin3", []byte{0, 1, 0xff}, "c4030001ff"},
	{"bin255", bytes.Repeat([]byte{7}, 255), "c4ff" + strings.Repeat("07", 255)},
	{"bin256", bytes.Repeat([]byte{7}, 256), "c50100" + strings.Repeat("07", 256)},
	{"bin65535", bytes.Repeat([]byte{7}, 65535), "c5ffff" + strings.Repeat("07", 65535)},
	{"bin65536", bytes.Repeat([]byte{7}, 65536), "c600010000" + strings.Repeat("07", 65536)},
	// arrays: fixarray < 16, array16 < 65536, array32.
	{"arr0", []any{}, "90"},
	{"arr15", rep(15), "9f" + strings.Repeat("01", 15)},
	{"arr16", rep(16), "dc0010" + strings.Repeat("01", 16)},
	{"arr65535", rep(65535), "dcffff" + strings.Repeat("01", 65535)},
	{"arr65536", rep(65536), "dd00010000" + strings.Repeat("01", 65536)},
	{"tuple", pyval.Tuple{1, "a", pyval.Tuple{2, 3}}, "9301a161920203"},
	// maps: fixmap < 16, map16 < 65536, map32; keys sorted.
	{"map0", map[string]any{}, "80"},
	{"map-sorted", map[string]any{"b": 2, "a": 1}, "82a16101a16202"},
	{"map15", keys(15), "8f" + keysHex(15)},
	{"map16", keys(16), "de0010" + keysHex(16)},
	{"map65536", keys(65536), "df00010000" + keysHex(65536)},
	// timestamps (extension -1). ts32: d6 ff <u32 sec>.
	{"ts-epoch", time.Unix(0, 0).UTC(), "d6ff00000000"},
	{"ts32-max", time.Unix(1<<32-1, 0).UTC(), "d6ffffffffff"},
	// 2024-01-02T03:04:05+05:30 = 1704144845 = 0x65932fcd (the zone does
	// not matter: the extension carries the instant).
	{"ts32-offset", time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 19800)), "d6ff65932fcd"},
	// ts64: d7 ff <u64 ns<<34 | sec>; 2^32 s, 1 µs at the epoch
	// (1000<<34 = 0xfa0_0000_0000), 2^34-1 s.
	{"ts64-2^32", time.Unix(1<<32, 0).UTC(), "d7ff0000000100000000"},
	{"ts64-1us", time.Unix(0, 1000).UTC(), "d7ff00000fa000000000"},
	{"ts64-max", time.Unix(1<<34-1, 0).UTC(), "d7ff00000003ffffffff"},
	// 2024-01-02T03:04:05.678901Z: sec 1704164645, ns 678901000.
	{"ts64-us", time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC), "d7ffa1dcd42065937d25"},
	// Nanoseconds below a microsecond are dropped, like a Python datetime.
	{"ts64-ns-truncated", time.Date(2024, 1, 2, 3, 4, 5, 678901999, time.UTC), "d7ffa1dcd42065937d25"},
	// ts96: c7 0c ff <u32 ns> <i64 sec>; 2^34 s, -1 s, year 1, year 9999.
	{"ts96-2^34", time.Unix(1<<34, 0).UTC(), "c70cff000000000000000400000000"},
	{"ts96-neg", time.Unix(-1, 0).UTC(), "c70cff00000000ffffffffffffffff"},
	{"ts96-year1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "c70cff00000000fffffff1886e0900"},
	{"ts96-year9999", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), "c70cff3b9ac6180000003afff4417f"},
	// Strings for the types msgspec writes as text.
	{"naive", time.Date(2024, 1, 2, 3, 4, 5, 678901000, pyval.Naive), "ba" + hex.EncodeToString([]byte("2024-01-02T03:04:05.678901"))},
	{"naive-no-us", time.Date(2024, 1, 2, 3, 4, 5, 0, pyval.Naive), "b3" + hex.EncodeToString([]byte("2024-01-02T03:04:05"))},
	{"date", pyval.Date{Year: 2024, Month: 2, Day: 29}, "aa" + hex.EncodeToString([]byte("2024-02-29"))},
	{"uuid", mustUUID("12345678-1234-5678-1234-567812345678"), "d924" + hex.EncodeToString([]byte("12345678-1234-5678-1234-567812345678"))},
	{"decimal", pyval.Decimal("3.14"), "a4332e3134"},
	{"markup", pyval.Markup("<b>"), "a33c623e"},
}

func rep(n int) []any {
	xs := make([]any, n)
	for i := range xs {
		xs[i] = 1
	}
	return xs
}

// keys returns {"k00000": nil, ...} with n entries; its keys sort the same
// way as numbers.
func keys(n int) map[string]any {
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		m["k"+string(appendN(nil, i, 5))] = nil
	}
	return m
}

func keysHex(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("a6")
		b.WriteString(hex.EncodeToString([]byte("k" + string(appendN(nil, i, 5)))))
		b.WriteString("c0")
	}
	return b.String()
}

func mustUUID(s string) pyval.UUID {
	u, err := pyval.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestMsgpackFlaskWireExample(t *testing.T) {
	// FLASK-WIRE §9.5.
	got, err := Msgpack.Encode(map[string]any{"_permanent": true, "user_id": 42})
	if err != nil {
		t.Fatal(err)
	}
	want := "82aa5f7065726d616e656e74c3a7757365725f69642a"
	if hex.EncodeToString(got) != want {
		t.Fatalf("got %x, want %s", got, want)
	}
}

func TestMsgpackVectors(t *testing.T) {
	for _, tc := range mpVectors {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Msgpack.Encode(map[string]any{"v": tc.v})
			if err != nil {
				t.Fatal(err)
			}
			want := "81a176" + tc.hex
			if g := hex.EncodeToString(got); g != want {
				if len(g) > 80 {
					g, want = g[:80]+"...", want[:min(80, len(want))]+"..."
				}
				t.Fatalf("got  %s\nwant %s", g, want)
			}
			// Decoding and re-encoding gives the same bytes.
			m, err := Msgpack.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Msgpack.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, got) {
				t.Fatalf("re-encoded %x", again)
			}
		})
	}
}

// TestMsgpackDecodeForms checks decoding of the forms msgspec never writes
// but the msgpack spec allows (non-shortest ints, float32, fixext timestamps).
func TestMsgpackDecodeForms(t *testing.T) {
	tests := []struct {
		name, hex string
		want      string // pyval.Repr of the "v" value
	}{
		{"uint8-small", "cc05", "5"},
		{"uint64-small", "cf0000000000000005", "5"},
		{"int64-positive", "d30000000000000005", "5"},
		{"int8-positive", "d005", "5"},
		{"uint64-big", "cfffffffffffffffff", "18446744073709551615"},
		{"float32", "ca3fc00000", "1.5"},
		{"bin-to-bytes", "c403616263", "b'abc'"},
		{"str16-short", "da0001 61", "'a'"},
		{"str32-short", "db00000001 61", "'a'"},
		{"array32-short", "dd00000001 01", "[1]"},
		{"map16-short", "de0001 a161 01", "{'a': 1}"},
		{"map32-short", "df00000001 a161 01", "{'a': 1}"},
		{"bin32-short", "c600000001 00", "b'\\x00'"},
		{"ext8-ts32", "c704ff 00000000", "datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"},
		{"ts64-ns", "d7ff 00000004 00000000", "datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"},
		{"duplicate-key", "82a16101a16102", ""},
		{"nested-int-keys", "83 01a178 ff a179 cd0100 a17a", "{'-1': 'y', '1': 'x', '256': 'z'}"},
		{"nested-int-key-dup", "82 01a178 a131a179", "{'1': 'y'}"},
		{"nested-uint64-key", "81 cfffffffffffffffff c0", "{'18446744073709551615': None}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := strings.ReplaceAll(tc.hex, " ", "")
			data, _ := hex.DecodeString("81a176" + h)
			if tc.want == "" {
				data, _ = hex.DecodeString(h)
			}
			m, err := Msgpack.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if got := pyval.Repr(m); got != "{'a': 2}" {
					t.Fatalf("got %s", got)
				}
				return
			}
			if got := pyval.Repr(m["v"]); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMsgpackDecodeErrors(t *testing.T) {
	tests := []struct{ name, hex string }{
		{"empty", ""},
		{"not-a-map", "01"},
		{"array-top", "9101"},
		{"truncated-map", "81"},
		{"truncated-key", "81a5"},
		{"truncated-value", "81a161"},
		{"trailing", "8000"},
		{"nonstring-key", "810101"},
		{"top-int-key", "8101c0"},
		{"nested-bin-key", "81a16181c40161c0"},
		{"nested-nil-key", "81a16181c0c0"},
		{"nested-float-key", "81a16181cb3ff8000000000000c0"},
		{"nested-array-key", "81a1618190c0"},
		{"bin-key", "81c40161c0"},
		{"bad-utf8", "81a161a1ff"},
		{"bad-utf8-key", "81a1ffc0"},
		{"never-used-c1", "81a161c1"},
		{"ext-other-type", "81a161d40100"},
		{"ts-bad-length", "81a161d5ff0000"},
		{"ts64-ns-too-big", "81a161d7ffffffffff00000000"},
		{"ts96-ns-too-big", "81a161c70cff3b9aca000000000000000000"},
		{"ts96-out-of-range", "81a161c70cff000000007fffffffffffffff"},
		{"str32-huge", "81a161dbffffffff"},
		{"bin32-huge", "81a161c6ffffffff"},
		{"array32-huge", "81a161ddffffffff"},
		{"map32-huge", "81a161dfffffffff"},
		{"map32-top-huge", "dfffffffff"},
		{"array-truncated", "81a16192"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := Msgpack.Decode(data); err == nil {
				t.Fatalf("decoded %s", pyval.Repr(m))
			} else if !errorsIs(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "flasksession:") {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestMsgpackDepthLimit(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, MaxDepth+5)
	data := append([]byte{0x81, 0xa1, 'v'}, deep...)
	data = append(data, 0xc0)
	if _, err := Msgpack.Decode(data); !errorsIs(err, ErrMalformed) {
		t.Fatalf("deep input: %v", err)
	}
	// The deepest accepted value round-trips.
	var v any = nil
	for i := 0; i < MaxDepth-1; i++ {
		v = []any{v}
	}
	b, err := Msgpack.Encode(map[string]any{"v": v})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Msgpack.Decode(b); err != nil {
		t.Fatal(err)
	}
	// A cyclic Go value fails instead of recursing forever.
	cyc := []any{nil}
	cyc[0] = cyc
	if _, err := Msgpack.Encode(map[string]any{"v": cyc}); !errorsIs(err, ErrUnsupportedValue) {
		t.Fatalf("cycle: %v", err)
	}
}

func TestMsgpackEncodeErrors(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	tests := []struct {
		name string
		v    any
	}{
		{"bigint-2^64", two64},
		{"bigint-neg", new(big.Int).Neg(two64)},
		{"nil-bigint", (*big.Int)(nil)},
		{"bad-utf8", "\xff"},
		{"struct", struct{}{}},
		{"stringslice", []string{"a"}},
		{"year0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year10000", time.Date(10000, 1, 1, 0, 0, 0, 0, pyval.Naive)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []Codec{Msgpack, JSON} {
				if b, err := c.Encode(map[string]any{"v": tc.v}); !errorsIs(err, ErrUnsupportedValue) {
					t.Fatalf("%s: got %x, %v", c.Name(), b, err)
				}
			}
		})
	}
	if _, err := Msgpack.Encode(map[string]any{"\xff": 1}); !errorsIs(err, ErrUnsupportedValue) {
		t.Fatalf("bad key: %v", err)
	}
}
