package coatcheck

import (
	"errors"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
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

func bindServer(cfg *Config, si *serverInterface) error { return errNotBound }
