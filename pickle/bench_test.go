package pickle

import (
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// benchSession is a typical Flask session: permanent flag, user id, CSRF
// token, a couple of flashes and a login timestamp.
func benchSession() map[string]any {
	return map[string]any{
		"_permanent": true,
		"_user_id":   "42",
		"_fresh":     true,
		"_id":        "5f2b3c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
		"csrf_token": "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
		"_flashes":   []any{pyval.Tuple{"message", "Saved!"}, pyval.Tuple{"error", "Oops"}},
		"login_at":   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"cart":       []any{int64(101), int64(202), int64(303)},
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := benchSession()
	for _, proto := range []int{0, 2} {
		b.Run(map[int]string{0: "proto0", 2: "proto2"}[proto], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Marshal(v, proto); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, proto := range []int{0, 2} {
		data, err := Marshal(benchSession(), proto)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(map[int]string{0: "proto0", 2: "proto2"}[proto], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := Unmarshal(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnmarshalVector decodes the protocol 4 pickle Flask-Session 0.3
// stored in Redis for {'_permanent': True, 'user_id': 42}.
func BenchmarkUnmarshalVector(b *testing.B) {
	data := []byte("\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\n_permanent\x94\x88\x8c\x07user_id\x94K*u.")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}
