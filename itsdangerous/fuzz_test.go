package itsdangerous

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// fuzzMaxDecompressed is deliberately small so that the fuzzer can reach
// the cap; allocations are bounded by it.
const fuzzMaxDecompressed = 64 << 10

// addVectorSeeds adds the cookie values of the Flask vectors, if present.
func addVectorSeeds(f *testing.F) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		return // the committed corpus under testdata/fuzz still seeds the run
	}
	var v vecFile
	if json.Unmarshal(raw, &v) != nil {
		return
	}
	for _, st := range v.Stacks {
		for _, c := range st.Cookies {
			f.Add([]byte(c.CookieValue))
		}
		for _, n := range st.Negative {
			f.Add([]byte(n.CookieValue))
		}
		for _, c := range st.IndependentEncoder {
			f.Add([]byte(c.CookieValue))
		}
	}
}

// FuzzUnsign feeds arbitrary input to TimestampSigner.Unsign and
// URLSafeTimedSerializer.Loads under the Flask profile (keys K1 and K2, so
// most vector seeds verify). It also signs the input as a payload segment,
// so the decoder (base64, zlib, size cap) sees arbitrary validly signed
// data. Nothing may panic, errors must be classified, and no output may
// exceed the decompression cap.
func FuzzUnsign(f *testing.F) {
	addVectorSeeds(f)
	f.Add([]byte("eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8"))
	f.Add([]byte(".eJyrVkpJLElUslJKHAWjgAZAqRYQAAD__yOI5q0.ZVPxAA.i912EtU2W1sFd5sLDEZUP3yR-nY"))
	f.Add([]byte(""))
	f.Add([]byte("..."))
	f.Add([]byte(".eJzLSMzJyVcozy_KSQEAGgQEXQ"))

	cfg := SerializerConfig{
		SecretKeys:          [][]byte{[]byte("clé-secrète-ünïcode"), []byte("dev-secret-key")},
		Salt:                []byte("cookie-session"),
		KeyDerivation:       HMAC,
		MaxDecompressedSize: fuzzMaxDecompressed,
	}
	ser, err := NewURLSafeTimedSerializer(cfg)
	if err != nil {
		f.Fatal(err)
	}
	ts := ser.Signer()
	now := time.Unix(1700000000, 0)
	const maxAge = 2678400 * time.Second

	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		p, at, err := ts.Unsign(in, maxAge, now)
		checkClass(t, err, false)
		if err == nil {
			if !bytes.HasPrefix(in, p) || at.IsZero() {
				t.Fatalf("payload %q not a prefix of the input", p)
			}
		}
		data, _, lerr := ser.Loads(in, maxAge, now)
		checkClass(t, lerr, true)
		if (err == nil) != (lerr == nil || errors.Is(lerr, ErrBadPayload)) {
			t.Fatalf("Unsign and Loads disagree: %v vs %v", err, lerr)
		}
		if len(data) > fuzzMaxDecompressed {
			t.Fatalf("Loads returned %d bytes, over the cap", len(data))
		}
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}

		// The input as a validly signed payload: only the decoder can fail.
		signed := ts.Sign(in, now)
		data, _, err = ser.Loads(signed, maxAge, now)
		checkClass(t, err, true)
		if err != nil && !errors.Is(err, ErrBadPayload) {
			t.Fatalf("validly signed payload: %v", err)
		}
		if len(data) > fuzzMaxDecompressed {
			t.Fatalf("Loads returned %d bytes, over the cap", len(data))
		}

		// And the input as data: Dumps/Loads must round-trip.
		if len(in) <= fuzzMaxDecompressed {
			out, _, err := ser.Loads(ser.Dumps(in, now), maxAge, now)
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("round trip: %q, %v", out, err)
			}
		}
	})
}

// checkClass fails unless err is nil or one of the documented classes.
func checkClass(t *testing.T, err error, payloadOK bool) {
	t.Helper()
	if err == nil {
		return
	}
	if !errors.Is(err, ErrBadData) {
		t.Fatalf("unclassified error %#v", err)
	}
	if errors.Is(err, ErrBadPayload) {
		if !payloadOK || errors.Is(err, ErrBadSignature) {
			t.Fatalf("unexpected bad payload %v", err)
		}
		return
	}
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("neither bad signature nor bad payload: %v", err)
	}
	if errors.Is(err, ErrSignatureExpired) {
		var ee *ExpiredError
		if !errors.As(err, &ee) || ee.SignedAt.IsZero() {
			t.Fatalf("expired without *ExpiredError: %#v", err)
		}
	}
}
