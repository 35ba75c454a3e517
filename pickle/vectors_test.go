package pickle

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/pyval"
)

var vectorsPath = testvectors.Path(testvectors.SessionRedis)

type redisVectors struct {
	Vectors []struct {
		ID            string `json:"id"`
		RedisValueHex string `json:"redis_value_hex"`
		StoredRepr    string `json:"stored_repr"`
	} `json:"vectors"`
	Lifecycle []struct {
		ID            string `json:"id"`
		RedisValueHex string `json:"redis_value_hex"`
	} `json:"lifecycle"`
	ForeignWriter []struct {
		ID            string `json:"id"`
		RedisValueHex string `json:"redis_value_hex"`
	} `json:"foreign_writer"`
	Memcached []struct {
		ValueHex  string `json:"value_hex"`
		ValueText string `json:"value_text"`
	} `json:"memcached_fake_client"`
	Filesystem struct {
		Files map[string]struct {
			Hex string `json:"hex"`
		} `json:"files"`
	} `json:"filesystem"`
}

// vectorPickle is one pickle from the shared vectors, keyed like
// testdata/sorted_repr.json.
type vectorPickle struct {
	key  string
	data []byte
}

func loadVectors(t testing.TB) (*redisVectors, []vectorPickle) {
	t.Helper()
	raw := testvectors.Read(t, testvectors.SessionRedis)
	var rv redisVectors
	if err := json.Unmarshal(raw, &rv); err != nil {
		t.Fatal(err)
	}
	var out []vectorPickle
	add := func(key, h string, skip int) {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out = append(out, vectorPickle{key, b[skip:]})
	}
	for _, v := range rv.Vectors {
		add("vectors/"+v.ID, v.RedisValueHex, 0)
	}
	for _, v := range rv.Lifecycle {
		if v.RedisValueHex != "" {
			add("lifecycle/"+v.ID, v.RedisValueHex, 0)
		}
	}
	for _, v := range rv.ForeignWriter {
		add("foreign_writer/"+v.ID, v.RedisValueHex, 0)
	}
	for i, v := range rv.Memcached {
		add("memcached_fake_client/"+string(rune('0'+i)), v.ValueHex, 0)
	}
	names := make([]string, 0, len(rv.Filesystem.Files))
	for name := range rv.Filesystem.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		add("filesystem/"+name, rv.Filesystem.Files[name].Hex, 4) // skip the 4-byte expiry header
	}
	return &rv, out
}

func loadSortedRepr(t testing.TB) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sorted_repr.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVectors(t *testing.T) {
	rv, pickles := loadVectors(t)
	want := loadSortedRepr(t)
	if len(rv.Vectors) != 64 {
		t.Errorf("got %d vectors, want 64", len(rv.Vectors))
	}
	passed := 0
	for _, p := range pickles {
		w, ok := want[p.key]
		if !ok {
			t.Errorf("%s: no entry in testdata/sorted_repr.json (rerun gen_sorted_repr.py)", p.key)
			continue
		}
		v, err := Unmarshal(p.data)
		if err != nil {
			t.Errorf("%s: Unmarshal: %v", p.key, err)
			continue
		}
		if got := pyval.Repr(v); got != w {
			t.Errorf("%s:\n got %s\nwant %s", p.key, got, w)
			continue
		}
		passed++
	}
	t.Logf("%d/%d vector pickles decode to the expected value", passed, len(pickles))
}

// TestVectorsReencode: every vector survives Marshal (protocols 0 and 2)
// and Unmarshal with the same value.
func TestVectorsReencode(t *testing.T) {
	_, pickles := loadVectors(t)
	for _, p := range pickles {
		v, err := Unmarshal(p.data)
		if err != nil {
			continue // reported by TestVectors
		}
		for _, proto := range []int{0, 2} {
			b, err := Marshal(v, proto)
			if err != nil {
				t.Errorf("%s: Marshal(proto %d): %v", p.key, proto, err)
				continue
			}
			v2, err := Unmarshal(b)
			if err != nil {
				t.Errorf("%s: Unmarshal(Marshal(proto %d)): %v", p.key, proto, err)
				continue
			}
			if pyval.Repr(v2) != pyval.Repr(v) {
				t.Errorf("%s: proto %d round trip:\n got %s\nwant %s", p.key, proto, pyval.Repr(v2), pyval.Repr(v))
			}
		}
	}
}

func TestMemcachedVectorExact(t *testing.T) {
	rv, _ := loadVectors(t)
	for _, m := range rv.Memcached {
		got, err := Marshal(map[string]any{"_permanent": true, "user_id": 42}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != m.ValueText {
			t.Errorf("Marshal(proto 0) = %q, want %q", got, m.ValueText)
		}
	}
}
