package taggedjson

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/pyval"
)

var vectorsPath = testvectors.Path(testvectors.Cookie)

type cookieVector struct {
	ID                string `json:"id"`
	JSON              string `json:"json"`
	ReprAfterLoad     string `json:"session_repr_after_load"`
	LosslessRoundtrip bool   `json:"lossless_roundtrip"`
}

type encoderVector struct {
	ID          string `json:"id"`
	CookieValue string `json:"cookie_value"`
	Status      int    `json:"status"`
	SessionRepr string `json:"session_repr"`
}

type vectorFile struct {
	Stacks []struct {
		Stack              string          `json:"stack"`
		Cookies            []cookieVector  `json:"cookies"`
		IndependentEncoder []encoderVector `json:"independent_encoder"`
	} `json:"stacks"`
}

func loadVectors(tb testing.TB) *vectorFile {
	tb.Helper()
	raw := testvectors.Read(tb, testvectors.Cookie)
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		tb.Fatalf("vectors: %v", err)
	}
	if len(vf.Stacks) == 0 {
		tb.Fatal("vectors: no stacks")
	}
	return &vf
}

// checkRepr compares pyval.Repr(got) with a repr recorded by Python. Python
// prints dicts in insertion order and pyval.Repr sorts keys, so when the
// texts differ the recorded repr is parsed and re-printed sorted; that
// fallback is only accepted if it is what makes the difference.
func checkRepr(t *testing.T, got any, want string) (reordered bool) {
	t.Helper()
	g := pyval.Repr(got)
	if g == want {
		return false
	}
	pv, err := parsePyLiteral(want)
	if err != nil {
		t.Fatalf("repr mismatch and recorded repr unparsable (%v)\n got  %s\n want %s", err, g, want)
	}
	canon := pyval.Repr(pv)
	if canon == want || g != canon {
		t.Fatalf("repr mismatch\n got  %s\n want %s", g, want)
	}
	return true
}

func TestVectorsCookies(t *testing.T) {
	vf := loadVectors(t)
	n, lossless, reordered := 0, 0, 0
	for _, st := range vf.Stacks {
		for _, c := range st.Cookies {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				m, err := Unmarshal([]byte(c.JSON))
				if err != nil {
					t.Fatalf("Unmarshal(%s): %v", c.JSON, err)
				}
				if checkRepr(t, m, c.ReprAfterLoad) {
					reordered++
				}
				n++
				if !c.LosslessRoundtrip {
					return
				}
				out, err := Marshal(m)
				if err != nil {
					t.Fatalf("Marshal: %v", err)
				}
				if string(out) != c.JSON {
					t.Fatalf("Marshal(Unmarshal(json)) differs\n got  %s\n want %s", out, c.JSON)
				}
				lossless++
			})
		}
	}
	t.Logf("%d cookie vectors decoded (%d compared after sorting Python's insertion-ordered dicts), %d re-encoded byte for byte", n, reordered, lossless)
}

func TestVectorsIndependentEncoder(t *testing.T) {
	vf := loadVectors(t)
	n := 0
	for _, st := range vf.Stacks {
		for _, c := range st.IndependentEncoder {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				payload := c.CookieValue[:strings.LastIndexByte(c.CookieValue, '.')]
				payload = payload[:strings.LastIndexByte(payload, '.')]
				compressed := strings.HasPrefix(payload, ".")
				raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(payload, "."))
				if err != nil {
					t.Fatal(err)
				}
				if compressed {
					zr, err := zlib.NewReader(bytes.NewReader(raw))
					if err != nil {
						t.Fatal(err)
					}
					if raw, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				m, err := Unmarshal(raw)
				if err != nil {
					t.Fatalf("Unmarshal(%s): %v", raw, err)
				}
				checkRepr(t, m, c.SessionRepr)
				n++
			})
		}
	}
	t.Logf("%d independent-encoder vectors decoded", n)
}

// TestVectorsBuiltInGo builds the vector payloads as Go values and checks
// that Marshal writes exactly the JSON Flask wrote.
func TestVectorsBuiltInGo(t *testing.T) {
	vf := loadVectors(t)
	want := map[string]string{}
	for _, c := range vf.Stacks[0].Cookies {
		want[c.ID] = c.JSON
	}
	huge, _ := new(big.Int).SetString("18446744073709551616", 10)
	vhuge, _ := new(big.Int).SetString("1000000000000000000000000000000", 10)
	uid, _ := pyval.ParseUUID("12345678-1234-5678-1234-567812345678")
	cases := map[string]map[string]any{
		"simple_int/K1":     {"user_id": 42},
		"string_ascii/K1":   {"name": "alice"},
		"string_unicode/K1": {"s": "héllo wörld ✓ 日本語 😀"},
		"string_escapes/K1": {"s": "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\x00 us\x1f del\x7f <>& \u2028\u2029"},
		"string_empty/K1":   {"s": ""},
		"ints/K1": {"zero": 0, "neg": int8(-1), "big": uint64(9007199254740993), "huge": huge,
			"vhuge": vhuge, "negbig": int64(math.MinInt64)},
		"floats/K1": {"a": 1.5, "b": 0.1, "c": 1.0, "d": math.Copysign(0, -1), "e": 1e16, "f": 1e15,
			"g": 1e6, "h": 0.0001, "i": 1e-05, "j": 1e100, "k": 2.5e-05, "l": 123456789.125,
			"m": 1.0 / 3, "n": 5e-324, "o": math.MaxFloat64, "p": 1e22, "q": 1.2345678901234568e+16},
		"float_nonfinite/K1": {"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1)},
		"bools_none/K1":      {"t": true, "f": false, "n": nil},
		"nested/K1": {"user": map[string]any{"id": 7, "roles": []string{"admin", "dev"},
			"prefs": map[string]any{"theme": "dark", "langs": []any{"en", "fr"}}},
			"list": []any{1, []any{2, []any{3, []any{}}}, map[string]any{}}},
		"key_order/K1":        {"b": 1, "B": 2, "_x": 3, "a": 4, "é": 5, "10": 6, "9": 7, " space": 8, "~": 9, "Z": 10},
		"tuple/K1":            {"t": pyval.Tuple{1, "a", pyval.Tuple{2, 3}}, "empty": pyval.Tuple{}},
		"bytes/K1":            {"b": []byte("\x00\x01binary\xff"), "plus_slash": []byte{0xfb, 0xff, 0xfe}, "empty": []byte{}},
		"datetime_naive/K1":   {"when": time.Date(2024, 1, 2, 3, 4, 5, 678901000, pyval.Naive)},
		"datetime_aware/K1":   {"when": time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 19800))},
		"date_untagged/K1":    {"d": pyval.Date{Year: 2024, Month: 2, Day: 29}},
		"uuid/K1":             {"u": uid},
		"markup/K1":           {"m": pyval.Markup("<b>bold</b> &amp; more")},
		"decimal_untagged/K1": {"d": pyval.Decimal("3.14")},
		"flashes/K1":          {"_flashes": []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", "Oops"}}},
		"tag_key_top/K1":      {" t": "x"},
		"tag_keys_nested/K1": {"a": map[string]any{" t": []any{1, 2}}, "b": map[string]any{" di": 1},
			"c": map[string]any{" b": "AAAA"}, "d": map[string]any{" t": 1, "other": 2},
			"e": map[string]any{" d": "x"}, "f": map[string]any{" u": "y"}, "g": map[string]any{" m": "z"},
			"h": map[string]any{" t__": 1}},
		"tag_key_di_nested/K1": {"x": map[string]any{" di": map[string]any{" t": 1}}},
		"permanent_simple/K1":  {"_permanent": true, "user_id": uint16(42)},
		"permanent_nested/K1":  {"_permanent": true, "user": map[string]any{"id": int32(7), "roles": []any{"admin"}}},
	}
	for id, in := range cases {
		w, ok := want[id]
		if !ok {
			t.Errorf("%s: no such vector", id)
			continue
		}
		got, err := Marshal(in)
		if err != nil {
			t.Errorf("%s: Marshal: %v", id, err)
			continue
		}
		if string(got) != w {
			t.Errorf("%s:\n got  %s\n want %s", id, got, w)
		}
	}
}
