package main

import (
	"context"
	"net/http"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/otelsession"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// demoMetrics builds what `coatcheck demo --metrics` serves: the session
// layer's OpenTelemetry metrics (otelsession), exported as Prometheus text
// through OpenTelemetry's Prometheus exporter. It returns the Observer for
// the Manager, the /metrics handler and a shutdown function.
func demoMetrics() (*coatcheck.Observer, http.Handler, func(), error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	obs, err := otelsession.New(otelsession.Options{MeterProvider: mp, NoSpans: true})
	if err != nil {
		return nil, nil, nil, err
	}
	return obs, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), func() { _ = mp.Shutdown(context.Background()) }, nil
}
