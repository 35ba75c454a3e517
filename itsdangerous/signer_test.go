package itsdangerous

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1700000000, 0)

// independentDerive recomputes itsdangerous' derive_key from the spec,
// without the package's code.
func independentDerive(kd string, h func() hash.Hash, salt, secret []byte) []byte {
	switch kd {
	case "django-concat":
		d := h()
		d.Write([]byte(string(salt) + "signer" + string(secret)))
		return d.Sum(nil)
	case "concat":
		d := h()
		d.Write(append(append([]byte{}, salt...), secret...))
		return d.Sum(nil)
	case "hmac":
		m := hmac.New(h, secret)
		m.Write(salt)
		return m.Sum(nil)
	case "none":
		return secret
	}
	panic(kd)
}

// pyKnown holds itsdangerous 2.1.2's output for secret "secret", the default
// salt "itsdangerous.Signer" and value "hello". Produced with Debian's
// python3-itsdangerous 2.1.2:
//
//	/usr/bin/python3 -c 'import hashlib; from itsdangerous import Signer
//	for kd in ["django-concat","concat","hmac","none"]:
//	  for d in ["sha1","sha256","sha512"]:
//	    s = Signer(b"secret", key_derivation=kd, digest_method=getattr(hashlib, d))
//	    print(kd, d, s.derive_key().hex(), s.sign(b"hello").decode())'
var pyKnown = []struct {
	kd, digest, dkHex, signed string
}{
	{"django-concat", "sha1", "3a1c28f7aad5a02fe672d24f1003fb52a7312ed7", "hello.7KTthSs1fJgtbigPvFpQH1bpoGA"},
	{"django-concat", "sha256", "93cc2517dfe2f8c3b554250474f6865332f7c39a364f238c50f87ae1ac349069", "hello.wi9qFobArR1iCBEpunByseLLD7b_zztm_BTOmrEGHGU"},
	{"django-concat", "sha512", "7150b7c75fb1ac8ecb7388c53781441447fe30804550fa002a6a1a124da5fbc6b244f408cd7caf97d0d7439ae22fe97e0e60255f0e83221dae7f3b9f3dfbd52d", "hello.5OqmJQYAbqdd3y1RDqosxLhPNO4oDudaBOL2TM6D0CVO3cQqDxIVF-plH5EjjcHkhjIlSc5u1pHsQfQbA59FwA"},
	{"concat", "sha1", "762e009f2fca7fc65522d22e5067336c2cfadd6d", "hello.iJ0v4kLu865K39xYDcFmzWoL6Ns"},
	{"concat", "sha256", "7583cabf9dbb30ed6c3d6bba54af879ecfbd0b1e6f7b8f688d0b55a97a07ee09", "hello.jTBK1uhOOE5qg_Ic2nOI4ZJG0FKsD-d4Eq9_T3zM91E"},
	{"concat", "sha512", "17e92357ac72a787cbf21634718a13f5580500e5f57a8f15c13b85eef13890b5dcad798bb22418f9138814f3d541abc73028deed9eb9c8b1a382ecc826053d4c", "hello.VY-ALeaemzapEOOa9zBnVzqiHQgU2Z-Kv7sgX5WTxbWZFvRD9ZqAdiMLQa_zdZw0BAJ-gMZxaVgzwPRv-jFzsg"},
	{"hmac", "sha1", "28ce496774b6ff7af9d1d44d74024c6c1b0982cf", "hello.UFJ-ZZK6KzX3iJOeWSFlpUJiRtk"},
	{"hmac", "sha256", "78f0ec5bc81d90d32f73f742926de237e5cc27356462a036a980a9efd60fafba", "hello.TKxAjVV_pO0YaiLbvm3kvUYhqa0msSNnDOFho1jYB8c"},
	{"hmac", "sha512", "58b53183a08954969c817572346b8cbcaaf86255bfee0eb9fb7a4d13b5db6699feba165b4bcb7dc6732729514d2f8498f8fe00c7b4c41ca905c50bd7f74e9be2", "hello.EGefY51ZEMKu7ABB9Ct-kY1Nxk7h04UXqVkhxt4W5LVKe-ecywOgr23NmjXgMK3tOLTysACk8Et_Dmcz9qgHjA"},
	{"none", "sha1", "736563726574", "hello.URIFXAX5RPhXVe_FzYlw4ZTp9Fs"},
	{"none", "sha256", "736563726574", "hello.iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs"},
	{"none", "sha512", "736563726574", "hello.2xWVroimL9FR7By6gbmMOd-C2q57TLmCD0RtW_AvHc_KZoPYjKs-Jz9ZY6uOxGmnRrWxkIY3Ejn2fR5fmaeUQA"},
}

func TestKnownAnswersPython(t *testing.T) {
	for _, k := range pyKnown {
		t.Run(k.kd+"/"+k.digest, func(t *testing.T) {
			kd, err := ParseKeyDerivation(k.kd)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDigest(k.digest)
			if err != nil {
				t.Fatal(err)
			}
			dk, err := DeriveKey(kd, d, []byte(DefaultSignerSalt), []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(dk); got != k.dkHex {
				t.Errorf("derived key %s, want %s", got, k.dkHex)
			}
			s, err := NewSigner(SignerConfig{SecretKeys: [][]byte{[]byte("secret")}, KeyDerivation: kd, Digest: d})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Sign([]byte("hello")); string(got) != k.signed {
				t.Errorf("Sign = %s, want %s", got, k.signed)
			}
			if v, err := s.Unsign([]byte(k.signed)); err != nil || string(v) != "hello" {
				t.Errorf("Unsign = %q, %v", v, err)
			}
		})
	}
	// The zero config is itsdangerous' default Signer("secret").
	s, err := NewSigner(SignerConfig{SecretKeys: [][]byte{[]byte("secret")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Sign([]byte("hello"))); got != "hello.7KTthSs1fJgtbigPvFpQH1bpoGA" {
		t.Errorf("default Signer: %s", got)
	}
}

// TestKnownAnswersPythonTimed: values from itsdangerous 2.1.2 with
// get_timestamp frozen at 1700000000 (TimestampSigner("secret").sign("hello"),
// URLSafeTimedSerializer("secret").dumps({"a":1}) and .dumps({"data":"a"*100}),
// URLSafeTimedSerializer(["old","new"], salt="s",
// signer_kwargs={"key_derivation":"hmac","digest_method":hashlib.sha256}).dumps([1,2,3])).
func TestKnownAnswersPythonTimed(t *testing.T) {
	ts, err := NewTimestampSigner(SignerConfig{SecretKeys: [][]byte{[]byte("secret")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ts.Sign([]byte("hello"), t0)); got != "hello.ZVPxAA.0pZnxd2yvPSFX93jOV9WdHNP6nk" {
		t.Errorf("TimestampSigner.Sign = %s", got)
	}
	ser, err := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("secret")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ser.Dumps([]byte(`{"a":1}`), t0)); got != "eyJhIjoxfQ.ZVPxAA.29jNa7P8cC3Mkvk3JRTL72cvH2o" {
		t.Errorf("Dumps = %s", got)
	}
	data, _, err := ser.Loads([]byte(".eJyrVkpJLElUslJKpANQqgUA6jEpOQ.ZVPxAA.-xTKhDgtdlfCc626dwsZvQ6ulkQ"), time.Hour, t0)
	if err != nil || string(data) != `{"data":"`+strings.Repeat("a", 100)+`"}` {
		t.Errorf("Loads(python compressed) = %q, %v", data, err)
	}
	rot, err := NewURLSafeTimedSerializer(SerializerConfig{
		SecretKeys: [][]byte{[]byte("old"), []byte("new")}, Salt: []byte("s"), KeyDerivation: HMAC, Digest: SHA256,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rot.Dumps([]byte("[1,2,3]"), t0)); got != "WzEsMiwzXQ.ZVPxAA.KSbd0uscXJ9dwnVB1e3XgFYm--76FgtYWqJH2LaZvQQ" {
		t.Errorf("rotation Dumps = %s", got)
	}
}

func TestDerivationsAndDigests(t *testing.T) {
	digests := []struct {
		d Digest
		h func() hash.Hash
	}{{SHA1, sha1.New}, {SHA256, sha256.New}, {SHA512, sha512.New}}
	kds := []KeyDerivation{DjangoConcat, Concat, HMAC, None}
	secrets := [][]byte{[]byte("k"), []byte("clé-secrète-ünïcode"), bytes.Repeat([]byte{0xfe}, 200)}
	salts := [][]byte{[]byte("itsdangerous.Signer"), []byte("cookie-session"), {}}
	for _, dg := range digests {
		for _, kd := range kds {
			for si, secret := range secrets {
				for _, salt := range salts {
					name := kd.String() + "/" + dg.d.String() + "/secret" + string(rune('0'+si)) + "/salt=" + string(salt)
					t.Run(name, func(t *testing.T) {
						want := independentDerive(kd.String(), dg.h, salt, secret)
						got, err := DeriveKey(kd, dg.d, salt, secret)
						if err != nil || !bytes.Equal(got, want) {
							t.Fatalf("DeriveKey = %x, %v; want %x", got, err, want)
						}
						s, err := NewSigner(SignerConfig{SecretKeys: [][]byte{secret}, Salt: salt, KeyDerivation: kd, Digest: dg.d})
						if err != nil {
							t.Fatal(err)
						}
						m := hmac.New(dg.h, want)
						m.Write([]byte("payload"))
						wantSigned := "payload." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
						if got := string(s.Sign([]byte("payload"))); got != wantSigned {
							t.Errorf("Sign = %s, want %s", got, wantSigned)
						}
						if s.SignatureLen() != base64.RawURLEncoding.EncodedLen(dg.d.Size()) {
							t.Errorf("SignatureLen = %d", s.SignatureLen())
						}
						if !s.Validate([]byte(wantSigned)) {
							t.Errorf("Validate(own signature) = false")
						}
						if s.Validate([]byte(wantSigned[:len(wantSigned)-2] + "AA")) {
							t.Errorf("Validate(altered) = true")
						}
					})
				}
			}
		}
	}
}

func TestNilSaltDefaults(t *testing.T) {
	key := [][]byte{[]byte("secret")}
	a, _ := NewSigner(SignerConfig{SecretKeys: key})
	b, _ := NewSigner(SignerConfig{SecretKeys: key, Salt: []byte(DefaultSignerSalt)})
	c, _ := NewSigner(SignerConfig{SecretKeys: key, Salt: []byte{}})
	if !bytes.Equal(a.Sign([]byte("x")), b.Sign([]byte("x"))) {
		t.Error("nil salt is not the default salt")
	}
	if bytes.Equal(a.Sign([]byte("x")), c.Sign([]byte("x"))) {
		t.Error("empty salt behaves like the default salt")
	}
	s1, _ := NewURLSafeSerializer(SerializerConfig{SecretKeys: key})
	s2, _ := NewSigner(SignerConfig{SecretKeys: key, Salt: []byte(DefaultSerializerSalt)})
	if got, want := s1.Dumps([]byte("x")), s2.Sign([]byte("eA")); !bytes.Equal(got, want) {
		t.Errorf("serializer default salt: %s vs %s", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	key := [][]byte{[]byte("k")}
	bad := map[string]SignerConfig{
		"no keys":         {},
		"empty key":       {SecretKeys: [][]byte{[]byte("k"), {}}},
		"sep letter":      {SecretKeys: key, Sep: 'a'},
		"sep digit":       {SecretKeys: key, Sep: '0'},
		"sep dash":        {SecretKeys: key, Sep: '-'},
		"sep underscore":  {SecretKeys: key, Sep: '_'},
		"sep equals":      {SecretKeys: key, Sep: '='},
		"sep newline":     {SecretKeys: key, Sep: '\n'},
		"bad digest":      {SecretKeys: key, Digest: Digest(9)},
		"bad derivation":  {SecretKeys: key, KeyDerivation: KeyDerivation(-1)},
		"bad derivation2": {SecretKeys: key, KeyDerivation: KeyDerivation(4)},
	}
	for name, cfg := range bad {
		if _, err := NewSigner(cfg); err == nil || !strings.HasPrefix(err.Error(), "itsdangerous: ") {
			t.Errorf("%s: NewSigner err = %v", name, err)
		}
		if _, err := NewTimestampSigner(cfg); err == nil {
			t.Errorf("%s: NewTimestampSigner accepted", name)
		}
		scfg := SerializerConfig{SecretKeys: cfg.SecretKeys, Sep: cfg.Sep, Digest: cfg.Digest, KeyDerivation: cfg.KeyDerivation}
		if _, err := NewURLSafeTimedSerializer(scfg); err == nil {
			t.Errorf("%s: NewURLSafeTimedSerializer accepted", name)
		}
	}
	if _, err := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: key, MaxDecompressedSize: -1}); err == nil {
		t.Error("negative MaxDecompressedSize accepted")
	}
	if _, err := NewURLSafeSerializer(SerializerConfig{SecretKeys: key, MaxDecompressedSize: -1}); err == nil {
		t.Error("negative MaxDecompressedSize accepted (untimed)")
	}
	for _, lvl := range []int{-2, 10} {
		if _, err := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: key, CompressionLevel: lvl}); err == nil {
			t.Errorf("CompressionLevel %d accepted", lvl)
		}
	}
	if _, err := ParseDigest("md5"); err == nil {
		t.Error("ParseDigest(md5) accepted")
	}
	if _, err := ParseKeyDerivation("pbkdf2"); err == nil {
		t.Error("ParseKeyDerivation(pbkdf2) accepted")
	}
	if _, err := DeriveKey(KeyDerivation(7), SHA1, nil, []byte("k")); err == nil {
		t.Error("DeriveKey with unknown derivation accepted")
	}
	if _, err := DeriveKey(HMAC, Digest(7), nil, []byte("k")); err == nil {
		t.Error("DeriveKey with unknown digest accepted")
	}
	if Digest(7).String() != "Digest(7)" || KeyDerivation(7).String() != "KeyDerivation(7)" || Digest(7).Size() != 0 {
		t.Error("String/Size of unknown values")
	}
}

func TestCustomSep(t *testing.T) {
	ts, err := NewTimestampSigner(SignerConfig{SecretKeys: [][]byte{[]byte("k")}, Sep: ':'})
	if err != nil {
		t.Fatal(err)
	}
	v := ts.Sign([]byte("a.b"), t0)
	if !bytes.HasPrefix(v, []byte("a.b:ZVPxAA:")) {
		t.Fatalf("Sign = %s", v)
	}
	p, _, err := ts.Unsign(v, time.Minute, t0)
	if err != nil || string(p) != "a.b" {
		t.Fatalf("Unsign = %q, %v", p, err)
	}
	if ts.Signer().Sep() != ':' || ts.Signer().Digest() != SHA1 {
		t.Error("accessors")
	}
}

func TestRotation(t *testing.T) {
	old := [][]byte{[]byte("k1")}
	both := [][]byte{[]byte("k1"), []byte("k2")}
	sOld, _ := NewTimestampSigner(SignerConfig{SecretKeys: old})
	sBoth, _ := NewTimestampSigner(SignerConfig{SecretKeys: both})
	sNew, _ := NewTimestampSigner(SignerConfig{SecretKeys: both[1:]})
	vOld := sOld.Sign([]byte("p"), t0)
	if _, _, err := sBoth.Unsign(vOld, time.Hour, t0); err != nil {
		t.Errorf("old key not accepted: %v", err)
	}
	if _, _, err := sNew.Unsign(vOld, time.Hour, t0); !errors.Is(err, ErrBadTimeSignature) || errors.Is(err, ErrMalformed) {
		t.Errorf("old key accepted without fallback: %v", err)
	}
	if !bytes.Equal(sBoth.Sign([]byte("p"), t0), sNew.Sign([]byte("p"), t0)) {
		t.Error("the last key does not sign")
	}
}

func TestTimestamps(t *testing.T) {
	ts, _ := NewTimestampSigner(SignerConfig{SecretKeys: [][]byte{[]byte("k")}})
	sign := func(tsSeg string) []byte { // sign "p.<tsSeg>" with the plain signer
		return ts.Signer().Sign([]byte("p." + tsSeg))
	}
	cases := []struct {
		name   string
		value  []byte
		maxAge time.Duration
		now    time.Time
		class  string
		at     int64
	}{
		{"fresh", ts.Sign([]byte("p"), t0), time.Second, t0, "loaded", 1700000000},
		{"age == max", ts.Sign([]byte("p"), t0.Add(-10*time.Second)), 10 * time.Second, t0, "loaded", 1699999990},
		{"age > max", ts.Sign([]byte("p"), t0.Add(-11*time.Second)), 10 * time.Second, t0, "expired", 1699999989},
		{"fractional max age", ts.Sign([]byte("p"), t0.Add(-2*time.Second)), 1500 * time.Millisecond, t0, "expired", 1699999998},
		{"fractional max age ok", ts.Sign([]byte("p"), t0.Add(-1*time.Second)), 1500 * time.Millisecond, t0, "loaded", 1699999999},
		{"future", ts.Sign([]byte("p"), t0.Add(time.Second)), time.Hour, t0, "expired", 1700000001},
		{"future without max age", ts.Sign([]byte("p"), t0.Add(time.Hour)), NoMaxAge, t0, "loaded", 1700003600},
		{"ancient without max age", ts.Sign([]byte("p"), time.Unix(1, 0)), NoMaxAge, t0, "loaded", 1},
		{"max age zero", ts.Sign([]byte("p"), t0), 0, t0, "loaded", 1700000000},
		{"max age zero, 1s old", ts.Sign([]byte("p"), t0), 0, t0.Add(time.Second), "expired", 1700000000},
		{"before epoch signs 0", ts.Sign([]byte("p"), time.Unix(-5, 0)), NoMaxAge, t0, "loaded", 0},
		{"sub-second now truncated", ts.Sign([]byte("p"), t0.Add(999*time.Millisecond)), 0, t0, "loaded", 1700000000},
		{"8-byte leading zeros", sign("AAAAAGVT8QA"), time.Hour, t0, "loaded", 1700000000},
		{"padded timestamp", sign("ZVPxAA=="), time.Hour, t0, "loaded", 1700000000},
		{"empty timestamp is 0", sign(""), NoMaxAge, t0, "loaded", 0},
		{"9 bytes", sign("AAAAAAAAAAAA"), NoMaxAge, t0, "malformed", 0},
		{"bad base64 timestamp", sign("ZV!xAA"), NoMaxAge, t0, "malformed", 0},
		{"one char timestamp", sign("Z"), NoMaxAge, t0, "malformed", 0},
		{"max uint64 timestamp", sign("__________8"), time.Hour, t0, "expired", maxUnix},
		{"max uint64 no max age", sign("__________8"), NoMaxAge, t0, "loaded", maxUnix},
		{"missing timestamp", ts.Signer().Sign([]byte("p")), time.Hour, t0, "malformed", 0},
		{"no separator", []byte("garbage"), time.Hour, t0, "malformed", 0},
		{"empty", nil, time.Hour, t0, "malformed", 0},
		{"bad signature", []byte("p.ZVPxAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"), time.Hour, t0, "bad signature", 0},
		{"short signature", []byte("p.ZVPxAA.AAAA"), time.Hour, t0, "bad signature", 0},
		{"empty signature", []byte("p.ZVPxAA."), time.Hour, t0, "bad signature", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, at, err := ts.Unsign(c.value, c.maxAge, c.now)
			if got := classify(err); got != c.class {
				t.Fatalf("class %s (%v), want %s", got, err, c.class)
			}
			if ts.Validate(c.value, c.maxAge, c.now) != (c.class == "loaded") {
				t.Error("Validate disagrees with Unsign")
			}
			switch c.class {
			case "loaded":
				if string(p) != "p" || at.Unix() != c.at || at.Location() != time.UTC {
					t.Errorf("got %q at %v, want p at %d", p, at, c.at)
				}
			case "expired":
				var ee *ExpiredError
				if !errors.As(err, &ee) || ee.SignedAt.Unix() != c.at || at.Unix() != c.at || string(ee.Payload) != "p" {
					t.Fatalf("ExpiredError %+v, at %v", ee, at)
				}
				for _, target := range []error{ErrSignatureExpired, ErrBadTimeSignature, ErrBadSignature, ErrBadData} {
					if !errors.Is(err, target) {
						t.Errorf("not Is(%v)", target)
					}
				}
				if errors.Is(err, ErrMalformed) || errors.Is(err, ErrBadPayload) {
					t.Error("expired is malformed or bad payload")
				}
				if !strings.HasPrefix(err.Error(), "itsdangerous: signature age ") {
					t.Errorf("message %q", err)
				}
			case "malformed":
				if !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrBadData) || errors.Is(err, ErrSignatureExpired) {
					t.Errorf("malformed class chain wrong: %v", err)
				}
			case "bad signature":
				if !errors.Is(err, ErrBadTimeSignature) {
					t.Errorf("timed mismatch is not a BadTimeSignature: %v", err)
				}
			}
		})
	}
}

func TestParseAndAppendTimestamp(t *testing.T) {
	for _, sec := range []int64{0, 1, 255, 256, 1700000000, 1<<32 - 1, 1 << 32, 1<<62 + 5} {
		enc := AppendTimestamp(nil, time.Unix(sec, 0))
		got, ok := ParseTimestamp(enc)
		if !ok || got != uint64(sec) {
			t.Errorf("%d: %q → %d, %v", sec, enc, got, ok)
		}
	}
	if s := string(AppendTimestamp(nil, t0)); s != "ZVPxAA" {
		t.Errorf("1700000000 → %s", s)
	}
	if s := string(AppendTimestamp(nil, time.Unix(0, 0))); s != "" {
		t.Errorf("0 → %q", s)
	}
}

func TestSignerUnsign(t *testing.T) {
	s, _ := NewSigner(SignerConfig{SecretKeys: [][]byte{[]byte("secret")}})
	v := s.Sign([]byte("hello"))
	cases := map[string]struct {
		in    string
		class string
	}{
		"valid":           {string(v), "loaded"},
		"trailing =":      {string(v) + "=", "loaded"},
		"trailing ==":     {string(v) + "==", "loaded"},
		"no sep":          {"hello", "malformed"},
		"flipped":         {"hellp." + string(v[6:]), "bad signature"},
		"truncated sig":   {string(v[:len(v)-1]), "bad signature"},
		"sig with ! char": {string(v[:len(v)-1]) + "!", "bad signature"},
		// Python ignores the 2 unused bits of the 27th character too:
		// Signer("secret").unsign("hello.7KTthSs1fJgtbigPvFpQH1bpoGB") == b"hello".
		"unused low bits": {"hello.7KTthSs1fJgtbigPvFpQH1bpoGB", "loaded"},
		"used bits":       {"hello.7KTthSs1fJgtbigPvFpQH1bpoGE", "bad signature"},
	}
	for name, c := range cases {
		p, err := s.Unsign([]byte(c.in))
		if got := classify(err); got != c.class {
			t.Errorf("%s: %s (%v), want %s", name, got, err, c.class)
		}
		if c.class == "loaded" && string(p) != "hello" {
			t.Errorf("%s: payload %q", name, p)
		}
		if c.class == "bad signature" && errors.Is(err, ErrBadTimeSignature) {
			t.Errorf("%s: untimed mismatch is a BadTimeSignature", name)
		}
	}
	if !s.VerifySignature([]byte("hello"), v[6:]) || s.VerifySignature([]byte("hellp"), v[6:]) {
		t.Error("VerifySignature")
	}
	// AppendSign keeps dst's prefix and does not sign it.
	out := s.AppendSign([]byte("prefix:"), []byte("hello"))
	if string(out) != "prefix:"+string(v) {
		t.Errorf("AppendSign = %s", out)
	}
}

func TestSerializerCompression(t *testing.T) {
	ser, _ := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("k")}})
	for _, n := range []int{0, 1, 8, 9, 10, 20, 100, 5000} {
		data := []byte(strings.Repeat("a", n))
		v := ser.Dumps(data, t0)
		back, at, err := ser.Loads(v, time.Hour, t0)
		if err != nil || !bytes.Equal(back, data) || !at.Equal(t0) {
			t.Errorf("n=%d: %q, %v", n, back, err)
		}
		// the zlib rule: "." + b64(z) only if len(z) < len(data)-1.
		var zb bytes.Buffer
		zw := zlib.NewWriter(&zb)
		zw.Write(data)
		zw.Close()
		compressed := bytes.Count(v, []byte(".")) == 3
		if wantDot := zb.Len() < len(data)-1; compressed != wantDot {
			t.Errorf("n=%d: compressed=%v, want %v (zlib %d bytes)", n, compressed, wantDot, zb.Len())
		}
	}
	// Levels and DisableCompression.
	big := []byte(strings.Repeat(`{"x":1}`, 50))
	for _, cfg := range []SerializerConfig{
		{CompressionLevel: 1}, {CompressionLevel: 9}, {CompressionLevel: -1}, {DisableCompression: true},
	} {
		cfg.SecretKeys = [][]byte{[]byte("k")}
		s, err := NewURLSafeTimedSerializer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		v := s.Dumps(big, t0)
		if (v[0] == '.') == cfg.DisableCompression {
			t.Errorf("%+v: compressed = %v", cfg, v[0] == '.')
		}
		if back, _, err := ser.Loads(v, time.Hour, t0); err != nil || !bytes.Equal(back, big) {
			t.Errorf("%+v: round trip %v", cfg, err)
		}
	}
	// untimed serializer round trip
	us, _ := NewURLSafeSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("k")}})
	data := []byte(strings.Repeat(`{"x":1}`, 50))
	v := us.Dumps(data)
	if v[0] != '.' {
		t.Errorf("untimed Dumps not compressed: %s", v)
	}
	if back, err := us.Loads(v); err != nil || !bytes.Equal(back, data) {
		t.Errorf("untimed Loads = %q, %v", back, err)
	}
	if _, err := us.Loads([]byte("x.y")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("untimed bad signature: %v", err)
	}
	if us.Signer().Sep() != '.' {
		t.Error("Signer accessor")
	}
	// AppendDumps keeps the prefix.
	out := ser.AppendDumps([]byte("session="), []byte(`{"a":1}`), t0)
	if !bytes.HasPrefix(out, []byte("session=")) {
		t.Fatalf("AppendDumps = %s", out)
	}
	if back, _, err := ser.Loads(out[len("session="):], time.Hour, t0); err != nil || string(back) != `{"a":1}` {
		t.Errorf("AppendDumps round trip: %q, %v", back, err)
	}
}

// signPayload signs an arbitrary payload segment so that decoding is
// reached (only key holders can do this).
func signPayload(ser *URLSafeTimedSerializer, payload []byte) []byte {
	return ser.Signer().Sign(payload, t0)
}

func zlibB64(data []byte, level int) string {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, level)
	zw.Write(data)
	zw.Close()
	return base64.RawURLEncoding.EncodeToString(b.Bytes())
}

func TestBadPayloadAndCap(t *testing.T) {
	const capSize = 4096
	ser, _ := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("k")}, MaxDecompressedSize: capSize})
	full := zlibB64(bytes.Repeat([]byte("a"), 1<<20), zlib.BestCompression)
	exact := zlibB64(bytes.Repeat([]byte("b"), capSize), zlib.DefaultCompression)
	over := zlibB64(bytes.Repeat([]byte("b"), capSize+1), zlib.DefaultCompression)
	ok := zlibB64([]byte(`{"a":1}`), zlib.DefaultCompression)
	cases := map[string]struct {
		payload string
		ok      bool
		size    int
	}{
		"bomb 1 MiB":                 {"." + full, false, 0},
		"exactly the cap":            {"." + exact, true, capSize},
		"one over the cap":           {"." + over, false, 0},
		"valid":                      {"." + ok, true, 7},
		"padded payload":             {"eyJhIjoxfQ==", true, 7},
		"bad base64":                 {"ey!!", false, 0},
		"bad base64 length":          {"eyJhI", false, 0},
		"dot marker on plain base64": {".eyJhIjoxfQ", false, 0},
		"dot only":                   {".", false, 0},
		"truncated zlib":             {"." + ok[:len(ok)-4], false, 0},
		"empty plain":                {"", true, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			data, _, err := ser.Loads(signPayload(ser, []byte(c.payload)), time.Hour, t0)
			if c.ok {
				if err != nil || len(data) != c.size {
					t.Fatalf("got %d bytes, %v; want %d", len(data), err, c.size)
				}
				return
			}
			var pe *PayloadError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadPayload) || errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %#v, want *PayloadError", err)
			}
			if !strings.HasPrefix(err.Error(), "itsdangerous: bad payload") {
				t.Errorf("message %q", err)
			}
		})
	}
	// The decompressor is only reached after the signature verified: a
	// bomb with a wrong signature is a bad signature, not a bad payload.
	v := signPayload(ser, []byte("."+full))
	v[len(v)-2] ^= 1
	if _, _, err := ser.Loads(v, time.Hour, t0); classify(err) != "bad signature" {
		t.Errorf("tampered bomb: %v", err)
	}
	// DecodePayload of an expired value's payload.
	exp := ser.Dumps([]byte(`{"old":true}`), t0.Add(-2*time.Hour))
	_, at, err := ser.Loads(exp, time.Hour, t0)
	var ee *ExpiredError
	if !errors.As(err, &ee) || !at.Equal(t0.Add(-2*time.Hour)) || ee.Age != 7200 {
		t.Fatalf("expired: %v %v", err, at)
	}
	if got, err := ser.DecodePayload(ee.Payload); err != nil || string(got) != `{"old":true}` {
		t.Errorf("DecodePayload = %q, %v", got, err)
	}
	// A caller-wrapped JSON error keeps the classification.
	jsonErr := &PayloadError{Reason: "invalid JSON", Err: errors.New("boom")}
	if !errors.Is(jsonErr, ErrBadPayload) || jsonErr.Error() != "itsdangerous: bad payload: invalid JSON: boom" {
		t.Errorf("PayloadError = %v", jsonErr)
	}
}

func TestErrorHierarchy(t *testing.T) {
	type rel struct {
		err, target error
		want        bool
	}
	rels := []rel{
		{ErrBadSignature, ErrBadData, true},
		{ErrBadTimeSignature, ErrBadSignature, true},
		{ErrSignatureExpired, ErrBadTimeSignature, true},
		{ErrSignatureExpired, ErrBadData, true},
		{ErrMalformed, ErrBadSignature, true},
		{ErrMalformed, ErrBadTimeSignature, false},
		{ErrBadPayload, ErrBadData, true},
		{ErrBadPayload, ErrBadSignature, false},
		{ErrBadSignature, ErrBadPayload, false},
		{errTimestampMissing, ErrBadTimeSignature, true},
		{errTimestampMissing, ErrMalformed, true},
		{errMalformedTimestamp, ErrMalformed, true},
		{errNoSeparator, ErrBadTimeSignature, false},
		{&ExpiredError{}, ErrSignatureExpired, true},
		{&PayloadError{}, ErrBadPayload, true},
		{&PayloadError{}, ErrBadSignature, false},
	}
	for _, r := range rels {
		if got := errors.Is(r.err, r.target); got != r.want {
			t.Errorf("errors.Is(%v, %v) = %v", r.err, r.target, got)
		}
	}
	for _, e := range []error{ErrBadData, ErrBadSignature, ErrBadTimeSignature, ErrSignatureExpired, ErrMalformed, ErrBadPayload,
		errNoSeparator, errSignatureMismatch, errTimestampMissing, errMalformedTimestamp, &ExpiredError{Age: -1}, &PayloadError{}} {
		if !strings.HasPrefix(e.Error(), "itsdangerous: ") {
			t.Errorf("message without prefix: %q", e)
		}
	}
}

func TestZeroAllocVerify(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ts, _ := NewTimestampSigner(SignerConfig{SecretKeys: [][]byte{[]byte("old"), []byte("new")}, KeyDerivation: HMAC})
	v := ts.Sign([]byte("eyJ1c2VyX2lkIjo0Mn0"), t0)
	old, _ := NewTimestampSigner(SignerConfig{SecretKeys: [][]byte{[]byte("old")}, KeyDerivation: HMAC})
	vOld := old.Sign([]byte("eyJ1c2VyX2lkIjo0Mn0"), t0)
	s := ts.Signer()
	plain := s.Sign([]byte("x"))
	checks := map[string]func(){
		"TimestampSigner.Unsign":          func() { _, _, _ = ts.Unsign(v, time.Hour, t0) },
		"TimestampSigner.Unsign/fallback": func() { _, _, _ = ts.Unsign(vOld, time.Hour, t0) },
		"TimestampSigner.Unsign/bad":      func() { _, _, _ = ts.Unsign(plain, time.Hour, t0) },
		"Signer.Unsign":                   func() { _, _ = s.Unsign(plain) },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", name, n)
		}
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(200, func() { buf = ts.AppendSign(buf[:0], []byte("eyJ1c2VyX2lkIjo0Mn0"), t0) }); n != 0 {
		t.Errorf("AppendSign into a large enough buffer: %v allocs/op, want 0", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	ser, _ := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("a"), []byte("b")}, KeyDerivation: HMAC})
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func(g int) {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				data := []byte(strings.Repeat(string(rune('a'+g)), i))
				v := ser.Dumps(data, t0)
				var back []byte
				back, _, err = ser.Loads(v, time.Hour, t0)
				if err == nil && !bytes.Equal(back, data) {
					err = errors.New("round trip mismatch")
				}
			}
			done <- err
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
