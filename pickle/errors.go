package pickle

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them, so callers branch with errors.Is.
var (
	// ErrMalformed: the input is not a valid pickle (truncated, unknown
	// opcode, stack underflow, wrong operand types, bad text literal...).
	ErrMalformed = errors.New("pickle: malformed pickle")

	// ErrForbiddenGlobal: the pickle names a global (GLOBAL, STACK_GLOBAL,
	// INST, an extension code) that is not on the allow-list of value types.
	// Such pickles are exactly the ones that run code when Python loads them.
	ErrForbiddenGlobal = errors.New("pickle: forbidden global")

	// ErrUnsupported: a valid pickle that holds something outside the value
	// model (persistent ids, out-of-band buffers, a bare timedelta, a tuple
	// used as a dict key, a recursive structure...), or, for Marshal, a Go
	// value of a type the writer does not know.
	ErrUnsupported = errors.New("pickle: unsupported value")

	// ErrLimit: decoding would exceed one of the limits of Options.
	ErrLimit = errors.New("pickle: limit exceeded")
)

// Error is the error returned by Unmarshal for a pickle it rejects. It
// records where the problem was found. Unwrap returns one of the sentinels.
type Error struct {
	Kind   error  // ErrMalformed, ErrForbiddenGlobal, ErrUnsupported or ErrLimit
	Offset int    // byte offset of the opcode being executed; -1 when the problem was found after STOP
	Opcode byte   // that opcode (0 when Offset is -1)
	Msg    string // what went wrong
}

func (e *Error) Error() string {
	kind := e.Kind.Error()
	if e.Offset < 0 {
		return fmt.Sprintf("%s: %s", kind, e.Msg)
	}
	return fmt.Sprintf("%s at offset %d (opcode %s): %s", kind, e.Offset, opName(e.Opcode), e.Msg)
}

// Unwrap returns the sentinel (Kind).
func (e *Error) Unwrap() error { return e.Kind }
