package itsdangerous

import (
	"strings"
	"testing"
	"time"
)

func benchFlask(b *testing.B) *URLSafeTimedSerializer {
	b.Helper()
	ser, err := NewURLSafeTimedSerializer(SerializerConfig{
		SecretKeys:    [][]byte{[]byte("dev-secret-key")},
		Salt:          []byte("cookie-session"),
		KeyDerivation: HMAC,
	})
	if err != nil {
		b.Fatal(err)
	}
	return ser
}

// BenchmarkUnsign verifies Flask's worked-example cookie: 0 allocs/op.
func BenchmarkUnsign(b *testing.B) {
	ts := benchFlask(b).Signer()
	v := []byte("eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(int64(len(v)))
	for range b.N {
		p, _, err := ts.Unsign(v, 31*24*time.Hour, t0)
		if err != nil || len(p) != 19 {
			b.Fatal(p, err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	ts := benchFlask(b).Signer()
	payload := []byte("eyJ1c2VyX2lkIjo0Mn0")
	b.Run("Sign", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if v := ts.Sign(payload, t0); len(v) != 54 {
				b.Fatal(string(v))
			}
		}
	})
	b.Run("AppendSign", func(b *testing.B) {
		buf := make([]byte, 0, 128)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if buf = ts.AppendSign(buf[:0], payload, t0); len(buf) != 54 {
				b.Fatal(string(buf))
			}
		}
	})
}

func BenchmarkLoads(b *testing.B) {
	ser := benchFlask(b)
	small := []byte(`{"user_id":42}`)
	large := []byte(`{"data":"` + strings.Repeat("abcdefgh", 200) + `"}`)
	for _, c := range []struct {
		name string
		data []byte
	}{{"small", small}, {"compressed", large}} {
		v := ser.Dumps(c.data, t0)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				d, _, err := ser.Loads(v, 31*24*time.Hour, t0)
				if err != nil || len(d) != len(c.data) {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDumps(b *testing.B) {
	ser := benchFlask(b)
	fast, err := NewURLSafeTimedSerializer(SerializerConfig{
		SecretKeys: [][]byte{[]byte("dev-secret-key")}, Salt: []byte("cookie-session"),
		KeyDerivation: HMAC, CompressionLevel: 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	small := []byte(`{"user_id":42}`)
	large := []byte(`{"data":"` + strings.Repeat("abcdefgh", 200) + `"}`)
	for _, c := range []struct {
		name string
		data []byte
	}{{"small", small}, {"compressed", large}} {
		for _, s := range []struct {
			name string
			ser  *URLSafeTimedSerializer
		}{{"level6", ser}, {"level1", fast}} {
			b.Run(c.name+"/"+s.name, func(b *testing.B) {
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if v := s.ser.Dumps(c.data, t0); len(v) == 0 {
						b.Fatal("empty")
					}
				}
			})
		}
	}
}
