// Package pickle reads and writes Python pickles of plain session values,
// safely, in the value model of package pyval.
//
// # Reading
//
// Unmarshal decodes protocols 0 to 5 as written by Python 2 and 3 (and by
// hand-built writers). It is not an unpickler in Python's sense: it never
// imports, looks up or calls anything. The opcodes that build plain values
// (None, bool, int, float, str, bytes, bytearray, list, tuple, dict, set,
// frozenset, the memo, marks and frames) are interpreted directly. The
// opcodes that would call code — GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ,
// NEWOBJ_EX, BUILD — are honoured only for an allow-list of value types,
// each of which this package constructs itself:
//
//	datetime.datetime    → time.Time (naive: in pyval.Naive; offset 0: time.UTC; other offsets:
//	                       time.FixedZone("", offset); timezone names are dropped)
//	datetime.date        → pyval.Date
//	datetime.timezone    only as a datetime's tzinfo
//	datetime.timedelta   only as a timezone's offset
//	uuid.UUID            → pyval.UUID (NEWOBJ + BUILD {'int': n}, or copyreg._reconstructor)
//	decimal.Decimal      → pyval.Decimal (from its text, checked against Decimal's syntax)
//	markupsafe.Markup    → pyval.Markup (REDUCE, NEWOBJ or copyreg._reconstructor)
//	_codecs.encode       → []byte (how protocols 0–2 spell bytes: encode(text, 'latin1'))
//	builtins.bytes, builtins.bytearray → []byte
//	builtins.set, builtins.frozenset   → []any
//	copyreg._reconstructor, builtins.object, builtins.str: only in the
//	    _reconstructor(cls, base, state) calls Python emits for UUID and Markup
//
// Python 2 names (copy_reg, __builtin__, __builtin__.unicode) are mapped as
// Python 3 does. Every other global — os.system, builtins.eval,
// subprocess.Popen, anything — is refused with an error wrapping
// ErrForbiddenGlobal that names it, as are INST and the extension-registry
// opcodes EXT1/2/4. Persistent ids (PERSID, BINPERSID), OBJ and out-of-band
// buffers are refused with ErrUnsupported. There is no extension hook: the
// allow-list is fixed, so a pickle can only ever produce data.
//
// Output types are exactly pyval's: int64, or *big.Int when the value does
// not fit (never float64); float64; string; []byte for bytes and bytearray;
// []any for list, set and frozenset (sets keep the pickle's order and are
// not de-duplicated); pyval.Tuple; map[string]any for dict. Dict keys must be
// str (or Markup, or a Python 2 str that is valid UTF-8); int keys are
// converted to their decimal text, the way json.dumps writes them, and a
// later key wins over an earlier equal one ({1: 'a', '1': 'b'} becomes
// {"1": "b"}); any other key type is ErrUnsupported. A Python 2 str (STRING,
// BINSTRING, SHORT_BINSTRING opcodes) becomes a string when it is valid
// UTF-8 and []byte otherwise. Strings may carry lone surrogates encoded as
// Python's 'surrogatepass' does (ED A0..BF xx); other invalid UTF-8 is
// rejected. Objects shared through the memo stay shared in the result (the
// same slice or map appears twice), so treat results as read-only or copy
// before mutating; a container that contains itself is ErrUnsupported.
//
// Hostile input never panics and never makes the decoder allocate more than
// a small multiple of its length: every length field is checked against the
// remaining input before anything is allocated, and Options (see
// UnmarshalOptions) limits the stack, the memo, the nesting depth, the total
// allocation, decimal integer literals, and the expanded size of the result
// (so a "billion laughs" pickle of memo references is refused rather than
// handed to an encoder that would walk it). Errors are *Error values with
// the offset and opcode; they wrap ErrMalformed, ErrForbiddenGlobal,
// ErrUnsupported or ErrLimit.
//
// # Writing
//
// Marshal writes protocol 2 (what Flask-Session 0.3 to 0.5 read from Redis,
// MongoDB, SQL and files) or protocol 0 (python-memcached's text pickles),
// emitting what CPython's pickle.dumps emits for the same value, with dict
// keys in sorted order: a session dict of str, int and bool at protocol 0 is
// byte-identical to python-memcached's output. Types beyond the plain ones
// are written as the same globals Python uses, so Python loads them as the
// right types: bytes as _codecs.encode(text, 'latin1') (protocol 0 and 2 have
// no bytes opcode), Markup, UUID, Decimal, date and datetime (with a
// datetime.timezone for aware times).
package pickle
