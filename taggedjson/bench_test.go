package taggedjson

import (
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

var smallJSON = []byte(`{"user_id":42}`)

var mediumSession = map[string]any{
	"_permanent": true,
	"_fresh":     true,
	"_id":        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	"_user_id":   "1042",
	"csrf_token": "5e7c8f0a1b2c3d4e5f60718293a4b5c6d7e8f901",
	"cart":       []any{map[string]any{"sku": "A-100", "qty": 2, "price": 19.99}, map[string]any{"sku": "B-7", "qty": 1, "price": 5.5}},
	"_flashes":   []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", "Caf\u00e9 closed"}},
	"last_seen":  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	"token":      []byte("\x00\x01\x02binary"),
	"prefs":      map[string]any{"theme": "dark", "langs": []any{"en", "fr"}},
}

func BenchmarkMarshalSmall(b *testing.B) {
	m := map[string]any{"user_id": int64(42)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = AppendMarshal(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	if string(buf) != string(smallJSON) {
		b.Fatalf("%s", buf)
	}
}

func BenchmarkMarshalSmallNewBuffer(b *testing.B) {
	m := map[string]any{"user_id": int64(42)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalSmall(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(smallJSON)))
	for i := 0; i < b.N; i++ {
		m, err := Unmarshal(smallJSON)
		if err != nil || m["user_id"] != int64(42) {
			b.Fatal(m, err)
		}
	}
}

func BenchmarkMarshalMedium(b *testing.B) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if buf, err = AppendMarshal(buf[:0], mediumSession); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkUnmarshalMedium(b *testing.B) {
	data, err := Marshal(mediumSession)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

var benchSink any

// BenchmarkMapBaseline is the floor for any decoder that returns
// map[string]any: one map with one string key, nothing parsed.
func BenchmarkMapBaseline(b *testing.B) {
	k := []byte("user_id")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m := make(map[string]any)
		m[string(k)] = int64(42)
		benchSink = m
	}
}
