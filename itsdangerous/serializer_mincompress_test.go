package itsdangerous

import (
	"bytes"
	"testing"
	"time"
)

func TestMinCompressSize(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 100) // compresses well
	now := time.Unix(1700000000, 0)
	for _, tt := range []struct {
		min        int
		compressed bool
	}{{0, true}, {100, true}, {101, false}} {
		s, err := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("k")}, MinCompressSize: tt.min})
		if err != nil {
			t.Fatal(err)
		}
		v := s.Dumps(data, now)
		if got := v[0] == '.'; got != tt.compressed {
			t.Errorf("MinCompressSize %d: compressed = %v, want %v", tt.min, got, tt.compressed)
		}
		back, _, err := s.Loads(v, NoMaxAge, now)
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("MinCompressSize %d: round trip %q %v", tt.min, back, err)
		}
	}
	if _, err := NewURLSafeTimedSerializer(SerializerConfig{SecretKeys: [][]byte{[]byte("k")}, MinCompressSize: -1}); err == nil {
		t.Error("negative MinCompressSize accepted")
	}
}
