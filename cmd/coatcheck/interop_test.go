package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/storetest"
)

// startFlask runs testdata/flaskapp.py (Debian's Flask 2.2, Flask-Session
// 0.3.2, Flask-Login) on a loopback port and returns its base URL.
func startFlask(t *testing.T, python string, env map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(python, "testdata/flaskapp.py", strconv.Itoa(port))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("flask app exited: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("flask app did not start: %s", stderr.String())
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// interopClient talks to both apps with one cookie jar (cookies ignore the
// port, so the Flask app and the Go app on 127.0.0.1 share the session
// cookie, as two services behind one domain would). Redirects are not followed.
type interopClient struct {
	t        *testing.T
	c        *http.Client
	flaskURL string
	goURL    string
}

func (ic *interopClient) call(base, method, path string, form url.Values) (int, string) {
	ic.t.Helper()
	var res *http.Response
	var err error
	if method == "POST" {
		res, err = ic.c.PostForm(base+path, form)
	} else {
		res, err = ic.c.Get(base + path)
	}
	if err != nil {
		ic.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (ic *interopClient) flask(method, path string, form url.Values) string {
	code, body := ic.call(ic.flaskURL, method, path, form)
	if code >= 500 {
		ic.t.Fatalf("flask %s %s: %d %s", method, path, code, body)
	}
	return body
}

func (ic *interopClient) goApp(method, path string, form url.Values) string {
	code, body := ic.call(ic.goURL, method, path, form)
	if code >= 500 {
		ic.t.Fatalf("go %s %s: %d %s", method, path, code, body)
	}
	return body
}

func expect(t *testing.T, step, body, want string) {
	t.Helper()
	if !strings.Contains(body, want) {
		t.Fatalf("%s: want %q in\n%s", step, want, body)
	}
}

func TestLiveFlaskInterop(t *testing.T) {
	python := storetest.RequireEnv(t, "COATCHECK_PYTHON")
	redisURL := storetest.RequireEnv(t, "COATCHECK_REDIS_URL")
	rnd := make([]byte, 4)
	rand.Read(rnd)
	prefix := "interop-" + hex.EncodeToString(rnd) + ":"
	fsDir := t.TempDir()
	modes := []struct {
		name         string
		flask, goEnv map[string]string
	}{
		{"builtin-cookie", map[string]string{}, map[string]string{}},
		{"redis", map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": redisURL, "SESSION_KEY_PREFIX": prefix},
			map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": redisURL, "SESSION_KEY_PREFIX": prefix, "SESSION_FLASK_COMPAT": "0.3"}},
		{"redis-signed", map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": redisURL, "SESSION_KEY_PREFIX": prefix, "SESSION_USE_SIGNER": "true"},
			map[string]string{"SESSION_TYPE": "redis", "SESSION_REDIS": redisURL, "SESSION_KEY_PREFIX": prefix, "SESSION_FLASK_COMPAT": "0.3", "SESSION_USE_SIGNER": "true"}},
		{"filesystem", map[string]string{"SESSION_TYPE": "filesystem", "SESSION_FILE_DIR": filepath.Join(fsDir, "a")},
			map[string]string{"SESSION_TYPE": "filesystem", "SESSION_FILE_DIR": filepath.Join(fsDir, "a"), "SESSION_FLASK_COMPAT": "0.3"}},
		{"filesystem-signed", map[string]string{"SESSION_TYPE": "filesystem", "SESSION_FILE_DIR": filepath.Join(fsDir, "b"), "SESSION_USE_SIGNER": "true"},
			map[string]string{"SESSION_TYPE": "filesystem", "SESSION_FILE_DIR": filepath.Join(fsDir, "b"), "SESSION_FLASK_COMPAT": "0.3", "SESSION_USE_SIGNER": "true"}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			const secret = "shared-secret-key-between-flask-and-go"
			m.flask["SECRET_KEY"] = secret
			m.goEnv["SECRET_KEY"] = secret
			flaskURL := startFlask(t, python, m.flask)
			d := startDemo(t, m.goEnv)
			jar, _ := cookiejar.New(nil)
			ic := &interopClient{t: t, flaskURL: flaskURL, goURL: d.srv.URL,
				c: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

			expect(t, "anonymous on Go", ic.goApp("GET", "/", nil), "You are not logged in")
			expect(t, "anonymous on Flask", ic.flask("GET", "/", nil), "You are not logged in")

			// log in on Flask: Go sees the user, and Flask's flash
			ic.flask("POST", "/login", url.Values{"username": {"alice"}})
			body := ic.goApp("GET", "/", nil)
			expect(t, "Flask login seen by Go", body, "Logged in as alice")
			expect(t, "Flask flash shown by Go", body, "You were logged in")
			expect(t, "Flask still logged in", ic.flask("GET", "/", nil), "Logged in as alice")

			// change the session in Go: Flask sees it
			ic.goApp("GET", "/set_session?key=color&value=blue", nil)
			var sess map[string]any
			if err := json.Unmarshal([]byte(ic.flask("GET", "/get_session", nil)), &sess); err != nil || sess["color"] != "blue" || sess["username"] != "alice" {
				t.Fatalf("Go's change not seen by Flask: %v %v", sess, err)
			}

			// log out on Go: Flask sees it, and Go's flash
			ic.goApp("GET", "/logout", nil)
			body = ic.flask("GET", "/", nil)
			expect(t, "Go logout seen by Flask", body, "You are not logged in")
			expect(t, "Go flash shown by Flask", body, "[message] You were logged out")

			// log in on Go (new session id): Flask sees the user
			ic.goApp("POST", "/login", url.Values{"username": {"bob"}})
			expect(t, "Go login seen by Flask", ic.flask("GET", "/", nil), "Logged in as bob")
			expect(t, "Go still logged in", ic.goApp("GET", "/", nil), "Logged in as bob")

			// log out on Flask: Go sees it
			ic.flask("GET", "/logout", nil)
			expect(t, "Flask logout seen by Go", ic.goApp("GET", "/", nil), "You are not logged in")

			// Flask-Login: Go reads _user_id
			ic.flask("GET", "/flask_login/7", nil)
			expect(t, "Flask-Login user seen by Go", ic.goApp("GET", "/", nil), "Logged in as 7")
			ic.goApp("GET", "/logout", nil)
			expect(t, "Go logout of a Flask-Login user", ic.flask("GET", "/", nil), "You are not logged in")
		})
	}
}
