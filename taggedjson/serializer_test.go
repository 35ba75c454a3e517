package taggedjson

import (
	"errors"
	"sync"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

// pair is a Go type tagged " c" by tagPair: {" c": [a, b]}.
type pair struct{ A, B int64 }

type tagPair struct{ key string }

func (t tagPair) Key() string      { return t.key }
func (t tagPair) Check(v any) bool { _, ok := v.(pair); return ok }
func (t tagPair) ToJSON(_ *Serializer, v any) (any, error) {
	p := v.(pair)
	return []any{p.A, p.B}, nil
}
func (t tagPair) ToPython(_ *Serializer, v any) (any, error) {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return nil, errors.New("not a pair")
	}
	a, ok1 := l[0].(int64)
	b, ok2 := l[1].(int64)
	if !ok1 || !ok2 {
		return nil, errors.New("not ints")
	}
	return pair{a, b}, nil
}

// tagAnyTuple claims every tuple, as " T", to show order decides.
type tagAnyTuple struct{}

func (tagAnyTuple) Key() string                              { return " T" }
func (tagAnyTuple) Check(v any) bool                         { _, ok := v.(pyval.Tuple); return ok }
func (tagAnyTuple) ToJSON(s *Serializer, v any) (any, error) { return s.Tag([]any(v.(pyval.Tuple))) }
func (tagAnyTuple) ToPython(_ *Serializer, v any) (any, error) {
	l, _ := v.([]any)
	return pyval.Tuple(l), nil
}

func mustMarshal(t *testing.T, s *Serializer, m map[string]any) string {
	t.Helper()
	b, err := s.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegisterCustomTag(t *testing.T) {
	s := New()
	if err := s.Register(tagPair{" c"}, false, End); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   map[string]any
		json string
	}{
		{map[string]any{"p": pair{1, 2}}, `{"p":{" c":[1,2]}}`},
		{map[string]any{"l": []any{pair{3, 4}, pyval.Tuple{pair{5, 6}}}}, `{"l":[{" c":[3,4]},{" t":[{" c":[5,6]}]}]}`},
		// TagDict knows the registered key
		{map[string]any{"k": map[string]any{" c": int64(1)}}, `{"k":{" di":{" c__":1}}}`},
		{map[string]any{" c": int64(1)}, `{" di":{" c__":1}}`},
	} {
		got := mustMarshal(t, s, c.in)
		if got != c.json {
			t.Fatalf("Marshal(%v) = %s, want %s", c.in, got, c.json)
		}
		back, err := s.Unmarshal([]byte(got))
		if err != nil {
			t.Fatal(err)
		}
		if pyval.Repr(back) != pyval.Repr(c.in) {
			t.Fatalf("round trip %s: %s", got, pyval.Repr(back))
		}
		// the default serializer does not know " c"
		if _, err := Marshal(c.in); c.in["p"] != nil && !errors.Is(err, ErrUnsupportedType) {
			t.Fatalf("default Marshal(%v): %v", c.in, err)
		}
	}
	// an unknown tag stays a dict, in both directions
	m, err := s.Unmarshal([]byte(`{"k":{" x":[1,2]}}`))
	if err != nil || pyval.Repr(m) != `{'k': {' x': [1, 2]}}` {
		t.Fatalf("%v %v", pyval.Repr(m), err)
	}
	if got := mustMarshal(t, s, m); got != `{"k":{" x":[1,2]}}` {
		t.Fatal(got)
	}
	// the default serializer reads " c" as a plain dict
	m, err = Unmarshal([]byte(`{"p":{" c":[1,2]}}`))
	if err != nil || pyval.Repr(m) != `{'p': {' c': [1, 2]}}` {
		t.Fatalf("%v %v", pyval.Repr(m), err)
	}
	// a payload ToPython rejects is ErrInvalidTag
	if _, err := s.Unmarshal([]byte(`{"p":{" c":"x"}}`)); !errors.Is(err, ErrInvalidTag) {
		t.Fatalf("bad payload: %v", err)
	}
}

func TestRegisterDuplicateAndForce(t *testing.T) {
	s := New()
	if err := s.Register(tagPair{" t"}, false, End); !errors.Is(err, ErrDuplicateTag) {
		t.Fatalf("duplicate builtin key: %v", err)
	}
	if err := s.Register(tagPair{" c"}, false, End); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(tagPair{" c"}, false, End); !errors.Is(err, ErrDuplicateTag) {
		t.Fatalf("duplicate key: %v", err)
	}
	// force replaces " t" for reading; the old tuple tag stays first in the
	// order for writing, as in Flask
	if err := s.Register(tagPair{" t"}, true, End); err != nil {
		t.Fatal(err)
	}
	if got := mustMarshal(t, s, map[string]any{"t": pyval.Tuple{int64(1), int64(2)}}); got != `{"t":{" t":[1,2]}}` {
		t.Fatal(got)
	}
	m, err := s.Unmarshal([]byte(`{"t":{" t":[1,2]}}`))
	if err != nil || m["t"] != (pair{1, 2}) {
		t.Fatalf("%#v %v", m, err)
	}
}

func TestRegisterIndexOrder(t *testing.T) {
	tuple := map[string]any{"t": pyval.Tuple{int64(1)}}
	for _, c := range []struct {
		index int
		json  string
	}{
		{End, `{"t":{" t":[1]}}`}, // appended: TagTuple is checked first
		{8, `{"t":{" t":[1]}}`},
		{100, `{"t":{" t":[1]}}`},
		{0, `{"t":{" T":[1]}}`},  // before everything
		{2, `{"t":{" T":[1]}}`},  // just before TagTuple
		{3, `{"t":{" t":[1]}}`},  // just after it
		{-6, `{"t":{" T":[1]}}`}, // Python's insert(-6): before TagTuple (index 2 of 8)
		{-5, `{"t":{" t":[1]}}`},
		{-100, `{"t":{" T":[1]}}`},
	} {
		s := New()
		if err := s.Register(tagAnyTuple{}, false, c.index); err != nil {
			t.Fatal(err)
		}
		if got := mustMarshal(t, s, tuple); got != c.json {
			t.Fatalf("index %d: %s, want %s", c.index, got, c.json)
		}
	}
}

// TestSerializerTag: Tag returns Flask's tagged structure.
func TestSerializerTag(t *testing.T) {
	s := New()
	v, err := s.Tag(map[string]any{"a": pyval.Tuple{[]byte{0}, pyval.Markup("<b>")}, " d": pyval.UUID{1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := pyval.Repr(v); got != `{' d': {' u': '01000000000000000000000000000000'}, 'a': {' t': [{' b': 'AA=='}, {' m': '<b>'}]}}` {
		t.Fatal(got)
	}
	// a map with one tag key is wrapped by TagDict
	v, err = s.Tag(map[string]any{" d": int64(1)})
	if err != nil || pyval.Repr(v) != `{' di': {' d__': 1}}` {
		t.Fatal(pyval.Repr(v), err)
	}
	cyc := map[string]any{}
	cyc["x"] = cyc
	if _, err := s.Tag(cyc); !errors.Is(err, ErrDepth) {
		t.Fatalf("cycle: %v", err)
	}
}

// TestCustomSerializerMatchesDefault: with a custom tag that never matches,
// every vector encodes exactly as the default fast path does.
func TestCustomSerializerMatchesDefault(t *testing.T) {
	s := New()
	if err := s.Register(tagPair{" c"}, false, End); err != nil {
		t.Fatal(err)
	}
	for _, st := range loadVectors(t).Stacks {
		for _, c := range st.Cookies {
			m, err := Unmarshal([]byte(c.JSON))
			if err != nil {
				continue
			}
			want, err1 := Marshal(m)
			got, err2 := s.Marshal(m)
			if string(got) != string(want) || (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s: custom %s (%v), default %s (%v)", c.ID, got, err2, want, err1)
			}
			sm, err := s.Unmarshal([]byte(c.JSON))
			if err != nil || pyval.Repr(sm) != pyval.Repr(m) {
				t.Fatalf("%s: %v", c.ID, err)
			}
		}
	}
	for _, v := range []map[string]any{mediumSession, {" t": int64(1)}} {
		want, _ := Marshal(v)
		got, err := s.Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Fatalf("custom %s (%v), default %s", got, err, want)
		}
	}
}

// TestRegisterConcurrent: Register may run while the serializer is in use.
func TestRegisterConcurrent(t *testing.T) {
	s := New()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			_ = s.Register(tagPair{" c"}, true, 0)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			if _, err := s.Marshal(map[string]any{"t": pyval.Tuple{int64(1)}}); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.Unmarshal([]byte(`{"t":{" t":[1]}}`)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
}

// TestNilSerializer: a nil *Serializer reads and writes with the default
// tags, so an optional Config field needs no nil check.
func TestNilSerializer(t *testing.T) {
	var s *Serializer
	b, err := s.Marshal(map[string]any{"t": pyval.Tuple{int64(1)}})
	if err != nil || string(b) != `{"t":{" t":[1]}}` {
		t.Fatalf("%s %v", b, err)
	}
	m, err := s.Unmarshal(b)
	if err != nil || pyval.Repr(m) != `{'t': (1,)}` {
		t.Fatalf("%v %v", m, err)
	}
}
