package taggedjson

import (
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

type claimTag struct{ key string }

func (c claimTag) Key() string                            { return c.key }
func (claimTag) Check(v any) bool                         { _, ok := v.(claimed); return ok }
func (claimTag) ToJSON(_ *Serializer, v any) (any, error) { return string(v.(claimed)), nil }
func (claimTag) ToPython(_ *Serializer, v any) (any, error) {
	s, _ := v.(string)
	return claimed(s), nil
}

type claimed string

// tupleTag claims tuples, but appended after Flask's tuple tag it never
// writes one.
type tupleTag struct{}

func (tupleTag) Key() string                                { return " tt" }
func (tupleTag) Check(v any) bool                           { _, ok := v.(pyval.Tuple); return ok }
func (tupleTag) ToJSON(_ *Serializer, v any) (any, error)   { return nil, nil }
func (tupleTag) ToPython(_ *Serializer, v any) (any, error) { return v, nil }

func TestClaims(t *testing.T) {
	s := New()
	if s.Claims(claimed("x")) {
		t.Error("the default serializer claims an app type")
	}
	if err := s.Register(claimTag{" cl"}, false, End); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(tupleTag{}, false, End); err != nil {
		t.Fatal(err)
	}
	if !s.Claims(claimed("x")) {
		t.Error("a registered tag's type is not claimed")
	}
	if s.Claims(pyval.Tuple{1}) || s.Claims("plain") || s.Claims(map[string]any{}) {
		t.Error("a value a default tag writes first is claimed")
	}
}
