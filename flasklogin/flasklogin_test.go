package flasklogin

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestLiveFlaskLogin compares with Debian's Flask-Login run by /usr/bin/python3.
func TestLiveFlaskLogin(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	script := `
import sys
from flask import Flask
from flask_login.utils import encode_cookie, decode_cookie, _create_identifier
app = Flask("t"); app.config["SECRET_KEY"] = "s\xe9cret"
with app.test_request_context("/", headers={"User-Agent": "Mo'zilla \"x\" \u00e9\t"}, environ_base={"REMOTE_ADDR": "10.0.0.7"}):
    print(_create_identifier())
    print(encode_cookie("alice"))
    print(decode_cookie(sys.argv[1]))
`
	goCookie, err := EncodeCookie("bob", "s\u00e9cret")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", script, goCookie).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	ua := "Mo'zilla \"x\" \u00e9\t"
	if got := Identifier("", "10.0.0.7", &ua); got != lines[0] {
		t.Errorf("_id: Go %s, Flask-Login %s", got, lines[0])
	}
	if p, err := DecodeCookie(lines[1], "s\u00e9cret"); err != nil || p != "alice" {
		t.Errorf("Flask-Login cookie in Go: %q %v", p, err)
	}
	if lines[2] != "bob" {
		t.Errorf("Go cookie in Flask-Login: %q", lines[2])
	}
	tampered := strings.Replace(lines[1], "alice", "alicf", 1)
	if _, err := DecodeCookie(tampered, "s\u00e9cret"); !errors.Is(err, ErrInvalidCookie) {
		t.Errorf("tampered cookie: %v", err)
	}
}

func FuzzDecodeCookie(f *testing.F) {
	c, _ := EncodeCookie("alice", "k")
	f.Add(c)
	f.Add("|")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := DecodeCookie(s, "k")
		if err == nil {
			if again, _ := EncodeCookie(p, "k"); again != s {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
