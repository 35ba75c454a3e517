package flaskwtf

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLiveFlaskWTF checks both ways against Debian's Flask-WTF.
func TestLiveFlaskWTF(t *testing.T) {
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("no python3")
	}
	raw := NewRaw()
	goTok, err := Sign(raw, "k", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from flask import Flask, session
from flask_wtf.csrf import generate_csrf, validate_csrf
app = Flask("t"); app.config["SECRET_KEY"] = "k"
with app.test_request_context("/"):
    session["csrf_token"] = sys.argv[1]
    validate_csrf(sys.argv[2])
    print("ok")
with app.test_request_context("/"):
    t = generate_csrf(); print(session["csrf_token"]); print(t)
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, raw, goTok).CombinedOutput()
	if err != nil {
		t.Fatalf("Flask-WTF rejected Go's token: %v\n%s", err, out)
	}
	l := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := Validate(l[2], l[1], "k", time.Hour, time.Now()); err != nil {
		t.Errorf("Go rejected Flask-WTF's token: %v", err)
	}
	for _, c := range []struct {
		tok, raw string
		limit    time.Duration
		now      time.Time
		want     error
	}{
		{"", l[1], time.Hour, time.Now(), ErrMissing},
		{l[2], "", time.Hour, time.Now(), ErrSessionMissing},
		{l[2] + "x", l[1], time.Hour, time.Now(), ErrInvalid},
		{l[2], l[1], time.Second, time.Now().Add(time.Minute), ErrExpired},
		{l[2], NewRaw(), time.Hour, time.Now(), ErrMismatch},
	} {
		if err := Validate(c.tok, c.raw, "k", c.limit, c.now); !errors.Is(err, c.want) {
			t.Errorf("want %v, got %v", c.want, err)
		}
	}
}

func FuzzValidate(f *testing.F) {
	raw := NewRaw()
	tok, _ := Sign(raw, "k", time.Unix(1700000000, 0))
	f.Add(tok)
	f.Fuzz(func(t *testing.T, s string) {
		_ = Validate(s, raw, "k", 0, time.Unix(1700000000, 0))
	})
}
