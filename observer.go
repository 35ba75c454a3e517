package coatcheck

import (
	"context"
	"time"
)

// Observer receives what the session layer does, for metrics and traces
// (the otelsession module turns it into OpenTelemetry instruments and
// spans). Every field is optional; a nil Observer costs nothing. The calls
// are synchronous, on the request's goroutine: keep them cheap. Nothing
// passed to them carries a session id or a store key.
//
// Store-side events that happen outside a request (memstore and filestore
// evictions, janitor sweeps) are counted by those stores themselves.
type Observer struct {
	// StoreCall is called after every store round trip the Manager makes.
	StoreCall func(ctx context.Context, call StoreCall)

	// Event is called for each session event; err is the failure for
	// EventError (errors.Is tells its kind: ErrStoreUnavailable,
	// ErrConflict, ErrBadPayload…) and the reason for EventNew.
	Event func(ctx context.Context, e Event, err error)
}

// StoreCall describes one store round trip.
type StoreCall struct {
	Op       StoreOp
	Duration time.Duration
	Err      error // nil on success (a miss is not an error)
}

// StoreOp names a store method.
type StoreOp string

// The store operations the Manager performs.
const (
	OpGet           StoreOp = "get"
	OpGetAndTouch   StoreOp = "get_and_touch"
	OpSet           StoreOp = "set"
	OpCompareAndSet StoreOp = "compare_and_set"
	OpTouch         StoreOp = "touch"
	OpDelete        StoreOp = "delete"
)

// Event is a session event reported to Observer.Event.
type Event uint8

// The events.
const (
	EventLoad     Event = iota + 1 // a session was loaded (cookie verified, or read from the store)
	EventNew                       // a session started fresh (no cookie, or a rejected one: err says why)
	EventSave                      // a session was written
	EventTouch                     // an unchanged session's expiry was moved
	EventDestroy                   // a session was deleted (Destroy, or emptied)
	EventCASRetry                  // a compare-and-set lost a race; the save merges and retries
	EventConflict                  // a key changed concurrently in two requests (the later wins unless StrictConflicts)
	EventError                     // a failure went to the error handler, or a late change was lost
)

var eventNames = [...]string{"", "load", "new", "save", "touch", "destroy", "cas_retry", "conflict", "error"}

// String returns the event's metric-friendly name ("load", "cas_retry"…).
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "unknown"
}

func (c *Config) event(ctx context.Context, e Event, err error) {
	if o := c.Observer; o != nil && o.Event != nil {
		o.Event(ctx, e, err)
	}
}

// observe times one store call when an observer wants it.
func (c *Config) observe(ctx context.Context, op StoreOp, call func() error) error {
	o := c.Observer
	if o == nil || o.StoreCall == nil {
		return call()
	}
	start := time.Now()
	err := call()
	o.StoreCall(ctx, StoreCall{Op: op, Duration: time.Since(start), Err: err})
	return err
}
