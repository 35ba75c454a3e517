package taggedjson

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// parsePyLiteral parses the subset of Python repr() text the vectors
// record (dict, list, tuple, str, bytes, int, float, bool, None, Markup,
// UUID, datetime.datetime) into pyval values. The tests use it only to
// compare recorded reprs whose dicts are in insertion order, not sorted.
func parsePyLiteral(s string) (any, error) {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.ws(); p.i != len(p.s) {
		return nil, fmt.Errorf("trailing text at %d", p.i)
	}
	return v, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) ws() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *pyParser) eat(tok string) bool {
	p.ws()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *pyParser) seq(end string, fn func() error) error {
	for {
		if p.eat(end) {
			return nil
		}
		if err := fn(); err != nil {
			return err
		}
		if !p.eat(",") {
			if p.eat(end) {
				return nil
			}
			return fmt.Errorf("expected , or %s at %d", end, p.i)
		}
	}
}

func (p *pyParser) value() (any, error) {
	p.ws()
	switch {
	case p.eat("{"):
		m := map[string]any{}
		err := p.seq("}", func() error {
			k, err := p.value()
			if err != nil {
				return err
			}
			ks, ok := k.(string)
			if !ok || !p.eat(":") {
				return fmt.Errorf("bad dict entry at %d", p.i)
			}
			v, err := p.value()
			m[ks] = v
			return err
		})
		return m, err
	case p.eat("["):
		l := []any{}
		err := p.seq("]", func() error {
			v, err := p.value()
			l = append(l, v)
			return err
		})
		return l, err
	case p.eat("("):
		t := pyval.Tuple{}
		err := p.seq(")", func() error {
			v, err := p.value()
			t = append(t, v)
			return err
		})
		return t, err
	case p.eat("None"):
		return nil, nil
	case p.eat("True"):
		return true, nil
	case p.eat("False"):
		return false, nil
	case p.eat("nan"):
		return math.NaN(), nil
	case p.eat("inf"):
		return math.Inf(1), nil
	case p.eat("-inf"):
		return math.Inf(-1), nil
	case p.eat("Markup("):
		s, err := p.str()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("bad Markup at %d", p.i)
		}
		return pyval.Markup(s), err
	case p.eat("UUID("):
		s, err := p.str()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("bad UUID at %d", p.i)
		}
		if err != nil {
			return nil, err
		}
		return pyval.ParseUUID(s)
	case p.eat("datetime.datetime("):
		var f []int
		loc := pyval.Naive
		err := p.seq(")", func() error {
			if p.eat("tzinfo=datetime.timezone.utc") {
				loc = time.UTC
				return nil
			}
			if p.eat("tzinfo=datetime.timezone(datetime.timedelta(seconds=") {
				n, err := p.int()
				if err != nil || !p.eat("))") {
					return fmt.Errorf("bad tzinfo at %d", p.i)
				}
				loc = time.FixedZone("", int(n.Int64()))
				return nil
			}
			n, err := p.int()
			if err != nil {
				return err
			}
			f = append(f, int(n.Int64()))
			return nil
		})
		for len(f) < 7 {
			f = append(f, 0)
		}
		return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], f[6]*1000, loc), err
	}
	if p.i < len(p.s) && (p.s[p.i] == '\'' || p.s[p.i] == '"') {
		return p.str()
	}
	if p.i+1 < len(p.s) && p.s[p.i] == 'b' && (p.s[p.i+1] == '\'' || p.s[p.i+1] == '"') {
		p.i++
		s, err := p.str()
		b := make([]byte, 0, len(s))
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b, err
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("+-0123456789.e", p.s[p.i]) >= 0 {
		p.i++
	}
	num := p.s[start:p.i]
	if num == "" {
		return nil, fmt.Errorf("unexpected %q at %d", p.s[start:min(start+10, len(p.s))], start)
	}
	if strings.ContainsAny(num, ".e") {
		return strconv.ParseFloat(num, 64)
	}
	n, ok := new(big.Int).SetString(num, 10)
	if !ok {
		return nil, fmt.Errorf("bad number %q", num)
	}
	return pyval.NormalizeInt(n), nil
}

func (p *pyParser) int() (*big.Int, error) {
	p.ws()
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("-0123456789", p.s[p.i]) >= 0 {
		p.i++
	}
	n, ok := new(big.Int).SetString(p.s[start:p.i], 10)
	if !ok {
		return nil, fmt.Errorf("bad int at %d", start)
	}
	return n, nil
}

// str parses a quoted Python string literal (as repr writes it).
func (p *pyParser) str() (string, error) {
	p.ws()
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c != '\\':
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			b.WriteRune(r)
			p.i += size
			continue
		}
		if p.i+1 >= len(p.s) {
			break
		}
		e := p.s[p.i+1]
		p.i += 2
		hexLen := 0
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			hexLen = 2
		case 'u':
			hexLen = 4
		case 'U':
			hexLen = 8
		default:
			b.WriteByte(e)
		}
		if hexLen > 0 {
			if p.i+hexLen > len(p.s) {
				break
			}
			n, err := strconv.ParseUint(p.s[p.i:p.i+hexLen], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(n))
			p.i += hexLen
		}
	}
	return "", fmt.Errorf("unterminated string")
}
