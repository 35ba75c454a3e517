package taggedjson

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// Tag is a custom type tag, Go's counterpart of a subclass of Flask's
// flask.json.tag.JSONTag registered with TaggedJSONSerializer.register.
//
// When writing, the serializer checks its tags in order and the first whose
// Check accepts a value writes it as {Key(): ToJSON(value)}. ToJSON returns
// plain JSON data (nil, bool, string, numbers, map[string]any, []any); it is
// written as Flask's json.dumps writes it, without further tagging, so a
// ToJSON that holds other values of the model calls Serializer.Tag on them,
// as a Python to_json calls self.serializer.tag. A Key of "" is a tag that
// is only an intermediate step (like Flask's PassDict and PassList): ToJSON's
// result is written without a wrapper and nothing is untagged.
//
// When reading, an object with exactly one key that is a registered tag's
// key is replaced, children first, by ToPython of its (already untagged)
// value; an error from ToPython makes the document an error wrapping
// ErrInvalidTag (Flask answers such a cookie with a 500).
//
// Implementations must be safe for concurrent use and must not panic.
type Tag interface {
	Key() string
	Check(v any) bool
	ToJSON(s *Serializer, v any) (any, error)
	ToPython(s *Serializer, v any) (any, error)
}

// End as Register's index appends the tag to the order (Python's
// index=None).
const End = math.MaxInt

// ErrDuplicateTag is returned by Register for a key that is already
// registered when force is false (Flask raises KeyError).
var ErrDuplicateTag = errors.New("taggedjson: tag key already registered")

// Serializer is a TaggedJSONSerializer with its own tags: Flask's defaults
// plus what Register adds. The package-level Marshal and Unmarshal are
// those of a Serializer with only the defaults. A Serializer is safe for
// concurrent use, Register included. A nil *Serializer reads and writes
// with the default tags (Register on it panics); the zero value is not
// usable, call New.
type Serializer struct {
	mu  sync.Mutex // serializes Register
	tab atomic.Pointer[tagTable]
}

type tagTable struct {
	order   []Tag
	tags    map[string]Tag
	builtin bool // exactly Flask's default tags: the fast paths apply
}

// builtinTag is one of Flask's default tags. Its methods are used only
// through Serializer.Tag and untagging; the encoders and the decoder handle
// the default tags inline.
type builtinTag struct{ key string }

// Flask's TaggedJSONSerializer.default_tags, in order; "" are PassDict and
// PassList.
var (
	tagDict     = &builtinTag{" di"}
	tagPassDict = &builtinTag{""}
	tagTuple    = &builtinTag{" t"}
	tagPassList = &builtinTag{""}
	tagBytes    = &builtinTag{" b"}
	tagMarkup   = &builtinTag{" m"}
	tagUUID     = &builtinTag{" u"}
	tagDateTime = &builtinTag{" d"}
)

var defaultTable = func() *tagTable {
	t := &tagTable{
		order:   []Tag{tagDict, tagPassDict, tagTuple, tagPassList, tagBytes, tagMarkup, tagUUID, tagDateTime},
		tags:    map[string]Tag{},
		builtin: true,
	}
	for _, tg := range t.order {
		if k := tg.Key(); k != "" {
			t.tags[k] = tg
		}
	}
	return t
}()

var defaultSerializer = New()

func (b *builtinTag) Key() string { return b.key }

// Check is the default tag's check, with TagDict's "only key is a tag"
// taken against the default tags only.
func (b *builtinTag) Check(v any) bool { return defaultTable.check(b, v) }

func (b *builtinTag) ToJSON(s *Serializer, v any) (any, error) {
	return s.table().toJSON(s, b, v, 0)
}

func (b *builtinTag) ToPython(s *Serializer, v any) (any, error) {
	return untag(b.key, v, nil)
}

// New returns a Serializer with Flask's default tags.
func New() *Serializer {
	s := &Serializer{}
	s.tab.Store(defaultTable)
	return s
}

func (s *Serializer) table() *tagTable {
	if s == nil {
		return defaultTable
	}
	return s.tab.Load()
}

// Register adds tag as TaggedJSONSerializer.register(tag_class, force,
// index) does: a tag whose key is registered already is an error wrapping
// ErrDuplicateTag unless force is true, in which case it replaces the old
// one for reading (the old one stays in the order, as in Flask). The tag is
// inserted in the check order at index with Python's list.insert semantics
// (negative counts from the end; End, or any index past the end, appends).
// Register the tags before the Serializer is used: a cookie written before
// is not re-read with the new tags.
func (s *Serializer) Register(tag Tag, force bool, index int) error {
	if tag == nil {
		return errors.New("taggedjson: Register: nil tag")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.tab.Load()
	key := tag.Key()
	if _, dup := old.tags[key]; dup && key != "" && !force {
		return fmt.Errorf("%w: %q", ErrDuplicateTag, key)
	}
	t := &tagTable{tags: make(map[string]Tag, len(old.tags)+1)}
	for k, v := range old.tags {
		t.tags[k] = v
	}
	if key != "" {
		t.tags[key] = tag
	}
	n := len(old.order)
	switch {
	case index < 0 && index+n < 0:
		index = 0
	case index < 0:
		index += n
	case index > n:
		index = n
	}
	t.order = make([]Tag, 0, n+1)
	t.order = append(t.order, old.order[:index]...)
	t.order = append(t.order, tag)
	t.order = append(t.order, old.order[index:]...)
	s.tab.Store(t)
	return nil
}

// Marshal is the package-level Marshal with s's tags.
func (s *Serializer) Marshal(m map[string]any) ([]byte, error) {
	return s.AppendMarshal(make([]byte, 0, 64), m)
}

// AppendMarshal is the package-level AppendMarshal with s's tags.
func (s *Serializer) AppendMarshal(dst []byte, m map[string]any) ([]byte, error) {
	t := s.table()
	if t.builtin {
		return AppendMarshal(dst, m)
	}
	if m == nil {
		m = map[string]any{}
	}
	return s.appendTagged(dst, t, m)
}

// MarshalValue is the package-level MarshalValue with s's tags.
func (s *Serializer) MarshalValue(v any) ([]byte, error) {
	return s.AppendMarshalValue(make([]byte, 0, 64), v)
}

// AppendMarshalValue is the package-level AppendMarshalValue with s's tags.
func (s *Serializer) AppendMarshalValue(dst []byte, v any) ([]byte, error) {
	t := s.table()
	if t.builtin {
		return AppendMarshalValue(dst, v)
	}
	return s.appendTagged(dst, t, v)
}

func (s *Serializer) appendTagged(dst []byte, t *tagTable, v any) ([]byte, error) {
	tv, err := t.tag(s, v, 0)
	if err != nil {
		return dst, err
	}
	out, err := appendRaw(dst, tv, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Unmarshal is the package-level Unmarshal with s's tags.
func (s *Serializer) Unmarshal(data []byte) (map[string]any, error) {
	return unmarshalObject(data, s, s.table())
}

// UnmarshalValue is the package-level UnmarshalValue with s's tags.
func (s *Serializer) UnmarshalValue(data []byte) (any, error) {
	return unmarshalValue(data, s, s.table())
}

// Tag returns the tagged representation of v, as Flask's
// TaggedJSONSerializer.tag: plain JSON data with every value of the model
// wrapped in its tag. It is what a Tag's ToJSON calls for the values it
// contains. A value no tag accepts is returned as it is.
func (s *Serializer) Tag(v any) (any, error) {
	return s.table().tag(s, v, 0)
}

// check is builtin tag b's check against table t.
func (t *tagTable) check(b *builtinTag, v any) bool {
	switch b {
	case tagDict:
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return false
		}
		for k := range m {
			_, reg := t.tags[k]
			return reg
		}
	case tagPassDict:
		_, ok := v.(map[string]any)
		return ok
	case tagTuple:
		_, ok := v.(pyval.Tuple)
		return ok
	case tagPassList:
		switch v.(type) {
		case []any, []string:
			return true
		}
	case tagBytes:
		_, ok := v.([]byte)
		return ok
	case tagMarkup:
		_, ok := v.(pyval.Markup)
		return ok
	case tagUUID:
		_, ok := v.(pyval.UUID)
		return ok
	case tagDateTime:
		_, ok := v.(time.Time)
		return ok
	}
	return false
}

// tag is TaggedJSONSerializer.tag with table t; depth counts the JSON
// containers around v.
func (t *tagTable) tag(s *Serializer, v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth()
	}
	for _, tg := range t.order {
		b, isBuiltin := tg.(*builtinTag)
		if isBuiltin {
			if !t.check(b, v) {
				continue
			}
		} else if !tg.Check(v) {
			continue
		}
		j, err := t.toJSON(s, tg, v, depth)
		if err != nil {
			return nil, err
		}
		if k := tg.Key(); k != "" {
			return map[string]any{k: j}, nil
		}
		return j, nil
	}
	return v, nil
}

// toJSON is tg.to_json(v) with table t; tg's check has accepted v.
func (t *tagTable) toJSON(s *Serializer, tg Tag, v any, depth int) (any, error) {
	b, ok := tg.(*builtinTag)
	if !ok {
		return tg.ToJSON(s, v)
	}
	var err error
	switch b {
	case tagDict:
		for k, e := range v.(map[string]any) {
			if e, err = t.tag(s, e, depth+2); err != nil {
				return nil, err
			}
			return map[string]any{k + "__": e}, nil
		}
	case tagPassDict:
		m := v.(map[string]any)
		out := make(map[string]any, len(m))
		for k, e := range m {
			if out[k], err = t.tag(s, e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagTuple, tagPassList:
		var l []any
		inner := depth + 1 // [items]
		if b == tagTuple {
			inner++ // {" t": [items]}
		}
		switch x := v.(type) {
		case pyval.Tuple:
			l = x
		case []any:
			l = x
		case []string:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = e
			}
			return out, nil
		}
		out := make([]any, len(l))
		for i, e := range l {
			if out[i], err = t.tag(s, e, inner); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagBytes:
		return base64.StdEncoding.EncodeToString(v.([]byte)), nil
	case tagMarkup:
		return string(v.(pyval.Markup)), nil
	case tagUUID:
		return v.(pyval.UUID).Hex(), nil
	case tagDateTime:
		d, err := appendHTTPDate(nil, v.(time.Time))
		if err != nil {
			return nil, err
		}
		return string(d[1 : len(d)-1]), nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedType, v) // unreachable
}

// appendRaw writes v as Flask's json.dumps writes an already tagged value:
// no tagging; tuples as lists, Markup as its text, UUIDs as str(uuid),
// datetimes and dates as HTTP dates, Decimal as its text (Flask's default
// JSON hook); bytes and other values are unsupported.
func appendRaw(dst []byte, v any, depth int) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case map[string]any:
		depth++
		if depth > MaxDepth {
			return dst, errDepth()
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortStrings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendString(dst, k); err != nil {
				return dst, err
			}
			dst = append(dst, ':')
			if dst, err = appendRaw(dst, x[k], depth); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		return appendRawList(dst, x, depth)
	case pyval.Tuple:
		return appendRawList(dst, x, depth)
	case pyval.Markup:
		return appendString(dst, string(x))
	case pyval.UUID:
		return appendString(dst, x.String())
	case time.Time:
		return appendHTTPDate(dst, x)
	case []byte:
		return dst, fmt.Errorf("%w: bytes outside a tag", ErrUnsupportedType)
	case nil, bool, string, int64, int, float64, float32, *big.Int, []string, pyval.Date, pyval.Decimal,
		int8, int16, int32, uint, uint8, uint16, uint32, uint64:
		return appendValue(dst, v, depth)
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

func appendRawList(dst []byte, l []any, depth int) ([]byte, error) {
	depth++
	if depth > MaxDepth {
		return dst, errDepth()
	}
	dst = append(dst, '[')
	var err error
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendRaw(dst, e, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}
