package coatcheck

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// Value returns the value under key converted to T, and whether it was
// present and convertible. It replaces a family of GetString/GetInt getters:
//
//	name, ok := coatcheck.Value[string](s, "username")
//	id, ok := coatcheck.Value[int](s, "user_id")
//
// Numbers convert between Go numeric types when no information is lost
// (decoders hand out int64, *big.Int and float64); pyval.Markup converts to
// string; []any converts to []E when every element converts.
func Value[T any](s *Session, key string) (T, bool) {
	var zero T
	v, ok := s.Get(key)
	if !ok {
		return zero, false
	}
	if t, ok := v.(T); ok {
		return t, true
	}
	// the common conversions without reflection
	switch p := any(&zero).(type) {
	case *int:
		if i, ok := pyval.Int(v); ok && int64(int(i)) == i {
			*p = int(i)
			return zero, true
		}
	case *string:
		if m, ok := v.(pyval.Markup); ok {
			*p = string(m)
			return zero, true
		}
		return zero, false
	}
	out, ok := convert(v, reflect.TypeOf(&zero).Elem())
	if ok {
		return out.Interface().(T), true
	}
	// structs and typed maps: back through encoding/json, the way Set
	// stored them
	switch k := reflect.TypeOf(&zero).Elem().Kind(); k {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array, reflect.Pointer:
		return viaJSONInto[T](v)
	}
	return zero, false
}

// viaJSONInto decodes v into a T through encoding/json, the inverse of
// how Set stores structs. (A function of its own, so that only this path
// moves a T to the heap.)
func viaJSONInto[T any](v any) (T, bool) {
	var out T
	b, err := json.Marshal(v)
	if err != nil || json.Unmarshal(b, &out) != nil {
		var none T
		return none, false
	}
	return out, true
}

func convert(v any, to reflect.Type) (reflect.Value, bool) {
	if v == nil {
		return reflect.Value{}, false
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(to) {
		out := reflect.New(to).Elem()
		out.Set(rv)
		return out, true
	}
	switch to.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := pyval.Int(v)
		if !ok {
			f, isF := v.(float64)
			if !isF || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return reflect.Value{}, false
			}
			i = int64(f)
		}
		out := reflect.New(to).Elem()
		if out.OverflowInt(i) {
			return reflect.Value{}, false
		}
		out.SetInt(i)
		return out, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := pyval.BigInt(v)
		if !ok || n.Sign() < 0 || !n.IsUint64() {
			return reflect.Value{}, false
		}
		out := reflect.New(to).Elem()
		if out.OverflowUint(n.Uint64()) {
			return reflect.Value{}, false
		}
		out.SetUint(n.Uint64())
		return out, true
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			n, ok := pyval.BigInt(v)
			if !ok {
				return reflect.Value{}, false
			}
			bf, acc := new(big.Float).SetInt(n).Float64()
			if acc != big.Exact {
				return reflect.Value{}, false
			}
			f = bf
		}
		out := reflect.New(to).Elem()
		out.SetFloat(f)
		return out, true
	case reflect.String:
		switch x := v.(type) {
		case string:
			return reflect.ValueOf(x).Convert(to), true
		case pyval.Markup:
			return reflect.ValueOf(string(x)).Convert(to), true
		}
	case reflect.Slice:
		var items []any
		switch x := v.(type) {
		case []any:
			items = x
		case pyval.Tuple:
			items = x
		default:
			return reflect.Value{}, false
		}
		out := reflect.MakeSlice(to, len(items), len(items))
		for i, it := range items {
			e, ok := convert(it, to.Elem())
			if !ok {
				return reflect.Value{}, false
			}
			out.Index(i).Set(e)
		}
		return out, true
	}
	return reflect.Value{}, false
}

// maxValueDepth bounds the nesting of a value given to Set (and so catches
// cycles through maps, slices and pointers).
const maxValueDepth = 100

var errTooDeep = errors.New("nested more than 100 levels deep (a cycle?)")

// normalize returns v in pyval's value model, converting what is not
// already in it: named basic types to their base type, typed slices, arrays
// and maps to []any and map[string]any, pointers to their target, structs
// (and anything with a MarshalJSON or MarshalText method) as encoding/json
// encodes them. Values already in the model are returned as they are, with
// no allocation.
func normalize(v any) (any, error) { return normalizeDepth(v, 0) }

func normalizeDepth(v any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, []byte, time.Time, *big.Int,
		pyval.Markup, pyval.UUID, pyval.Date, pyval.Decimal:
		return v, nil
	case []any:
		return normalizeItems(x, depth, func(n []any) any { return n })
	case pyval.Tuple:
		return normalizeItems(x, depth, func(n []any) any { return pyval.Tuple(n) })
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			ne, err := normalizeDepth(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			if out == nil && !sameValue(ne, e) {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			if out != nil {
				out[k] = ne
			}
		}
		if out == nil {
			return x, nil
		}
		return out, nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

// normalizeItems normalizes a list, copying it only if an item changes.
func normalizeItems(x []any, depth int, wrap func([]any) any) (any, error) {
	var out []any
	for i, e := range x {
		ne, err := normalizeDepth(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if out == nil && !sameValue(ne, e) {
			out = append(make([]any, 0, len(x)), x[:i]...)
		}
		if out != nil {
			out = append(out, ne)
		}
	}
	if out == nil {
		return wrap(x), nil
	}
	return wrap(out), nil
}

// sameValue reports whether normalize returned its input unchanged: the
// composite types it rebuilds are compared by identity.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case pyval.Tuple:
		y, ok := b.(pyval.Tuple)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []byte:
		y, ok := b.([]byte)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case *big.Int:
		return a == b
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && isComparable(a) && a == b
}

func isComparable(v any) bool { return v == nil || reflect.TypeOf(v).Comparable() }

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	t := rv.Type()
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) {
		return viaJSON(rv.Interface())
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalizeDepth(rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil // encoding/json's null
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return append([]byte(nil), rv.Bytes()...), nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			e, err := normalizeDepth(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings (Flask's session is a dict of str), not %s", t.Key())
		}
		if rv.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			e, err := normalizeDepth(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", it.Key().String(), err)
			}
			out[it.Key().String()] = e
		}
		return out, nil
	case reflect.Struct:
		return viaJSON(rv.Interface())
	}
	return nil, fmt.Errorf("a %s cannot be stored in a session", rv.Kind())
}

// viaJSON converts v as encoding/json encodes it: integers stay exact
// (int64, or *big.Int when larger), other numbers become float64.
func viaJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return fromJSONNumbers(out), nil
}

func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if n, ok := new(big.Int).SetString(string(x), 10); ok {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = fromJSONNumbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSONNumbers(e)
		}
	}
	return v
}
