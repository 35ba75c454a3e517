package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

// modelReprPy is Python's repr with dict keys sorted, written in the Go
// value model (see testdata/gen_sorted_repr.py): what pyval.Repr prints for
// the value Unmarshal returns.
const modelReprPy = `
import datetime, decimal, json, pickle, sys, uuid
import markupsafe

def model_repr(v):
    if isinstance(v, dict):
        items = [(str(k) if isinstance(k, int) and not isinstance(k, bool) else k, x) for k, x in v.items()]
        items.sort(key=lambda kv: kv[0])
        return "{" + ", ".join(repr(k) + ": " + model_repr(x) for k, x in items) + "}"
    if isinstance(v, (list, set, frozenset)):
        return "[" + ", ".join(model_repr(x) for x in v) + "]"
    if isinstance(v, tuple):
        if len(v) == 1:
            return "(" + model_repr(v[0]) + ",)"
        return "(" + ", ".join(model_repr(x) for x in v) + ")"
    if isinstance(v, bytearray):
        return repr(bytes(v))
    if isinstance(v, datetime.datetime) and v.tzinfo is not None and v.utcoffset():
        v = v.replace(tzinfo=datetime.timezone(v.utcoffset()))  # timezone names are not kept
    return repr(v)
`

// python returns the path of a python3 with markupsafe, or skips the test
// (fails when COATCHECK_REQUIRE_INTEGRATION=1). The Debian packages are
// python3 and python3-markupsafe.
func python(t *testing.T) string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		p, err := exec.LookPath("python3")
		if err != nil {
			skip("python3 not found (Debian package python3)")
		}
		py = p
	}
	if out, err := exec.Command(py, "-c", "import markupsafe").CombinedOutput(); err != nil {
		skip("python3 cannot import markupsafe (Debian package python3-markupsafe): %v %s", err, out)
	}
	return py
}

func runPython(t *testing.T, py, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(py, "-c", modelReprPy+script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	return out
}

// TestPythonLoadsGoPickles: pickle.loads in CPython reads what Marshal
// writes, as the same values.
func TestPythonLoadsGoPickles(t *testing.T) {
	py := python(t)
	values := map[string]any{"rich": richValue(), "big": bigValue(), "session": map[string]any{"_permanent": true, "user_id": 42}}
	in := map[string]string{}
	want := map[string]string{}
	for name, v := range values {
		for _, proto := range []int{0, 2} {
			b, err := Marshal(v, proto)
			if err != nil {
				t.Fatal(err)
			}
			key := name + "/" + string(rune('0'+proto))
			in[key] = hex.EncodeToString(b)
			want[key] = pyval.Repr(canonical(v))
		}
	}
	stdin, _ := json.Marshal(in)
	out := runPython(t, py, `
src = json.load(sys.stdin)
json.dump({k: model_repr(pickle.loads(bytes.fromhex(h))) for k, h in src.items()}, sys.stdout)
`, stdin)
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: Python loaded a different value: %s", k, reprDiff(got[k], w))
		}
	}
}

// TestGoLoadsPythonPickles: Unmarshal reads what CPython writes at every
// protocol, for a value with every supported type, shared references,
// Python-only containers (set, frozenset, bytearray) and int keys.
func TestGoLoadsPythonPickles(t *testing.T) {
	py := python(t)
	out := runPython(t, py, `
utc = datetime.timezone.utc
shared = [1, 2, "shared"]
v = {
    "_permanent": True, "user_id": 42, "none": None, "f": False, "pi": 3.141592653589793,
    "nan": float("nan"), "inf": float("-inf"), "neg0": -0.0,
    "ints": [0, 255, 256, 65535, 65536, -1, -2**31, 2**31, 2**63 - 1, -2**63, 2**64, -2**200, 10**50],
    "s": "h\u00e9llo \u2713 \U0001f600 \\ \n \r \x00 \x1a \x7f \x80 \xff",
    "b": b"\x00\x01binary\xff", "empty_b": b"", "ba": bytearray(b"ab\x00"), "empty_ba": bytearray(),
    "t": (1, "a", (2, 3)), "t0": (), "t1": ("one",), "t5": (1, 2, 3, 4, 5),
    "set": {1, 2, 3}, "fset": frozenset(["x"]), "empty_set": set(),
    "intkeys": {1: "one", -2: "minus two", 2**70: "big"},
    "m": markupsafe.Markup("<b>bold</b> &amp; more"),
    "u": uuid.UUID("12345678-1234-5678-1234-567812345678"), "u0": uuid.UUID(int=0),
    "dec": [decimal.Decimal("3.14"), decimal.Decimal("-1E+10"), decimal.Decimal("NaN"), decimal.Decimal("-Infinity")],
    "date": datetime.date(2024, 2, 29), "date_min": datetime.date(1, 1, 1),
    "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, 678901),
    "dt_utc": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc),
    "dt_utc2": datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
    "dt_off": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
    "dt_neg": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=-8), "PST")),
    "shared": [shared, shared, {"again": shared}],
    "nested": {"a": [1, [2, [3, []]], {}]},
    "long_s": "x" * 300, "long_b": b"y" * 300,
    "many": list(range(1100)),
}
out = {"repr": model_repr(v)}
for p in range(6):
    out[str(p)] = pickle.dumps(v, p).hex()
json.dump(out, sys.stdout)
`, nil)
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for p := 0; p <= 5; p++ {
		data, err := hex.DecodeString(got[string(rune('0'+p))])
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unmarshal(data)
		if err != nil {
			t.Errorf("protocol %d: %v", p, err)
			continue
		}
		if r := pyval.Repr(v); r != got["repr"] {
			t.Errorf("protocol %d: %s", p, reprDiff(r, got["repr"]))
		}
	}
}

// reprDiff shows where two long reprs start to differ.
func reprDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("first difference at byte %d:\n got ...%s\nwant ...%s", i, got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}
