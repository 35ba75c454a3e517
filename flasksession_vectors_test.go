package coatcheck_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flasksession"
	"github.com/coatcheck/coatcheck/internal/testvectors"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/coatcheck/coatcheck/pyval"
)

type fsVector struct {
	ID              string         `json:"id"`
	Config          map[string]any `json:"config"`
	SID             string         `json:"sid"`
	CookieValue     string         `json:"cookie_value"`
	RedisKey        string         `json:"redis_key"`
	RedisValueHex   string         `json:"redis_value_hex"`
	SecondSetCookie []string       `json:"second_request_set_cookie"`
	StoredRepr      string         `json:"stored_repr"`
}

func loadFSVectors(t *testing.T) ([]fsVector, map[string]string) {
	t.Helper()
	b := testvectors.Read(t, testvectors.SessionRedis)
	var f struct {
		Vectors []fsVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	// Python's repr with sorted keys, made by pickle/testdata/gen_sorted_repr.py
	var sorted map[string]string
	b, err := os.ReadFile("pickle/testdata/sorted_repr.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sorted); err != nil {
		t.Fatal(err)
	}
	return f.Vectors, sorted
}

// Every Flask-Session 0.3.2 Redis vector through the whole server-side
// stack: the cookie (signed or not) is verified, the stored pickle found
// under the vector's key and decoded to the recorded value, and the cookie
// re-sent on refresh equals Flask-Session's.
func TestFlaskSessionVectorsThroughManager(t *testing.T) {
	vectors, sorted := loadFSVectors(t)
	if len(vectors) != 64 {
		t.Fatalf("%d vectors, want 64", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			cfg, err := coatcheck.ConfigFromMap(v.Config)
			if err != nil {
				t.Fatal(err)
			}
			cfg.SecretKey = "dev-secret-key"
			cfg.Server.FlaskSessionCompat = "0.3"
			now := time.Unix(1700000000, 0)
			cfg.Now = func() time.Time { return now }
			cfg.Logger = quiet()
			ms := memstore.New(memstore.Options{Now: cfg.Now, CleanupInterval: -1})
			defer ms.Close()
			cfg.Store = ms
			raw, _ := hex.DecodeString(v.RedisValueHex)
			if err := ms.Set(context.Background(), v.RedisKey, raw, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			m, err := coatcheck.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			var isNew bool
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := coatcheck.FromRequest(r)
				got, isNew = pyval.Repr(s.All()), s.IsNew()
			}))
			name := m.Config().CookieName
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", name+"="+v.CookieValue)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if isNew {
				t.Fatalf("cookie %q not accepted", v.CookieValue)
			}
			if want := sorted["vectors/"+v.ID]; got != want {
				t.Errorf("loaded %s\nwant   %s", got, want)
			}
			permanent := !strings.Contains(v.ID, "nonpermanent")
			sc := rec.Result().Header.Values("Set-Cookie")
			switch {
			case permanent && (len(sc) != 1 || sc[0] != v.SecondSetCookie[0]):
				t.Errorf("refresh Set-Cookie %q, Flask-Session %q", sc, v.SecondSetCookie)
			case !permanent && len(sc) != 0:
				// Flask-Session 0.3.2 re-sends every cookie; like 0.8 and Flask, a
				// read-only request on a browser-session cookie sends nothing.
				t.Errorf("non-permanent read re-sent %q", sc)
			}
		})
	}
}

// Values Go writes (pickle protocol 2, what Coatcheck stores for
// SESSION_FLASK_COMPAT=0.3) are read back by Python's pickle.loads — what
// Flask-Session 0.3.2 calls — as the same values.
func TestGoWrittenPicklesReadByPython(t *testing.T) {
	python := os.Getenv("COATCHECK_PYTHON")
	if python == "" {
		if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") != "" {
			t.Fatal("COATCHECK_PYTHON unset")
		}
		t.Skip("COATCHECK_PYTHON unset")
	}
	vectors, sorted := loadFSVectors(t)
	codec := flasksession.Pickle(2)
	var hexes, ids []string
	for _, v := range vectors {
		raw, _ := hex.DecodeString(v.RedisValueHex)
		m, err := codec.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		out, err := codec.Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		hexes = append(hexes, hex.EncodeToString(out))
		ids = append(ids, v.ID)
	}
	in, _ := json.Marshal(hexes)
	script := `import json, pickle, sys
sys.path.insert(0, "pickle/testdata")
from gen_sorted_repr import model_repr
for h in json.load(sys.stdin):
    print(model_repr(pickle.loads(bytes.fromhex(h))))`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(ids) {
		t.Fatalf("python printed %d lines for %d values:\n%s", len(lines), len(ids), out)
	}
	for i, id := range ids {
		if want := sorted["vectors/"+id]; lines[i] != want {
			t.Errorf("%s: Python read %s\nwant %s", id, lines[i], want)
		}
	}
}
