// Package taggedjson reads and writes Flask's session payload format, the
// "tagged JSON" of flask/json/tag.py (TaggedJSONSerializer), byte for byte.
//
// # Writing
//
// Marshal produces exactly what TaggedJSONSerializer.dumps produces inside a
// Flask app with the default JSON provider: keys sorted by code point,
// separators "," and ":", ensure_ascii (every character outside
// U+0020–U+007E as a lowercase \uXXXX escape, astral characters as
// surrogate pairs, the short escapes \" \\ \n \r \t \b \f, and / < > &
// literal), floats as Python's repr, NaN/Infinity/-Infinity as bare tokens,
// and integers of any size verbatim.
//
// Values are tagged in Flask's order (the first match wins):
//
//	" di"  a dict with exactly one key that is itself a tag:
//	       {" t": 1} → {" di": {" t__": 1}}
//	(dict) any other map[string]any, values tagged recursively
//	" t"   pyval.Tuple          → {" t": [items]}
//	(list) []any, []string
//	" b"   []byte               → {" b": "standard base64 with padding"}
//	" m"   pyval.Markup         → {" m": "text"}
//	" u"   pyval.UUID           → {" u": "32 lowercase hex digits"}
//	" d"   time.Time            → {" d": "Tue, 02 Jan 2024 03:04:05 GMT"}
//	       (converted to UTC, a naive pyval.Naive time taken as UTC,
//	       sub-second part dropped)
//
// Like Flask's default JSON hook, pyval.Date is written untagged as the HTTP
// date of its midnight and pyval.Decimal as its text; they read back as
// strings. Every Go integer type, *big.Int, float32/float64, bool, nil and
// string are accepted; any other type is an error wrapping
// ErrUnsupportedType, and a value Python could not hold (a string that is
// not UTF-8, a datetime outside years 1–9999) wraps ErrInvalidValue.
//
// # Reading
//
// Unmarshal accepts what Python's json.loads accepts (any JSON whitespace,
// any key order, duplicate keys with the last one winning, NaN and
// Infinity, integers of any length up to CPython's 4300-digit limit) and
// untags post-order like TaggedJSONSerializer.loads: children first, then
// an object with exactly one key that is a registered tag is replaced by
// the tag's to_python of its value. " di" drops the last two characters of
// its inner (first) key and the result is not examined again; " b" decodes
// like base64.b64decode (characters outside the alphabet skipped, a wrong
// final quantum rejected); " u" accepts what uuid.UUID() accepts; " d"
// parses like werkzeug.http.parse_date and gives nil for text it cannot
// parse. Payloads that make Flask's untagging raise (for example
// {" u": "x"} or {" b": 1}) are errors wrapping ErrInvalidTag: Flask
// answers such a validly signed cookie with a 500.
//
// Decoded values use pyval's canonical types only: nil, bool, int64 (or
// *big.Int when it does not fit), float64, string, []any, map[string]any,
// pyval.Tuple, []byte, pyval.Markup, pyval.UUID and time.Time (time.UTC for
// a GMT date; a fixed zone for another offset, which Marshal writes back as
// the same instant in GMT).
//
// Differences from Python, all on input Flask never writes:
//   - A lone UTF-16 surrogate escape (\ud800 not followed by a low
//     surrogate) becomes U+FFFD: a Go string cannot hold it.
//   - Nesting deeper than MaxDepth (512) is rejected; CPython's limit is its
//     recursion limit, about 1000. Marshal refuses the same depth, so it
//     never writes what Unmarshal would reject.
//   - Non-ASCII digits, which Python's int() accepts inside " u" and " d"
//     payloads, are rejected; Markup of a container prints nested dicts with
//     sorted keys where Python keeps insertion order.
//
// # Custom tags
//
// A Flask app may register its own tags
// (app.session_interface.serializer.register(TagX, index=...)). A
// Serializer from New holds its own tag list: Register adds a Tag (key,
// check, to-JSON, to-value) with Flask's force and index semantics, and its
// Marshal and Unmarshal then write and read those tags as Flask does. A
// one-key object whose key is not a registered tag stays a plain dict. The
// package-level functions use Flask's default tags only.
//
// Errors from Unmarshal are *DecodeError values carrying the byte offset.
// Neither function panics, whatever the input.
package taggedjson
