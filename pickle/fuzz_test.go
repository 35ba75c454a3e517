package pickle

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

// fuzzOptions keeps fuzz iterations cheap: the expanded size bound also
// keeps pyval.Repr of the result small.
var fuzzOptions = Options{MaxValueSize: 1 << 16, MaxAlloc: 1 << 22}

func FuzzUnmarshal(f *testing.F) {
	raw, err := os.ReadFile(vectorsPath)
	if err == nil {
		var rv redisVectors
		if json.Unmarshal(raw, &rv) == nil {
			add := func(h string, skip int) {
				if b, err := hex.DecodeString(h); err == nil && len(b) >= skip {
					f.Add(b[skip:])
				}
			}
			for _, v := range rv.Vectors {
				add(v.RedisValueHex, 0)
			}
			for _, v := range rv.ForeignWriter {
				add(v.RedisValueHex, 0)
			}
			for _, v := range rv.Memcached {
				add(v.ValueHex, 0)
			}
			for _, fl := range rv.Filesystem.Files {
				add(fl.Hex, 4)
			}
		}
	}
	for _, p := range []string{"session/0", "session/2", "rich/0", "rich/2"} {
		if b, err := hex.DecodeString(cpythonPickles[p]); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := UnmarshalOptions(data, fuzzOptions)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			return
		}
		want := pyval.Repr(v)
		for _, proto := range []int{0, 2} {
			b, err := Marshal(v, proto)
			if err != nil {
				t.Fatalf("Unmarshal succeeded (%s) but Marshal(proto %d) failed: %v", want, proto, err)
			}
			v2, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("re-Unmarshal(proto %d) of %s failed: %v\npickle %q", proto, want, err, b)
			}
			if got := pyval.Repr(v2); got != want {
				t.Fatalf("proto %d round trip changed the value:\n got %s\nwant %s", proto, got, want)
			}
		}
	})
}
