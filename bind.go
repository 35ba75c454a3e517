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
	fb := make([][]byte, 0, len(cfg.SecretKeyFallbacks))
	for _, k := range cfg.SecretKeyFallbacks {
		fb = append(fb, []byte(k))
	}
	c, err := flaskcookie.New(flaskcookie.Config{
		SecretKey: []byte(cfg.SecretKey),
		Fallbacks: fb,
		MaxAge:    cfg.PermanentLifetime,
	})
	if err != nil {
		return nil, err
	}
	return flaskCookieCodec{c}, nil
}

func (f flaskCookieCodec) encode(data map[string]any, now time.Time) (string, error) {
	v, err := f.c.Encode(data, now)
	if err != nil {
		return "", errors.Join(ErrUnsupportedValue, err)
	}
	return v, nil
}

func (f flaskCookieCodec) decode(value string, now time.Time) (map[string]any, error) {
	m, _, err := f.c.Decode(value, now)
	if err != nil && errors.Is(err, itsdangerous.ErrBadPayload) {
		return nil, errors.Join(ErrBadPayload, err)
	}
	return m, err
}

// bindServer wires ids, codec and signer for server-side sessions, from the
// explicit settings and the Flask-Session compatibility profile.
func bindServer(cfg *Config, si *serverInterface) error {
	sc := &cfg.Server
	style, length := flasksession.TokenURLSafe, sc.IDLength
	serialization, proto := strings.ToLower(sc.Serialization), sc.PickleProtocol
	if sc.FlaskSessionCompat != "" {
		backend := sc.FlaskSessionBackend
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
	switch strings.ToLower(sc.IDStyle) {
	case "":
	case "uuid", "uuid4":
		style = flasksession.UUID4
	case "token":
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
		c, err := flasksession.CodecFor(serialization)
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
			SecretKeys:    [][]byte{[]byte(cfg.SecretKey)},
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
