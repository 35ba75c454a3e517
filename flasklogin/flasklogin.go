// Package flasklogin reads and writes Flask-Login 0.6's wire formats: the
// remember-me cookie ("id|digest", HMAC-SHA512 under the latin-1 bytes of
// SECRET_KEY) and the session identifier stored as "_id" (SHA-512 of
// "addr|user_agent" built from Python's bytes reprs, as _create_identifier
// does). LoginUser/LogoutUser set the session keys as login_user and
// logout_user do; the Remember middleware (inside coatcheck's) sets or
// clears the remember cookie, logs a user in from it and applies
// SESSION_PROTECTION.
package flasklogin

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidCookie is returned (wrapped) when a remember cookie is malformed
// or its digest does not match.
var ErrInvalidCookie = errors.New("flasklogin: invalid remember cookie")

// ErrKey is returned when SECRET_KEY has a character outside latin-1, which
// Flask-Login cannot encode either.
var ErrKey = errors.New("flasklogin: SECRET_KEY is not latin-1")

func latin1(key string) ([]byte, error) {
	b := make([]byte, 0, len(key))
	for _, r := range key {
		if r > 0xff {
			return nil, ErrKey
		}
		b = append(b, byte(r))
	}
	return b, nil
}

func digest(payload, key string) (string, error) {
	k, err := latin1(key)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha512.New, k)
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// EncodeCookie is Flask-Login's encode_cookie: payload + "|" + digest.
func EncodeCookie(payload, secretKey string) (string, error) {
	d, err := digest(payload, secretKey)
	if err != nil {
		return "", err
	}
	return payload + "|" + d, nil
}

// DecodeCookie is Flask-Login's decode_cookie: it splits at the last "|" and
// returns the payload when the digest matches.
func DecodeCookie(cookie, secretKey string) (string, error) {
	i := strings.LastIndexByte(cookie, '|')
	if i < 0 {
		return "", fmt.Errorf("%w: no separator", ErrInvalidCookie)
	}
	payload, got := cookie[:i], cookie[i+1:]
	want, err := digest(payload, secretKey)
	if err != nil {
		return "", err
	}
	if !hmac.Equal([]byte(want), []byte(got)) {
		return "", fmt.Errorf("%w: digest mismatch", ErrInvalidCookie)
	}
	return payload, nil
}

// Identifier is Flask-Login's _create_identifier. forwardedFor is the
// X-Forwarded-For header ("" when absent: remoteAddr is used, the host part
// Werkzeug gives as request.remote_addr); userAgent is nil when the request
// has no User-Agent header.
func Identifier(forwardedFor, remoteAddr string, userAgent *string) string {
	addr := remoteAddr
	if forwardedFor != "" {
		addr = forwardedFor
	}
	addr, _, _ = strings.Cut(addr, ",")
	addrText := "None"
	if addr != "" || forwardedFor != "" || remoteAddr != "" {
		addrText = pyBytesRepr(strings.TrimSpace(addr))
	}
	uaText := "None"
	if userAgent != nil {
		uaText = pyBytesRepr(*userAgent)
	}
	h := sha512.Sum512([]byte(addrText + "|" + uaText))
	return hex.EncodeToString(h[:])
}

// pyBytesRepr is Python 3's repr() of a bytes object.
func pyBytesRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte('b')
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}
