package flasksession

import (
	"bytes"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

// TestRoundTrip encodes the rich session and checks what each codec gives
// back, as Python would see it: tuples become lists, Markup a plain str,
// naive datetimes, dates, UUIDs and Decimals strings, aware datetimes UTC
// (msgpack) or RFC 3339 strings (JSON), bytes base64 text (JSON).
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		c    Codec
		want string
	}{
		{Msgpack, "{" +
			"'_flashes': [['message', 'Saved!'], ['error', '<b>Oops</b>']], " +
			"'_permanent': True, " +
			"'aware': datetime.datetime(2024, 1, 1, 21, 34, 5, 678901, tzinfo=datetime.timezone.utc), " +
			"'b': b'\\x00\\x01b\\xff', " +
			"'big': 9223372036854775808, " +
			"'d': '2024-02-29', " +
			"'dec': '3.14', " +
			"'f': 0.1, " +
			"'long': '" + repeat("x", 300) + "', " +
			"'naive': '2024-01-02T03:04:05.678901', " +
			"'neg': -129, " +
			"'nested': {'prefs': {'theme': 'dark'}, 'roles': ['admin', 'dev']}, " +
			"'none': None, " +
			"'old': datetime.datetime(1900, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), " +
			"'s': 'héllo wörld ✓ 日本語 😀', " +
			"'t': [1, 'a', [2, 3]], " +
			"'u': '12345678-1234-5678-1234-567812345678', " +
			"'user_id': 42}"},
		{JSON, "{" +
			"'_flashes': [['message', 'Saved!'], ['error', '<b>Oops</b>']], " +
			"'_permanent': True, " +
			"'aware': '2024-01-02T03:04:05.678901+05:30', " +
			"'b': 'AAFi/w==', " +
			"'big': 9223372036854775808, " +
			"'d': '2024-02-29', " +
			"'dec': '3.14', " +
			"'f': 0.1, " +
			"'long': '" + repeat("x", 300) + "', " +
			"'naive': '2024-01-02T03:04:05.678901', " +
			"'neg': -129, " +
			"'nested': {'prefs': {'theme': 'dark'}, 'roles': ['admin', 'dev']}, " +
			"'none': None, " +
			"'old': '1900-01-01T00:00:00Z', " +
			"'s': 'héllo wörld ✓ 日本語 😀', " +
			"'t': [1, 'a', [2, 3]], " +
			"'u': '12345678-1234-5678-1234-567812345678', " +
			"'user_id': 42}"},
	}
	for _, tc := range tests {
		t.Run(tc.c.Name(), func(t *testing.T) {
			b, err := tc.c.Encode(richSession())
			if err != nil {
				t.Fatal(err)
			}
			m, err := tc.c.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := pyval.Repr(m); got != tc.want {
				t.Fatalf("got\n %s\nwant\n %s", got, tc.want)
			}
			// A decoded value is a fixed point.
			b2, err := tc.c.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("second encoding differs:\n %s\n %s", b, b2)
			}
		})
	}
}

func repeat(s string, n int) string {
	return string(bytes.Repeat([]byte(s), n))
}

func TestNilContainers(t *testing.T) {
	m := map[string]any{"l": []any(nil), "m": map[string]any(nil), "b": []byte(nil), "t": pyval.Tuple(nil)}
	for _, c := range []Codec{Msgpack, JSON} {
		b, err := c.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		want := "{'b': b'', 'l': [], 'm': {}, 't': []}"
		if c == JSON {
			want = "{'b': '', 'l': [], 'm': {}, 't': []}"
		}
		if got := pyval.Repr(d); got != want {
			t.Errorf("%s: got %s", c.Name(), got)
		}
	}
	// A nil session encodes as an empty dict.
	b, _ := Msgpack.Encode(nil)
	if string(b) != "\x80" {
		t.Errorf("nil session: %x", b)
	}
}
