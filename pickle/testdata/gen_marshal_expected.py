#!/usr/bin/python3
"""Prints the CPython pickles that marshal_test.go hard-codes.

Run: /usr/bin/python3 pickle/testdata/gen_marshal_expected.py  (needs markupsafe)

Each value mirrors a Go value in marshal_test.go, with dict items inserted in
sorted key order (Marshal sorts keys) and no two equal multi-character
strings (CPython would share one constant object; the Go writer cannot know
about object identity). Output: name, protocol, hex of pickle.dumps(v, p).
"""
import datetime
import decimal
import hashlib
import pickle
import uuid

import markupsafe

utc = datetime.timezone.utc


def rich():
    return {
        "_flashes": [("message", "Saved!"), ("error", "Oops")],
        "_permanent": True,
        "a": "a",
        "big": 2**70,
        "bytes": b"\x00\x01binary\xff",
        "d": datetime.date(2024, 2, 29),
        "dec": decimal.Decimal("3.14"),
        "dt_naive": datetime.datetime(2024, 1, 2, 3, 4, 5, 678901),
        "dt_neg": datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        "dt_off": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800))),
        "dt_utc": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc),
        "dt_utc2": datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
        "empty": b"",
        "empty_str": "",
        "f": 1.5,
        "false": False,
        "floats": [0.1, -0.0, 1e16, 1e-05, 1e100, float("inf"), float("nan")],
        "ints": [0, 255, 256, 65535, 65536, -1, -2**31, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1, -2**63, -2**64, 2**64],
        "m": markupsafe.Markup("<b>bold</b> &amp; more"),
        "nested": {"l": [1, [2, [3, []]], {}], "t": ()},
        "none": None,
        "s": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f600 \\ \n \r \x00 \x1a \x7f",
        "t1": (1,),
        "t4": (1, 2, 3, 4),
        "tuple": (1, "x", (2, 3)),
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "u_small": uuid.UUID(int=5),
    }


def big():
    return {
        "dict": {"k%04d" % i: i for i in range(1001)},
        "dict1000": {"j%04d" % i: i for i in range(1000)},
        "list": list(range(2500)),
        "list1001": list(range(1001)),
    }


def main():
    for name, v in (("session", {"_permanent": True, "user_id": 42}), ("rich", rich())):
        for p in (0, 2):
            print(name, p, pickle.dumps(v, p).hex())
    for p in (0, 2):
        b = pickle.dumps(big(), p)
        print("big", p, len(b), hashlib.sha256(b).hexdigest())


if __name__ == "__main__":
    main()
