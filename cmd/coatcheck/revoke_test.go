package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/storetest"
)

// TestSessionsRevokeUser: `coatcheck sessions list --user` and `revoke
// --user` end every session of one user, from another process's point of
// view, on a listable store (sqlite) and on one that cannot list
// (memcached: the per-user index needs no listing).
func TestSessionsRevokeUser(t *testing.T) {
	envs := map[string]map[string]string{
		"sqlite": {"SESSION_TYPE": "sqlite", "SESSION_SQLITE": filepath.Join(t.TempDir(), "revoke.db"), "SECRET_KEY": "k"},
		"memcached": {"SESSION_TYPE": "memcached", "SESSION_MEMCACHED": storetest.RequireEnv(t, "COATCHECK_MEMCACHE_ADDR"),
			"SESSION_KEY_PREFIX": "revoke-" + strings.ReplaceAll(t.Name(), "/", "-") + ":", "SECRET_KEY": "k"},
	}
	for name, env := range envs {
		t.Run(name, func(t *testing.T) {
			dave1, dave2, erin := startDemo(t, env), startDemo(t, env), startDemo(t, env)
			dave2.srv.Close()
			dave2.srv = dave1.srv // same server, second browser
			dave1.do("POST", "/login", url.Values{"username": {"dave"}})
			dave2.do("POST", "/login", url.Values{"username": {"dave"}})
			erin.do("POST", "/login", url.Values{"username": {"erin"}})

			code, out, errs := runCLI(t, env, "sessions", "list", "--user", "dave")
			if code != 0 || len(strings.Fields(out)) != 2 || !strings.Contains(errs, "2 sessions of dave") {
				t.Fatalf("list --user: %d %q %q", code, out, errs)
			}
			code, out, errs = runCLI(t, env, "sessions", "revoke", "--user", "dave")
			if code != 0 || !strings.HasPrefix(out, "revoked 2 sessions of dave") {
				t.Fatalf("revoke --user: %d %q %q", code, out, errs)
			}
			for i, d := range []*demoClient{dave1, dave2} {
				if _, body := d.do("GET", "/", nil); !strings.Contains(body, "You are not logged in") {
					t.Errorf("dave's browser %d after revoke: %q", i+1, body)
				}
			}
			if _, body := erin.do("GET", "/", nil); !strings.Contains(body, "Logged in as erin") {
				t.Errorf("erin after dave's revoke: %q", body)
			}
			if code, _, errs = runCLI(t, env, "sessions", "revoke", "--user"); code != 2 {
				t.Errorf("revoke without a name: %d %q", code, errs)
			}
		})
	}
}

// TestAdminRefusesWithoutToken: the operator page is never open by
// default.
func TestAdminRefusesWithoutToken(t *testing.T) {
	code, _, errs := runCLI(t, map[string]string{"SESSION_TYPE": "memory", "SECRET_KEY": "k"}, "admin", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "COATCHECK_ADMIN_TOKEN") {
		t.Errorf("admin without a token: exit %d, %q", code, errs)
	}
	if code, _, errs = runCLI(t, map[string]string{}, "admin", "--nope"); code != 2 {
		t.Errorf("admin --nope: exit %d, %q", code, errs)
	}
}

// TestEmptyPrefixFromEnvironment: SESSION_KEY_PREFIX="" set in the
// environment is no prefix for the command too (it was read as unset, so
// the demo looked under session:<sid>).
func TestEmptyPrefixFromEnvironment(t *testing.T) {
	env := map[string]string{"SESSION_TYPE": "sqlite", "SESSION_SQLITE": filepath.Join(t.TempDir(), "p.db"), "SECRET_KEY": "k", "SESSION_KEY_PREFIX": ""}
	d := startDemo(t, env)
	d.do("POST", "/login", url.Values{"username": {"pat"}})
	id := d.sessionCookie()
	_, st, err := loadConfig(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if _, found, err := st.store.Get(context.Background(), id); !found || err != nil {
		t.Errorf("the session is not stored under its bare id (found=%v, %v): SESSION_KEY_PREFIX=\"\" was not honoured", found, err)
	}
}
