package flasksession

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// pythonMsgpack is Debian's interpreter, which has python3-msgpack when that
// package is installed (apt-get install python3-msgpack).
const pythonMsgpack = "/usr/bin/python3"

func requireMsgpackPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pythonMsgpack); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if err := exec.Command(pythonMsgpack, "-c", "import msgpack").Run(); err != nil {
		t.Skip("python3-msgpack is not installed (apt-get install python3-msgpack)")
	}
}

// richSession is a session using every type of the value model.
func richSession() map[string]any {
	return map[string]any{
		"_permanent": true,
		"_flashes":   []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", pyval.Markup("<b>Oops</b>")}},
		"user_id":    42,
		"neg":        -129,
		"big":        uint64(1) << 63,
		"f":          0.1,
		"none":       nil,
		"b":          []byte{0, 1, 'b', 0xff},
		"s":          "héllo wörld ✓ 日本語 😀",
		"long":       strings.Repeat("x", 300),
		"nested":     map[string]any{"roles": []any{"admin", "dev"}, "prefs": map[string]any{"theme": "dark"}},
		"aware":      time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.FixedZone("", 19800)),
		"old":        time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		"naive":      time.Date(2024, 1, 2, 3, 4, 5, 678901000, pyval.Naive),
		"d":          pyval.Date{Year: 2024, Month: 2, Day: 29},
		"u":          mustUUID("12345678-1234-5678-1234-567812345678"),
		"dec":        pyval.Decimal("3.14"),
		"t":          pyval.Tuple{1, "a", pyval.Tuple{2, 3}},
	}
}

// TestMsgpackVectorsPython packs every known-answer vector and a rich
// session with msgpack-python and compares bytes: Python decodes our bytes
// (timestamps to aware datetimes, keeping our key order) and packs them
// again; a canonical writer gives the same bytes back.
func TestMsgpackVectorsPython(t *testing.T) {
	requireMsgpackPython(t)
	var in bytes.Buffer
	var want []string
	add := func(m map[string]any) {
		b, err := Msgpack.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		in.WriteString(hex.EncodeToString(b) + "\n")
		want = append(want, hex.EncodeToString(b))
	}
	for _, tc := range mpVectors {
		add(map[string]any{"v": tc.v})
	}
	add(richSession())
	const script = `
import sys, msgpack
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    v = msgpack.unpackb(b, raw=False, timestamp=3, strict_map_key=False)
    print(msgpack.packb(v, datetime=True).hex())
`
	cmd := exec.Command(pythonMsgpack, "-c", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(want) {
		t.Fatalf("python returned %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			name := "rich session"
			if i < len(mpVectors) {
				name = mpVectors[i].name
			}
			t.Errorf("%s: python re-packed\n %.200s\nwe wrote\n %.200s", name, got[i], want[i])
		}
	}
}

// TestMsgpackPythonLiteral compares our bytes with msgpack-python packing a
// literal Python session (with the conversions msgspec makes: Markup, naive
// datetimes, dates, UUID and Decimal become str, tuples become arrays), keys
// inserted in sorted order.
func TestMsgpackPythonLiteral(t *testing.T) {
	requireMsgpackPython(t)
	const script = `
import datetime, msgpack, uuid
tz = datetime.timezone(datetime.timedelta(seconds=19800))
d = {
    "_flashes": [("message", "Saved!"), ("error", "<b>Oops</b>")],
    "_permanent": True,
    "aware": datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=tz),
    "b": b"\x00\x01b\xff",
    "big": 2**63,
    "d": datetime.date(2024, 2, 29).isoformat(),
    "dec": "3.14",
    "f": 0.1,
    "long": "x" * 300,
    "naive": datetime.datetime(2024, 1, 2, 3, 4, 5, 678901).isoformat(),
    "neg": -129,
    "nested": {"prefs": {"theme": "dark"}, "roles": ["admin", "dev"]},
    "none": None,
    "old": datetime.datetime(1900, 1, 1, tzinfo=datetime.timezone.utc),
    "s": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F600",
    "t": (1, "a", (2, 3)),
    "u": str(uuid.UUID("12345678-1234-5678-1234-567812345678")),
    "user_id": 42,
}
print(msgpack.packb(d, datetime=True).hex())
`
	out, err := exec.Command(pythonMsgpack, "-c", script).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	b, err := Msgpack.Encode(richSession())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), strings.TrimSpace(string(out)); got != want {
		t.Fatalf("we wrote\n %s\npython\n %s", got, want)
	}
}
