//go:build unix

package main

// A minimal W3C WebDriver client over net/http and encoding/json, enough to
// drive headless Chromium through chromedriver in TestBrowserLoginLogout.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webElementKey is the W3C web element identifier's JSON key.
const webElementKey = "element-6066-11e4-a52e-4f735466cecf"

// waitTimeout bounds every poll for the page to reach a state.
const waitTimeout = 5 * time.Second

type chromedriver struct {
	url string
	hc  *http.Client
}

// startChromedriver runs chromedriver on a free loopback port and waits until
// it reports ready. At cleanup it is asked to shut down, then killed with its
// process group (so no browser it started outlives the test).
func startChromedriver(t *testing.T, path string) *chromedriver {
	t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second}
	logPath := filepath.Join(t.TempDir(), "chromedriver.log")
	var lastErr error
	for try := 0; try < 3; try++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(path, "--port="+strconv.Itoa(port), "--log-path="+logPath)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start chromedriver: %v", err)
		}
		exited := make(chan struct{}) // closed when chromedriver has exited
		var exitErr error
		go func() { exitErr = cmd.Wait(); close(exited) }()
		d := &chromedriver{url: "http://127.0.0.1:" + strconv.Itoa(port), hc: hc}
		stop := func() {
			req, _ := http.NewRequest("GET", d.url+"/shutdown", nil)
			if res, err := (&http.Client{Timeout: 2 * time.Second}).Do(req); err == nil {
				res.Body.Close()
			}
			select {
			case <-exited:
			case <-time.After(2 * time.Second):
			}
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its group: chromedriver and any browser left
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				t.Errorf("chromedriver (pid %d) did not exit", cmd.Process.Pid)
			}
		}
		if lastErr = d.waitReady(exited, &exitErr); lastErr == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					if b, err := os.ReadFile(logPath); err == nil {
						t.Logf("chromedriver log (tail):\n%s", tail(string(b), 4000))
					}
				}
			})
			return d
		}
		stop()
	}
	t.Fatalf("chromedriver did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (d *chromedriver) waitReady(exited <-chan struct{}, exitErr *error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("chromedriver exited: %v", *exitErr)
		default:
		}
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := wdCall(d.hc, "GET", d.url+"/status", nil, &status); err == nil && status.Ready {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("chromedriver not ready within 10s")
}

// wdError is a WebDriver error response.
type wdError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *wdError) Error() string { return e.Code + ": " + tail(e.Message, 300) }

// wdCall sends one WebDriver command and decodes the response's "value" into
// out (when out is not nil).
func wdCall(hc *http.Client, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d, undecodable body %q", method, u, res.StatusCode, tail(string(raw), 200))
	}
	if res.StatusCode != http.StatusOK {
		var we wdError
		if json.Unmarshal(env.Value, &we) == nil && we.Code != "" {
			return &we
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", method, u, res.StatusCode, tail(string(raw), 300))
	}
	if out != nil {
		return json.Unmarshal(env.Value, out)
	}
	return nil
}

// wdSession is one browser, deleted (and so closed) at cleanup.
type wdSession struct {
	t    *testing.T
	hc   *http.Client
	base string // driver URL + /session/{id}
}

func (d *chromedriver) newSession(t *testing.T, chromium string, args []string) *wdSession {
	t.Helper()
	caps := map[string]any{
		"capabilities": map[string]any{
			"alwaysMatch": map[string]any{
				"browserName":      "chrome",
				"pageLoadStrategy": "normal",
				"timeouts":         map[string]int{"implicit": 0, "pageLoad": 10000, "script": 5000},
				"goog:chromeOptions": map[string]any{
					"binary": chromium,
					"args":   args,
				},
			},
		},
	}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := wdCall(d.hc, "POST", d.url+"/session", caps, &created); err != nil || created.SessionID == "" {
		t.Fatalf("new WebDriver session: %v (id %q)", err, created.SessionID)
	}
	s := &wdSession{t: t, hc: d.hc, base: d.url + "/session/" + created.SessionID}
	t.Cleanup(func() {
		if err := wdCall(d.hc, "DELETE", s.base, nil, nil); err != nil {
			t.Errorf("delete WebDriver session: %v", err)
		}
	})
	return s
}

func (s *wdSession) call(method, path string, body, out any) error {
	return wdCall(s.hc, method, s.base+path, body, out)
}

// must runs one command and fails the test on error.
func (s *wdSession) must(method, path string, body, out any) {
	s.t.Helper()
	if err := s.call(method, path, body, out); err != nil {
		s.t.Fatalf("WebDriver %s %s: %v", method, path, err)
	}
}

func (s *wdSession) navigate(u string) {
	s.t.Helper()
	s.must("POST", "/url", map[string]string{"url": u}, nil)
}

func (s *wdSession) refresh() {
	s.t.Helper()
	s.must("POST", "/refresh", map[string]any{}, nil)
}

func (s *wdSession) currentURL() (*url.URL, error) {
	var u string
	if err := s.call("GET", "/url", nil, &u); err != nil {
		return nil, err
	}
	return url.Parse(u)
}

type wdElement struct {
	s  *wdSession
	id string
}

// findAll returns the elements matching a CSS selector now (no waiting).
func (s *wdSession) findAll(css string) ([]wdElement, error) {
	var refs []map[string]string
	if err := s.call("POST", "/elements", map[string]string{"using": "css selector", "value": css}, &refs); err != nil {
		return nil, err
	}
	els := make([]wdElement, len(refs))
	for i, r := range refs {
		if r[webElementKey] == "" {
			return nil, fmt.Errorf("elements %q: no %s in %v", css, webElementKey, r)
		}
		els[i] = wdElement{s: s, id: r[webElementKey]}
	}
	return els, nil
}

// find waits (bounded) for an element matching a locator strategy
// ("css selector", "xpath", "link text") and value.
func (s *wdSession) find(using, value string) wdElement {
	s.t.Helper()
	var ref map[string]string
	var err error
	deadline := time.Now().Add(waitTimeout)
	for {
		if err = s.call("POST", "/element", map[string]string{"using": using, "value": value}, &ref); err == nil {
			if ref[webElementKey] == "" {
				s.t.Fatalf("element %s %q: no %s in %v", using, value, webElementKey, ref)
			}
			return wdElement{s: s, id: ref[webElementKey]}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no element %s %q within %v: %v", using, value, waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e wdElement) text() (string, error) {
	var v string
	err := e.s.call("GET", "/element/"+e.id+"/text", nil, &v)
	return v, err
}

func (e wdElement) click() {
	e.s.t.Helper()
	e.s.must("POST", "/element/"+e.id+"/click", map[string]any{}, nil)
}

func (e wdElement) sendKeys(text string) {
	e.s.t.Helper()
	e.s.must("POST", "/element/"+e.id+"/value", map[string]string{"text": text}, nil)
}

// bodyText is the rendered text of the page's body, as a person reads it.
func (s *wdSession) bodyText() (string, error) {
	var ref map[string]string
	if err := s.call("POST", "/element", map[string]string{"using": "css selector", "value": "body"}, &ref); err != nil {
		return "", err
	}
	return wdElement{s: s, id: ref[webElementKey]}.text()
}

// waitFor polls cond until it holds, failing the test after waitTimeout with
// the last state cond described.
func (s *wdSession) waitFor(what string, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: gave up after %v; last state: %s", what, waitTimeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPage waits until the browser is on path and the body text contains
// every one of want; it returns that text.
func (s *wdSession) waitPage(path string, want ...string) string {
	s.t.Helper()
	var text string
	s.waitFor(fmt.Sprintf("page %s showing %q", path, want), func() (bool, string) {
		u, err := s.currentURL()
		if err != nil {
			return false, err.Error()
		}
		if u.Path != path {
			return false, "at " + u.String()
		}
		if text, err = s.bodyText(); err != nil {
			return false, err.Error()
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false, fmt.Sprintf("at %s, text %q", u, text)
			}
		}
		return true, ""
	})
	return text
}

type wdCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path"`
	Domain   string `json:"domain"`
	Secure   bool   `json:"secure"`
	HTTPOnly bool   `json:"httpOnly"`
	SameSite string `json:"sameSite"`
	Expiry   int64  `json:"expiry"`
}

func (s *wdSession) cookies() []wdCookie {
	s.t.Helper()
	var cs []wdCookie
	s.must("GET", "/cookie", nil, &cs)
	return cs
}

// script runs synchronous JavaScript in the page and decodes its result.
func (s *wdSession) script(js string, out any) {
	s.t.Helper()
	s.must("POST", "/execute/sync", map[string]any{"script": js, "args": []any{}}, out)
}

// screenshot returns the viewport as PNG.
func (s *wdSession) screenshot() []byte {
	s.t.Helper()
	var b64 string
	s.must("GET", "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		s.t.Fatalf("screenshot: %v", err)
	}
	return png
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
