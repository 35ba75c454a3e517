package taggedjson

import (
	"encoding/json"
	"os"
	"testing"
)

// loggedInJSON is a typical logged-in Flask-Login + Flask-WTF session, as
// Flask writes it.
var loggedInJSON = []byte(`{"_fresh":true,"_id":"0f0b6f5c1d6d4c5a9b6b8f8c3f5c2e1a7d9e3b4c5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3","_permanent":true,"_user_id":"1042","csrf_token":"5e7c8f0a1b2c3d4e5f60718293a4b5c6d7e8f901"}`)

// vectorJSONs returns the JSON text of every cookie vector of the first
// stack (skipping the benchmark when the vectors are absent).
func vectorJSONs(b *testing.B) [][]byte {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		b.Skipf("vectors not available: %v", err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for _, c := range vf.Stacks[0].Cookies {
		if _, err := Unmarshal([]byte(c.JSON)); err == nil {
			out = append(out, []byte(c.JSON))
		}
	}
	return out
}

// BenchmarkUnmarshalVectors decodes every cookie vector's JSON once per op.
func BenchmarkUnmarshalVectors(b *testing.B) {
	docs := vectorJSONs(b)
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			m, err := Unmarshal(d)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = m
		}
	}
}

func BenchmarkUnmarshalLoggedIn(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(loggedInJSON)))
	for i := 0; i < b.N; i++ {
		m, err := Unmarshal(loggedInJSON)
		if err != nil || len(m) != 5 {
			b.Fatal(m, err)
		}
		benchSink = m
	}
}

func BenchmarkMarshalLoggedIn(b *testing.B) {
	m, err := Unmarshal(loggedInJSON)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if buf, err = AppendMarshal(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	if string(buf) != string(loggedInJSON) {
		b.Fatalf("%s", buf)
	}
}
