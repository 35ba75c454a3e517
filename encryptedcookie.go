package coatcheck

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/taggedjson"
)

// Encrypted cookies (Config.EncryptCookies) are for Go-only deployments:
// the session is sealed with AES-256-GCM instead of signed, so the browser
// cannot read it either. Flask cannot read them: they are refused together
// with the Flask-compatibility settings.
//
// Format: "e1." + base64url(nonce[12] ‖ AES-256-GCM(key, nonce,
// plaintext, additional data = "coatcheck-session-v1|" + cookie name)),
// where plaintext = 8-byte big-endian Unix seconds of the write ‖ the
// session as Flask's tagged JSON. No compression (a compressed secret's
// length leaks its content). key = HKDF-SHA256(SECRET_KEY, salt none, info
// "coatcheck encrypted session cookie v1"); each SECRET_KEY_FALLBACKS entry
// derives a key that still opens cookies. A fresh random nonce per write;
// with one key, rotate after about 2^32 cookie writes (GCM's bound for
// random nonces).

const (
	encPrefix  = "e1."
	encInfo    = "coatcheck encrypted session cookie v1"
	encAADBase = "coatcheck-session-v1|"
	// maxEncryptedCookie bounds what is decrypted: a browser sends at most
	// about 4 KiB per cookie.
	maxEncryptedCookie = 8192
)

// errEncrypted is the rejection of an encrypted cookie that does not open.
var errEncrypted = errors.New("coatcheck: encrypted session cookie: cannot be opened with any configured key (tampered, or another key)")

type encryptedCookieCodec struct {
	aeads  []cipher.AEAD // current key first, then fallbacks newest first
	tj     *taggedjson.Serializer
	aad    []byte
	maxAge time.Duration
}

// hkdfSHA256 is RFC 5869 HKDF with SHA-256, for one 32-byte output block.
func hkdfSHA256(secret []byte, info string) []byte {
	prk := hmac.New(sha256.New, make([]byte, sha256.Size)) // salt: zeros
	prk.Write(secret)
	okm := hmac.New(sha256.New, prk.Sum(nil))
	okm.Write([]byte(info))
	okm.Write([]byte{1})
	return okm.Sum(nil)
}

func newEncryptedCookieCodec(cfg *Config) (cookieCodec, error) {
	keys := secretKeys(cfg) // oldest first, current last
	c := &encryptedCookieCodec{aad: []byte(encAADBase + cfg.CookieName), maxAge: cfg.PermanentLifetime, tj: cfg.TaggedJSON}
	if c.tj == nil {
		c.tj = taggedjson.New()
	}
	for i := len(keys) - 1; i >= 0; i-- {
		block, err := aes.NewCipher(hkdfSHA256(keys[i], encInfo))
		if err != nil {
			return nil, fmt.Errorf("coatcheck: encrypted cookies: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("coatcheck: encrypted cookies: %w", err)
		}
		c.aeads = append(c.aeads, aead)
	}
	return c, nil
}

func (c *encryptedCookieCodec) appendEncode(dst []byte, data map[string]any, now time.Time) ([]byte, error) {
	aead := c.aeads[0]
	var buf [512]byte
	plain := binary.BigEndian.AppendUint64(buf[:0], uint64(now.Unix()))
	plain, err := c.tj.AppendMarshal(plain, data)
	if err != nil {
		return dst, errors.Join(ErrUnsupportedValue, err)
	}
	sealed := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(sealed); err != nil {
		return dst, fmt.Errorf("coatcheck: encrypted cookies: nonce: %w", err)
	}
	sealed = aead.Seal(sealed, sealed, plain, c.aad)
	dst = append(dst, encPrefix...)
	return base64.RawURLEncoding.AppendEncode(dst, sealed), nil
}

// fresh is decode's age rule.
func (c *encryptedCookieCodec) fresh(signedAt, now time.Time) bool {
	age := now.Sub(signedAt)
	return age <= c.maxAge && age >= -time.Minute
}

// resign is not possible without the plaintext's new time: encode again.
func (c *encryptedCookieCodec) appendResign(dst []byte, _ string, _ time.Time) ([]byte, bool) {
	return dst, false
}

func (c *encryptedCookieCodec) decode(value string, now time.Time) (map[string]any, time.Time, error) {
	if len(value) > maxEncryptedCookie || len(value) < len(encPrefix) || value[:len(encPrefix)] != encPrefix {
		return nil, time.Time{}, errEncrypted
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value[len(encPrefix):])
	if err != nil {
		return nil, time.Time{}, errEncrypted
	}
	for _, aead := range c.aeads {
		ns := aead.NonceSize()
		if len(sealed) < ns+aead.Overhead()+8 {
			return nil, time.Time{}, errEncrypted
		}
		plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], c.aad)
		if err != nil {
			continue
		}
		at := time.Unix(int64(binary.BigEndian.Uint64(plain)), 0)
		if !c.fresh(at, now) {
			age := now.Sub(at)
			return nil, at, fmt.Errorf("coatcheck: encrypted session cookie: written %s ago, outside PERMANENT_SESSION_LIFETIME %s", age.Round(time.Second), c.maxAge)
		}
		m, err := c.tj.Unmarshal(plain[8:])
		if err != nil {
			return nil, at, errors.Join(ErrBadPayload, err)
		}
		return m, at, nil
	}
	return nil, time.Time{}, errEncrypted
}
