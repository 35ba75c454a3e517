package coatcheck

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.CookieName != "session" || c.CookiePath != "/" || !c.httpOnly() || c.CookieSecure ||
		!c.refreshEach() || c.PermanentLifetime != 31*24*time.Hour || c.MaxCookieSize != 4093 || c.CookieSameSite != 0 {
		t.Errorf("defaults differ from Flask's: %+v", c)
	}
}

func TestConfigFromMap(t *testing.T) {
	c, err := ConfigFromMap(map[string]any{
		"SECRET_KEY": "k", "SECRET_KEY_FALLBACKS": []any{"old1", "old2"},
		"SESSION_COOKIE_NAME": "my_session", "SESSION_COOKIE_DOMAIN": ".example.com:5000",
		"SESSION_COOKIE_PATH": "/app", "SESSION_COOKIE_HTTPONLY": false, "SESSION_COOKIE_SECURE": true,
		"SESSION_COOKIE_SAMESITE": "lax", "PERMANENT_SESSION_LIFETIME": 3600,
		"SESSION_REFRESH_EACH_REQUEST": "false", "MAX_COOKIE_SIZE": 0, "SESSION_KEY_PREFIX": "myapp:",
		"SESSION_USE_SIGNER": true, "SESSION_PERMANENT": false, "SESSION_ID_LENGTH": "16",
		"SESSION_STRICT_CONFLICTS": "yes", "UNRELATED_FLASK_SETTING": 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKey != "k" || strings.Join(c.SecretKeyFallbacks, ",") != "old1,old2" || c.CookieName != "my_session" ||
		c.CookieDomain != "example.com" || c.CookiePath != "/app" || c.httpOnly() || !c.CookieSecure ||
		c.CookieSameSite != http.SameSiteLaxMode || c.PermanentLifetime != time.Hour || c.refreshEach() ||
		c.MaxCookieSize != -1 || c.Server.KeyPrefix != "myapp:" || !c.Server.UseSigner || c.Server.permanent() ||
		c.Server.IDLength != 16 || !c.Server.StrictConflicts {
		t.Errorf("got %+v", c)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"SECRET_KEY": "s", "SECRET_KEY_FALLBACKS": "a, b,,c", "PERMANENT_SESSION_LIFETIME": "60", "SESSION_COOKIE_SAMESITE": "Strict"}
	c, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.SecretKeyFallbacks, "|") != "a|b|c" || c.PermanentLifetime != time.Minute || c.CookieSameSite != http.SameSiteStrictMode {
		t.Errorf("got %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, m := range []map[string]any{
		{"SESSION_COOKIE_SAMESITE": "sometimes"},
		{"SESSION_COOKIE_SECURE": "maybe"},
		{"PERMANENT_SESSION_LIFETIME": "a month"},
		{"MAX_COOKIE_SIZE": "big"},
		{"SECRET_KEY_FALLBACKS": 3},
	} {
		if _, err := ConfigFromMap(m); err == nil {
			t.Errorf("ConfigFromMap(%v) accepted an invalid value", m)
		}
	}
	if _, err := (Config{CookieName: "bad name"}).withDefaults(); err == nil {
		t.Error("invalid cookie name accepted")
	}
}

func TestPartitionedForcesSecure(t *testing.T) {
	c, _ := Config{CookiePartitioned: true}.withDefaults()
	if !c.CookieSecure {
		t.Error("Partitioned must force Secure")
	}
}
