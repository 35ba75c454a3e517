package flaskcookie

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// FuzzDecode: no input panics; whatever verifies re-encodes and verifies.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(vectorsPath); err == nil {
		var v vectorFile
		if json.Unmarshal(b, &v) == nil {
			for _, st := range v.Stacks {
				for _, c := range st.Cookies {
					f.Add(c.CookieValue)
				}
				for _, c := range st.Negative {
					f.Add(c.CookieValue)
				}
			}
		}
	}
	f.Add("eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	codec, err := New(Config{SecretKey: []byte("dev-secret-key"), MaxAge: -1})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, value string) {
		_, _ = DecodeUnverified(value)
		m, _, err := codec.Decode(value, now)
		if err != nil {
			return
		}
		enc, err := codec.Encode(m, now)
		if err != nil {
			t.Fatalf("decoded value does not re-encode: %v", err)
		}
		if _, _, err := codec.Decode(enc, now); err != nil {
			t.Fatalf("own cookie rejected: %v", err)
		}
	})
}
