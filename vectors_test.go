package coatcheck

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/internal/testvectors"
)

type headerVector struct {
	ID            string         `json:"id"`
	Config        map[string]any `json:"config"`
	Path          string         `json:"path"`
	RequestCookie *string        `json:"request_cookie"`
	SecretKey     *struct {
		Value string `json:"value"`
	} `json:"secret_key"`
	Status    int      `json:"status"`
	SetCookie []string `json:"set_cookie"`
	Vary      *string  `json:"vary"`
	Warnings  []string `json:"warnings"`
}

func loadHeaderVectors(t *testing.T) map[string][]headerVector {
	t.Helper()
	b := testvectors.Read(t, testvectors.Cookie)
	var f struct {
		Stacks []struct {
			Stack   string         `json:"stack"`
			Headers []headerVector `json:"headers"`
		} `json:"stacks"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string][]headerVector{}
	for _, s := range f.Stacks {
		out[s.Stack] = s.Headers
	}
	return out
}

// The views of the vector generator's Flask app.
func vectorViews() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Set("n", 1)
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/write_perm", func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		s.Set("n", 1)
		s.SetPermanent(true)
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/clear", func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Clear()
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Get("n")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/contains", func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).Has("n")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/noop", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// Where Flask 2.2 and 3.1.3 differ, Coatcheck follows 3.1.3.
var flask22Differences = map[string]string{
	"domain_leading_dot": "Werkzeug 3 strips the leading dot",
	"domain_localhost":   "Werkzeug 2.2 refuses a dotless Domain (500); 3.1 sends it",
	"server_name_domain": "2.2 derives Domain from SERVER_NAME; 2.3+ does not",
	"contains_only":      "3.1.3 varies on Cookie for any session access (GHSA-68rp-wp8r-4726)",
}

func runHeaderVector(t *testing.T, v headerVector, errOut *error) *httptest.ResponseRecorder {
	t.Helper()
	cfg, err := ConfigFromMap(v.Config)
	if err != nil {
		t.Fatal(err)
	}
	if v.SecretKey != nil {
		cfg.SecretKey = v.SecretKey.Value
	}
	cfg.Now = func() time.Time { return time.Unix(1700000000, 0) }
	cfg.Logger = discardLogger()
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		*errOut = err
		http.Error(w, "session error", http.StatusInternalServerError)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", v.Path, nil)
	if v.RequestCookie != nil {
		name := cfg.CookieName
		if name == "" {
			name = "session"
		}
		req.Header.Set("Cookie", name+"="+*v.RequestCookie)
	}
	rec := httptest.NewRecorder()
	m.Handler(vectorViews()).ServeHTTP(rec, req)
	return rec
}

func TestHeaderVectors(t *testing.T) {
	stacks := loadHeaderVectors(t)
	ran := 0
	for stack, vs := range stacks {
		for _, v := range vs {
			t.Run(stack+"/"+v.ID, func(t *testing.T) {
				if why, ok := flask22Differences[v.ID]; ok && stack == "debian12-system" {
					t.Skipf("Flask 2.2 behaviour not followed: %s", why)
				}
				ran++
				var handlerErr error
				rec := runHeaderVector(t, v, &handlerErr)
				if len(v.Warnings) > 0 && strings.Contains(v.Warnings[0], "too large") {
					// Deliberate: Werkzeug only warns and the browser drops the cookie;
					// Coatcheck fails the response instead.
					if rec.Code != 500 || !errors.Is(handlerErr, ErrCookieTooLarge) || len(rec.Result().Header.Values("Set-Cookie")) != 0 {
						t.Errorf("oversized cookie: status %d, err %v, Set-Cookie %q", rec.Code, handlerErr, rec.Result().Header.Values("Set-Cookie"))
					}
					return
				}
				if rec.Code != v.Status {
					t.Fatalf("status %d, Flask %d (err %v)", rec.Code, v.Status, handlerErr)
				}
				if v.Status == 500 {
					if !errors.Is(handlerErr, ErrNoSecretKey) {
						t.Errorf("err = %v, want ErrNoSecretKey", handlerErr)
					}
					return
				}
				got := rec.Result().Header.Values("Set-Cookie")
				if strings.Join(got, "\n") != strings.Join(v.SetCookie, "\n") {
					t.Errorf("Set-Cookie\n got %q\nwant %q", got, v.SetCookie)
				}
				wantVary := ""
				if v.Vary != nil {
					wantVary = *v.Vary
				}
				if gotVary := strings.Join(rec.Result().Header.Values("Vary"), ", "); gotVary != wantVary {
					t.Errorf("Vary %q, Flask %q", gotVary, wantVary)
				}
			})
		}
	}
	if ran < 40 {
		t.Errorf("only %d header vectors ran", ran)
	}
}
