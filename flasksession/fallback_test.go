package flasksession

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/pyval"
)

var redisVectorsPath = testvectors.Path(testvectors.SessionRedis)

type redisVectors struct {
	Vectors []struct {
		ID            string `json:"id"`
		RedisValueHex string `json:"redis_value_hex"`
		StoredRepr    string `json:"stored_repr"`
	} `json:"vectors"`
	ForeignWriter []struct {
		RedisValueHex string `json:"redis_value_hex"`
	} `json:"foreign_writer"`
	Memcached []struct {
		ValueHex string `json:"value_hex"`
	} `json:"memcached_fake_client"`
}

func loadRedisVectors(t *testing.T) redisVectors {
	t.Helper()
	data := testvectors.Read(t, testvectors.SessionRedis)
	var v redisVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

// sortedRepr are the 0.3.2 vectors whose stored_repr (Python's insertion
// order) already has its keys sorted, so it equals pyval.Repr exactly.
var sortedRepr = map[string]bool{
	"simple_int": true, "string_unicode": true, "datetime_naive": true,
	"datetime_aware": true, "date_untagged": true, "uuid": true,
	"markup": true, "decimal_untagged": true,
}

// TestFallbackReadsEveryFormat: the 0.7/0.8 msgpack chain reads msgpack,
// JSON and every Flask-Session 0.3.2 pickle (protocol 4 Redis values,
// protocol 0 memcached, a hand-built protocol 2), like Flask-Session 0.8's
// configured format → other msgspec format → pickle.loads.
func TestFallbackReadsEveryFormat(t *testing.T) {
	vec := loadRedisVectors(t)
	for _, format := range []string{FormatMsgpack, FormatJSON} {
		c, err := CodecFor(format)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name() != format {
			t.Errorf("CodecFor(%q).Name() = %q", format, c.Name())
		}
		for _, v := range vec.Vectors {
			data, _ := hex.DecodeString(v.RedisValueHex)
			m, err := c.Decode(data)
			if err != nil {
				t.Errorf("%s chain, %s: %v", format, v.ID, err)
				continue
			}
			name := v.ID[strings.Index(v.ID, "/")+1:]
			if sortedRepr[name] && strings.HasPrefix(v.ID, "unsigned_permanent/") {
				if got := pyval.Repr(m); got != v.StoredRepr {
					t.Errorf("%s: got %s, want %s", v.ID, got, v.StoredRepr)
				}
			}
		}
		for _, hx := range []string{vec.ForeignWriter[0].RedisValueHex, vec.Memcached[0].ValueHex} {
			data, _ := hex.DecodeString(hx)
			m, err := c.Decode(data)
			if err != nil {
				t.Fatalf("%s chain: %v", format, err)
			}
			if got := pyval.Repr(m); got != "{'_permanent': True, 'user_id': 42}" {
				t.Errorf("%s chain: got %s", format, got)
			}
		}
		for _, enc := range []Codec{Msgpack, JSON, Pickle(0), Pickle(2)} {
			data, err := enc.Encode(map[string]any{"_permanent": true, "user_id": 42})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.Decode(data)
			if err != nil {
				t.Fatalf("%s chain reading %s: %v", format, enc.Name(), err)
			}
			if got := pyval.Repr(m); got != "{'_permanent': True, 'user_id': 42}" {
				t.Errorf("%s chain reading %s: got %s", format, enc.Name(), got)
			}
		}
	}
}

func TestFallbackEncodesWithPrimary(t *testing.T) {
	m := map[string]any{"_permanent": true, "user_id": 42}
	for format, want := range map[string]string{
		FormatMsgpack: "82aa5f7065726d616e656e74c3a7757365725f69642a",
		FormatJSON:    hex.EncodeToString([]byte(`{"_permanent":true,"user_id":42}`)),
		FormatPickle:  "8002", // PROTO 2; the pickle package owns the rest
	} {
		c, _ := CodecFor(format)
		b, err := c.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if format == FormatPickle {
			// Only check the protocol header; the pickle package owns the rest.
			if hex.EncodeToString(b[:2]) != want {
				t.Errorf("pickle: %x", b)
			}
			continue
		}
		if hex.EncodeToString(b) != want {
			t.Errorf("%s: %x, want %s", format, b, want)
		}
	}
}

func TestFallbackGarbage(t *testing.T) {
	c, _ := CodecFor(FormatMsgpack)
	for _, in := range []string{"", "garbage", "\x80\x04\x95", "[1,2]", "\x91\x01", "cos\nsystem\n(S'id'\ntR."} {
		_, err := c.Decode([]byte(in))
		if !errors.Is(err, ErrUndecodable) {
			t.Fatalf("%q: %v", in, err)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: the codecs' own errors are not wrapped: %v", in, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "flasksession: undecodable") || !strings.Contains(msg, "msgpack: ") ||
			!strings.Contains(msg, "json: ") || !strings.Contains(msg, "pickle: ") {
			t.Errorf("%q: message does not list each codec: %s", in, msg)
		}
	}
}

func TestPickleCodec(t *testing.T) {
	// The top level must be a dict.
	for _, hx := range []string{"80024b2a2e" /* 42 */, "80025d71002e" /* [] */, "" /* empty */} {
		data, _ := hex.DecodeString(hx)
		if _, err := Pickle(2).Decode(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", hx, err)
		}
	}
	// A pickle calling os.system is refused.
	if _, err := Pickle(2).Decode([]byte("cos\nsystem\n(S'id'\ntR.")); !errors.Is(err, ErrMalformed) {
		t.Errorf("os.system: %v", err)
	}
	// Round trips through both protocols keep pickle's richer types.
	for _, p := range []int{0, 2} {
		b, err := Pickle(p).Encode(richSession())
		if err != nil {
			t.Fatal(err)
		}
		m, err := Pickle(p).Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := pyval.Repr(m), pyval.Repr(richSession()); got != want {
			t.Errorf("protocol %d:\n got %s\nwant %s", p, got, want)
		}
	}
	if _, err := Pickle(4).Encode(map[string]any{}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("protocol 4: %v", err)
	}
}

func TestCodecForUnknown(t *testing.T) {
	if _, err := CodecFor("yaml"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatal(err)
	}
}
