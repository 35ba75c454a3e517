// Package itsdangerous signs and verifies values in the format of Python's
// pallets/itsdangerous 2.x, byte for byte, which is what Flask's session
// cookie is made of (see ../shared/FLASK-WIRE.md §1–§3).
//
// # Layers
//
// The package is layered like itsdangerous (signer.py → timed.py →
// serializer.py/url_safe.py, errors from exc.py):
//
//   - [Signer] appends a signature:
//     value + sep + base64url(HMAC-digest(derived key, value)).
//   - [TimestampSigner] signs value + sep + timestamp, where the timestamp
//     is base64url of the signing time in whole Unix seconds as a minimal
//     big-endian integer (1700000000 → "ZVPxAA"), and checks the age on
//     the way back.
//   - [URLSafeTimedSerializer] (and the untimed [URLSafeSerializer]) encode
//     an already-serialized payload (JSON text made by the caller; this
//     package is JSON-agnostic) as base64url, or as "." + base64url(zlib)
//     when that is at least 2 bytes shorter, then sign it.
//
// All encodings are RFC 4648 §5 base64url without '=' padding. Decoding is
// as lenient as Python's where that is harmless: trailing '=' is ignored,
// and so are the unused low bits of the last character (a 20-byte SHA-1
// signature has 27 characters carrying 162 bits), so "…pGA" and "…pGB" are
// the same signature, for itsdangerous as here. Only holders of the key can
// produce a valid signature either way.
//
// # Keys
//
// A secret key is never used directly: the signing key is derived from it
// and the salt ([DeriveKey]) with one of itsdangerous' key derivations:
// "django-concat" (the default, digest(salt + "signer" + secret)), "concat"
// (digest(salt + secret)), "hmac" (HMAC-digest(key=secret, msg=salt), what
// Flask uses) or "none". The digest is SHA-1 by default; SHA-256 and SHA-512
// are available. Derived keys are computed once, at construction.
//
// Key rotation works like itsdangerous' secret_keys: the configured list is
// oldest first, the last key signs, and verification tries every key,
// newest first. Flask ≥ 3.1.1 passes SECRET_KEY_FALLBACKS followed by
// SECRET_KEY.
//
// Flask's cookie profile is:
//
//	itsdangerous.SerializerConfig{
//		SecretKeys:    [][]byte{secretKey},
//		Salt:          []byte("cookie-session"),
//		KeyDerivation: itsdangerous.HMAC,
//		Digest:        itsdangerous.SHA1,
//	}
//
// with maxAge = PERMANENT_SESSION_LIFETIME (31 days by default).
//
// # Time
//
// Time is always passed in (a now parameter), never read from a global
// clock. A value whose age exceeds maxAge is expired, and so is a value
// signed in the future (age < 0), as in itsdangerous; age == maxAge is
// still valid.
//
// # Errors
//
// Errors nest like itsdangerous' exceptions and are tested with errors.Is
// and errors.As: [ErrBadData] ⊃ [ErrBadSignature] ⊃ [ErrBadTimeSignature] ⊃
// [ErrSignatureExpired] (concrete type [*ExpiredError], carrying SignedAt),
// with [ErrMalformed] (no separator, missing or malformed timestamp) under
// ErrBadSignature, and [ErrBadPayload] (concrete type [*PayloadError])
// beside ErrBadSignature: it is raised only after a valid signature.
//
// # Security and performance
//
// Signatures are compared in constant time. Compressed payloads are
// inflated only after the signature has been verified, and never beyond
// SerializerConfig.MaxDecompressedSize (1 MiB by default). Verifying a
// signature allocates nothing: keyed HMAC states are pooled and the
// signature is decoded into a fixed array. Untrusted input never panics.
package itsdangerous
