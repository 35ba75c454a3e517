package taggedjson_test

import (
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
