package coatcheck

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// setting is one Flask setting ConfigFromMap understands: its name, and how
// its value lands in a Config.
type setting struct {
	name  string
	apply func(c *Config, v any) error
	// emptyMeans: an empty string is a value (SESSION_KEY_PREFIX=""), not
	// "unset", when read from the environment.
	emptyMeans bool
	list       bool // a comma-separated list in the environment
}

// settings is the one table of the settings Coatcheck reads by Flask's
// names; ConfigKeys, ConfigFromMap and ConfigFromEnv derive from it.
var settings = []setting{
	{name: "SECRET_KEY", apply: func(c *Config, v any) error { c.SecretKey = str(v); return nil }},
	{name: "SECRET_KEY_FALLBACKS", list: true, apply: func(c *Config, v any) (err error) {
		c.SecretKeyFallbacks, err = strList(v)
		return err
	}},
	{name: "SESSION_COOKIE_NAME", apply: func(c *Config, v any) error { c.CookieName = str(v); return nil }},
	{name: "SESSION_COOKIE_DOMAIN", apply: func(c *Config, v any) error {
		if b, ok := v.(bool); ok && !b {
			c.CookieDomain = "" // Flask's False: no Domain
			return nil
		}
		c.CookieDomain = str(v)
		return nil
	}},
	{name: "SESSION_COOKIE_PATH", apply: func(c *Config, v any) error { c.CookiePath = str(v); return nil }},
	{name: "APPLICATION_ROOT", apply: func(c *Config, v any) error { c.ApplicationRoot = str(v); return nil }},
	{name: "SESSION_COOKIE_HTTPONLY", apply: boolPtr(func(c *Config) **bool { return &c.CookieHTTPOnly })},
	{name: "SESSION_COOKIE_SECURE", apply: boolField(func(c *Config) *bool { return &c.CookieSecure })},
	{name: "SESSION_COOKIE_SAMESITE", apply: func(c *Config, v any) (err error) {
		c.CookieSameSite, err = ParseSameSite(str(v))
		return err
	}},
	{name: "SESSION_COOKIE_PARTITIONED", apply: boolField(func(c *Config) *bool { return &c.CookiePartitioned })},
	{name: "SESSION_REFRESH_EACH_REQUEST", apply: boolPtr(func(c *Config) **bool { return &c.RefreshEachRequest })},
	{name: "PERMANENT_SESSION_LIFETIME", apply: func(c *Config, v any) error {
		d, err := parseSeconds(v)
		if d == 0 {
			d = time.Nanosecond // Flask's 0: cookies expire at once
		}
		c.PermanentLifetime = d
		return err
	}},
	{name: "MAX_COOKIE_SIZE", apply: func(c *Config, v any) error {
		n, err := parseInt(v)
		if n == 0 {
			n = -1 // Flask's 0 disables the check
		}
		c.MaxCookieSize = n
		return err
	}},
	{name: "SESSION_KEY_PREFIX", emptyMeans: true, apply: func(c *Config, v any) error {
		c.Server.KeyPrefix = str(v)
		c.Server.NoKeyPrefix = c.Server.KeyPrefix == ""
		return nil
	}},
	{name: "SESSION_USE_SIGNER", apply: boolField(func(c *Config) *bool { return &c.Server.UseSigner })},
	{name: "SESSION_PERMANENT", apply: boolPtr(func(c *Config) **bool { return &c.Server.Permanent })},
	{name: "SESSION_ID_LENGTH", apply: func(c *Config, v any) (err error) {
		c.Server.IDLength, err = parseInt(v)
		return err
	}},
	{name: "SESSION_SERIALIZATION_FORMAT", apply: func(c *Config, v any) error {
		c.Server.Serialization = Serialization(strings.ToLower(str(v)))
		return nil
	}},
	{name: "SESSION_FLASK_COMPAT", apply: func(c *Config, v any) error { c.Server.FlaskSessionCompat = str(v); return nil }},
	{name: "SESSION_IDLE_TIMEOUT", apply: durationField(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{name: "SESSION_ABSOLUTE_LIFETIME", apply: durationField(func(c *Config) *time.Duration { return &c.AbsoluteLifetime })},
	{name: "SESSION_STRICT_CONFLICTS", apply: boolField(func(c *Config) *bool { return &c.Server.StrictConflicts })},
	{name: "SESSION_USER_KEY", apply: func(c *Config, v any) error { c.Server.UserKey = str(v); return nil }},
	{name: "SESSION_COOKIE_CACHE_SIZE", apply: func(c *Config, v any) (err error) {
		c.CookieCacheSize, err = parseInt(v)
		return err
	}},
	{name: "SESSION_STORE_TIMEOUT", apply: durationField(func(c *Config) *time.Duration { return &c.Server.StoreTimeout })},
}

func boolField(field func(*Config) *bool) func(*Config, any) error {
	return func(c *Config, v any) (err error) {
		*field(c), err = parseBool(v)
		return err
	}
}

func boolPtr(field func(*Config) **bool) func(*Config, any) error {
	return func(c *Config, v any) error {
		b, err := parseBool(v)
		*field(c) = &b
		return err
	}
}

func durationField(field func(*Config) *time.Duration) func(*Config, any) error {
	return func(c *Config, v any) (err error) {
		*field(c), err = parseSeconds(v)
		return err
	}
}

// ConfigKeys returns the Flask and Flask-Session setting names that
// ConfigFromMap and ConfigFromEnv understand, in a fixed order.
func ConfigKeys() []string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.name
	}
	return keys
}

// ConfigFromEnv reads the settings of ConfigKeys from the environment
// through lookup (os.LookupEnv when nil). A variable that is set but empty
// is a value where Flask gives empty a meaning (SESSION_KEY_PREFIX="" is no
// prefix) and unset elsewhere. SECRET_KEY_FALLBACKS is a comma-separated
// list; durations are seconds, as in Flask; booleans accept
// 1/0/true/false/yes/no/on/off. Every bad value is reported, joined.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	m := map[string]any{}
	for _, s := range settings {
		v, ok := lookup(s.name)
		if !ok || v == "" && !s.emptyMeans {
			continue
		}
		m[s.name] = v
	}
	return ConfigFromMap(m)
}

// ConfigFromMap builds a Config from Flask's setting names, as a team would
// copy them out of its Flask config. Values may be Go-typed (bool, int,
// time.Duration, []string) or strings. Unknown keys are ignored (a Flask
// config holds many unrelated settings); invalid values are errors, every
// one of them reported (joined, each naming its key).
func ConfigFromMap(m map[string]any) (Config, error) {
	var c Config
	var errs []error
	for _, s := range settings {
		v, ok := m[s.name]
		if !ok || v == nil {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("coatcheck: %s: %w", s.name, err))
		}
	}
	return c, errors.Join(errs...)
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func strList(v any) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case []string:
		out = append(out, x...)
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case string:
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	default:
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	return out, nil
}

func parseInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(str(v)))
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", str(v))
	}
	return n, nil
}
