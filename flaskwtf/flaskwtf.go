// Package flaskwtf mints and checks CSRF form tokens exactly as Flask-WTF 1.1
// does: the raw token (sha1 hex of 64 random bytes) lives in the session
// under "csrf_token"; the form token is itsdangerous
// URLSafeTimedSerializer(secret, salt "wtf-csrf-token").dumps(raw).
// Protect is CSRFProtect (form field or headers, validate_csrf's order, the
// SSL-strict Referer check, exempt paths) and Token is generate_csrf; both
// run inside coatcheck's session middleware.
package flaskwtf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/itsdangerous"
)

// Flask-WTF's reasons, in the order validate_csrf checks them.
var (
	ErrMissing        = errors.New("The CSRF token is missing.")
	ErrSessionMissing = errors.New("The CSRF session token is missing.")
	ErrExpired        = errors.New("The CSRF token has expired.")
	ErrInvalid        = errors.New("The CSRF token is invalid.")
	ErrMismatch       = errors.New("The CSRF tokens do not match.")
)

// Salt is Flask-WTF's default WTF_CSRF_TOKEN salt.
const Salt = "wtf-csrf-token"

// NewRaw returns a new raw session token: sha1 hex of 64 random bytes.
func NewRaw() string {
	var b [64]byte
	_, _ = rand.Read(b[:])
	h := sha1.Sum(b[:])
	return hex.EncodeToString(h[:])
}

func serializer(secret string) (*itsdangerous.URLSafeTimedSerializer, error) {
	return itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{
		SecretKeys: [][]byte{[]byte(secret)}, Salt: []byte(Salt)})
}

// Sign returns the form token for raw at now.
func Sign(raw, secret string, now time.Time) (string, error) {
	s, err := serializer(secret)
	if err != nil {
		return "", fmt.Errorf("flaskwtf: %w", err)
	}
	j, _ := json.Marshal(raw)
	return string(s.Dumps(j, now)), nil
}

// Validate is validate_csrf: data is the submitted token, sessionRaw the
// session's csrf_token ("" if absent), timeLimit 0 (or negative) for no
// limit (WTF_CSRF_TIME_LIMIT = None).
func Validate(data, sessionRaw, secret string, timeLimit time.Duration, now time.Time) error {
	if data == "" {
		return ErrMissing
	}
	if sessionRaw == "" {
		return ErrSessionMissing
	}
	s, err := serializer(secret)
	if err != nil {
		return fmt.Errorf("flaskwtf: %w", err)
	}
	if timeLimit <= 0 {
		timeLimit = itsdangerous.NoMaxAge
	}
	j, _, err := s.Loads([]byte(data), timeLimit, now)
	if errors.Is(err, itsdangerous.ErrSignatureExpired) {
		return ErrExpired
	}
	var tok string
	if err != nil || json.Unmarshal(j, &tok) != nil {
		return ErrInvalid
	}
	if !hmac.Equal([]byte(sessionRaw), []byte(tok)) {
		return ErrMismatch
	}
	return nil
}
