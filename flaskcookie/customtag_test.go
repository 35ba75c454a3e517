package flaskcookie

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
	"github.com/coatcheck/coatcheck/taggedjson"
)

// color is the Go side of testdata/customtag_app.py's Color, tagged " c".
type color struct {
	R, G, B int64
	Seen    any
}

type tagColor struct{}

func (tagColor) Key() string      { return " c" }
func (tagColor) Check(v any) bool { _, ok := v.(color); return ok }
func (tagColor) ToJSON(s *taggedjson.Serializer, v any) (any, error) {
	c := v.(color)
	seen, err := s.Tag(c.Seen) // as the Python to_json tags its nested value
	if err != nil {
		return nil, err
	}
	return map[string]any{"rgb": []any{c.R, c.G, c.B}, "seen": seen}, nil
}
func (tagColor) ToPython(_ *taggedjson.Serializer, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	rgb, ok := m["rgb"].([]any)
	if !ok || len(rgb) != 3 {
		return nil, errors.New("rgb is not a list of 3")
	}
	var c color
	for i, p := range []*int64{&c.R, &c.G, &c.B} {
		if *p, ok = rgb[i].(int64); !ok {
			return nil, errors.New("rgb component is not an int")
		}
	}
	c.Seen = m["seen"]
	return c, nil
}

// tagPoint is registered at index 0, before the tuple tag, like the
// Python app's TagPoint.
type tagPoint struct{}

func (tagPoint) Key() string { return " p" }
func (tagPoint) Check(v any) bool {
	t, ok := v.(pyval.Tuple)
	if !ok || len(t) != 2 {
		return false
	}
	_, ok0 := t[0].(int64)
	_, ok1 := t[1].(int64)
	return ok0 && ok1
}
func (tagPoint) ToJSON(_ *taggedjson.Serializer, v any) (any, error) {
	return []any(v.(pyval.Tuple)), nil
}
func (tagPoint) ToPython(_ *taggedjson.Serializer, v any) (any, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	return pyval.Tuple(l), nil
}

func customSerializer(t *testing.T) *taggedjson.Serializer {
	s := taggedjson.New()
	if err := s.Register(tagColor{}, false, taggedjson.End); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(tagPoint{}, false, 0); err != nil {
		t.Fatal(err)
	}
	return s
}

func flaskApp(t *testing.T, args ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import flask").Run(); err != nil {
		if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("Flask not importable with %s: %v", py, err)
		}
		t.Skipf("Flask not importable with %s: %v", py, err)
	}
	out, err := exec.Command(py, append([]string{"testdata/customtag_app.py"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("customtag_app.py %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCustomTagFlaskLive: cookies signed by a Flask app with custom tags
// (" c" for a class, " p" at index 0) decode to the Go values and re-sign
// byte-identically; cookies Go signs are loaded by Flask to the same values.
func TestCustomTagFlaskLive(t *testing.T) {
	codec, err := New(Config{SecretKey: []byte("custom-tag-secret"), TaggedJSON: customSerializer(t)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New(Config{SecretKey: []byte("custom-tag-secret")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"color":           `{'c': <color>}`,
		"point":           `{'p': (3, 4), 't': (1, 2, 3)}`,
		"dict_of_tag_key": `{'k': {' c': 1}}`,
		"unknown_tag":     `{'k': {' x': 1}}`,
		"nested":          `{'l': [<color>, (7, 8)]}`,
	}
	lines := strings.Split(flaskApp(t, "sign"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("app printed %d cookies: %q", len(lines), lines)
	}
	now := time.Now()
	for _, line := range lines {
		name, cookie, _ := strings.Cut(line, " ")
		m, signedAt, err := codec.Decode(cookie, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch name {
		case "color":
			if c, ok := m["c"].(color); !ok || c.R != 1 || c.G != 2 || c.B != 3 || pyval.Repr(c.Seen) != "(4, 'x')" {
				t.Fatalf("%s: %#v", name, m)
			}
			if len(m) != 1 {
				t.Fatalf("%s: extra keys %v", name, m)
			}
		case "nested":
			l, _ := m["l"].([]any)
			if len(l) != 2 {
				t.Fatalf("%s: %#v", name, m)
			}
			if c, ok := l[0].(color); !ok || c.B != 255 || pyval.Repr(c.Seen) != `b'\x00\x01'` || pyval.Repr(l[1]) != "(7, 8)" {
				t.Fatalf("%s: %#v", name, m)
			}
		default:
			if got := pyval.Repr(m); got != want[name] {
				t.Fatalf("%s: got %s, want %s", name, got, want[name])
			}
		}
		again, err := codec.Encode(m, signedAt)
		if err != nil {
			t.Fatalf("%s: re-encode: %v", name, err)
		}
		if again != cookie {
			t.Fatalf("%s: re-signed cookie differs\n flask %s\n go    %s", name, cookie, again)
		}
		// Without the custom tags the payload reads as Flask's default
		// serializer reads it: " c" and " p" objects stay dicts.
		if name == "color" {
			pm, _, err := plain.Decode(cookie, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := pyval.Repr(pm); got != `{'c': {' c': {'rgb': [1, 2, 3], 'seen': (4, 'x')}}}` {
				t.Fatalf("default serializer: %s", got)
			}
		}
	}

	// Go → Flask.
	for _, c := range []struct {
		data map[string]any
		repr string
	}{
		{map[string]any{"c": color{9, 8, 7, pyval.Tuple{int64(1), "y"}}, "p": pyval.Tuple{int64(5), int64(6)}},
			`{'c': Color(9, 8, 7, (1, 'y')), 'p': (5, 6)}`},
		{map[string]any{"k": map[string]any{" p": int64(1)}, "t": pyval.Tuple{int64(1), "a"}},
			`{'k': {' p': 1}, 't': (1, 'a')}`},
		{map[string]any{"l": []any{color{0, 1, 2, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}}},
			`{'l': [Color(0, 1, 2, datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))]}`},
	} {
		v, err := codec.Encode(c.data, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := flaskApp(t, "load", v); got != "200 "+c.repr {
			t.Fatalf("Flask loaded %s\n got  %s\n want 200 %s", v, got, c.repr)
		}
	}
}
