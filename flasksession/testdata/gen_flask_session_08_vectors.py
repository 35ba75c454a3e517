#!/usr/bin/python3
"""Writes flask_session_08_vectors.json: what Flask-Session 0.8 stores for a
few representative sessions, in its msgpack and json formats.

msgspec (Flask-Session 0.8's serializer) is not packaged in Debian 12, so the
bytes are derived from Flask-Session 0.8's source and msgspec's documented
encoding, with Debian's python3-msgpack and json as the encoders:

* src/flask_session/base.py, MsgSpecSerializer.encode:
  msgspec.msgpack.Encoder().encode(dict(session)) for
  SESSION_SERIALIZATION_FORMAT=msgpack (the default), and
  msgspec.json.Encoder().encode(dict(session)) for json.
* dict(session) keeps insertion order; msgspec encodes dict keys in that
  order, as msgpack.packb and json.dumps do.
* msgspec msgpack: str -> str family, bytes -> bin family, int -> the
  smallest int family, float -> float 64, bool/None -> true/false/nil,
  list/tuple -> array, dict -> map, datetime (aware) -> timestamp extension
  -1. msgpack.packb(v, use_bin_type=True, datetime=True) makes the same
  choices for these types (checked value by value against hand-written
  hex in msgpack_vectors_test.go).
* msgspec json: compact (no spaces), UTF-8 text unescaped (no
  ensure_ascii), bytes -> base64 string, floats by shortest repr:
  json.dumps(v, separators=(",", ":"), ensure_ascii=False) for the types
  used here (no bytes, no datetime in the json cases).
* Redis layout (src/flask_session/redis/redis.py): key = SESSION_KEY_PREFIX
  + sid, value = the bytes, TTL = PERMANENT_SESSION_LIFETIME in seconds.
* Decoding in 0.8 tries msgpack, then json, then pickle: so a 0.8 app reads
  all three; the vectors record what it writes.

Run: /usr/bin/python3 gen_flask_session_08_vectors.py
"""
import datetime
import json

import msgpack

SESSIONS = [
    ("login", {"_permanent": True, "username": "alice"}),
    ("flask_login", {
        "_permanent": True,
        "_user_id": "42",
        "_fresh": True,
        "_id": "9f" * 64,
    }),
    ("flashes_and_csrf", {
        "_permanent": True,
        "csrf_token": "3f1e2d4c5b6a79880716253443526170ffeeddcc",
        "_flashes": [["message", "You were logged in"], ["error", "Bad input"]],
    }),
    ("numbers", {"_permanent": False, "n": 300, "neg": -40000, "big": 2**40, "f": 0.1, "none": None}),
    ("unicode", {"_permanent": True, "name": "Zoë 🚀", "tags": ["a", "b"], "prefs": {"theme": "dark"}}),
    ("bytes_and_time", {
        "_permanent": True,
        "raw": b"\x00\x01\xff",
        "at": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
    }),
]


def main():
    out = {"generator": "gen_flask_session_08_vectors.py", "flask_session": "0.8.0 (derived; see the docstring)",
           "key_prefix": "session:", "sid": "m8ZdQ9ZpGf0nS5gL2u1N7C8xYqk3aW4b6cRt0vJhEi4", "ttl_seconds": 2678400,
           "sessions": []}
    for name, s in SESSIONS:
        v = {"name": name, "msgpack_hex": msgpack.packb(s, use_bin_type=True, datetime=True).hex()}
        if not any(isinstance(x, (bytes, datetime.datetime)) for x in s.values()):
            v["json"] = json.dumps(s, separators=(",", ":"), ensure_ascii=False)
        out["sessions"].append(v)
    with open("flask_session_08_vectors.json", "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
