// Package flasksession implements the value formats of Flask-Session
// (pallets-eco/flask-session) and describes what each of its versions
// writes, so that a Go service and a Flask app can share one session store.
// The wire contract is FLASK-WIRE §9 (shared/FLASK-WIRE.md).
//
// # Codecs
//
// A [Codec] turns the session dict (map[string]any holding the types of
// package pyval) into stored bytes and back:
//
//   - [Msgpack]: msgspec.msgpack.Encoder() defaults, the format of
//     Flask-Session 0.7 and 0.8 (SESSION_SERIALIZATION_FORMAT="msgpack", the
//     default). Example: {"_permanent": True, "user_id": 42} is
//     82 aa 5f 70 65 72 6d 61 6e 65 6e 74 c3 a7 75 73 65 72 5f 69 64 2a.
//   - [JSON]: msgspec.json, for SESSION_SERIALIZATION_FORMAT="json".
//   - [Pickle]: Python pickle, the format of Flask-Session 0.3–0.6 for every
//     backend, and of the filesystem (cachelib) backend in every version.
//   - [Fallback] chains codecs for reading; [CodecFor] returns Flask-Session
//     0.8's chain (configured msgspec format → the other → pickle).
//
// msgspec writes fewer types than pickle: tuples come back as lists, naive
// datetimes, dates, UUIDs and Decimals as strings, and an aware datetime as
// a UTC datetime (msgpack) or an RFC 3339 string (JSON). Where the Go value
// model and msgspec disagree this package chooses, and documents, the
// following (see [Msgpack] and [JSON]):
//
//   - Map keys are written sorted (msgspec keeps insertion order; Flask does
//     not depend on it), so the bytes are deterministic.
//   - pyval.Markup is written as a plain string. msgspec refuses Markup and
//     Flask-Session 0.7/0.8 fails with a 500 (pallets/flask#5653); Python
//     reads Coatcheck's value as str, which Jinja escapes — visible, never
//     unsafe.
//   - Integers outside [-2**63, 2**64-1] are an encode error, as in msgspec.
//   - The session dict must have string keys; nested msgpack maps with
//     integer keys read as their decimal text (like package pickle); other
//     key types are an error.
//
// Every decoder accepts hostile input: it returns an error wrapping
// [ErrMalformed] and never panics, nests at most [MaxDepth] levels, and
// checks every length field against the remaining input before allocating.
//
// # Versions (FLASK-WIRE §9.5, §9.6)
//
// [ProfileFor] returns a [Profile] for a version and backend:
//
//	version   ids                          stored value
//	0.3–0.5   str(uuid.uuid4()), 36 chars  pickle (memcached: protocol 0)
//	0.6       secrets.token_urlsafe(32)    pickle (memcached: protocol 0)
//	0.7–0.8   secrets.token_urlsafe(32)    msgspec msgpack (or json), read
//	                                       with a fallback to the other
//	                                       format and to pickle
//	any       —                            filesystem/cachelib: pickle
//
// Python writes pickle protocol 4 or 5; Go writes protocol 2 (0 for
// memcached ≤ 0.6), which every Python 3 reads. Cross-version facts: a 0.8
// app reads 0.3–0.6 pickles and rewrites them as msgpack on the next save;
// 0.3–0.6 cannot read msgpack (Flask-Session 0.3.2 then starts an empty
// session with the same id); uuid and token ids are interchangeable, and the
// optional signer (SESSION_USE_SIGNER, itsdangerous Signer with salt
// "flask-session") is the same in every version. [NewID] generates ids in
// either style from crypto/rand, and [ValidID] accepts every id Flask-Session
// can produce while refusing keys a store must never see.
//
// # Errors
//
// Errors are prefixed "flasksession:" and wrap [ErrUnsupportedValue],
// [ErrMalformed], [ErrUndecodable], [ErrUnknownFormat] or
// [ErrUnknownProfile]; pickle failures also wrap the pickle package's own
// sentinel.
package flasksession
