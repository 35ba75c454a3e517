#!/usr/bin/env bash
# Runs every test of every module: starts the servers the integration tests
# need (installing Debian packages when missing), then go vet and
# go test -race in each module. Usage: scripts/test.sh [go test flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=/dev/null
source scripts/services.sh
export COATCHECK_REQUIRE_INTEGRATION="${COATCHECK_REQUIRE_INTEGRATION:-1}"

# bench/ only compiles here (benchmarks are run by bench/run.sh); tools/ hold
# test servers, built by services.sh.
mods=$(find . -name go.mod -not -path "./bench/*" -not -path "./tools/*" -not -path "*/testdata/*" -printf '%h\n' | sort)
fail=0
for m in $mods; do
  echo "=== module $m"
  ( cd "$m" && go vet ./... && go test -race -count=1 "$@" ./... ) || { echo "--- FAIL module $m"; fail=1; }
done
if [ -d bench ]; then
  echo "=== module ./bench (vet + compile only: benchmarks are run by bench/run.sh)"
  ( cd bench && go vet ./... && go test -count=1 -run '^$' ./... ) || { echo "--- FAIL module ./bench"; fail=1; }
fi
exit $fail
