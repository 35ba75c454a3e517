package itsdangerous

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/internal/testvectors"
)

// vectorsPath is relative to the package directory (the test's cwd).
var vectorsPath = testvectors.Path(testvectors.Cookie)

const (
	vecNow    = 1700000000
	vecMaxAge = 2678400 * time.Second
)

type vecKey struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	Hex   string `json:"hex"`
}

func (k vecKey) bytes(t *testing.T) []byte {
	t.Helper()
	switch k.Type {
	case "str":
		return []byte(k.Value)
	case "bytes":
		b, err := hex.DecodeString(k.Hex)
		if err != nil {
			t.Fatalf("bad key hex %q: %v", k.Hex, err)
		}
		return b
	}
	t.Fatalf("unknown key type %q", k.Type)
	return nil
}

type vecCookie struct {
	ID                string `json:"id"`
	SecretKey         vecKey `json:"secret_key"`
	DerivedKeyHex     string `json:"derived_key_hex"`
	CookieValue       string `json:"cookie_value"`
	PayloadSegment    string `json:"payload_segment"`
	TimestampSegment  string `json:"timestamp_segment"`
	Timestamp         int64  `json:"timestamp"`
	Compressed        bool   `json:"compressed"`
	JSON              string `json:"json"`
	CompressedZlibHex string `json:"compressed_zlib_hex"`
}

type vecNegative struct {
	ID          string `json:"id"`
	CookieValue string `json:"cookie_value"`
	SecretKey   vecKey `json:"secret_key"`
	Now         int64  `json:"now"`
	MaxAge      int64  `json:"max_age"`
	Outcome     string `json:"outcome"`
}

type vecRotation struct {
	ID          string   `json:"id"`
	SecretKey   string   `json:"secret_key"`
	Fallbacks   []string `json:"fallbacks"`
	CookieValue string   `json:"cookie_value"`
	Outcome     string   `json:"outcome"`
}

type vecIndependent struct {
	ID          string `json:"id"`
	CookieValue string `json:"cookie_value"`
	Status      int    `json:"status"`
}

type vecStack struct {
	Stack              string           `json:"stack"`
	Cookies            []vecCookie      `json:"cookies"`
	Negative           []vecNegative    `json:"negative"`
	Rotation           []vecRotation    `json:"rotation"`
	IndependentEncoder []vecIndependent `json:"independent_encoder"`
}

type vecFile struct {
	FixedTimestamp int64             `json:"fixed_timestamp"`
	Salt           string            `json:"salt"`
	KeyDerivation  string            `json:"key_derivation"`
	Digest         string            `json:"digest"`
	DefaultMaxAge  int64             `json:"default_max_age_seconds"`
	SecretKeys     map[string]vecKey `json:"secret_keys"`
	Stacks         []vecStack        `json:"stacks"`
}

// loadVectors reads the shared Flask vectors; it skips when they are absent
// unless COATCHECK_REQUIRE_INTEGRATION is set.
func loadVectors(tb testing.TB) *vecFile {
	tb.Helper()
	raw := testvectors.Read(tb, testvectors.Cookie)
	var v vecFile
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("parse %s: %v", vectorsPath, err)
	}
	if len(v.Stacks) == 0 {
		tb.Fatalf("%s: no stacks", vectorsPath)
	}
	return &v
}

func flaskSerializer(t *testing.T, keys ...[]byte) *URLSafeTimedSerializer {
	t.Helper()
	s, err := NewURLSafeTimedSerializer(SerializerConfig{
		SecretKeys:    keys,
		Salt:          []byte("cookie-session"),
		KeyDerivation: HMAC,
		Digest:        SHA1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVectorsHeader(t *testing.T) {
	v := loadVectors(t)
	if v.FixedTimestamp != vecNow || v.Salt != "cookie-session" || v.KeyDerivation != "hmac" ||
		v.Digest != "sha1" || v.DefaultMaxAge != int64(vecMaxAge/time.Second) {
		t.Fatalf("unexpected vector parameters: %+v", v)
	}
	if kd, err := ParseKeyDerivation(v.KeyDerivation); err != nil || kd != HMAC {
		t.Errorf("ParseKeyDerivation(%q) = %v, %v", v.KeyDerivation, kd, err)
	}
	if d, err := ParseDigest(v.Digest); err != nil || d != SHA1 {
		t.Errorf("ParseDigest(%q) = %v, %v", v.Digest, d, err)
	}
}

func TestVectorsCookies(t *testing.T) {
	v := loadVectors(t)
	now := time.Unix(vecNow, 0)
	for _, st := range v.Stacks {
		if len(st.Cookies) == 0 {
			t.Errorf("%s: no cookies", st.Stack)
		}
		for _, c := range st.Cookies {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				key := c.SecretKey.bytes(t)
				dk, err := DeriveKey(HMAC, SHA1, []byte("cookie-session"), key)
				if err != nil {
					t.Fatal(err)
				}
				if got := hex.EncodeToString(dk); got != c.DerivedKeyHex {
					t.Errorf("derived key = %s, want %s", got, c.DerivedKeyHex)
				}

				ser := flaskSerializer(t, key)
				payload, signedAt, err := ser.Signer().Unsign([]byte(c.CookieValue), vecMaxAge, now)
				if err != nil {
					t.Fatalf("Unsign: %v", err)
				}
				if string(payload) != c.PayloadSegment {
					t.Errorf("payload = %q, want %q", payload, c.PayloadSegment)
				}
				if signedAt.Unix() != c.Timestamp || !signedAt.Equal(time.Unix(vecNow, 0)) {
					t.Errorf("signedAt = %v, want %d", signedAt, c.Timestamp)
				}

				data, signedAt, err := ser.Loads([]byte(c.CookieValue), vecMaxAge, now)
				if err != nil {
					t.Fatalf("Loads: %v", err)
				}
				if string(data) != c.JSON {
					t.Errorf("Loads = %q, want %q", data, c.JSON)
				}
				if signedAt.Unix() != c.Timestamp {
					t.Errorf("Loads signedAt = %v, want %d", signedAt, c.Timestamp)
				}

				if c.Compressed {
					if c.PayloadSegment[0] != '.' {
						t.Errorf("compressed payload does not start with '.'")
					}
					z, err := hex.DecodeString(c.CompressedZlibHex)
					if err != nil {
						t.Fatal(err)
					}
					zr, err := zlib.NewReader(bytes.NewReader(z))
					if err != nil {
						t.Fatal(err)
					}
					plain, err := io.ReadAll(zr)
					if err != nil {
						t.Fatal(err)
					}
					if string(plain) != c.JSON {
						t.Errorf("zlib(compressed_zlib_hex) = %q, want %q", plain, c.JSON)
					}
					// Our own (Go zlib) encoding must still round-trip.
					out := ser.Dumps([]byte(c.JSON), now)
					back, _, err := ser.Loads(out, vecMaxAge, now)
					if err != nil || string(back) != c.JSON {
						t.Errorf("Dumps/Loads round trip of %s: %q, %v", out, back, err)
					}
					return
				}
				if got := ser.Dumps([]byte(c.JSON), now); string(got) != c.CookieValue {
					t.Errorf("Dumps = %s\n          want %s", got, c.CookieValue)
				}
			})
		}
	}
}

// negativeClass is the error class each negative vector must produce; the
// file records only Flask's outcome (empty_session or http_500).
var negativeClass = map[string]string{
	"valid":                   "loaded",
	"sig_char_flipped":        "bad signature",
	"payload_char_flipped":    "bad signature",
	"wrong_secret":            "bad signature",
	"sig_trailing_equals":     "loaded",
	"no_dots":                 "malformed",
	"empty_value":             "malformed",
	"age_equals_max_age":      "loaded",
	"expired_by_one_second":   "expired",
	"future_timestamp":        "expired",
	"no_timestamp":            "malformed",
	"validly_signed_bad_zlib": "bad payload",
	"validly_signed_bad_json": "json", // valid for itsdangerous; the JSON layer fails
}

// classify maps an error to the CLI's four words.
func classify(err error) string {
	switch {
	case err == nil:
		return "loaded"
	case errors.Is(err, ErrBadPayload):
		return "bad payload"
	case errors.Is(err, ErrSignatureExpired):
		return "expired"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrBadSignature):
		return "bad signature"
	}
	return "unclassified: " + err.Error()
}

func TestVectorsNegative(t *testing.T) {
	v := loadVectors(t)
	for _, st := range v.Stacks {
		if len(st.Negative) == 0 {
			t.Errorf("%s: no negative vectors", st.Stack)
		}
		for _, n := range st.Negative {
			t.Run(st.Stack+"/"+n.ID, func(t *testing.T) {
				want, ok := negativeClass[n.ID]
				if !ok {
					t.Fatalf("no expected class for negative vector %q (outcome %s)", n.ID, n.Outcome)
				}
				ser := flaskSerializer(t, n.SecretKey.bytes(t))
				data, _, err := ser.Loads([]byte(n.CookieValue), time.Duration(n.MaxAge)*time.Second, time.Unix(n.Now, 0))
				got := classify(err)
				switch n.Outcome {
				case "loaded":
					if want != "loaded" || got != "loaded" {
						t.Fatalf("outcome loaded: got %s (%v)", got, err)
					}
					if string(data) != `{"user_id":42}` {
						t.Errorf("data = %q", data)
					}
				case "empty_session":
					if got != want {
						t.Fatalf("got %s (%v), want %s", got, err, want)
					}
					if !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrBadPayload) {
						t.Errorf("empty_session must be a BadSignature and not a BadPayload: %v", err)
					}
				case "http_500":
					if want == "json" {
						// Valid signature and base64: the bytes are not JSON,
						// which the caller's JSON layer reports.
						if err != nil {
							t.Fatalf("Loads: %v", err)
						}
						if json.Valid(data) {
							t.Fatalf("payload %q is valid JSON", data)
						}
						perr := error(&PayloadError{Reason: "invalid JSON"})
						if !errors.Is(perr, ErrBadPayload) || errors.Is(perr, ErrBadSignature) {
							t.Errorf("PayloadError classification wrong")
						}
						return
					}
					if got != "bad payload" {
						t.Fatalf("got %s (%v), want bad payload", got, err)
					}
					var pe *PayloadError
					if !errors.As(err, &pe) || errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrBadData) {
						t.Errorf("bad payload error has the wrong shape: %#v", err)
					}
				default:
					t.Fatalf("unknown outcome %q", n.Outcome)
				}
				if want == "expired" {
					var ee *ExpiredError
					if !errors.As(err, &ee) {
						t.Fatalf("not an *ExpiredError: %#v", err)
					}
					if ee.SignedAt.IsZero() || ee.MaxAge != vecMaxAge || string(ee.Payload) != "eyJ1c2VyX2lkIjo0Mn0" {
						t.Errorf("ExpiredError = %+v", ee)
					}
				}
			})
		}
	}
}

func TestVectorsRotation(t *testing.T) {
	v := loadVectors(t)
	now := time.Unix(vecNow, 0)
	seen := 0
	for _, st := range v.Stacks {
		if st.Stack == "flask-3.1.3" && len(st.Rotation) == 0 {
			t.Errorf("flask-3.1.3: no rotation vectors")
		}
		for _, r := range st.Rotation {
			seen++
			t.Run(st.Stack+"/"+r.ID, func(t *testing.T) {
				// Flask ≥ 3.1.1: [*fallbacks, SECRET_KEY], oldest first.
				var keys [][]byte
				for _, f := range r.Fallbacks {
					keys = append(keys, []byte(f))
				}
				keys = append(keys, []byte(r.SecretKey))
				ser := flaskSerializer(t, keys...)
				data, _, err := ser.Loads([]byte(r.CookieValue), vecMaxAge, now)
				switch r.ID {
				case "fallback_accepted":
					if err != nil || string(data) != `{"user_id":42}` {
						t.Fatalf("fallback cookie: %q, %v", data, err)
					}
				case "new_cookie_signed_with":
					if err != nil {
						t.Fatalf("Loads: %v", err)
					}
					if got := ser.Dumps(data, now); string(got) != r.CookieValue {
						t.Errorf("new cookie = %s, want %s", got, r.CookieValue)
					}
					only := flaskSerializer(t, []byte(r.SecretKey))
					if got := only.Dumps(data, now); string(got) != r.CookieValue {
						t.Errorf("signed with SECRET_KEY alone = %s, want %s", got, r.CookieValue)
					}
				case "no_fallbacks_rejects_old":
					if len(r.Fallbacks) != 0 || r.Outcome != "empty_session" {
						t.Fatalf("unexpected vector %+v", r)
					}
					if classify(err) != "bad signature" {
						t.Fatalf("got %s (%v), want bad signature", classify(err), err)
					}
				default:
					t.Fatalf("unknown rotation vector %q", r.ID)
				}
			})
		}
	}
	if seen == 0 {
		t.Error("no rotation vectors in any stack")
	}
}

func TestVectorsIndependentEncoder(t *testing.T) {
	v := loadVectors(t)
	now := time.Unix(vecNow, 0)
	k1 := v.SecretKeys["K1"].bytes(t)
	for _, st := range v.Stacks {
		if len(st.IndependentEncoder) == 0 {
			t.Errorf("%s: no independent_encoder vectors", st.Stack)
		}
		for _, c := range st.IndependentEncoder {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				if c.Status != 200 {
					t.Fatalf("status %d", c.Status)
				}
				data, _, err := flaskSerializer(t, k1).Loads([]byte(c.CookieValue), vecMaxAge, now)
				if err != nil {
					t.Fatalf("Loads: %v", err)
				}
				if !json.Valid(data) {
					t.Errorf("not JSON: %q", data)
				}
			})
		}
	}
}
