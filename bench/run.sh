#!/usr/bin/env bash
# run.sh — every Coatcheck benchmark, end to end (see ../BENCHMARKS.md).
#
#   1. Go benchmarks: go test -bench -benchmem -count $COUNT into
#      results/raw-go.txt (not committed), summarised with benchstat into
#      results/benchstat.txt, overheads/ratios/targets into results/derived.md
#      (derive.py); a CPU and a memory profile of the cookie read
#      (results/pprof-cookie-read.txt).
#   2. wrk on loopback, $WRK_DURATION per target, $WRK_ROUNDS interleaved
#      rounds; results/wrk.txt, with the throughput ratios of issue 12.
#      Like for like (cmd/wrkserver, one mode per target, and flask/tiny.py):
#      the page "<p>Logged in as alice</p>" with the user read from the
#      session, no access log anywhere —
#        bare                        net/http, no sessions
#        coatcheck-cookie            signed cookie, read (nothing sent back)
#        coatcheck-cookie-permanent  permanent cookie: read + re-sign each request
#        coatcheck-cookie[-permanent]-nocache  the same, verified-cookie cache
#                                    off (wrk sends one cookie: with the cache
#                                    on, every request after the first hits)
#        coatcheck-redis             redisstore (one GETEX, cookie re-sent)
#        scs-redis                   scs v2 + goredisstore (one GET)
#        gorilla-cookie              gorilla/sessions CookieStore
#        flask-tiny[-permanent]      the same page in Flask under gunicorn
#      The demo (labelled demo:*): bench/cmd/bare rendering the demo's page
#      (demo:bare, demo:bare+accesslog), `coatcheck demo` with cookie and
#      Redis sessions (its `/` re-signs the permanent cookie and logs every
#      request), flask/app.py under gunicorn with the demo's cookie.
#
# Every process it starts is stopped on exit (by PID), and the Redis keys
# the servers wrote (prefix ccwrk:<pid of run.sh>:) are deleted. Environment:
#   COATCHECK_REDIS_URL  (default redis://127.0.0.1:6379/0)
#   COUNT=10  BENCHTIME=1s  BENCH=.  (go test -bench regexp)
#   WRK_THREADS=2 WRK_CONNS=32 WRK_DURATION=5s WRK_ROUNDS=3
#   WRK_TARGETS="bare coatcheck-cookie ..." (default: all, listed above)
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
all_targets=(bare coatcheck-cookie coatcheck-cookie-permanent coatcheck-cookie-nocache coatcheck-cookie-permanent-nocache
	coatcheck-redis coatcheck-rueidis coatcheck-rueidis-cached scs-redis gorilla-cookie
	flask-tiny flask-tiny-permanent
	demo:bare demo:bare+accesslog demo:coatcheck-cookie demo:coatcheck-redis demo:flask-gunicorn)
WRK_TARGETS=${WRK_TARGETS:-${all_targets[*]}}
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
# every Redis key the wrk servers write (coatcheck-redis, scs-redis, the demo)
redis_prefix="ccwrk:$$:"
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${#pids[@]}" -gt 0 ] && command -v redis-cli >/dev/null; then
		redis-cli -u "$COATCHECK_REDIS_URL" --scan --pattern "$redis_prefix*" |
			xargs -r redis-cli -u "$COATCHECK_REDIS_URL" unlink >/dev/null 2>&1 || true
	fi
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

wait_http() { # url — up when it answers at all (wrkserver's / is 401 without a session)
	for _ in $(seq 100); do
		if curl -sS -o /dev/null "$1" 2>/dev/null; then return 0; fi
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


# login URL [curl args...] → prints "session=…" as a browser holds it after
# logging in: POST /login, following any redirect with a cookie jar. The
# demo redirects to / (which shows and consumes the "You were logged in"
# flash and re-issues the cookie without it: taking the cookie straight from
# the POST would make every measured request pop a stale flash and re-sign
# the session); wrkserver and flask/tiny.py answer 200 with the cookie.
login() {
	local url=$1 jar
	shift
	jar=$(mktemp)
	curl -fsS -o /dev/null -L -c "$jar" -b "$jar" -d username=alice "$@" "$url/login"
	awk '$6 == "session" {print "session=" $7}' "$jar" | tail -1
	rm -f "$jar"
}

# wrk_one NAME URL COOKIE ROUND — verifies the page first, then runs wrk.
wrk_one() {
	local name=$1 url=$2 cookie=$3 round=$4 out=$tmp/wrk-${1//[^A-Za-z0-9+-]/_}-$4.txt
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
	printf '%-36s %5s %12s %10s %10s %8s %s\n' "$name" "$round" "$rps" "$p50" "$p99" "${non2xx:-0}" "${errs:-}" >>"$res/wrk.txt"
}

selected() { [[ " $WRK_TARGETS " == *" $1 "* ]]; }

wrk_all() {
	for t in $WRK_TARGETS; do
		[[ " ${all_targets[*]} " == *" $t "* ]] || { echo "run.sh: unknown wrk target $t (known: ${all_targets[*]})" >&2; return 1; }
	done
	log "building wrkserver, the bare demo-page server and the demo"
	(cd "$here" && go build -o "$tmp/wrkserver" ./cmd/wrkserver && go build -o "$tmp/bare" ./cmd/bare)
	(cd "$root/cmd" && go build -o "$tmp/coatcheck" ./coatcheck)

	{
		machine
		echo "wrk:     wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency, $WRK_ROUNDS interleaved rounds, loopback, pinned: ${WRK_PIN} (1: servers on core 0, wrk on core 1; Redis unpinned)"
		echo "flask:   $(/usr/bin/python3 -c 'import flask,werkzeug,sys,importlib.metadata as m; print("Flask", m.version("flask"), "Werkzeug", m.version("werkzeug"), "Python", sys.version.split()[0])') under gunicorn $(/usr/bin/gunicorn --version 2>&1 | awk '{print $NF}' | tr -d ')'), $FLASK_WORKERS $FLASK_WORKER_CLASS workers × $FLASK_THREADS threads"
		echo
		echo "Like-for-like targets: bench/cmd/wrkserver -mode <target> (flask-tiny*: bench/flask/tiny.py),"
		echo "the page \"<p>Logged in as alice</p>\" with the user read from the session, no access log;"
		echo "*-nocache: Config.CookieCacheSize -1 (wrk repeats one cookie: with the cache every request after the first hits)."
		echo "demo:* targets: the demo's full page (bench/cmd/bare, coatcheck demo, flask/app.py); the demo"
		echo "logs every request and re-signs its permanent cookie; demo:flask-gunicorn is sent the demo's cookie."
		echo
		printf '%-36s %5s %12s %10s %10s %8s %s\n' target round req/s p50 p99 non-2xx socket-errors
	} >"$res/wrk.txt"

	local port t
	declare -A urls cookies

	# like for like: one wrkserver per mode
	for t in bare coatcheck-cookie coatcheck-cookie-permanent coatcheck-cookie-nocache coatcheck-cookie-permanent-nocache \
		coatcheck-redis coatcheck-rueidis coatcheck-rueidis-cached scs-redis gorilla-cookie; do
		selected "$t" || continue
		port=$(free_port)
		start "$tmp/wrkserver-$t.log" "$tmp/wrkserver" -mode "$t" -addr "127.0.0.1:$port" -prefix "$redis_prefix$t:"
		urls[$t]=http://127.0.0.1:$port
	done
	# the same page in Flask, one gunicorn for both cookies
	if selected flask-tiny || selected flask-tiny-permanent; then
		port=$(free_port)
		start "$tmp/gunicorn-tiny.log" /usr/bin/gunicorn --chdir "$here/flask" -w "$FLASK_WORKERS" -k "$FLASK_WORKER_CLASS" \
			--threads "$FLASK_THREADS" -b "127.0.0.1:$port" --log-level warning tiny:app
		urls[flask-tiny]=http://127.0.0.1:$port urls[flask-tiny-permanent]=http://127.0.0.1:$port
	fi

	# the demo's page: bare net/http rendering it, with and without the
	# demo's access log; the demo itself (cookie, Redis); Flask's app.py
	if selected demo:bare; then
		port=$(free_port)
		start "$tmp/bare.log" "$tmp/bare" -addr "127.0.0.1:$port"
		urls[demo:bare]=http://127.0.0.1:$port
	fi
	if selected demo:bare+accesslog; then
		port=$(free_port)
		start /dev/null "$tmp/bare" -log -addr "127.0.0.1:$port"
		urls[demo:bare+accesslog]=http://127.0.0.1:$port
	fi
	# its cookie also drives demo:flask-gunicorn
	if selected demo:coatcheck-cookie || selected demo:flask-gunicorn; then
		port=$(free_port)
		SESSION_TYPE=cookie start /dev/null "$tmp/coatcheck" demo --addr "127.0.0.1:$port"
		urls[demo:coatcheck-cookie]=http://127.0.0.1:$port
	fi
	if selected demo:coatcheck-redis; then
		port=$(free_port)
		SESSION_TYPE=redis SESSION_REDIS=$COATCHECK_REDIS_URL SESSION_KEY_PREFIX="${redis_prefix}demo:" \
			start /dev/null "$tmp/coatcheck" demo --addr "127.0.0.1:$port"
		urls[demo:coatcheck-redis]=http://127.0.0.1:$port
	fi
	if selected demo:flask-gunicorn; then
		port=$(free_port)
		start "$tmp/gunicorn.log" /usr/bin/gunicorn --chdir "$here/flask" -w "$FLASK_WORKERS" -k "$FLASK_WORKER_CLASS" \
			--threads "$FLASK_THREADS" -b "127.0.0.1:$port" --log-level warning app:app
		urls[demo:flask-gunicorn]=http://127.0.0.1:$port
	fi

		for t in "${!urls[@]}"; do wait_http "${urls[$t]}/"; done
	for t in $WRK_TARGETS; do
		case $t in
		bare | demo:bare | demo:bare+accesslog) cookies[$t]= ;;
		flask-tiny-permanent) cookies[$t]=$(login "${urls[$t]}" -d permanent=1) ;;
		demo:flask-gunicorn) cookies[$t]=$(login "${urls[demo:coatcheck-cookie]}") ;;
		*) cookies[$t]=$(login "${urls[$t]}") ;;
		esac
		case $t in
		bare | demo:bare | demo:bare+accesslog) ;;
		*) [ -n "${cookies[$t]}" ] || { echo "run.sh: $t: no session cookie from POST /login" >&2; return 1; } ;;
		esac
	done

	# interleaved rounds (see go_benchmarks); the table keeps every round and
	# the summary quotes the median
	for i in $(seq "$WRK_ROUNDS"); do
		for t in $WRK_TARGETS; do
			wrk_one "$t" "${urls[$t]}" "${cookies[$t]}" "$i"
		done
	done
	python3 - "$res/wrk.txt" >>"$res/wrk.txt" <<'PY2'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 6 and f[1].isdigit():
        rows.setdefault(f[0], {})[int(f[1])] = float(f[2])
med = {t: statistics.median(v.values()) for t, v in rows.items()}
print("\nmedian req/s over rounds:")
for t, v in rows.items():
    print(f"{t:36s} {med[t]:12.0f}   ({', '.join(f'{x:.0f}' for x in v.values())})")

# issue 12: "wrk pinned (server on one core, wrk on the other): cookie
# sessions >= 0.85x bare; >= 30x Flask; Redis sessions >= 2.5x scs-redis's
# throughput". Ratio of medians, and the ratio within each round (the rounds
# are interleaved, so a round's ratio shares that round's load).
ratios = [
    ("coatcheck-cookie", "bare", 0.85),
    ("coatcheck-cookie-permanent", "bare", None),
    ("coatcheck-cookie-nocache", "bare", 0.85),
    ("coatcheck-cookie-permanent-nocache", "bare", None),
    ("coatcheck-cookie", "flask-tiny", 30),
    ("coatcheck-cookie-permanent", "flask-tiny-permanent", 30),
    ("coatcheck-cookie-nocache", "flask-tiny", 30),
    ("coatcheck-cookie-permanent-nocache", "flask-tiny-permanent", 30),
    ("coatcheck-redis", "scs-redis", 2.5),
    ("coatcheck-rueidis", "scs-redis", 2.5),
    ("coatcheck-rueidis-cached", "scs-redis", 2.5),
    ("coatcheck-cookie", "gorilla-cookie", None),
    ("bare", "flask-tiny", None),
    ("demo:coatcheck-cookie", "demo:bare", None),
    ("demo:bare+accesslog", "demo:bare", None),
    ("demo:coatcheck-cookie", "demo:bare+accesslog", None),
    ("demo:coatcheck-cookie", "demo:flask-gunicorn", None),
    ("demo:coatcheck-redis", "demo:coatcheck-cookie", None),
]
out = []
for a, b, target in ratios:
    if a not in med or b not in med:
        continue
    r = med[a] / med[b]
    per = [rows[a][i] / rows[b][i] for i in sorted(rows[a]) if i in rows[b]]
    verdict = "" if target is None else (f"target >= {target:g}: " + ("met" if r >= target else "missed"))
    out.append(f"{a + ' / ' + b:60s} {r:7.2f}x  per round {', '.join(f'{x:.2f}' for x in per):20s} {verdict}")
if out:
    print("\nthroughput ratios (median req/s ÷ median req/s):")
    print("\n".join(out))
PY2
	cat "$res/wrk.txt" >&2
}

[ -n "${SKIP_GO:-}" ] || go_benchmarks
[ -n "${SKIP_WRK:-}" ] || wrk_all
log "done: $res"
