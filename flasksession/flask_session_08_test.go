package flasksession

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// The Flask-Session 0.8 vectors: what 0.8 stores for representative
// sessions in its msgpack and json formats, derived from its source as
// testdata/gen_flask_session_08_vectors.py documents (msgspec is not
// packaged here, so the bytes come from encoders making msgspec's choices).
type fs08Vectors struct {
	Sessions []struct {
		Name       string `json:"name"`
		MsgpackHex string `json:"msgpack_hex"`
		JSON       string `json:"json"`
	} `json:"sessions"`
}

// fs08Want is each vector's session as Coatcheck's value model has it.
var fs08Want = map[string]map[string]any{
	"login": {"_permanent": true, "username": "alice"},
	"flask_login": {"_permanent": true, "_user_id": "42", "_fresh": true,
		"_id": "9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f"},
	"flashes_and_csrf": {"_permanent": true, "csrf_token": "3f1e2d4c5b6a79880716253443526170ffeeddcc",
		"_flashes": []any{[]any{"message", "You were logged in"}, []any{"error", "Bad input"}}},
	"numbers": {"_permanent": false, "n": int64(300), "neg": int64(-40000), "big": int64(1) << 40, "f": 0.1, "none": nil},
	"unicode": {"_permanent": true, "name": "Zoë 🚀", "tags": []any{"a", "b"}, "prefs": map[string]any{"theme": "dark"}},
	"bytes_and_time": {"_permanent": true, "raw": []byte{0, 1, 0xff},
		"at": time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
}

func loadFS08(t *testing.T) fs08Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/flask_session_08_vectors.json")
	if err != nil {
		t.Fatal(err) // the file is in the repository: never skip
	}
	var v fs08Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Sessions) != len(fs08Want) {
		t.Fatalf("%d vectors, %d expectations", len(v.Sessions), len(fs08Want))
	}
	return v
}

func sameValue(a, b any) bool {
	if x, ok := a.(*big.Int); ok {
		n, _ := pyval.BigInt(b)
		return n != nil && x.Cmp(n) == 0
	}
	if x, ok := a.(time.Time); ok {
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return reflect.DeepEqual(a, b)
}

// TestFlaskSession08Read: every 0.8 msgpack and json vector decodes to the
// session 0.8 stored, through each codec and through the fallback chain 0.8
// itself reads with (msgpack, json, pickle).
func TestFlaskSession08Read(t *testing.T) {
	chain := Fallback(Msgpack, JSON)
	for _, v := range loadFS08(t).Sessions {
		want := fs08Want[v.Name]
		raw, err := hex.DecodeString(v.MsgpackHex)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string][]byte{"msgpack": raw}
		if v.JSON != "" {
			inputs["json"] = []byte(v.JSON)
		}
		for format, b := range inputs {
			for _, c := range []Codec{map[string]Codec{"msgpack": Msgpack, "json": JSON}[format], chain} {
				got, err := c.Decode(b)
				if err != nil {
					t.Errorf("%s/%s via %s: %v", v.Name, format, c.Name(), err)
					continue
				}
				for k, w := range want {
					if !sameValue(got[k], w) {
						t.Errorf("%s/%s via %s: %q = %#v, want %#v", v.Name, format, c.Name(), k, got[k], w)
					}
				}
				if len(got) != len(want) {
					t.Errorf("%s/%s: %d keys, want %d", v.Name, format, len(got), len(want))
				}
			}
		}
	}
}

// TestFlaskSession08Write: Coatcheck's encoding of each session decodes back
// to it; for "login", whose insertion order is also sorted order (a Go map
// has no insertion order), it is exactly 0.8's bytes. That Python reads what
// Coatcheck writes is TestMsgpackVectorsPython's check.
func TestFlaskSession08Write(t *testing.T) {
	for _, v := range loadFS08(t).Sessions {
		want := fs08Want[v.Name]
		b, err := Msgpack.Encode(want)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		back, err := Msgpack.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		for k, w := range want {
			if !sameValue(back[k], w) {
				t.Errorf("%s: round trip %q = %#v, want %#v", v.Name, k, back[k], w)
			}
		}
		if v.Name == "login" && hex.EncodeToString(b) != v.MsgpackHex {
			t.Errorf("login: Coatcheck writes %x, Flask-Session 0.8 %s", b, v.MsgpackHex)
		}
	}
}
