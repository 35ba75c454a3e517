// Package bench measures Coatcheck against gorilla/sessions, scs and the
// bare minimum of work a Flask cookie needs (see ../BENCHMARKS.md).
//
// It is its own module so that the peers' code never reaches Coatcheck's
// users. Nothing here is a test: the benchmarks only run with -bench, and
// `go test -run '^$' ./...` merely compiles them.
package bench
