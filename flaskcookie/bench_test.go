package flaskcookie

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/taggedjson"
)

var benchNow = time.Unix(1700000000, 0)

// benchLoggedIn is a typical logged-in Flask-Login + Flask-WTF session.
var benchLoggedIn = map[string]any{
	"_fresh":     true,
	"_id":        "0f0b6f5c1d6d4c5a9b6b8f8c3f5c2e1a7d9e3b4c5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3",
	"_permanent": true,
	"_user_id":   "1042",
	"csrf_token": "5e7c8f0a1b2c3d4e5f60718293a4b5c6d7e8f901",
}

var benchSink any

func benchCodec(b *testing.B) *Codec {
	c, err := New(Config{SecretKey: []byte("dev-secret-key"), MaxAge: -1})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkDecodeLoggedIn(b *testing.B) {
	c := benchCodec(b)
	v, err := c.Encode(benchLoggedIn, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, _, err := c.Decode(v, benchNow)
		if err != nil || len(m) != 5 {
			b.Fatal(m, err)
		}
		benchSink = m
	}
}

func BenchmarkEncodeLoggedIn(b *testing.B) {
	c := benchCodec(b)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = c.AppendEncode(buf[:0], benchLoggedIn, benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStringLoggedIn(b *testing.B) {
	c := benchCodec(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v, err := c.Encode(benchLoggedIn, benchNow)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = v
	}
}

// BenchmarkDecodeVectors verifies and decodes every cookie vector of the
// first stack signed with a str key, once per op.
func BenchmarkDecodeVectors(b *testing.B) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		b.Skipf("vectors not available: %v", err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		b.Fatal(err)
	}
	codecs := map[string]*Codec{}
	type item struct {
		c *Codec
		v string
	}
	var items []item
	for _, ck := range vf.Stacks[0].Cookies {
		if ck.SecretKey.Type == "bytes" {
			continue
		}
		c := codecs[ck.SecretKey.Value]
		if c == nil {
			if c, err = New(Config{SecretKey: []byte(ck.SecretKey.Value), MaxAge: -1}); err != nil {
				b.Fatal(err)
			}
			codecs[ck.SecretKey.Value] = c
		}
		if _, _, err := c.Decode(ck.CookieValue, benchNow); err == nil {
			items = append(items, item{c, ck.CookieValue})
		}
	}
	if len(items) < 10 {
		b.Fatalf("only %d vectors decode", len(items))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, it := range items {
			m, _, err := it.c.Decode(it.v, benchNow)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = m
		}
	}
}

// BenchmarkVerifyLoggedIn is the signature check alone (DecodeJSON without
// the tagged-JSON parse).
func BenchmarkVerifyLoggedIn(b *testing.B) {
	c := benchCodec(b)
	v, err := c.Encode(benchLoggedIn, benchNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j, _, err := c.DecodeJSON(v, benchNow)
		if err != nil || len(j) == 0 {
			b.Fatal(err)
		}
	}
}

var _ = taggedjson.MaxDepth
