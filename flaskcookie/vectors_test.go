package flaskcookie

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/itsdangerous"
	"github.com/coatcheck/coatcheck/pyval"
	"github.com/coatcheck/coatcheck/taggedjson"
)

var vectorsPath = testvectors.Path(testvectors.Cookie)

type secretKey struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	Hex   string `json:"hex"`
}

func (k secretKey) bytes(t *testing.T) []byte {
	if k.Type == "bytes" {
		b, err := hex.DecodeString(k.Hex)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(k.Value)
}

type vectorFile struct {
	Stacks []struct {
		Stack   string `json:"stack"`
		Cookies []struct {
			ID            string    `json:"id"`
			SecretKey     secretKey `json:"secret_key"`
			CookieValue   string    `json:"cookie_value"`
			JSON          string    `json:"json"`
			Compressed    bool      `json:"compressed"`
			Lossless      bool      `json:"lossless_roundtrip"`
			ReprAfterLoad string    `json:"session_repr_after_load"`
		} `json:"cookies"`
		Negative []struct {
			ID          string    `json:"id"`
			CookieValue string    `json:"cookie_value"`
			SecretKey   secretKey `json:"secret_key"`
			Now         int64     `json:"now"`
			MaxAge      int64     `json:"max_age"`
			Outcome     string    `json:"outcome"`
			Repr        string    `json:"session_repr"`
		} `json:"negative"`
		Rotation []struct {
			ID          string   `json:"id"`
			SecretKey   string   `json:"secret_key"`
			Fallbacks   []string `json:"fallbacks"`
			CookieValue string   `json:"cookie_value"`
			Outcome     string   `json:"outcome"`
		} `json:"rotation"`
		Independent []struct {
			ID          string `json:"id"`
			CookieValue string `json:"cookie_value"`
			Repr        string `json:"session_repr"`
		} `json:"independent_encoder"`
	} `json:"stacks"`
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	b := testvectors.Read(t, testvectors.Cookie)
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

var vectorTime = time.Unix(1700000000, 0)

func TestCookieVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, st := range v.Stacks {
		for _, c := range st.Cookies {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				codec, err := New(Config{SecretKey: c.SecretKey.bytes(t)})
				if err != nil {
					t.Fatal(err)
				}
				m, signedAt, err := codec.Decode(c.CookieValue, vectorTime)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !signedAt.Equal(vectorTime) {
					t.Errorf("signedAt %v", signedAt)
				}
				if got := pyval.Repr(m); got != sortedRepr(c.ReprAfterLoad) {
					t.Errorf("decoded %s\nwant    %s", got, c.ReprAfterLoad)
				}
				enc, err := codec.Encode(m, vectorTime)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				switch {
				case !c.Compressed && c.Lossless:
					if enc != c.CookieValue {
						t.Errorf("re-signed %s\nFlask    %s", enc, c.CookieValue)
					}
				default:
					// compressed (Go's zlib differs) or lossy: same JSON, and it verifies
					j, _, err := codec.DecodeJSON(enc, vectorTime)
					if err != nil {
						t.Fatalf("own cookie rejected: %v", err)
					}
					want := c.JSON
					if !c.Lossless {
						b, _ := taggedjson.Marshal(m)
						want = string(b)
					}
					if string(j) != want {
						t.Errorf("round-trip JSON %s\nwant           %s", j, want)
					}
				}
				n++
			})
		}
	}
	if n != 72 {
		t.Errorf("ran %d cookie vectors, want 72 (36 per stack)", n)
	}
}

func TestNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	for _, st := range v.Stacks {
		for _, c := range st.Negative {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				codec, err := New(Config{SecretKey: c.SecretKey.bytes(t), MaxAge: time.Duration(c.MaxAge) * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				m, _, err := codec.Decode(c.CookieValue, time.Unix(c.Now, 0))
				switch c.Outcome {
				case "loaded":
					if err != nil || pyval.Repr(m) != c.Repr {
						t.Errorf("got %s, %v; want %s", pyval.Repr(m), err, c.Repr)
					}
				case "empty_session":
					if err == nil || errors.Is(err, itsdangerous.ErrBadPayload) || !errors.Is(err, itsdangerous.ErrBadSignature) {
						t.Errorf("err = %v, want a BadSignature-class rejection", err)
					}
				case "http_500":
					if !errors.Is(err, itsdangerous.ErrBadPayload) {
						t.Errorf("err = %v, want ErrBadPayload (Flask: 500)", err)
					}
				default:
					t.Fatalf("unknown outcome %q", c.Outcome)
				}
			})
		}
	}
}

func TestRotationVectors(t *testing.T) {
	v := loadVectors(t)
	ran := 0
	for _, st := range v.Stacks {
		for _, c := range st.Rotation {
			ran++
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				var fb [][]byte
				for _, f := range c.Fallbacks {
					fb = append(fb, []byte(f))
				}
				codec, err := New(Config{SecretKey: []byte(c.SecretKey), Fallbacks: fb})
				if err != nil {
					t.Fatal(err)
				}
				m, _, err := codec.Decode(c.CookieValue, vectorTime)
				switch c.Outcome {
				case "loaded":
					if err != nil {
						t.Errorf("rejected: %v", err)
					}
				case "empty_session":
					if !errors.Is(err, itsdangerous.ErrBadSignature) {
						t.Errorf("err = %v, want rejection", err)
					}
				case "":
					// new_cookie_signed_with: our fresh cookie equals Flask's
					if err != nil {
						t.Fatal(err)
					}
					enc, err := codec.Encode(m, vectorTime)
					if err != nil || enc != c.CookieValue {
						t.Errorf("signed %s, Flask %s (%v)", enc, c.CookieValue, err)
					}
				}
			})
		}
	}
	if ran == 0 {
		t.Error("no rotation vectors")
	}
}

func TestIndependentEncoderVectors(t *testing.T) {
	v := loadVectors(t)
	codec, err := New(Config{SecretKey: []byte("dev-secret-key")})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range v.Stacks {
		for _, c := range st.Independent {
			t.Run(st.Stack+"/"+c.ID, func(t *testing.T) {
				m, _, err := codec.Decode(c.CookieValue, vectorTime)
				if err != nil {
					t.Fatal(err)
				}
				// session_repr is Python's insertion-ordered repr; compare sorted
				if got, want := pyval.Repr(m), sortedRepr(c.Repr); got != want {
					t.Errorf("got %s\nwant %s", got, want)
				}
			})
		}
	}
}

// sortedRepr maps the few reprs whose key order is not sorted (Python keeps
// insertion order; pyval.Repr sorts) to their sorted form.
func sortedRepr(s string) string {
	switch s {
	case "{'b': 2, 'a': (1, 2)}":
		return "{'a': (1, 2), 'b': 2}"
	case "{'m': {'1': 'one', '9': 'nine', '10': 'ten'}}": // Flask sorts int keys numerically
		return "{'m': {'1': 'one', '10': 'ten', '9': 'nine'}}"
	}
	return s
}

func TestDecodeUnverified(t *testing.T) {
	j, err := DecodeUnverified("eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	if err != nil || string(j) != `{"user_id":42}` {
		t.Errorf("%s %v", j, err)
	}
	if _, err := DecodeUnverified("garbage"); err == nil {
		t.Error("garbage decoded")
	}
}

// TestResignVectors: Resign keeps every Flask cookie's payload: the result
// verifies at the new time with the same JSON, and for the uncompressed,
// lossless vectors it is byte-identical to Encode of the decoded session.
func TestResignVectors(t *testing.T) {
	v := loadVectors(t)
	later := vectorTime.Add(90 * time.Second)
	n := 0
	for _, st := range v.Stacks {
		for _, c := range st.Cookies {
			codec, err := New(Config{SecretKey: c.SecretKey.bytes(t)})
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := codec.Decode(c.CookieValue, vectorTime)
			if err != nil {
				t.Fatalf("%s/%s: Decode: %v", st.Stack, c.ID, err)
			}
			re, err := codec.Resign(c.CookieValue, later)
			if err != nil {
				t.Fatalf("%s/%s: Resign: %v", st.Stack, c.ID, err)
			}
			j, signedAt, err := codec.DecodeJSON(re, later)
			if err != nil || !signedAt.Equal(later) || string(j) != c.JSON {
				t.Errorf("%s/%s: re-signed cookie: JSON %s at %v, %v; want %s at %v", st.Stack, c.ID, j, signedAt, err, c.JSON, later)
			}
			if !c.Compressed && c.Lossless {
				if enc, _ := codec.Encode(m, later); enc != re {
					t.Errorf("%s/%s: Resign %s\nEncode %s", st.Stack, c.ID, re, enc)
				}
			}
			n++
		}
	}
	if n != 72 {
		t.Errorf("ran %d vectors, want 72", n)
	}
	codec, _ := New(Config{SecretKey: []byte("k")})
	for _, bad := range []string{"", "nodots", "one.dot"} {
		if _, err := codec.Resign(bad, later); !errors.Is(err, itsdangerous.ErrMalformed) {
			t.Errorf("Resign(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}
