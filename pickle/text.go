package pickle

import (
	"unicode/utf8"
)

// validSurrogatePass reports whether s is UTF-8 as Python's
// decode('utf-8', 'surrogatepass') accepts it: valid UTF-8 in which encoded
// surrogates (U+D800..U+DFFF, as ED A0..BF xx) are also allowed. Python
// writes strings with lone surrogates that way.
func validSurrogatePass(s string) bool {
	if utf8.ValidString(s) {
		return true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if !isEncodedSurrogate(s[i:]) {
				return false
			}
			size = 3
		}
		i += size
	}
	return true
}

// isEncodedSurrogate reports whether s starts with the 3-byte generalized
// UTF-8 encoding of a surrogate code point.
func isEncodedSurrogate(s string) bool {
	return len(s) >= 3 && s[0] == 0xed && s[1] >= 0xa0 && s[1] <= 0xbf && s[2] >= 0x80 && s[2] <= 0xbf
}

func validUTF8NoSurrogates(s string) bool { return utf8.ValidString(s) }

// appendCodePoint appends the UTF-8 encoding of cp, encoding surrogates the
// way Python's 'surrogatepass' error handler does (utf8.AppendRune would
// replace them by U+FFFD).
func appendCodePoint(b []byte, cp rune) []byte {
	if cp >= 0xd800 && cp <= 0xdfff {
		return append(b, 0xed, byte(0x80|(cp>>6)&0x3f), byte(0x80|cp&0x3f))
	}
	return utf8.AppendRune(b, cp)
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

func parseHex(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

// rawUnicodeEscapeDecode decodes the argument of UNICODE
// (codecs.raw_unicode_escape_decode): bytes are latin-1 code points, except
// \uXXXX and \UXXXXXXXX escapes; a backslash followed by anything else is
// kept with that character. Unlike Python, a high surrogate escape followed
// by a low surrogate escape (how Python 2 narrow builds wrote astral
// characters) is combined into one code point; other surrogates are kept.
func rawUnicodeEscapeDecode(b []byte) (string, bool) {
	out := make([]byte, 0, len(b)+len(b)/4)
	pendingHigh := rune(-1)
	flush := func() {
		if pendingHigh >= 0 {
			out = appendCodePoint(out, pendingHigh)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			flush()
			out = appendCodePoint(out, rune(c))
			i++
			continue
		}
		e := b[i+1]
		n := 0
		switch e {
		case 'u':
			n = 4
		case 'U':
			n = 8
		default:
			flush()
			out = append(out, '\\')
			out = appendCodePoint(out, rune(e))
			i += 2
			continue
		}
		if i+2+n > len(b) {
			return "", false
		}
		cp, ok := parseHex(b[i+2 : i+2+n])
		if !ok || cp < 0 || cp > utf8.MaxRune {
			return "", false
		}
		i += 2 + n
		switch {
		case cp >= 0xdc00 && cp <= 0xdfff && pendingHigh >= 0:
			out = utf8.AppendRune(out, 0x10000+(pendingHigh-0xd800)<<10+(cp-0xdc00))
			pendingHigh = -1
		case cp >= 0xd800 && cp <= 0xdbff:
			flush()
			pendingHigh = cp
		default:
			flush()
			out = appendCodePoint(out, cp)
		}
	}
	flush()
	return string(out), true
}

// escapeDecode decodes the inside of a STRING argument
// (codecs.escape_decode): Python 2 str literal escapes.
func escapeDecode(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return "", false // trailing backslash
		}
		switch e := b[i]; e {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+3 > len(b) {
				return "", false
			}
			v, ok := parseHex(b[i+1 : i+3])
			if !ok {
				return "", false
			}
			out = append(out, byte(v))
			i += 2
		default:
			out = append(out, '\\', e)
		}
	}
	return string(out), true
}
