package otelsession_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/coatcheck/coatcheck/otelsession"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// failing wraps a store and fails while down is set.
type failing struct {
	coatcheck.Store
	down bool
}

func (f *failing) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if f.down {
		return nil, false, errors.New("connection refused")
	}
	return f.Store.Get(ctx, k)
}

func TestMetricsAndSpans(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	obs, err := otelsession.New(otelsession.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	st := &failing{Store: memstore.New(memstore.Options{CleanupInterval: -1})}
	m := coatcheck.MustNew(coatcheck.Config{Store: st, Observer: obs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var ids []string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		if r.URL.Path == "/login" {
			s.Set("username", "ann")
		}
		s.Len()
		ids = append(ids, s.ID())
	}))
	res := httptest.NewRecorder()
	h.ServeHTTP(res, httptest.NewRequest("GET", "/login", nil))
	cookie := strings.Split(res.Header().Get("Set-Cookie"), ";")[0]
	for _, down := range []bool{false, true} {
		st.down = down
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, met := range sm.Metrics {
			switch d := met.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					op, _ := p.Attributes.Value("coatcheck.op")
					oc, _ := p.Attributes.Value("coatcheck.outcome")
					got[met.Name+" "+op.AsString()+" "+oc.AsString()] = p.Count > 0
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					ev, _ := p.Attributes.Value("coatcheck.event")
					kind, _ := p.Attributes.Value("coatcheck.error.kind")
					got[met.Name+" "+ev.AsString()+" "+kind.AsString()] = p.Value > 0
				}
			}
		}
	}
	for _, want := range []string{
		"coatcheck.store.duration set ok",
		"coatcheck.store.duration get error",
		"coatcheck.session.events save ",
		"coatcheck.session.events error store_unavailable",
	} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	spans := rec.Ended()
	if len(spans) < 3 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "coatcheck.store ") || s.EndTime().Sub(s.StartTime()) > time.Second {
			t.Errorf("span %q %v", s.Name(), s.EndTime().Sub(s.StartTime()))
		}
		for _, a := range s.Attributes() {
			for _, id := range ids {
				if id != "" && strings.Contains(a.Value.Emit(), id) {
					t.Errorf("a session id in span attribute %s", a.Key)
				}
			}
		}
	}
}
