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


if "CoatcheckCookieRead" in med:
    o, a = over("CoatcheckCookieRead"), over("CoatcheckCookieRead", "allocs/op")
    target("cookie read ≤ 1.2 µs over bare", f"{fmt_ns(o)} ns", o <= 1200)
    target("cookie read ≤ 10 allocs over bare", f"{a:+.0f}", a <= 10)
    for peer in ("GorillaCookieRead", "SCSMemRead"):
        if peer in med:
            r = over(peer) / o
            target(f"cookie read overhead ≥ 10× less than {peer}", f"{r:.1f}×", r >= 10)
if "CoatcheckCookieWrite" in med:
    o = over("CoatcheckCookieWrite")
    target("cookie write ≤ 3 µs over bare", f"{fmt_ns(o)} ns", o <= 3000)
if "CoatcheckVerify" in med:
    a = med["CoatcheckVerify"]["allocs/op"]
    target("0 allocs in signature verification", f"{a:.0f} allocs/op", a == 0)
for n in ("CoatcheckUntouched/NoCookie", "CoatcheckUntouched/Cookie", "CoatcheckUntouched/PermanentCookieNoRefresh"):
    if n in med:
        o = over(n)
        target(f"untouched session < 100 ns over bare ({n.split('/')[1]})", f"{fmt_ns(o)} ns", o < 100)
if "BareContext" in med:
    print(f"| (reference: BareContext, the least a context-based middleware costs) | {fmt_ns(over('BareContext'))} ns | — |")
for n, want in (("CoatcheckRedisRead", 1), ("CoatcheckRedisUntouched", 0)):
    if n in med:
        rt = med[n]["roundtrips/op"]
        target(f"Redis: {want} round trip(s) for {n}", f"{rt:g}", rt == want)
if "CoatcheckRedisRead" in med and "SCSRedisRead" in med:
    r = over("CoatcheckRedisRead") / over("SCSRedisRead")
    target("Redis read overhead ≤ ½ of scs-redis", f"{r:.2f}", r <= 0.5)
    if "RedisRoundTrip" in med:
        rt = med["RedisRoundTrip"]["ns/op"]
        cc, scs = over("CoatcheckRedisRead") - rt, over("SCSRedisRead") - rt
        if cc <= 0 or scs <= 0:
            print(f"| (net of one bare GET round trip, {fmt_ns(rt)} ns: Coatcheck {fmt_ns(cc)} ns, scs {fmt_ns(scs)} ns — within Redis latency noise) | — | — |")
        else:
            print(f"| (the same, net of one bare GET round trip, {fmt_ns(rt)} ns: Coatcheck {fmt_ns(cc)} ns, scs {fmt_ns(scs)} ns) | {cc / scs:.2f} | {'met' if cc <= scs / 2 else 'NOT met'} |")
