#!/usr/bin/python3
"""Writes sorted_repr.json for vectors_test.go.

Run from the repository root:  /usr/bin/python3 pickle/testdata/gen_sorted_repr.py
Needs markupsafe (Debian: python3-markupsafe) to unpickle the Markup vectors.

For every pickle in ../shared/vectors/flask_session_redis_vectors.json it
unpickles the bytes with Python, checks repr() against the recorded
stored_repr, and records model_repr(): Python's repr with dict keys sorted,
written in the Go value model (sets and frozensets as lists, bytearray as
bytes, int dict keys as str), i.e. what pyval.Repr must print for the value
pickle.Unmarshal returns.
"""
import datetime
import json
import os
import pickle
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "..", "shared", "vectors", "flask_session_redis_vectors.json")


def model_repr(v):
    if isinstance(v, dict):
        items = []
        for k in v:
            items.append((str(k) if isinstance(k, int) and not isinstance(k, bool) else k, v[k]))
        items.sort(key=lambda kv: kv[0])
        return "{" + ", ".join(repr(k) + ": " + model_repr(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(model_repr(x) for x in v) + "]"
    if isinstance(v, (set, frozenset)):
        return "[" + ", ".join(model_repr(x) for x in v) + "]"
    if isinstance(v, tuple):
        if len(v) == 1:
            return "(" + model_repr(v[0]) + ",)"
        return "(" + ", ".join(model_repr(x) for x in v) + ")"
    if isinstance(v, bytearray):
        return repr(bytes(v))
    if isinstance(v, datetime.datetime) and v.tzinfo is not None and v.utcoffset():
        v = v.replace(tzinfo=datetime.timezone(v.utcoffset()))  # timezone names are not kept
    return repr(v)


def main():
    with open(VECTORS) as f:
        doc = json.load(f)
    out = {}

    def add(key, data, want_repr=None):
        v = pickle.loads(data)
        if want_repr is not None and repr(v) != want_repr:
            sys.exit("%s: repr %r != recorded %r" % (key, repr(v), want_repr))
        out[key] = model_repr(v)

    for vec in doc["vectors"]:
        add("vectors/" + vec["id"], bytes.fromhex(vec["redis_value_hex"]), vec["stored_repr"])
    for vec in doc["lifecycle"]:
        if "redis_value_hex" in vec:
            add("lifecycle/" + vec["id"], bytes.fromhex(vec["redis_value_hex"]), vec.get("stored_repr"))
    for vec in doc["foreign_writer"]:
        add("foreign_writer/" + vec["id"], bytes.fromhex(vec["redis_value_hex"]), vec["session_repr"])
    for i, vec in enumerate(doc["memcached_fake_client"]):
        add("memcached_fake_client/%d" % i, bytes.fromhex(vec["value_hex"]))
    for name, f in sorted(doc["filesystem"]["files"].items()):
        add("filesystem/" + name, bytes.fromhex(f["hex"])[4:], f["payload_repr"])

    with open(os.path.join(HERE, "sorted_repr.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print("wrote %d entries" % len(out))


if __name__ == "__main__":
    main()
