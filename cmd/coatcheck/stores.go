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

// lookupEnv reads a setting: its value and whether it is set at all (an
// empty SESSION_KEY_PREFIX is a value). os.LookupEnv is one.
type lookupEnv func(string) (string, bool)

// get returns the value of k, "" when unset.
func (l lookupEnv) get(k string) string { v, _ := l(k); return v }

// loadConfig reads the whole configuration from the environment with
// Flask's and Flask-Session's names, and opens the store SESSION_TYPE names
// (flaskconfig does both).
func loadConfig(ctx context.Context, env lookupEnv) (coatcheck.Config, *openedStore, error) {
	cfg, st, err := flaskconfig.LoadConfig(ctx, env)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, &openedStore{store: st.Store, backend: st.Backend, close: func() { st.Close() }, desc: st.Description}, nil
}
