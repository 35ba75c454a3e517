package flasksession

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func msgpackSeeds() [][]byte {
	var seeds [][]byte
	for _, tc := range mpVectors {
		if len(tc.hex) > 2000 {
			continue
		}
		b, _ := hex.DecodeString("81a176" + tc.hex)
		seeds = append(seeds, b)
	}
	b, _ := Msgpack.Encode(richSession())
	return append(seeds, b)
}

// fuzzStable checks that a successful decode re-encodes, and that encoding
// is a fixed point from then on (decode(encode(v)) encodes to the same
// bytes).
func fuzzStable(t *testing.T, c Codec, m map[string]any) {
	b1, err := c.Encode(m)
	if err != nil {
		// Only JSON can decode what it cannot write back: integers beyond
		// msgspec's 64-bit range.
		if c == JSON && errors.Is(err, ErrUnsupportedValue) {
			return
		}
		t.Fatalf("re-encoding a decoded value: %v", err)
	}
	m2, err := c.Decode(b1)
	if err != nil {
		t.Fatalf("decoding our own encoding %q: %v", b1, err)
	}
	b2, err := c.Encode(m2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("unstable:\n %q\n %q", b1, b2)
	}
}

func FuzzMsgpackDecode(f *testing.F) {
	for _, s := range msgpackSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Msgpack.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		fuzzStable(t, Msgpack, m)
	})
}

func FuzzJSONDecode(f *testing.F) {
	for _, tc := range jsonVectors {
		f.Add([]byte(`{"v":` + tc.want + `}`))
	}
	b, _ := JSON.Encode(richSession())
	f.Add(b)
	f.Add([]byte(`{"a":"\ud83d\ude00","b":[1,2.5e-7,-0,18446744073709551616]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := JSON.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		fuzzStable(t, JSON, m)
	})
}
