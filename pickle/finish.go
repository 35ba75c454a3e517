package pickle

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// finisher converts the unpickler's internal values to the value model.
// Shared objects (memo references) are converted once and shared in the
// result too, so the work is linear in the pickle's size; a reference to an
// object that is still being converted is a cycle, which the value model
// cannot hold. size counts the result as if shared parts were copied, so
// MaxValueSize can bound what a later encoder would walk.
type finisher struct {
	opts Options
	seen map[any]*finEntry
}

type finEntry struct {
	v    any
	size int64
	done bool
}

func addSize(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func finErr(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

func (f *finisher) conv(v any, depth int) (any, int64, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, pyval.Markup, pyval.Decimal, pyval.Date, time.Time:
		return v, 1, nil
	case *big.Int:
		return x, 1 + int64(len(x.Bits())*8), nil
	case string:
		return x, 1 + int64(len(x)), nil
	case []byte:
		return x, 1 + int64(len(x)), nil
	case py2str:
		// A Python 2 str: text if it is valid UTF-8, bytes otherwise.
		if validUTF8NoSurrogates(string(x)) {
			return string(x), 1 + int64(len(x)), nil
		}
		return []byte(x), 1 + int64(len(x)), nil
	case *pyUUID:
		if !x.built {
			return nil, 0, finErr(ErrMalformed, "uuid.UUID object without state (no BUILD)")
		}
		return x.u, 1, nil
	case global:
		return nil, 0, finErr(ErrUnsupported, "the class or function %s itself cannot be a session value", x)
	case pyTimedelta:
		return nil, 0, finErr(ErrUnsupported, "datetime.timedelta values are not supported")
	case pyTimezone:
		return nil, 0, finErr(ErrUnsupported, "datetime.timezone values are not supported outside a datetime")
	case *pyList, *pyTuple, *pyDict, *pySet:
	default:
		return nil, 0, finErr(ErrUnsupported, "unexpected value of type %T", v)
	}
	if e, ok := f.seen[v]; ok {
		if !e.done {
			return nil, 0, finErr(ErrUnsupported, "recursive data structure (a container that contains itself)")
		}
		return e.v, e.size, nil
	}
	if depth >= f.opts.MaxDepth {
		return nil, 0, finErr(ErrLimit, "containers nested deeper than MaxDepth (%d)", f.opts.MaxDepth)
	}
	e := &finEntry{}
	f.seen[v] = e
	size := int64(1)
	convItems := func(items []any) ([]any, error) {
		out := make([]any, len(items))
		for i, it := range items {
			c, s, err := f.conv(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
			size = addSize(size, s)
			if size > f.opts.MaxValueSize {
				return nil, finErr(ErrLimit, "value larger than MaxValueSize (%d)", f.opts.MaxValueSize)
			}
		}
		return out, nil
	}
	var out any
	switch x := v.(type) {
	case *pyList:
		items, err := convItems(x.items)
		if err != nil {
			return nil, 0, err
		}
		out = items
	case *pySet:
		items, err := convItems(x.items)
		if err != nil {
			return nil, 0, err
		}
		out = items
	case *pyTuple:
		items, err := convItems(x.items)
		if err != nil {
			return nil, 0, err
		}
		out = pyval.Tuple(items)
	case *pyDict:
		m := make(map[string]any, len(x.m))
		for k, it := range x.m {
			c, s, err := f.conv(it, depth+1)
			if err != nil {
				return nil, 0, err
			}
			m[k] = c
			size = addSize(size, addSize(s, 1+int64(len(k))))
			if size > f.opts.MaxValueSize {
				return nil, 0, finErr(ErrLimit, "value larger than MaxValueSize (%d)", f.opts.MaxValueSize)
			}
		}
		out = m
	}
	e.v, e.size, e.done = out, size, true
	return out, size, nil
}
