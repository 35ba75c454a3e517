package taggedjson

import (
	"errors"
	"strconv"
)

// MaxDepth is the deepest JSON nesting (objects and arrays, tag wrappers
// included) that Unmarshal accepts and Marshal writes. Writing only what can
// be read back keeps a Go writer from minting cookies that it would itself
// reject. CPython's own limit is its recursion limit (about 1000).
const MaxDepth = 512

// Sentinel errors. Every error returned by this package wraps one of them and
// its message starts with "taggedjson:".
var (
	// ErrUnsupportedType: Marshal met a Go value outside the value model
	// (Flask would raise TypeError).
	ErrUnsupportedType = errors.New("taggedjson: unsupported type")
	// ErrInvalidValue: Marshal met a value of a supported type that Python
	// could not hold (a string that is not valid UTF-8, a nil *big.Int, a
	// datetime outside years 1–9999).
	ErrInvalidValue = errors.New("taggedjson: invalid value")
	// ErrSyntax: the input is not JSON that Python's json.loads accepts.
	ErrSyntax = errors.New("taggedjson: syntax error")
	// ErrDepth: the nesting exceeds MaxDepth.
	ErrDepth = errors.New("taggedjson: nesting too deep")
	// ErrInvalidTag: a tagged value whose payload makes Flask's untagging
	// raise (for example {" u": "not-a-uuid"} or {" b": 1}). Flask answers
	// such a validly signed cookie with a 500.
	ErrInvalidTag = errors.New("taggedjson: invalid tagged value")
	// ErrNotObject: Unmarshal's document is not an object (after untagging).
	ErrNotObject = errors.New("taggedjson: top-level value is not an object")
)

// DecodeError describes why an input was rejected and where.
type DecodeError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what was wrong
	Err    error  // ErrSyntax, ErrDepth, ErrInvalidTag or ErrNotObject
}

func (e *DecodeError) Error() string {
	return "taggedjson: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel, for errors.Is.
func (e *DecodeError) Unwrap() error { return e.Err }
