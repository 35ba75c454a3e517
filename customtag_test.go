package coatcheck_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/taggedjson"
)

// money is an app type a Flask app tags as " $" (a custom JSONTag).
type money struct{ Cents int64 }

type moneyTag struct{}

func (moneyTag) Key() string      { return " $" }
func (moneyTag) Check(v any) bool { _, ok := v.(money); return ok }
func (moneyTag) ToJSON(_ *taggedjson.Serializer, v any) (any, error) {
	return v.(money).Cents, nil
}
func (moneyTag) ToPython(_ *taggedjson.Serializer, v any) (any, error) {
	n, _ := v.(int64)
	return money{n}, nil
}

// TestConfigTaggedJSON: Config.TaggedJSON carries an app's custom tags into
// the cookie codec, both ways.
func TestConfigTaggedJSON(t *testing.T) {
	tj := taggedjson.New()
	if err := tj.Register(moneyTag{}, false, taggedjson.End); err != nil {
		t.Fatal(err)
	}
	m := coatcheck.MustNew(coatcheck.Config{SecretKey: "k", TaggedJSON: tj})
	var got any
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := coatcheck.FromRequest(r)
		if r.URL.Path == "/set" {
			s.Set("price", money{250})
			return
		}
		got, _ = s.Get("price")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/set", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 {
		t.Fatalf("no cookie: %v", rec.Header())
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(c[0].Value, ".")[0])
	if string(payload) != `{"price":{" $":250}}` {
		t.Errorf("cookie payload %s", payload)
	}
	req := httptest.NewRequest("GET", "/get", nil)
	req.AddCookie(c[0])
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != (money{250}) {
		t.Errorf("read back %#v", got)
	}
}
