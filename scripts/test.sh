#!/usr/bin/env bash
# Runs every test of every module (the README's and .ci/run's test command).
#
#   scripts/test.sh                      # all modules, all servers
#   scripts/test.sh -run TestX ./...     # arguments go to `go test`
#   COATCHECK_SERVICES="redis python" scripts/test.sh -run Redis
#   COATCHECK_SERVICES=none scripts/test.sh   # no servers (integration tests skip)
#   COATCHECK_MODULES="redisstore cmd" scripts/test.sh
#
# Starts the servers the integration tests need (scripts/services.sh, in
# parallel) and stops the ones it started on exit. Each module runs
# `go test -race -count=1 -vet=all` (vet folded into the one compile; bench/
# only compiles, its benchmarks are run by bench/run.sh). Prints one line per
# module with its time and ends with "N passed, N failed, N skipped" counted
# from the test events of `go test -json`; exits non-zero if a test or a
# build failed. Without package patterns in the arguments, ./... is tested.
# Last comes scripts/installtest.sh (module "install"): go get and go install
# of the modules from a local proxy built from the working tree.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
t_start=$SECONDS
export COATCHECK_REQUIRE_INTEGRATION="${COATCHECK_REQUIRE_INTEGRATION:-1}"
[ "${COATCHECK_SERVICES:-}" = none ] && export COATCHECK_REQUIRE_INTEGRATION="${COATCHECK_REQUIRE_INTEGRATION#1}"

# shellcheck source=/dev/null
source scripts/services.sh </dev/null
services_rc=$?
trap cc_services_down EXIT
trap 'exit 130' INT TERM
t_services=$((SECONDS - t_start))

args=("$@")
have_pkgs=
for a in "${args[@]}"; do
  case "$a" in ./* | . | ...* | github.com/*) have_pkgs=1 ;; esac
done
[ -n "$have_pkgs" ] || args+=(./...)

# Modules: every one in go.work (tools/ holds test servers, built by services.sh).
mods=$(sed -n '/^use (/,/^)/{s/^[[:space:]]*\.\/\{0,1\}//p}' go.work | sed 's/^$/./; s/^)$//' | grep -v '^$')
if [ -n "${COATCHECK_MODULES:-}" ]; then mods=$(echo "${COATCHECK_MODULES//,/ }" | tr ' ' '\n' | grep -vx install); fi

t0=$SECONDS
echo "test.sh: downloading modules"
for m in $mods; do (cd "$m" && go mod download) || true; done
t_download=$((SECONDS - t0))

out="$(mktemp -d)"
fail=0
passed=0 failed=0 skipped=0
t_tests=$SECONDS
for m in $mods; do
  ts=$SECONDS
  if [ "$m" = bench ]; then
    (cd "$m" && go test -json -count=1 -vet=all -run '^$' ./...) >"$out/$m.json" 2>"$out/$m.err"
  else
    (cd "$m" && go test -json -race -count=1 -vet=all "${args[@]}") >"$out/${m//\//_}.json" 2>"$out/${m//\//_}.err"
  fi
  rc=$?
  f="$out/${m//\//_}"
  read -r p fl s < <(jq -rs '[.[] | select(.Test != null)] | [(map(select(.Action=="pass"))|length), (map(select(.Action=="fail"))|length), (map(select(.Action=="skip"))|length)] | @tsv' "$f.json" 2>/dev/null || echo "0 0 0")
  passed=$((passed + p)) failed=$((failed + fl)) skipped=$((skipped + s))
  status=ok
  if [ $rc -ne 0 ]; then
    status=FAIL
    fail=1
  fi
  printf '%-5s %-16s %4ds  %d passed, %d failed, %d skipped\n' "$status" "$m" $((SECONDS - ts)) "$p" "$fl" "$s"
  if [ $rc -ne 0 ]; then
    # the failing tests' output and any build errors
    jq -rs '([.[] | select(.Action=="fail" and .Test != null) | "\(.Package) \(.Test)"] | unique) as $f
      | .[] | select(.Action=="output" and ((.Test != null and ("\(.Package) \(.Test)" | IN($f[]))) or (.Test == null and (.Output | test("FAIL|error|cannot|undefined|\\.go:"))))) | .Output' "$f.json" 2>/dev/null | sed 's/^/    /' | tail -80
    sed 's/^/    /' "$f.err" | tail -40
  fi
done
# The install test: modules from a local proxy, as a user's go get sees them.
if [ -z "${COATCHECK_MODULES:-}" ] || [[ " $COATCHECK_MODULES " == *" install "* ]]; then
  ts=$SECONDS
  if bash scripts/installtest.sh >"$out/install.log" 2>&1; then
    printf '%-5s %-16s %4ds  %s\n' ok install $((SECONDS - ts)) "go get + go install from a local module proxy"
    passed=$((passed + 1))
  else
    printf '%-5s %-16s %4ds\n' FAIL install $((SECONDS - ts))
    sed 's/^/    /' "$out/install.log" | tail -30
    failed=$((failed + 1)) fail=1
  fi
fi
t_tests=$((SECONDS - t_tests))
rm -rf "$out"
echo "time: services ${t_services}s, module download ${t_download}s, tests ${t_tests}s, total $((SECONDS - t_start))s"
[ $services_rc -eq 0 ] || { echo "some services failed to start (see above)"; fail=1; }
echo "$passed passed, $failed failed, $skipped skipped"
exit $fail
