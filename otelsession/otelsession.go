// Package otelsession reports Coatcheck's session layer to OpenTelemetry:
// metrics for every store call and session event, and a span around every
// store call, as children of the request's span.
//
//	obs, err := otelsession.New(otelsession.Options{})  // the global providers
//	sessions := coatcheck.MustNew(coatcheck.Config{Store: store, Observer: obs})
//
// Instruments (meter "github.com/coatcheck/coatcheck/otelsession"):
//
//	coatcheck.store.duration   histogram, seconds; attributes coatcheck.op, coatcheck.outcome (ok|error)
//	coatcheck.session.events   counter; attributes coatcheck.event (load, new, save, touch,
//	                           destroy, cas_retry, conflict, error), and for errors coatcheck.error.kind
//
// Spans are named "coatcheck.store <op>" with the same attributes. Session
// ids and store keys are never attributes: Coatcheck's Observer never sees
// them.
package otelsession

import (
	"context"
	"errors"
	"time"

	"github.com/coatcheck/coatcheck"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const scope = "github.com/coatcheck/coatcheck/otelsession"

// Options selects the providers. The zero value uses OpenTelemetry's
// global providers.
type Options struct {
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
	// NoSpans turns the store-call spans off (metrics stay).
	NoSpans bool
}

// New returns a coatcheck.Observer that records to OpenTelemetry.
func New(opts Options) (*coatcheck.Observer, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	meter := mp.Meter(scope)
	dur, err := meter.Float64Histogram("coatcheck.store.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of session store calls."),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3))
	if err != nil {
		return nil, err
	}
	events, err := meter.Int64Counter("coatcheck.session.events",
		metric.WithDescription("Session events: loads, saves, touches, compare-and-set retries, conflicts, errors."))
	if err != nil {
		return nil, err
	}
	tracer := tp.Tracer(scope)
	o := &observer{dur: dur, events: events, tracer: tracer, spans: !opts.NoSpans}
	return &coatcheck.Observer{StoreCall: o.storeCall, Event: o.event}, nil
}

type observer struct {
	dur    metric.Float64Histogram
	events metric.Int64Counter
	tracer trace.Tracer
	spans  bool
}

func (o *observer) storeCall(ctx context.Context, c coatcheck.StoreCall) {
	outcome := "ok"
	if c.Err != nil {
		outcome = "error"
	}
	attrs := []attribute.KeyValue{attribute.String("coatcheck.op", string(c.Op)), attribute.String("coatcheck.outcome", outcome)}
	o.dur.Record(ctx, c.Duration.Seconds(), metric.WithAttributes(attrs...))
	if !o.spans {
		return
	}
	end := time.Now()
	_, span := o.tracer.Start(ctx, "coatcheck.store "+string(c.Op),
		trace.WithTimestamp(end.Add(-c.Duration)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if c.Err != nil {
		span.SetStatus(codes.Error, errorKind(c.Err))
	}
	span.End(trace.WithTimestamp(end))
}

func (o *observer) event(ctx context.Context, e coatcheck.Event, err error) {
	attrs := []attribute.KeyValue{attribute.String("coatcheck.event", e.String())}
	if e == coatcheck.EventError {
		attrs = append(attrs, attribute.String("coatcheck.error.kind", errorKind(err)))
	}
	o.events.Add(ctx, 1, metric.WithAttributes(attrs...))
}

// errorKind names an error by its sentinel, never by its text (which is
// free of ids, but unbounded in cardinality).
func errorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, coatcheck.ErrStoreUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "store_unavailable"
	case errors.Is(err, coatcheck.ErrConflict):
		return "conflict"
	case errors.Is(err, coatcheck.ErrBadPayload):
		return "bad_payload"
	case errors.Is(err, coatcheck.ErrCookieTooLarge):
		return "cookie_too_large"
	case errors.Is(err, coatcheck.ErrUnsupportedValue):
		return "unsupported_value"
	case errors.Is(err, coatcheck.ErrNoSecretKey):
		return "no_secret_key"
	case errors.Is(err, coatcheck.ErrResponseStarted):
		return "response_started"
	}
	return "other"
}
