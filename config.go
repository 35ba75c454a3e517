package coatcheck

import (
	"github.com/coatcheck/coatcheck/taggedjson"

	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultLifetime is Flask's PERMANENT_SESSION_LIFETIME default: 31 days.
const DefaultLifetime = 31 * 24 * time.Hour

// DefaultMaxCookieSize is Flask's MAX_COOKIE_SIZE default.
const DefaultMaxCookieSize = 4093

// Config configures a Manager. The zero value of every field is Flask's
// default, so Config{SecretKey: "..."} behaves like a Flask app with only
// SECRET_KEY set. Each field names the Flask (or Flask-Session) setting it
// mirrors; ConfigFromMap and ConfigFromEnv read those names.
type Config struct {
	// SecretKey signs cookies (SECRET_KEY). Empty: sessions are read-only and
	// empty (Flask's NullSession), and a write fails with ErrNoSecretKey.
	SecretKey string

	// SecretKeyFallbacks are older keys still accepted when verifying
	// (SECRET_KEY_FALLBACKS, Flask ≥ 3.1.1), oldest first; verification tries
	// SecretKey, then the fallbacks from last to first. New cookies are
	// always signed with SecretKey.
	SecretKeyFallbacks []string

	// CookieName is SESSION_COOKIE_NAME. Default "session".
	CookieName string

	// CookieDomain is SESSION_COOKIE_DOMAIN. Empty: no Domain attribute
	// (host-only cookie). A leading dot and a ":port" are dropped, as
	// Werkzeug 3 does.
	CookieDomain string

	// CookiePath is SESSION_COOKIE_PATH. Empty: ApplicationRoot.
	CookiePath string

	// ApplicationRoot is APPLICATION_ROOT, the path fallback. Default "/".
	ApplicationRoot string

	// CookieHTTPOnly is SESSION_COOKIE_HTTPONLY. nil means true.
	CookieHTTPOnly *bool

	// CookieSecure is SESSION_COOKIE_SECURE. Default false.
	CookieSecure bool

	// CookieSameSite is SESSION_COOKIE_SAMESITE. Zero: no attribute.
	CookieSameSite http.SameSite

	// CookiePartitioned is SESSION_COOKIE_PARTITIONED (CHIPS); it forces
	// Secure, as Flask does.
	CookiePartitioned bool

	// RefreshEachRequest is SESSION_REFRESH_EACH_REQUEST: re-send the cookie
	// of a permanent session on every request, sliding its expiry. nil means
	// true.
	RefreshEachRequest *bool

	// PermanentLifetime is PERMANENT_SESSION_LIFETIME: the Expires of a
	// permanent cookie, the maximum age of every signed cookie, and the expiry
	// of stored sessions. Zero means DefaultLifetime (31 days).
	PermanentLifetime time.Duration

	// MaxCookieSize is MAX_COOKIE_SIZE, counted on the whole Set-Cookie value.
	// A session that would exceed it fails with ErrCookieTooLarge through the
	// error handler (Flask only warns; the browser then drops the cookie).
	// Zero means DefaultMaxCookieSize; negative disables the check (Flask's 0).
	MaxCookieSize int

	// TaggedJSON is the app's tagged-JSON serializer, for a Flask app that
	// registered custom tags (TaggedJSONSerializer.register): cookie
	// sessions then decode and re-encode with those tags, byte-identically,
	// and Session.Set keeps values a custom tag claims as they are. (Stored
	// server-side sessions use Flask-Session's formats, which have no tags.)
	// nil: Flask's default tags.
	TaggedJSON *taggedjson.Serializer

	// EncryptCookies seals cookie sessions with AES-256-GCM (key derived
	// from SecretKey with HKDF; fallbacks still open old cookies) instead of
	// signing them, so their content is secret from the client. Flask
	// cannot read such cookies: it is for Go-only deployments, and New
	// refuses it together with a Store or the Flask-Session compatibility
	// settings. See encryptedcookie.go for the format.
	EncryptCookies bool

	// CookieCacheSize is SESSION_COOKIE_CACHE_SIZE (Coatcheck's): the byte
	// budget of the cache of recently verified cookies, which lets a client
	// that sends the same cookie again skip signature verification and
	// decoding (the age and timeout checks still run on every request; see
	// cookiecache.go). Zero means DefaultCookieCacheSize (8 MiB); negative
	// disables the cache. Cookie sessions only.
	CookieCacheSize int

	// Store switches to server-side sessions (Flask-Session): the cookie
	// carries only a session id and the data lives in Store. nil: the whole
	// session lives in a signed cookie (Flask's default).
	Store Store

	// Server holds the server-side settings; ignored when Store is nil.
	Server ServerConfig

	// Interface replaces both built-in session interfaces with a custom one
	// (Flask's app.session_interface).
	Interface SessionInterface

	// IdleTimeout is SESSION_IDLE_TIMEOUT (Coatcheck's): when positive, a
	// session not used for that long ends. Server-side the store expiry
	// slides on each use; for cookie sessions the cookie's own signing time
	// is the clock, and the cookie of every request that opens the session
	// is re-signed. Zero: sessions live PermanentLifetime from their last
	// use, as in Flask.
	IdleTimeout time.Duration

	// AbsoluteLifetime is SESSION_ABSOLUTE_LIFETIME (Coatcheck's): when
	// positive, a session ends that long after it began, however active it
	// is. The deadline travels inside the data as "_cc_deadline" (Unix
	// seconds; Flask sees an ordinary key). A session without that stamp —
	// written by Flask, Flask-Session, or before the setting — is stamped on
	// its first load and ends that long after it.
	AbsoluteLifetime time.Duration

	// ErrorHandler answers a request whose session failed: store unavailable
	// or too slow (ErrStoreUnavailable), conflicting concurrent saves
	// (ErrConflict), undecodable payload, write without a secret key, an
	// unsupported value, cookie too large. The Manager logs the failure
	// before calling it (at debug level when the client went away). nil:
	// DefaultErrorHandler (503 for store failures, 409 for conflicts, 500
	// otherwise; see ErrorStatus).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Observer receives store calls and session events, for metrics and
	// traces. nil: none.
	Observer *Observer

	// Logger receives rejected cookies (debug) and session failures (error).
	// nil: slog.Default().
	Logger *slog.Logger

	// Now is the clock. nil: time.Now.
	Now func() time.Time
}

// ServerConfig holds Flask-Session's settings for server-side sessions.
type ServerConfig struct {
	// KeyPrefix is SESSION_KEY_PREFIX, prepended to the session id to form
	// the store key. Default "session:". Set NoKeyPrefix for none.
	KeyPrefix   string
	NoKeyPrefix bool

	// UseSigner is SESSION_USE_SIGNER: the cookie carries the id signed with
	// itsdangerous' Signer (salt "flask-session", no timestamp).
	UseSigner bool

	// Permanent is SESSION_PERMANENT: new sessions are permanent. nil: true.
	Permanent *bool

	// IDLength is SESSION_ID_LENGTH: random bytes in a new id (base64url, so
	// 32 bytes give 43 characters). Default 32.
	IDLength int

	// IDStyle selects the id form: IDToken (secrets.token_urlsafe,
	// Flask-Session ≥ 0.6, the default) or IDUUID (str(uuid4()),
	// Flask-Session ≤ 0.5).
	IDStyle IDStyle

	// Serialization is SESSION_SERIALIZATION_FORMAT: SerializationMsgpack
	// (the default, as Flask-Session 0.8), SerializationJSON or
	// SerializationPickle (Flask-Session ≤ 0.5). Reading falls back across
	// formats as Flask-Session 0.8 does. A store whose backend pickles
	// (filesystem: cachelib) defaults to pickle; see BackendNamer.
	Serialization Serialization

	// Codec replaces the codec chosen by Serialization.
	Codec Codec

	// PickleProtocol is the protocol used when Serialization is "pickle":
	// 2 (default) or 0 (what Flask-Session ≤ 0.5 writes to memcached).
	PickleProtocol int

	// FlaskSessionCompat sets IDStyle, Serialization and PickleProtocol to
	// match a Flask-Session version ("0.3" … "0.8") for the backend named in
	// FlaskSessionBackend (redis, memcached, filesystem, mongodb, sqlalchemy).
	// Explicit fields above win over the profile.
	FlaskSessionCompat  string
	FlaskSessionBackend string

	// StrictConflicts changes what happens when two concurrent requests
	// change the same key of one session (read-modify-write of a counter,
	// say). Saves are merged key by key either way when the store implements
	// CompareAndSetter, so changes to different keys are never lost. For a
	// key both changed, the later save wins by default (never worse than
	// Flask's whole-session last-write-wins); with StrictConflicts the later
	// request fails with ErrConflict (409 Conflict by default) and nothing
	// of it is saved, so no update is lost silently.
	StrictConflicts bool

	// UserKey is SESSION_USER_KEY (Coatcheck's): the session key naming the
	// user, for the per-user index behind Admin.ListUser and RevokeUser.
	// Empty: Flask-Login's "_user_id", then "username". NoUserIndex turns
	// the index off (saves that log a user in or out then cost no extra
	// round trips).
	UserKey     string
	NoUserIndex bool

	// StoreTimeout is SESSION_STORE_TIMEOUT (Coatcheck's, seconds): the
	// budget of the store calls of one load, and separately of one save
	// (write, compare-and-set retries, touch, delete together). A store that
	// has not answered by then is ErrStoreUnavailable (503), never a fresh
	// session. A save is not cut short when the client goes away, only by
	// this deadline. Zero means DefaultStoreTimeout (3 s).
	StoreTimeout time.Duration
}

// DefaultStoreTimeout is ServerConfig.StoreTimeout's default.
const DefaultStoreTimeout = 3 * time.Second

// IDStyle is the form of new server-side session ids.
type IDStyle string

// The id styles.
const (
	IDToken IDStyle = "token" // secrets.token_urlsafe(SESSION_ID_LENGTH): Flask-Session ≥ 0.6
	IDUUID  IDStyle = "uuid"  // str(uuid4()): Flask-Session ≤ 0.5
)

// Serialization is a stored-value format (SESSION_SERIALIZATION_FORMAT).
type Serialization string

// The formats of package flasksession.
const (
	SerializationMsgpack Serialization = "msgpack"
	SerializationJSON    Serialization = "json"
	SerializationPickle  Serialization = "pickle"
)

func (c *Config) httpOnly() bool        { return c.CookieHTTPOnly == nil || *c.CookieHTTPOnly }
func (c *Config) refreshEach() bool     { return c.RefreshEachRequest == nil || *c.RefreshEachRequest }
func (c *ServerConfig) permanent() bool { return c.Permanent == nil || *c.Permanent }

var defaultUserKeys = []string{"_user_id", "username"}

func (c *ServerConfig) userKeys() []string {
	if c.UserKey != "" {
		return []string{c.UserKey}
	}
	return defaultUserKeys
}

// withDefaults fills Flask's defaults and validates.
func (c Config) withDefaults() (Config, error) {
	if c.CookieName == "" {
		c.CookieName = "session"
	}
	if !validCookieName(c.CookieName) {
		return c, fmt.Errorf("coatcheck: invalid cookie name %q", c.CookieName)
	}
	if c.ApplicationRoot == "" {
		c.ApplicationRoot = "/"
	}
	if c.CookiePath == "" {
		c.CookiePath = c.ApplicationRoot
	}
	c.CookieDomain = normalizeDomain(c.CookieDomain)
	if c.PermanentLifetime == 0 {
		c.PermanentLifetime = DefaultLifetime
	}
	if c.PermanentLifetime < 0 {
		return c, errors.New("coatcheck: PermanentLifetime must not be negative")
	}
	if c.MaxCookieSize == 0 {
		c.MaxCookieSize = DefaultMaxCookieSize
	}
	if c.CookiePartitioned {
		c.CookieSecure = true
	}
	if c.CookieSameSite == http.SameSiteNoneMode && !c.CookieSecure {
		// Browsers reject SameSite=None without Secure; Flask sends it anyway.
		// Keep Flask's behaviour but say so.
		c.logger().Warn("coatcheck: SameSite=None without Secure: browsers will reject the session cookie")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdleTimeout < 0 || c.AbsoluteLifetime < 0 || c.Server.StoreTimeout < 0 {
		return c, errors.New("coatcheck: IdleTimeout, AbsoluteLifetime and StoreTimeout must not be negative")
	}
	if c.IdleTimeout > 0 && c.AbsoluteLifetime > 0 && c.AbsoluteLifetime < c.IdleTimeout {
		return c, errors.New("coatcheck: AbsoluteLifetime is shorter than IdleTimeout")
	}
	if c.EncryptCookies && (c.Store != nil || c.Interface != nil || c.Server.FlaskSessionCompat != "") {
		return c, errors.New("coatcheck: EncryptCookies is for Go-only cookie sessions: it cannot be combined with a Store, a custom Interface or SESSION_FLASK_COMPAT")
	}
	if c.Server.StoreTimeout == 0 {
		c.Server.StoreTimeout = DefaultStoreTimeout
	}
	return c, nil
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// normalizeDomain applies Werkzeug 3's rules: no leading dot, no port.
func normalizeDomain(d string) string {
	d = strings.TrimSpace(d)
	d = strings.TrimPrefix(d, ".")
	if i := strings.LastIndexByte(d, ':'); i >= 0 && !strings.Contains(d[i:], "]") {
		d = d[:i]
	}
	return strings.ToLower(d)
}

func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ParseSameSite reads SESSION_COOKIE_SAMESITE: "Strict", "Lax" or "None" in
// any case (Werkzeug title-cases it); anything else is an error, as in Flask.
func ParseSameSite(s string) (http.SameSite, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return 0, nil
	case "strict":
		return http.SameSiteStrictMode, nil
	case "lax":
		return http.SameSiteLaxMode, nil
	case "none":
		return http.SameSiteNoneMode, nil
	}
	return 0, fmt.Errorf("coatcheck: SESSION_COOKIE_SAMESITE must be Strict, Lax or None, not %q", s)
}

func parseBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		return x != 0, nil
	case int64:
		return x != 0, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "yes", "on", "t", "y":
			return true, nil
		case "0", "false", "no", "off", "f", "n", "":
			return false, nil
		}
		return false, fmt.Errorf("not a boolean: %q", x)
	}
	return false, fmt.Errorf("not a boolean: %v", v)
}

func parseSeconds(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return time.Duration(f * float64(time.Second)), nil
		}
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
		return 0, fmt.Errorf("not a number of seconds: %q", x)
	}
	return 0, fmt.Errorf("not a number of seconds: %v", v)
}
