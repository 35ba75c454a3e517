#!/usr/bin/env python3
"""derive.py RAW — overheads over the bare handler, ratios to peers and the
issue's targets, from `go test -bench -benchmem` output (medians over -count).

Overhead = median(contender) − median(BenchmarkBare): what the session layer
adds to one request. Ratios compare overheads, not totals.
"""
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$")

samples = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    m = LINE.match(line.strip())
    if not m:
        continue
    name = m.group(1)[len("Benchmark"):]
    fields = m.group(2).split()
    for v, unit in zip(fields[::2], fields[1::2]):
        samples[name][unit].append(float(v))

med = {n: {u: statistics.median(v) for u, v in d.items()} for n, d in samples.items()}
if "Bare" not in med:
    sys.exit("no BenchmarkBare in " + sys.argv[1])
bare = med["Bare"]


def over(n, unit="ns/op"):
    return med[n][unit] - bare[unit]


def fmt_ns(x):
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"


print("| benchmark | ns/op | B/op | allocs/op | round trips/op | overhead ns | overhead allocs | n |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
# codec-only benchmarks (no HTTP): an overhead over bare means nothing
NO_HTTP = ("Floor", "CoatcheckVerify", "CoatcheckCodec", "RedisRoundTrip")
for n in med:
    d = med[n]
    rt = d.get("roundtrips/op")
    http = n != "Bare" and not n.startswith(NO_HTTP)
    ons = fmt_ns(over(n)) if http else "—"
    oal = format(over(n, "allocs/op"), "+.0f") if http else "—"
    rts = "" if rt is None else format(rt, "g")
    print(f"| {n} | {fmt_ns(d['ns/op'])} | {d.get('B/op', 0):,.0f} | {d.get('allocs/op', 0):.0f} | "
          f"{rts} | {ons} | {oal} | {len(samples[n]['ns/op'])} |")

print()
print("| ratio of overheads (peer ÷ Coatcheck) | × |")
print("|---|---:|")
pairs = [
    ("GorillaCookieRead", "CoatcheckCookieRead"),
    ("GorillaCookieEncRead", "CoatcheckCookieRead"),
    ("SCSMemRead", "CoatcheckCookieRead"),
    ("SCSMemRead", "CoatcheckMemRead"),
    ("GorillaCookieWrite", "CoatcheckCookieWrite"),
    ("GorillaCookieEncWrite", "CoatcheckCookieWrite"),
    ("SCSMemWrite", "CoatcheckCookieWrite"),
    ("SCSMemWrite", "CoatcheckMemWrite"),
    ("SCSRedisRead", "CoatcheckRedisRead"),
    ("SCSRedisWrite", "CoatcheckRedisWrite"),
    ("SCSRedisWrite", "CoatcheckRedisWriteNoIndex"),
    ("GorillaCookieEncRead", "CoatcheckEncCookieRead"),
    ("GorillaCookieEncWrite", "CoatcheckEncCookieWrite"),
    ("SCSRedisUntouched", "CoatcheckRedisUntouched"),
    ("CoatcheckCookieRead", "FloorRead+Bare"),
    ("CoatcheckCookieWrite", "FloorWrite+Bare"),
]
for peer, cc in pairs:
    if cc.endswith("+Bare"):
        f = cc[: -len("+Bare")]
        if peer in med and f in med:
            print(f"| {peer} overhead ÷ {f} (Coatcheck over the floor) | {over(peer) / med[f]['ns/op']:.2f} |")
        continue
    if peer in med and cc in med:
        print(f"| {peer} ÷ {cc} | {over(peer) / over(cc):.1f} |")

print()
print("| target | measured | verdict |")
print("|---|---|---|")


def target(desc, measured, ok):
    print(f"| {desc} | {measured} | {'met' if ok else 'NOT met'} |")


def ratio_target(desc, num, den, limit, le=True):
    if num in med and den in med:
        r = over(num) / (med[den[:-len("+Bare")]]["ns/op"] if den.endswith("+Bare") else over(den))
        target(desc, f"{r:.2f}", r <= limit if le else r >= limit)


# issue 12 ("Below the floor"); the floor benchmarks have no HTTP, so their
# whole time is their overhead
# the cookie read twice: as measured (the same cookie every iteration: a hit
# in the verified-cookie cache) and with the cache disabled (every read a miss)
for n, what in (("CoatcheckCookieRead", "cookie read"), ("CoatcheckCookieReadNoCache", "cookie read, cache off,")):
    if n not in med:
        continue
    o, a = over(n), over(n, "allocs/op")
    if "FloorRead" in med:
        r = o / med["FloorRead"]["ns/op"]
        target(f"{what} overhead ≤ 0.4× FloorRead", f"{r:.2f}× ({fmt_ns(o)} ns)", r <= 0.4)
    for peer in ("GorillaCookieRead", "SCSMemRead"):
        if peer in med:
            r = over(peer) / o
            target(f"{what} overhead ≥ 15× less than {peer}", f"{r:.1f}×", r >= 15)
    target(f"{what} ≤ 6 allocs over bare", f"{a:+.0f}", a <= 6)
if "CoatcheckCookieWrite" in med:
    o, a = over("CoatcheckCookieWrite"), over("CoatcheckCookieWrite", "allocs/op")
    if "FloorWrite" in med:
        r = o / med["FloorWrite"]["ns/op"]
        target("cookie write overhead ≤ 0.4× FloorWrite", f"{r:.2f}× ({fmt_ns(o)} ns)", r <= 0.4)
    for peer in ("GorillaCookieWrite", "SCSMemWrite"):
        if peer in med:
            r = over(peer) / o
            target(f"cookie write overhead ≥ 10× less than {peer}", f"{r:.1f}×", r >= 10)
    target("cookie write ≤ 10 allocs over bare", f"{a:+.0f}", a <= 10)
for n, lim in (("CoatcheckRedisRead", 0.4), ("CoatcheckRueidisRead", 0.4), ("CoatcheckRueidisReadCached", 0.4),
               ("CoatcheckRedisWrite", 0.6), ("CoatcheckRedisWriteNoIndex", 0.6)):
    peer = "SCSRedisRead" if "Read" in n else "SCSRedisWrite"
    if n in med and peer in med:
        r = over(n) / over(peer)
        target(f"{n} overhead ≤ {lim}× {peer}", f"{r:.2f}", r <= lim)
# the round trip itself bounds any one-trip contender: a bare GET over the
# peers' overhead is the lowest ratio one round trip can reach
for peer in ("SCSRedisRead", "SCSRedisWrite"):
    if "RedisRoundTrip" in med and peer in med:
        r = med["RedisRoundTrip"]["ns/op"] / over(peer)
        print(f"| (one bare GET ÷ {peer} overhead: the floor of a one-round-trip ratio) | {r:.2f} | — |")
for n, most in (("CoatcheckRedisRead", 1), ("CoatcheckRueidisRead", 1), ("CoatcheckRueidisReadCached", 0.01),
                ("CoatcheckRedisWrite", 2), ("CoatcheckRedisWriteNoIndex", 2), ("CoatcheckRedisUntouched", 0)):
    if n in med and "roundtrips/op" in med[n]:
        rt = med[n]["roundtrips/op"]
        target(f"Redis: ≤ {most} round trip(s) for {n}", f"{rt:g}", rt <= most)
if "BareContext" in med:
    bc = med["BareContext"]["ns/op"]
    for n in ("CoatcheckUntouched/NoCookie", "CoatcheckUntouched/Cookie", "CoatcheckUntouched/PermanentCookieNoRefresh"):
        if n in med:
            d = med[n]["ns/op"] - bc
            target(f"untouched ≤ 50 ns above BareContext ({n.split('/')[1]})", f"{fmt_ns(d)} ns", d <= 50)
for a, b_ in (("CoatcheckCookieReadNoCache", "CoatcheckCookieRead"), ("CoatcheckCookieReadPermanentNoCache", "CoatcheckCookieReadPermanent"),
             ("CoatcheckCookieReadStoreTimeout", "CoatcheckCookieRead"), ("CoatcheckEncCookieRead", "CoatcheckCookieRead"), ("CoatcheckEncCookieWrite", "CoatcheckCookieWrite")):
    if a in med and b_ in med:
        print(f"| ({a} − {b_}) | {fmt_ns(med[a]['ns/op'] - med[b_]['ns/op'])} ns, {med[a]['allocs/op'] - med[b_]['allocs/op']:+.0f} allocs | — |")
