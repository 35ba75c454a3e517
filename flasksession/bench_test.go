package flasksession

import (
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/pyval"
)

// smallSession is a typical logged-in session with one flash.
func smallSession() map[string]any {
	return map[string]any{
		"_permanent": true,
		"_fresh":     true,
		"_user_id":   "42",
		"_id":        "3f2b6c1d0a9e8f7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
		"csrf_token": "5c1e9f0f7b1b4c1e8d0f3a2b9c8d7e6f5a4b3c2d",
		"cart":       []any{map[string]any{"sku": "A-1", "qty": 2, "price": 9.99}},
		"_flashes":   []any{pyval.Tuple{"message", "Saved!"}},
		"login_at":   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func benchCodec(b *testing.B, c Codec) {
	m := smallSession()
	data, err := c.Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			out, err := c.Encode(m)
			if err != nil || len(out) != len(data) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			out, err := c.Decode(data)
			if err != nil || len(out) != len(m) {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMsgpack(b *testing.B) { benchCodec(b, Msgpack) }
func BenchmarkJSON(b *testing.B)    { benchCodec(b, JSON) }
func BenchmarkPickle2(b *testing.B) { benchCodec(b, Pickle(2)) }
