package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
)

// TestDemoMetrics: with --metrics the demo serves Prometheus text of the
// session layer's OpenTelemetry metrics, and no session id in it.
func TestDemoMetrics(t *testing.T) {
	obs, metrics, stop, err := demoMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	env := map[string]string{"SECRET_KEY": "k", "SESSION_TYPE": "memory"}
	cfg, st, err := loadConfig(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	cfg.Logger, cfg.Observer = quietLogger(), obs
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", demoHandler(m))
	mux.Handle("GET /metrics", metrics)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	d := &demoClient{t: t, srv: srv, c: &http.Client{Jar: jar}}
	d.do("POST", "/login", url.Values{"username": {"mo"}})
	d.do("GET", "/", nil)
	id := d.sessionCookie()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	text := string(b)
	for _, want := range []string{"coatcheck_session_events_total", `coatcheck_event="save"`, "coatcheck_store_duration_seconds_bucket", `coatcheck_op="set"`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, text)
		}
	}
	if id == "" || strings.Contains(text, id) {
		t.Errorf("session id %q missing or in the metrics", id)
	}
}
