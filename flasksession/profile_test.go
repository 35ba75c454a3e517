package flasksession

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestProfileFor(t *testing.T) {
	tests := []struct {
		version, backend string
		ser              string
		style            IDStyle
		idLen, proto     int
		fallback, empty  bool
	}{
		{"0.3", "redis", FormatPickle, UUID4, 0, 2, false, true},
		{"0.3.2", "memcached", FormatPickle, UUID4, 0, 0, false, true},
		{"0.4", "filesystem", FormatPickle, UUID4, 0, 2, false, true},
		{"0.5", "mongodb", FormatPickle, UUID4, 0, 2, false, true},
		{"0.5", "sqlalchemy", FormatPickle, UUID4, 0, 2, false, true},
		{"0.6", "redis", FormatPickle, TokenURLSafe, 32, 2, false, false},
		{"0.6", "memcached", FormatPickle, TokenURLSafe, 32, 0, false, false},
		{"0.7", "redis", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
		{"0.7", "cachelib", FormatPickle, TokenURLSafe, 32, 2, false, false},
		{"0.8", "memcached", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
		{"0.8", "filesystem", FormatPickle, TokenURLSafe, 32, 2, false, false},
		{"0.8.0", "Redis", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
		{"0.8", "mongodb", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
		{"0.8", "sqlalchemy", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
		{"0.8", "dynamodb", FormatMsgpack, TokenURLSafe, 32, 2, true, false},
	}
	for _, tc := range tests {
		p, err := ProfileFor(tc.version, tc.backend)
		if err != nil {
			t.Errorf("%s/%s: %v", tc.version, tc.backend, err)
			continue
		}
		if p.Serialization != tc.ser || p.IDStyle != tc.style || p.IDLength != tc.idLen ||
			p.PickleProtocol != tc.proto || p.FallbackRead != tc.fallback || p.StoresEmptySessions != tc.empty ||
			p.KeyPrefix != "session:" || p.UseSigner {
			t.Errorf("%s/%s: %+v", tc.version, tc.backend, p)
		}
		c, err := p.Codec()
		if err != nil {
			t.Fatal(err)
		}
		if c.Name() != p.Serialization {
			t.Errorf("%s/%s: codec %s", tc.version, tc.backend, c.Name())
		}
		id, err := p.NewID()
		if err != nil || !ValidID(id) {
			t.Errorf("%s/%s: NewID %q, %v", tc.version, tc.backend, id, err)
		}
	}
	for _, bad := range [][2]string{{"0.2", "redis"}, {"1.0", "redis"}, {"", "redis"}, {"0.8", "null"},
		{"0.8", "postgresql"}, {"0.6", "cachelib"}, {"0.7", "dynamodb"}, {"0.8", ""}} {
		if _, err := ProfileFor(bad[0], bad[1]); !errors.Is(err, ErrUnknownProfile) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		u, err := NewID(UUID4, 0)
		if err != nil || !uuid4RE.MatchString(u) || seen[u] {
			t.Fatalf("uuid4 %q %v", u, err)
		}
		seen[u] = true
	}
	for _, n := range []int{0, 1, 16, 32, 33, 64} {
		id, err := NewID(TokenURLSafe, n)
		if err != nil {
			t.Fatal(err)
		}
		want := n
		if n == 0 {
			want = DefaultIDLength
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != want || strings.ContainsAny(id, "+/=") {
			t.Errorf("token %d: %q", n, id)
		}
	}
	if id, _ := NewID(TokenURLSafe, 32); len(id) != 43 {
		t.Errorf("32-byte token is %d chars", len(id))
	}
	if _, err := NewID(IDStyle(0), 32); !errors.Is(err, ErrUnknownProfile) {
		t.Error(err)
	}
}

func TestValidID(t *testing.T) {
	good := []string{
		"00000000-0000-4000-8000-000000000011",   // 0.3.2 vector sid
		"7c208eb7-9294-4e25-b112-43c536e2ebae",   // FLASK-WIRE §9.2
		"{7C208EB7-9294-4E25-B112-43C536E2EBAE}", // odd but harmless
		"foreign-writer-0001",
		"a",
		"AbC_-09",
		"Zm9vYmFyYmF6cXV4cXV1eHh4eHl5eXl6enp6MTIzNDU2Nzg5MA", // token_urlsafe
		strings.Repeat("x", 255),
		"id.with.dots~!$%&'()*+/:<=>?@[]^`{|}",
	}
	for _, id := range good {
		if !ValidID(id) {
			t.Errorf("rejected %q", id)
		}
	}
	bad := []string{"", " ", "a b", "a\tb", "a\nb", "a\x00", "\x7f", "é", strings.Repeat("x", 256), `a"b`, "a,b", "a;b", `a\b`}
	for _, id := range bad {
		if ValidID(id) {
			t.Errorf("accepted %q", id)
		}
	}
	for i := 0; i < 50; i++ {
		for _, style := range []IDStyle{UUID4, TokenURLSafe} {
			id, _ := NewID(style, i)
			if !ValidID(id) {
				t.Errorf("NewID(%v, %d) = %q rejected", style, i, id)
			}
		}
	}
	if UUID4.String() != "uuid4" || TokenURLSafe.String() != "token_urlsafe" || IDStyle(9).String() != "IDStyle(9)" {
		t.Error("IDStyle.String")
	}
}
