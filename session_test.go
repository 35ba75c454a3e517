package coatcheck

import (
	"io"
	"log/slog"
	"math/big"
	"reflect"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSessionModifiedRules(t *testing.T) {
	// Flask: set marks modified; pop/delete only when the key existed; clear always.
	s := NewSession(map[string]any{"a": int64(1)}, false)
	if s.Modified() || s.Accessed() {
		t.Fatal("fresh session modified/accessed")
	}
	s.Get("a")
	if s.Modified() || !s.Accessed() {
		t.Error("Get: want accessed, not modified")
	}
	s.Pop("missing")
	s.Delete("missing")
	if s.Modified() {
		t.Error("popping a missing key marked modified")
	}
	s.Pop("a")
	if !s.Modified() {
		t.Error("Pop of a present key did not mark modified")
	}
	e := NewSession(nil, true)
	e.Clear()
	if !e.Modified() {
		t.Error("Clear on an empty session must mark modified (Flask sends the deletion cookie)")
	}
	p := NewSession(nil, true)
	p.SetPermanent(false)
	if v, ok := p.Get(PermanentKey); !ok || v != false {
		t.Errorf("SetPermanent(false) stored %v, %v; Flask stores _permanent=false", v, ok)
	}
}

func TestNullSession(t *testing.T) {
	s := newNullSession()
	if s.Len() != 0 {
		t.Error("null session not empty")
	}
	s.Set("k", "v")
	if s.Has("k") {
		t.Error("null session accepted a write")
	}
	if s.Err() != ErrNoSecretKey {
		t.Errorf("Err = %v, want ErrNoSecretKey", s.Err())
	}
}

func TestFlashes(t *testing.T) {
	s := NewSession(nil, true)
	s.Flash("Saved!")
	s.FlashCategory("error", "Oops")
	want := []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", "Oops"}}
	if got, _ := s.Get(FlashesKey); !reflect.DeepEqual(got, want) {
		t.Fatalf("_flashes = %s, want Flask's layout %s", pyval.Repr(got), pyval.Repr(want))
	}
	// like Flask: the filter narrows the result, but every message leaves the session
	if got := s.Flashes("error"); !reflect.DeepEqual(got, []Flash{{"error", "Oops"}}) {
		t.Errorf("Flashes(error) = %v", got)
	}
	if s.Has(FlashesKey) {
		t.Error("_flashes still in the session after Flashes")
	}
	if got := s.Flashes(); len(got) != 2 {
		t.Errorf("second call in the same request = %v, want both messages again", got)
	}
	// msgpack turns tuples into lists: still readable
	l := NewSession(map[string]any{FlashesKey: []any{[]any{"info", "hi"}}}, false)
	if got := l.Flashes(); !reflect.DeepEqual(got, []Flash{{"info", "hi"}}) {
		t.Errorf("list-shaped flashes = %v", got)
	}
}

func TestValue(t *testing.T) {
	big1, _ := new(big.Int).SetString("18446744073709551616", 10)
	s := NewSession(map[string]any{
		"i": int64(42), "f": 2.5, "fi": 3.0, "s": "x", "m": pyval.Markup("<b>"), "big": big1,
		"l": []any{"a", "b"}, "li": []any{int64(1), int64(2)}, "neg": int64(-1),
	}, false)
	if v, ok := Value[int](s, "i"); !ok || v != 42 {
		t.Errorf("int: %v %v", v, ok)
	}
	if v, ok := Value[int64](s, "i"); !ok || v != 42 {
		t.Errorf("int64: %v %v", v, ok)
	}
	if v, ok := Value[float64](s, "i"); !ok || v != 42 {
		t.Errorf("float64 from int: %v %v", v, ok)
	}
	if _, ok := Value[int](s, "f"); ok {
		t.Error("2.5 converted to int")
	}
	if v, ok := Value[int](s, "fi"); !ok || v != 3 {
		t.Errorf("3.0 to int: %v %v", v, ok)
	}
	if v, ok := Value[string](s, "m"); !ok || v != "<b>" {
		t.Errorf("markup to string: %v %v", v, ok)
	}
	if _, ok := Value[int64](s, "big"); ok {
		t.Error("2^64 converted to int64")
	}
	if _, ok := Value[uint8](s, "neg"); ok {
		t.Error("-1 converted to uint8")
	}
	if v, ok := Value[[]string](s, "l"); !ok || !reflect.DeepEqual(v, []string{"a", "b"}) {
		t.Errorf("[]string: %v %v", v, ok)
	}
	if v, ok := Value[[]int](s, "li"); !ok || !reflect.DeepEqual(v, []int{1, 2}) {
		t.Errorf("[]int: %v %v", v, ok)
	}
	if _, ok := Value[string](s, "missing"); ok {
		t.Error("missing key found")
	}
	if _, ok := Value[string](s, "i"); ok {
		t.Error("int converted to string")
	}
}
