package main

import (
	"context"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskconfig"
)

// sessionTypes lists SESSION_TYPE values.
var sessionTypes = flaskconfig.SessionTypes

// openedStore is the store SESSION_TYPE named, with what closes it.
type openedStore struct {
	store   coatcheck.Store
	backend string // Flask-Session's backend name, for the compatibility profile
	close   func()
	desc    string
}

// lookupFrom turns a getenv into a lookup (an empty value counts as unset,
// which is all os.Getenv can tell).
func lookupFrom(getenv func(string) string) func(string) (string, bool) {
	return func(k string) (string, bool) { v := getenv(k); return v, v != "" }
}

// loadConfig reads the whole configuration from the environment with
// Flask's and Flask-Session's names, and opens the store SESSION_TYPE names
// (flaskconfig does both).
func loadConfig(ctx context.Context, getenv func(string) string) (coatcheck.Config, *openedStore, error) {
	cfg, st, err := flaskconfig.LoadConfig(ctx, lookupFrom(getenv))
	if err != nil {
		return cfg, nil, err
	}
	return cfg, &openedStore{store: st.Store, backend: st.Backend, close: func() { st.Close() }, desc: st.Description}, nil
}
