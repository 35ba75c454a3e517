package coatcheck

import (
	"math"
	"math/big"
	"reflect"

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
	if !ok {
		return zero, false
	}
	return out.Interface().(T), true
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
