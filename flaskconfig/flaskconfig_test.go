package flaskconfig_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/flaskconfig"
	"github.com/coatcheck/coatcheck/storetest"
)

func quiet(c *coatcheck.Config) error {
	c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return nil
}

// roundTrip logs in through the Manager's middleware and reads the session
// back with the cookie, and checks the store holds it (server-side types).
func roundTrip(t *testing.T, s *flaskconfig.Sessions) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sess := coatcheck.FromRequest(r)
		sess.Renew()
		sess.Set("username", "alice")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		name, _ := coatcheck.Value[string](coatcheck.FromRequest(r), "username")
		io.WriteString(w, name)
	})
	h := s.Handler(mux)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies (status %d, body %q)", len(cookies), rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookies[0])
	h.ServeHTTP(rec, req)
	if got := rec.Body.String(); got != "alice" {
		t.Fatalf("session read back %q, want alice", got)
	}
	if s.Store.Store == nil {
		return
	}
	if len(cookies[0].Value) > 100 {
		t.Fatalf("server-side cookie carries data: %d bytes", len(cookies[0].Value))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// the cookie's id (before a signature) is in the store
	id, _, _ := strings.Cut(cookies[0].Value, ".")
	data, found, err := s.Admin().Get(ctx, id)
	if err != nil || !found || data["username"] != "alice" {
		t.Fatalf("Admin.Get = %v, %v, %v", data, found, err)
	}
	if err := s.Admin().Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
}

func TestEverySessionType(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		typ, backend string
		env          func(t *testing.T) map[string]string
	}{
		{"cookie", "", func(*testing.T) map[string]string { return map[string]string{} }},
		{"memory", "redis", func(*testing.T) map[string]string { return map[string]string{} }},
		{"filesystem", "filesystem", func(*testing.T) map[string]string {
			return map[string]string{"SESSION_FILE_DIR": filepath.Join(dir, "fs")}
		}},
		{"sqlite", "sqlalchemy", func(*testing.T) map[string]string {
			return map[string]string{"SESSION_SQLITE": filepath.Join(dir, "s.db")}
		}},
		{"redis", "redis", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_REDIS": storetest.RequireEnv(t, "COATCHECK_REDIS_URL"), "SESSION_KEY_PREFIX": "flaskconfigtest:"}
		}},
		{"redis", "redis", func(t *testing.T) map[string]string { // cluster form
			return map[string]string{"SESSION_REDIS": "redis+cluster://" + storetest.RequireEnv(t, "COATCHECK_REDIS_CLUSTER_ADDRS"), "SESSION_KEY_PREFIX": "flaskconfigtest:"}
		}},
		{"redis", "redis", func(t *testing.T) map[string]string { // sentinel form
			return map[string]string{"SESSION_REDIS": "redis+sentinel://" + storetest.RequireEnv(t, "COATCHECK_REDIS_SENTINEL_ADDRS") + "/" + storetest.RequireEnv(t, "COATCHECK_REDIS_SENTINEL_MASTER"), "SESSION_KEY_PREFIX": "flaskconfigtest:"}
		}},
		{"memcached", "memcached", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_MEMCACHED": storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR")}
		}},
		{"postgresql", "sqlalchemy", func(t *testing.T) map[string]string {
			u := strings.Replace(storetest.RequireEnv(t, "COATCHECK_POSTGRES_URL"), "postgres://", "postgresql+psycopg2://", 1)
			return map[string]string{"SESSION_SQLALCHEMY": u, "SESSION_SQLALCHEMY_TABLE": "flaskconfig_sessions"}
		}},
		{"mysql", "sqlalchemy", func(t *testing.T) map[string]string {
			storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
			return map[string]string{"SESSION_SQLALCHEMY": "mysql+pymysql://root@127.0.0.1:3306/test", "SESSION_SQLALCHEMY_TABLE": "flaskconfig_sessions"}
		}},
		{"mongodb", "mongodb", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_MONGODB": storetest.RequireEnv(t, "COATCHECK_MONGO_URL"), "SESSION_MONGODB_DB": "coatcheck_flaskconfig_test", "SESSION_MONGODB_TTL_INDEX": "false"}
		}},
		{"dynamodb", "dynamodb", func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_DYNAMODB": storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL"), "SESSION_DYNAMODB_TABLE": "flaskconfig_sessions"}
		}},
	}
	for i, tc := range cases {
		name := tc.typ
		if i == 5 {
			name += "/cluster"
		} else if i == 6 {
			name += "/sentinel"
		}
		t.Run(name, func(t *testing.T) {
			env := tc.env(t)
			env["SESSION_TYPE"] = tc.typ
			env["SECRET_KEY"] = "dev-secret-key"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := flaskconfig.FromMap(ctx, env, flaskconfig.Options{Configure: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Store.Backend != tc.backend || s.Config().Server.FlaskSessionBackend != tc.backend {
				t.Fatalf("backend %q (config %q), want %q", s.Store.Backend, s.Config().Server.FlaskSessionBackend, tc.backend)
			}
			if strings.Contains(s.Store.Description, "password") {
				t.Fatalf("description %q", s.Store.Description)
			}
			roundTrip(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadSettings(t *testing.T) {
	ctx := context.Background()
	for _, env := range []map[string]string{
		{"SESSION_TYPE": "nosuch"},
		{"SESSION_TYPE": "redis", "SESSION_REDIS": "127.0.0.1:6379"},
		{"SESSION_TYPE": "redis", "SESSION_REDIS": "redis+sentinel://127.0.0.1:26379"},
		{"SESSION_TYPE": "sqlalchemy"},
		{"SESSION_TYPE": "sqlalchemy", "SESSION_SQLALCHEMY": "oracle://u:hunter2@h/db"},
		{"SESSION_TYPE": "dynamodb", "SESSION_DYNAMODB": "localhost:8000"},
		{"SESSION_TYPE": "dynamodb", "SESSION_DYNAMODB_TABLE_EXISTS": "maybe"},
		{"SESSION_TYPE": "mongodb", "SESSION_MONGODB_TTL_INDEX": "perhaps"},
		{"SESSION_TYPE": "filesystem", "SESSION_FILE_THRESHOLD": "many"},
		{"SESSION_TYPE": "sqlite", "SESSION_SQLITE": filepath.Join(t.TempDir(), "s.db"), "SESSION_REFRESH_INTERVAL": "soon"},
		{"SESSION_TYPE": "postgresql", "SESSION_REFRESH_INTERVAL": "-60"},
		{"SESSION_TYPE": "redis", "SESSION_REFRESH_INTERVAL": "1 minute"},
	} {
		env["SECRET_KEY"] = "k"
		s, err := flaskconfig.FromMap(ctx, env, flaskconfig.Options{})
		if err == nil {
			s.Close()
			t.Errorf("%v: no error", env)
			continue
		}
		if !errors.Is(err, flaskconfig.ErrConfig) {
			t.Errorf("%v: %v does not wrap ErrConfig", env, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows a password: %v", err)
		}
	}
}

// A Redis that accepts connections and never answers: the client honours
// the context's deadline (ContextTimeoutEnabled) instead of go-redis' 3 s
// read timeout.
func TestHungRedisHonoursDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := flaskconfig.FromMap(context.Background(), map[string]string{
		"SESSION_TYPE": "redis", "SESSION_REDIS": "redis://" + ln.Addr().String() + "/0", "SECRET_KEY": "k",
	}, flaskconfig.Options{Configure: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err = s.Admin().Get(ctx, "abc")
	if err == nil {
		t.Fatal("no error from a hung Redis")
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Fatalf("hung Redis took %v past a 300ms deadline", el)
	}
}

func TestDynamoDBTableExists(t *testing.T) {
	url := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	_, err := flaskconfig.FromMap(context.Background(), map[string]string{
		"SESSION_TYPE": "dynamodb", "SESSION_DYNAMODB": url, "SESSION_DYNAMODB_TABLE": "flaskconfig_absent_table",
		"SESSION_DYNAMODB_TABLE_EXISTS": "true", "SECRET_KEY": "k",
	}, flaskconfig.Options{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("TABLE_EXISTS on a missing table: %v", err)
	}
}

func TestDynamoDBClientSettings(t *testing.T) {
	ctx := context.Background()
	// a loopback endpoint without keys: dummy credentials, us-east-1
	c, err := flaskconfig.DynamoDBClient(ctx, "http://127.0.0.1:8000", flaskconfig.MapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Region != "us-east-1" || o.BaseEndpoint == nil || *o.BaseEndpoint != "http://127.0.0.1:8000" {
		t.Fatalf("region %q endpoint %v", o.Region, o.BaseEndpoint)
	}
	cred, err := o.Credentials.Retrieve(ctx)
	if err != nil || cred.AccessKeyID == "" {
		t.Fatalf("credentials %v %v", cred.AccessKeyID, err)
	}
	// the standard AWS settings come through the same lookup
	c, err = flaskconfig.DynamoDBClient(ctx, "https://dynamodb.test.invalid", flaskconfig.MapLookup(map[string]string{
		"AWS_DEFAULT_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.Region != "eu-west-3" {
		t.Fatalf("region %q, want AWS_DEFAULT_REGION's", o.Region)
	}
	if cred, _ := c.Options().Credentials.Retrieve(ctx); cred.AccessKeyID != "AKIDEXAMPLE" {
		t.Fatalf("access key %q", cred.AccessKeyID)
	}
	if _, err := flaskconfig.DynamoDBClient(ctx, "ftp://x", flaskconfig.MapLookup(nil)); !errors.Is(err, flaskconfig.ErrConfig) {
		t.Fatalf("ftp endpoint: %v", err)
	}
}

// TestRefreshInterval: SESSION_REFRESH_INTERVAL reaches the SQL stores'
// Options.RefreshInterval. A read asking for an expiry 10 s later than the
// stored one moves it when the setting is unset or 0, and leaves it with 60
// (seconds) or "1m".
func TestRefreshInterval(t *testing.T) {
	dir := t.TempDir()
	types := map[string]func(t *testing.T) map[string]string{
		"sqlite": func(*testing.T) map[string]string {
			return map[string]string{"SESSION_SQLITE": filepath.Join(dir, "s.db")}
		},
		"postgresql": func(t *testing.T) map[string]string {
			return map[string]string{"SESSION_SQLALCHEMY": storetest.RequireEnv(t, "COATCHECK_POSTGRES_URL"), "SESSION_SQLALCHEMY_TABLE": "flaskconfig_sessions"}
		},
		"mysql": func(t *testing.T) map[string]string {
			storetest.RequireEnv(t, "COATCHECK_MYSQL_DSN")
			return map[string]string{"SESSION_SQLALCHEMY": "mysql+pymysql://root@127.0.0.1:3306/test", "SESSION_SQLALCHEMY_TABLE": "flaskconfig_sessions"}
		},
	}
	for typ, env := range types {
		for setting, moves := range map[string]bool{"": true, "0": true, "60": false, "1m": false} {
			t.Run(typ+"/"+setting, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				e := env(t)
				e["SESSION_TYPE"] = typ
				if setting != "" {
					e["SESSION_REFRESH_INTERVAL"] = setting
				}
				st, err := flaskconfig.OpenStore(ctx, flaskconfig.MapLookup(e))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				key := "flaskconfig-refresh-" + strings.ReplaceAll(typ+setting, " ", "")
				first := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
				if err := st.Store.Set(ctx, key, []byte("v"), first); err != nil {
					t.Fatal(err)
				}
				defer st.Store.Delete(ctx, key)
				asked := first.Add(10 * time.Second)
				if data, found, err := st.Store.(coatcheck.GetToucher).GetAndTouch(ctx, key, asked); err != nil || !found || string(data) != "v" {
					t.Fatalf("GetAndTouch = %q, %v, %v", data, found, err)
				}
				var got time.Time
				if err := st.Store.(coatcheck.Iterator).Iterate(ctx, key, func(k string, exp time.Time) bool {
					got = exp
					return true
				}); err != nil {
					t.Fatal(err)
				}
				want := first
				if moves {
					want = asked
				}
				if !got.Equal(want) {
					t.Errorf("SESSION_REFRESH_INTERVAL=%q: stored expiry %v after the read, want %v (moved: %v)", setting, got, want, moves)
				}
			})
		}
	}
}
