package itsdangerous

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"sync"
	"time"
)

// DefaultSerializerSalt is the salt a serializer uses when
// SerializerConfig.Salt is nil (itsdangerous' Serializer default).
const DefaultSerializerSalt = "itsdangerous"

// DefaultMaxDecompressedSize caps how far a compressed payload may inflate
// when SerializerConfig.MaxDecompressedSize is zero: 1 MiB.
const DefaultMaxDecompressedSize = 1 << 20

// SerializerConfig configures a URLSafeSerializer or URLSafeTimedSerializer.
// Fields as in SignerConfig, except the default salt. For Flask's session
// cookie: Salt "cookie-session", KeyDerivation HMAC, Digest SHA1.
type SerializerConfig struct {
	// SecretKeys, oldest first; the last one signs, all verify (newest
	// first). See SignerConfig.SecretKeys.
	SecretKeys [][]byte

	// Salt; nil means DefaultSerializerSalt ("itsdangerous"). A non-nil
	// empty slice means an empty salt.
	Salt []byte

	// Sep; zero means '.'. See SignerConfig.Sep.
	Sep byte

	// KeyDerivation defaults to DjangoConcat (itsdangerous' default).
	KeyDerivation KeyDerivation

	// Digest defaults to SHA1.
	Digest Digest

	// MaxDecompressedSize caps the size of a decompressed payload; zero
	// means DefaultMaxDecompressedSize, negative is an error. Payloads are
	// only decompressed after their signature has been verified.
	MaxDecompressedSize int

	// CompressionLevel is the zlib level Dumps tries: 0 (or -1) means
	// level 6, CPython's default, whose decision to compress is closest to
	// Flask's; 1 (zlib.BestSpeed) through 9 are compress/zlib's levels.
	// Levels 2-9 clear 640 KB of match tables per Dumps (tens of µs);
	// BestSpeed does not, and is much cheaper for small payloads.
	CompressionLevel int

	// DisableCompression makes Dumps always emit plain base64url payloads.
	// Loads still accepts compressed ones.
	DisableCompression bool

	// MinCompressSize skips the compression attempt for payloads shorter
	// than this many bytes: building the Huffman tables of even a tiny
	// stream costs microseconds, and short payloads rarely shrink. Zero
	// means always try (itsdangerous' behaviour). A payload that would have
	// compressed is then sent plain, which every verifier accepts.
	MinCompressSize int
}

func (c SerializerConfig) signerConfig() SignerConfig {
	salt := c.Salt
	if salt == nil {
		salt = []byte(DefaultSerializerSalt)
	}
	return SignerConfig{
		SecretKeys:    c.SecretKeys,
		Salt:          salt,
		Sep:           c.Sep,
		KeyDerivation: c.KeyDerivation,
		Digest:        c.Digest,
	}
}

// payloadCodec implements itsdangerous' URLSafeSerializerMixin payload
// encoding: base64url, or "." + base64url(zlib) when that is shorter.
type payloadCodec struct {
	maxSize int
	level   int       // zlib level
	noZlib  bool      // never compress
	minZlib int       // shortest payload worth trying to compress
	zw      sync.Pool // *zlib.Writer
	zr      sync.Pool // *inflater
	buf     sync.Pool // *bytes.Buffer
}

func newPayloadCodec(cfg SerializerConfig) (*payloadCodec, error) {
	maxSize, level := cfg.MaxDecompressedSize, cfg.CompressionLevel
	switch {
	case maxSize < 0:
		return nil, errConfig("negative MaxDecompressedSize %d", maxSize)
	case maxSize == 0:
		maxSize = DefaultMaxDecompressedSize
	}
	switch {
	case level == 0 || level == zlib.DefaultCompression:
		level = 6
	case level < zlib.BestSpeed || level > zlib.BestCompression:
		return nil, errConfig("CompressionLevel %d out of range", level)
	}
	if cfg.MinCompressSize < 0 {
		return nil, errConfig("MinCompressSize %d is negative", cfg.MinCompressSize)
	}
	c := &payloadCodec{maxSize: maxSize, level: level, noZlib: cfg.DisableCompression, minZlib: cfg.MinCompressSize}
	c.zw.New = func() any {
		zw, _ := zlib.NewWriterLevel(nil, level) // level was validated
		return zw
	}
	c.buf.New = func() any { return new(bytes.Buffer) }
	return c, nil
}

// minZlibLen is the shortest possible zlib stream (2-byte header, 1-byte
// empty final block, 4-byte Adler-32). A payload of len(data) bytes can only
// be compressed profitably (len(z) < len(data)-1) when len(data)-1 > 7.
const minZlibLen = 7

// appendEncode appends the encoded payload to dst (FLASK-WIRE §2.2 step 2):
// "." + b64url(zlib(data)) if that stream is shorter than len(data)-1,
// else b64url(data).
func (c *payloadCodec) appendEncode(dst, data []byte) []byte {
	if !c.noZlib && len(data)-1 > minZlibLen && len(data) >= c.minZlib {
		b := c.buf.Get().(*bytes.Buffer)
		b.Reset()
		zw := c.zw.Get().(*zlib.Writer)
		zw.Reset(b)
		zw.Write(data) // writes to a bytes.Buffer cannot fail
		zw.Close()
		c.zw.Put(zw)
		if z := b.Bytes(); len(z) < len(data)-1 {
			dst = append(dst, '.')
			dst = base64.RawURLEncoding.AppendEncode(dst, z)
			c.putBuf(b)
			return dst
		}
		c.putBuf(b)
	}
	return base64.RawURLEncoding.AppendEncode(dst, data)
}

// encodedPayloadLen bounds the length of an encoded payload of n bytes: a
// compressed one is used only when it is shorter.
func encodedPayloadLen(n int) int { return base64.RawURLEncoding.EncodedLen(n) + 1 }

func (c *payloadCodec) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 { // do not pin huge buffers
		c.buf.Put(b)
	}
}

// decode reverses appendEncode, refusing to inflate beyond maxSize.
func (c *payloadCodec) decode(p []byte) ([]byte, error) {
	compressed := len(p) > 0 && p[0] == '.'
	if compressed {
		p = p[1:]
	}
	p = trimPadding(p)
	n := base64.RawURLEncoding.DecodedLen(len(p))
	if !compressed {
		raw := make([]byte, n)
		n, err := base64.RawURLEncoding.Decode(raw, p)
		if err != nil {
			return nil, &PayloadError{Reason: "could not base64 decode the payload", Err: err}
		}
		return raw[:n], nil
	}
	// The zlib stream is only read by inflate: decode it into pooled
	// scratch, with the pooled reader.
	in := c.getInflater()
	defer c.putInflater(in)
	if cap(in.raw) < n {
		in.raw = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(in.raw[:n], p)
	if err != nil {
		return nil, &PayloadError{Reason: "could not base64 decode the payload", Err: err}
	}
	return c.inflate(in, in.raw[:n])
}

// inflater is a pooled zlib reader with its input reader and the scratch
// space the compressed stream is base64-decoded into.
type inflater struct {
	br  bytes.Reader
	zr  io.ReadCloser // implements zlib.Resetter; nil until first use
	raw []byte
}

func (c *payloadCodec) getInflater() *inflater {
	if v := c.zr.Get(); v != nil {
		return v.(*inflater)
	}
	return new(inflater)
}

func (c *payloadCodec) putInflater(in *inflater) {
	in.br.Reset(nil)
	if cap(in.raw) > 64<<10 { // do not pin huge buffers
		in.raw = nil
	}
	c.zr.Put(in)
}

var errTooLarge = errors.New("decompressed payload exceeds the size limit")

func (c *payloadCodec) inflate(in *inflater, z []byte) ([]byte, error) {
	in.br.Reset(z)
	if in.zr != nil {
		if err := in.zr.(zlib.Resetter).Reset(&in.br, nil); err != nil {
			return nil, &PayloadError{Reason: "could not zlib decompress the payload", Err: err}
		}
	} else {
		zr, err := zlib.NewReader(&in.br)
		if err != nil {
			return nil, &PayloadError{Reason: "could not zlib decompress the payload", Err: err}
		}
		in.zr = zr
	}
	zr := in.zr
	// Start with a guess of 4x the compressed size; never hold more than
	// limit bytes, one more than allowed, to detect an oversized stream.
	limit := c.maxSize + 1
	out := make([]byte, 0, min(max(4*len(z), 512), limit))
	for {
		if len(out) == cap(out) {
			if cap(out) >= limit {
				return nil, &PayloadError{Reason: "could not zlib decompress the payload", Err: errTooLarge}
			}
			out = append(make([]byte, 0, min(2*cap(out), limit)), out...)
		}
		n, err := zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > c.maxSize {
			return nil, &PayloadError{Reason: "could not zlib decompress the payload", Err: errTooLarge}
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, &PayloadError{Reason: "could not zlib decompress the payload", Err: err}
		}
	}
}

// URLSafeTimedSerializer is itsdangerous' URLSafeTimedSerializer over
// already-serialized bytes: Dumps encodes the payload (zlib-compressed when
// worthwhile) and signs it with a timestamp; Loads verifies and decodes.
// This package does not know JSON: Flask's codec serializes before Dumps and
// parses after Loads (wrapping parse errors in a *PayloadError keeps the
// itsdangerous classification). Safe for concurrent use.
type URLSafeTimedSerializer struct {
	ts    *TimestampSigner
	codec *payloadCodec
}

// NewURLSafeTimedSerializer validates cfg and returns a serializer.
func NewURLSafeTimedSerializer(cfg SerializerConfig) (*URLSafeTimedSerializer, error) {
	s, err := newSigner(cfg.signerConfig())
	if err != nil {
		return nil, err
	}
	codec, err := newPayloadCodec(cfg)
	if err != nil {
		return nil, err
	}
	return &URLSafeTimedSerializer{ts: &TimestampSigner{s: s}, codec: codec}, nil
}

// Signer returns the underlying TimestampSigner.
func (s *URLSafeTimedSerializer) Signer() *TimestampSigner { return s.ts }

// Dumps encodes data (e.g. compact JSON text) and signs it with the time
// now: payload.timestamp.signature, where payload is base64url(data) or, when
// zlib makes it shorter by at least 2 bytes, "." + base64url(zlib(data)).
// Go's zlib stream differs from CPython's, so compressed output is valid for
// itsdangerous but not byte-identical to it.
func (s *URLSafeTimedSerializer) Dumps(data []byte, now time.Time) []byte {
	return s.AppendDumps(nil, data, now)
}

// AppendDumps appends the result of Dumps to dst.
func (s *URLSafeTimedSerializer) AppendDumps(dst, data []byte, now time.Time) []byte {
	sg := s.ts.s
	start := len(dst)
	dst = slices.Grow(dst, encodedPayloadLen(len(data))+1+maxTimestampLen+1+sg.sigLen)
	dst = s.codec.appendEncode(dst, data)
	dst = append(dst, sg.sep)
	dst = AppendTimestamp(dst, now)
	return sg.appendSignature(dst, start)
}

// Loads verifies value (see TimestampSigner.Unsign for maxAge, the time
// checks and the errors) and then decodes the payload, returning the
// original data and the signing time. A failure after the signature was
// verified (bad base64, bad zlib, inflating beyond MaxDecompressedSize) is a
// *PayloadError (ErrBadPayload). On an *ExpiredError, signedAt is set too.
func (s *URLSafeTimedSerializer) Loads(value []byte, maxAge time.Duration, now time.Time) (data []byte, signedAt time.Time, err error) {
	p, signedAt, err := s.ts.Unsign(value, maxAge, now)
	if err != nil {
		return nil, signedAt, err
	}
	data, err = s.codec.decode(p)
	if err != nil {
		return nil, signedAt, err
	}
	return data, signedAt, nil
}

// DecodePayload decodes a payload segment (as in ExpiredError.Payload)
// WITHOUT verifying anything. Use it only on payloads whose signature has
// been checked, e.g. to show what an expired value contained.
func (s *URLSafeTimedSerializer) DecodePayload(payload []byte) ([]byte, error) {
	return s.codec.decode(payload)
}

// URLSafeSerializer is itsdangerous' URLSafeSerializer (no timestamp) over
// already-serialized bytes. Safe for concurrent use.
type URLSafeSerializer struct {
	s     *Signer
	codec *payloadCodec
}

// NewURLSafeSerializer validates cfg and returns a serializer.
func NewURLSafeSerializer(cfg SerializerConfig) (*URLSafeSerializer, error) {
	s, err := newSigner(cfg.signerConfig())
	if err != nil {
		return nil, err
	}
	codec, err := newPayloadCodec(cfg)
	if err != nil {
		return nil, err
	}
	return &URLSafeSerializer{s: s, codec: codec}, nil
}

// Signer returns the underlying Signer.
func (s *URLSafeSerializer) Signer() *Signer { return s.s }

// Dumps encodes data as URLSafeTimedSerializer.Dumps does and signs it
// without a timestamp: payload.signature.
func (s *URLSafeSerializer) Dumps(data []byte) []byte {
	dst := make([]byte, 0, encodedPayloadLen(len(data))+1+s.s.sigLen)
	dst = s.codec.appendEncode(dst, data)
	return s.s.appendSignature(dst, 0)
}

// Loads verifies value and decodes its payload. Errors: ErrMalformed,
// ErrBadSignature, *PayloadError.
func (s *URLSafeSerializer) Loads(value []byte) ([]byte, error) {
	p, err := s.s.Unsign(value)
	if err != nil {
		return nil, err
	}
	return s.codec.decode(p)
}
