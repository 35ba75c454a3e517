#!/usr/bin/env bash
# run.sh — every Coatcheck benchmark, end to end (see ../BENCHMARKS.md).
#
#   1. Go benchmarks: go test -bench -benchmem -count $COUNT into
#      results/raw-go.txt (not committed), summarised with benchstat into
#      results/benchstat.txt, overheads/ratios/targets into results/derived.md
#      (derive.py); a CPU and a memory profile of the cookie read
#      (results/pprof-cookie-read.txt).
#   2. wrk on loopback, $WRK_DURATION per target: bare net/http, the Coatcheck
#      demo's `/` with cookie and Redis sessions, the same route in Flask under
#      gunicorn; results/wrk.txt.
#
# Every process it starts is stopped on exit. Environment:
#   COATCHECK_REDIS_URL  (default redis://127.0.0.1:6379/0)
#   COUNT=10  BENCHTIME=1s  BENCH=.  (go test -bench regexp)
#   WRK_THREADS=2 WRK_CONNS=32 WRK_DURATION=5s WRK_ROUNDS=3
#   FLASK_WORKERS (default nproc) FLASK_WORKER_CLASS=gthread FLASK_THREADS=4
#   (Flask's best on 2 cores: 2 gthread workers x 4 threads ~2,500 req/s against
#   5 sync workers ~1,100, 3x8 ~1,500, 4x2 ~1,800 — keep-alive matters)
#   SKIP_GO=1 / SKIP_WRK=1 to run one half only.
#   WRK_PIN=1 (default when taskset exists and nproc ≥ 2): servers on core 0,
#   wrk on core 1 (issue 12: "server on one core, wrk on the other").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
res=$here/results
mkdir -p "$res"

export COATCHECK_REDIS_URL=${COATCHECK_REDIS_URL:-redis://127.0.0.1:6379/0}
COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-1s}
BENCH=${BENCH:-.}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-32}
WRK_DURATION=${WRK_DURATION:-5s}
WRK_ROUNDS=${WRK_ROUNDS:-3}
targets=(bare bare+accesslog coatcheck-cookie coatcheck-redis flask-gunicorn)
cores=$(nproc)
WRK_PIN=${WRK_PIN:-$([ "$cores" -ge 2 ] && command -v taskset >/dev/null && echo 1 || echo 0)}
srvpin=() wrkpin=()
if [ "$WRK_PIN" = 1 ]; then srvpin=(taskset -c 0) wrkpin=(taskset -c 1); fi
FLASK_WORKERS=${FLASK_WORKERS:-$cores}
FLASK_WORKER_CLASS=${FLASK_WORKER_CLASS:-gthread}
FLASK_THREADS=${FLASK_THREADS:-4}
SECRET_KEY=${SECRET_KEY:-bench-secret-key-0123456789abcdef}
export SECRET_KEY
BENCHSTAT=${BENCHSTAT:-golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

log() { printf '== %s\n' "$*" >&2; }

machine() {
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($cores cores)"
	echo "kernel:  $(uname -srm)"
	echo "go:      $(go version)"
	echo "commit:  $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- . ':!bench' ':!BENCHMARKS.md' || echo ' + uncommitted changes in the working tree')"
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------------------
# 1. Go benchmarks

go_benchmarks() {
	cd "$here"
	log "go test -bench '$BENCH' -benchmem -benchtime $BENCHTIME, $COUNT interleaved rounds"
	{ machine; echo; } >"$res/raw-go.txt"
	# Rounds are interleaved (every benchmark once per round, -count 1 each),
	# so a burst of load from other jobs on this shared machine hits every
	# contender alike instead of one contender's ten samples.
	go test -c -o "$tmp/bench.test" .
	for i in $(seq "$COUNT"); do
		log "round $i/$COUNT (load $(cut -d' ' -f1 /proc/loadavg))"
		"$tmp/bench.test" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.count 1 \
			-test.benchtime "$BENCHTIME" | tee -a "$res/raw-go.txt" >&2
	done
	log "benchstat"
	{
		machine
		echo
		go run "$BENCHSTAT" "$res/raw-go.txt"
	} >"$res/benchstat.txt"
	# per-metric columns, easier to read side by side
	python3 "$here/derive.py" "$res/raw-go.txt" >"$res/derived.md"

	log "profiles of BenchmarkCoatcheckCookieRead"
	go test -run '^$' -bench 'BenchmarkCoatcheckCookieRead$' -benchmem -benchtime 3s \
		-cpuprofile "$tmp/cpu.out" -memprofile "$tmp/mem.out" -o "$tmp/bench.test" . >&2
	{
		machine
		echo
		echo "\$ go test -run '^\$' -bench 'BenchmarkCoatcheckCookieRead\$' -benchtime 3s -cpuprofile cpu.out -memprofile mem.out"
		echo "\$ go tool pprof -top -nodecount=15 cpu.out"
		go tool pprof -top -nodecount=15 "$tmp/bench.test" "$tmp/cpu.out" 2>/dev/null
		echo
		echo "\$ go tool pprof -top -cum -nodecount=25 cpu.out"
		go tool pprof -top -cum -nodecount=25 "$tmp/bench.test" "$tmp/cpu.out" 2>/dev/null
		echo
		echo "\$ go tool pprof -sample_index=alloc_objects -top -nodecount=15 mem.out"
		go tool pprof -sample_index=alloc_objects -top -nodecount=15 "$tmp/bench.test" "$tmp/mem.out" 2>/dev/null
		echo
		echo "\$ go tool pprof -sample_index=alloc_space -top -nodecount=15 mem.out"
		go tool pprof -sample_index=alloc_space -top -nodecount=15 "$tmp/bench.test" "$tmp/mem.out" 2>/dev/null
	} >"$res/pprof-cookie-read.txt"
}

# ---------------------------------------------------------------------------
# 2. wrk

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # url
	for _ in $(seq 100); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "run.sh: $1 did not come up" >&2
	return 1
}

start() { # logfile cmd...
	local logf=$1
	shift
	"${srvpin[@]}" "$@" >"$logf" 2>&1 &
	pids+=($!)
}


# login URL → prints "session=…" as a browser holds it after logging in:
# POST /login, then follow the redirect to / (which shows and consumes the
# "You were logged in" flash and re-issues the cookie without it). Taking the
# cookie straight from the POST would make every measured request pop a
# stale flash and re-sign the session.
login() {
	local jar
	jar=$(mktemp)
	curl -fsS -o /dev/null -L -c "$jar" -b "$jar" -d username=alice "$1/login"
	awk '$6 == "session" {print "session=" $7}' "$jar" | tail -1
	rm -f "$jar"
}

# wrk_one NAME URL COOKIE — verifies the page first, then runs wrk.
wrk_one() {
	local name=$1 url=$2 cookie=$3 round=$4 out=$tmp/wrk-$1-$4.txt
	local args=()
	[ -n "$cookie" ] && args=(-H "Cookie: $cookie")
	if ! curl -fsS "${args[@]}" "$url/" | grep -q 'Logged in as alice'; then
		echo "run.sh: $name: / does not show the logged-in user" >&2
		return 1
	fi
	"${wrkpin[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d1s "${args[@]}" "$url/" >/dev/null # warm-up
	log "wrk $name round $round (load $(cut -d' ' -f1 /proc/loadavg))"
	"${wrkpin[@]}" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "${args[@]}" "$url/" >"$out"
	cat "$out" >&2
	local rps p50 p99 non2xx errs
	rps=$(awk '/^Requests\/sec/ {print $2}' "$out")
	p50=$(awk '$1=="50%" {print $2}' "$out")
	p99=$(awk '$1=="99%" {print $2}' "$out")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
	errs=$(awk '/Socket errors/ {print $0}' "$out" | sed 's/^ *Socket errors: //')
	printf '%-22s %5s %12s %10s %10s %8s %s\n' "$name" "$round" "$rps" "$p50" "$p99" "${non2xx:-0}" "${errs:-}" >>"$res/wrk.txt"
}

wrk_all() {
	cd "$root/cmd"
	log "building the demo and the bare server"
	go build -o "$tmp/coatcheck" ./coatcheck
	(cd "$here" && go build -o "$tmp/bare" ./cmd/bare)

	{
		machine
		echo "wrk:     wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency, loopback, pinned: ${WRK_PIN} (1: servers on core 0, wrk on core 1)"
		echo "flask:   $(/usr/bin/python3 -c 'import flask,werkzeug,sys,importlib.metadata as m; print("Flask", m.version("flask"), "Werkzeug", m.version("werkzeug"), "Python", sys.version.split()[0])') under gunicorn $(/usr/bin/gunicorn --version 2>&1 | awk '{print $NF}' | tr -d ')'), $FLASK_WORKERS $FLASK_WORKER_CLASS workers × $FLASK_THREADS threads"
		echo
		printf '%-22s %5s %12s %10s %10s %8s %s\n' target round req/s p50 p99 non-2xx socket-errors
	} >"$res/wrk.txt"

	local port url cookie rcookie
	declare -A urls cookies

	# bare net/http: the same page, no sessions; and with the demo's access log
	port=$(free_port)
	start "$tmp/bare.log" "$tmp/bare" -addr "127.0.0.1:$port"
	urls[bare]=http://127.0.0.1:$port cookies[bare]=
	port=$(free_port)
	start /dev/null "$tmp/bare" -log -addr "127.0.0.1:$port"
	urls[bare+accesslog]=http://127.0.0.1:$port cookies[bare+accesslog]=

	# the Coatcheck demo, cookie sessions; its cookie also drives Flask below
	port=$(free_port)
	SESSION_TYPE=cookie start /dev/null "$tmp/coatcheck" demo --addr "127.0.0.1:$port"
	urls[coatcheck-cookie]=http://127.0.0.1:$port

	# the Coatcheck demo, Redis sessions
	port=$(free_port)
	SESSION_TYPE=redis SESSION_REDIS=$COATCHECK_REDIS_URL SESSION_KEY_PREFIX="ccwrk:$$:" \
		start /dev/null "$tmp/coatcheck" demo --addr "127.0.0.1:$port"
	urls[coatcheck-redis]=http://127.0.0.1:$port

	# Flask (Debian's python3-flask) under Debian's gunicorn
	port=$(free_port)
	start "$tmp/gunicorn.log" /usr/bin/gunicorn --chdir "$here/flask" -w "$FLASK_WORKERS" -k "$FLASK_WORKER_CLASS" \
		--threads "$FLASK_THREADS" -b "127.0.0.1:$port" --log-level warning app:app
	urls[flask-gunicorn]=http://127.0.0.1:$port

	for t in "${targets[@]}"; do wait_http "${urls[$t]}/"; done
	cookie=$(login "${urls[coatcheck-cookie]}")
	rcookie=$(login "${urls[coatcheck-redis]}")
	[ -n "$cookie" ] && [ -n "$rcookie" ] || { echo "run.sh: no cookie from POST /login" >&2; return 1; }
	cookies[coatcheck-cookie]=$cookie cookies[flask-gunicorn]=$cookie cookies[coatcheck-redis]=$rcookie

	# interleaved rounds (see go_benchmarks); the table keeps every round and
	# BENCHMARKS.md quotes the median
	for i in $(seq "$WRK_ROUNDS"); do
		for t in "${targets[@]}"; do
			wrk_one "$t" "${urls[$t]}" "${cookies[$t]}" "$i"
		done
	done
	redis-cli -u "$COATCHECK_REDIS_URL" --scan --pattern "ccwrk:$$:*" | xargs -r redis-cli -u "$COATCHECK_REDIS_URL" unlink >/dev/null
	python3 - "$res/wrk.txt" >>"$res/wrk.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 6 and f[1].isdigit():
        rows.setdefault(f[0], []).append(float(f[2]))
print("\nmedian req/s over rounds:")
for t, v in rows.items():
    print(f"{t:22s} {statistics.median(v):12.0f}   ({', '.join(f'{x:.0f}' for x in v)})")
PY
	cat "$res/wrk.txt" >&2
}

[ -n "${SKIP_GO:-}" ] || go_benchmarks
[ -n "${SKIP_WRK:-}" ] || wrk_all
log "done: $res"
