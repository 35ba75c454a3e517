package taggedjson

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// FuzzTaggedJSON: Unmarshal never panics, and whatever it accepts Marshal
// writes and Unmarshal reads back to the same value.
func FuzzTaggedJSON(f *testing.F) {
	if _, err := os.Stat(vectorsPath); err == nil {
		vf := loadVectors(f)
		for _, st := range vf.Stacks {
			for _, c := range st.Cookies {
				f.Add([]byte(c.JSON))
			}
		}
	}
	for _, c := range flaskAnswers {
		f.Add([]byte(c.in))
	}
	for _, c := range decodeTests {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(data) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		out, err := Marshal(m)
		if errors.Is(err, ErrDepth) {
			// {" t":"ab"} becomes a tuple of strings, one JSON level deeper
			// than its source; only reachable at the depth limit.
			t.Skip("re-encoding exceeds MaxDepth")
		}
		if err != nil {
			t.Fatalf("Marshal(Unmarshal(%q)): %v", data, err)
		}
		m2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(...)) of %q: %v (json %s)", data, err, out)
		}
		// The one expected change: a " d" with a non-GMT offset decodes in
		// that offset and is written back as the same instant in UTC (as
		// Flask does).
		if r1, r2 := pyval.Repr(inUTC(m)), pyval.Repr(m2); r1 != r2 {
			t.Fatalf("round trip changed the value of %q\n first  %s\n second %s", data, r1, r2)
		}
		out2, err := Marshal(m2)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("encoding not stable: %s vs %s (%v)", out, out2, err)
		}
	})
}

// inUTC returns v with every time.Time converted to UTC.
func inUTC(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = inUTC(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = inUTC(e)
		}
		return l
	case pyval.Tuple:
		l := make(pyval.Tuple, len(x))
		for i, e := range x {
			l[i] = inUTC(e)
		}
		return l
	}
	return v
}
