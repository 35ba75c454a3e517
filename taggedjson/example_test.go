package taggedjson_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
	"github.com/coatcheck/coatcheck/taggedjson"
)

func ExampleMarshal() {
	b, err := taggedjson.Marshal(map[string]any{
		"user_id":  42,
		"name":     "Zoë",
		"_flashes": []any{pyval.Tuple{"message", "Saved!"}},
		"seen":     time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"_flashes":[{" t":["message","Saved!"]}],"name":"Zo\u00eb","seen":{" d":"Tue, 02 Jan 2024 03:04:05 GMT"},"user_id":42}
}

func ExampleUnmarshal() {
	m, err := taggedjson.Unmarshal([]byte(`{"b": {" b": "AAFi"}, "t": {" t": [1, 2.0]}, "k": {" di": {" u__": NaN}}}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(pyval.Repr(m))
	// Output:
	// {'b': b'\x00\x01b', 'k': {' u': nan}, 't': (1, 2.0)}
}

func ExampleAppendMarshal() {
	buf := make([]byte, 0, 128) // reuse across calls: no allocation
	buf, err := taggedjson.AppendMarshal(buf[:0], map[string]any{" t": "not a tuple"})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(buf))
	// Output:
	// {" di":{" t__":"not a tuple"}}
}

func ExampleDecodeError() {
	_, err := taggedjson.Unmarshal([]byte(`{"a": 1,}`))
	fmt.Println(err)
	// Output:
	// taggedjson: expecting property name enclosed in double quotes at offset 8
}

// point is an application type; tagPoint stores it as {" p": [x, y]}, like
// a Flask app's JSONTag subclass with key " p".
type point struct{ X, Y int64 }

type tagPoint struct{}

func (tagPoint) Key() string      { return " p" }
func (tagPoint) Check(v any) bool { _, ok := v.(point); return ok }
func (tagPoint) ToJSON(_ *taggedjson.Serializer, v any) (any, error) {
	p := v.(point)
	return []any{p.X, p.Y}, nil
}
func (tagPoint) ToPython(_ *taggedjson.Serializer, v any) (any, error) {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return nil, errors.New("not a pair")
	}
	x, ok1 := l[0].(int64)
	y, ok2 := l[1].(int64)
	if !ok1 || !ok2 {
		return nil, errors.New("not ints")
	}
	return point{x, y}, nil
}

// A custom tag, as app.session_interface.serializer.register(TagPoint)
// in the Flask app.
func ExampleSerializer_Register() {
	s := taggedjson.New()
	if err := s.Register(tagPoint{}, false, taggedjson.End); err != nil {
		panic(err)
	}
	b, _ := s.Marshal(map[string]any{"at": point{3, 4}})
	fmt.Println(string(b))
	m, _ := s.Unmarshal(b)
	fmt.Printf("%+v\n", m["at"])
	// Output:
	// {"at":{" p":[3,4]}}
	// {X:3 Y:4}
}
