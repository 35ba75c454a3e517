package coatcheck

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
	"github.com/coatcheck/coatcheck/flasksession"
	"github.com/coatcheck/coatcheck/itsdangerous"
)

// flaskCookieCodec adapts flaskcookie to the cookie interface.
type flaskCookieCodec struct{ c *flaskcookie.Codec }

func newFlaskCookieCodec(cfg *Config) (cookieCodec, error) {
	fb := secretKeys(cfg)
	fb = fb[:len(fb)-1]
	c, err := flaskcookie.New(flaskcookie.Config{
		SecretKey:  []byte(cfg.SecretKey),
		Fallbacks:  fb,
		MaxAge:     cfg.PermanentLifetime,
		TaggedJSON: cfg.TaggedJSON,
	})
	if err != nil {
		return nil, err
	}
	return flaskCookieCodec{c}, nil
}

func (f flaskCookieCodec) appendEncode(dst []byte, data map[string]any, now time.Time) ([]byte, error) {
	b, err := f.c.AppendEncode(dst, data, now)
	if err != nil {
		return b, errors.Join(ErrUnsupportedValue, err)
	}
	return b, nil
}

// fresh is itsdangerous' age rule (TimestampSigner.Unsign): whole seconds,
// not in the future, at most MaxAge old.
func (f flaskCookieCodec) fresh(signedAt, now time.Time) bool {
	age := now.Unix() - signedAt.Unix()
	return age >= 0 && age <= int64(f.c.MaxAge()/time.Second)
}

func (f flaskCookieCodec) appendResign(dst []byte, value string, now time.Time) ([]byte, bool) {
	b, err := f.c.AppendResign(dst, value, now)
	return b, err == nil
}

func (f flaskCookieCodec) decode(value string, now time.Time) (map[string]any, time.Time, error) {
	m, signedAt, err := f.c.Decode(value, now)
	if err != nil && errors.Is(err, itsdangerous.ErrBadPayload) {
		return nil, signedAt, errors.Join(ErrBadPayload, err)
	}
	return m, signedAt, err
}

// secretKeys lists SECRET_KEY_FALLBACKS then SECRET_KEY: itsdangerous' key
// list, oldest first, signing with the last.
func secretKeys(cfg *Config) [][]byte {
	keys := make([][]byte, 0, len(cfg.SecretKeyFallbacks)+1)
	for _, k := range cfg.SecretKeyFallbacks {
		keys = append(keys, []byte(k))
	}
	return append(keys, []byte(cfg.SecretKey))
}

// BackendNamer is implemented by stores that keep a Flask-Session backend's
// layout: FlaskSessionBackend returns its name ("redis", "memcached",
// "filesystem", "mongodb", "sqlalchemy", "dynamodb"). The Manager uses it
// when ServerConfig.FlaskSessionBackend is empty, so that a store writes
// what Flask-Session's backend of that name reads without further settings
// (a filesystem store, for instance, pickles as cachelib does).
type BackendNamer interface {
	FlaskSessionBackend() string
}

// wireServer wires ids, codec and signer for server-side sessions, from the
// explicit settings, the store's backend and the Flask-Session
// compatibility profile.
func wireServer(cfg *Config, si *serverInterface) error {
	sc := &cfg.Server
	style, length := flasksession.TokenURLSafe, sc.IDLength
	serialization, proto := strings.ToLower(string(sc.Serialization)), sc.PickleProtocol
	backend := sc.FlaskSessionBackend
	if bn, ok := cfg.Store.(BackendNamer); ok && backend == "" {
		backend = bn.FlaskSessionBackend()
	}
	if backend == "filesystem" && serialization == "" && sc.Codec == nil {
		// cachelib's FileSystemCache pickles in every Flask-Session version
		serialization = flasksession.FormatPickle
	}
	if sc.FlaskSessionCompat != "" {
		if backend == "" {
			backend = "redis"
		}
		p, err := flasksession.ProfileFor(sc.FlaskSessionCompat, backend)
		if err != nil {
			return fmt.Errorf("coatcheck: SESSION_FLASK_COMPAT: %w", err)
		}
		style = p.IDStyle
		if length == 0 {
			length = p.IDLength
		}
		if serialization == "" {
			serialization = p.Serialization
		}
		if proto == 0 && serialization == flasksession.FormatPickle {
			proto = p.PickleProtocol
		}
	}
	switch IDStyle(strings.ToLower(string(sc.IDStyle))) {
	case "":
	case IDUUID, "uuid4":
		style = flasksession.UUID4
	case IDToken:
		style = flasksession.TokenURLSafe
	default:
		return fmt.Errorf("coatcheck: IDStyle must be \"token\" or \"uuid\", not %q", sc.IDStyle)
	}
	if style == flasksession.TokenURLSafe && length == 0 {
		length = flasksession.DefaultIDLength
	}
	if length < 0 || length > 128 {
		return fmt.Errorf("coatcheck: SESSION_ID_LENGTH %d out of range (1-128)", length)
	}
	if style == flasksession.TokenURLSafe && length < 16 {
		cfg.logger().Warn("coatcheck: SESSION_ID_LENGTH below 16 bytes makes session ids guessable", "bytes", length)
	}
	si.newID = func() (string, error) { return flasksession.NewID(style, length) }
	si.validID = flasksession.ValidID

	switch {
	case sc.Codec != nil:
		si.codec = sc.Codec
	case serialization == flasksession.FormatPickle:
		if proto == 0 && sc.PickleProtocol == 0 && sc.FlaskSessionCompat == "" {
			proto = 2
		}
		si.codec = flasksession.Fallback(flasksession.Pickle(proto), flasksession.Msgpack, flasksession.JSON)
	default:
		if serialization == "" {
			serialization = flasksession.FormatMsgpack
		}
		c, err := flasksession.CodecFor(string(serialization))
		if err != nil {
			return fmt.Errorf("coatcheck: SESSION_SERIALIZATION_FORMAT: %w", err)
		}
		si.codec = c
	}

	if sc.UseSigner {
		if cfg.SecretKey == "" {
			cfg.logger().Warn("coatcheck: SESSION_USE_SIGNER without SECRET_KEY: sessions are read-only and empty")
			return nil
		}
		s, err := itsdangerous.NewSigner(itsdangerous.SignerConfig{
			SecretKeys:    secretKeys(cfg), // Flask-Session verifies with the cookie's key list
			Salt:          []byte("flask-session"),
			KeyDerivation: itsdangerous.HMAC,
		})
		if err != nil {
			return fmt.Errorf("coatcheck: %w", err)
		}
		si.signer = itsSigner{s}
	}
	return nil
}

// itsSigner signs session ids like Flask-Session's SESSION_USE_SIGNER:
// itsdangerous Signer, salt "flask-session", hmac derivation, no timestamp.
type itsSigner struct{ s *itsdangerous.Signer }

func (i itsSigner) sign(id string) string { return string(i.s.Sign([]byte(id))) }

func (i itsSigner) unsign(v string) (string, error) {
	id, err := i.s.Unsign([]byte(v))
	return string(id), err
}
