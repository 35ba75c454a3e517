//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/storetest"
)

// TestBrowserLoginLogout drives the demo's login/logout story in headless
// Chromium through chromedriver (W3C WebDriver), once on cookie sessions and
// once on server-side (memory) sessions. scripts/services.sh chromium installs
// both and sets the variables.
func TestBrowserLoginLogout(t *testing.T) {
	driverPath := storetest.RequireEnv(t, "COATCHECK_CHROMEDRIVER")
	chromium := storetest.RequireEnv(t, "COATCHECK_CHROMIUM")
	driver := startChromedriver(t, driverPath)

	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"cookie", map[string]string{"SECRET_KEY": "browser-test-key"}},
		{"memory", map[string]string{"SECRET_KEY": "browser-test-key", "SESSION_TYPE": "memory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t, tc.env)
			b := driver.newSession(t, chromium, []string{
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
				"--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
				"--window-size=1024,640", "--user-data-dir=" + t.TempDir(),
			})
			browserLoginLogout(t, b, d.srv.URL, tc.name)
		})
	}
}

func browserLoginLogout(t *testing.T, b *wdSession, base, name string) {
	flashes := func() []string {
		t.Helper()
		els, err := b.findAll("p.flash")
		if err != nil {
			t.Fatalf("flashes: %v", err)
		}
		var out []string
		for _, e := range els {
			s, err := e.text()
			if err != nil {
				t.Fatalf("flash text: %v", err)
			}
			out = append(out, s)
		}
		return out
	}

	// Not logged in: the home page says so and links to the login form.
	b.navigate(base + "/")
	b.waitPage("/", "You are not logged in")
	b.find("css selector", `h1 ~ p a[href="/login"]`).click()
	b.waitPage("/login", "Username")

	// Log in with a name that is HTML: it must come back as text.
	const user = "<i>eve</i>"
	b.find("css selector", `input[name="username"]`).sendKeys(user)
	b.find("css selector", `form button[type="submit"]`).click()
	text := b.waitPage("/", "Logged in as")
	if got := flashes(); len(got) != 1 || got[0] != "You were logged in" {
		t.Errorf("flashes after login = %q, want [You were logged in]", got)
	}
	if !strings.Contains(text, "Logged in as "+user) || strings.Contains(text, "You are not logged in") {
		t.Errorf("page text after login: %q", text)
	}
	p := b.find("xpath", `//h1/following-sibling::p[starts-with(normalize-space(.), "Logged in as")]`)
	if got, err := p.text(); err != nil || got != "Logged in as "+user {
		t.Errorf("login paragraph text = %q (%v), want %q", got, err, "Logged in as "+user)
	}
	if els, err := b.findAll("body i"); err != nil || len(els) != 0 {
		t.Errorf("the username became markup: %d <i> elements in the body (%v)", len(els), err)
	}

	png := b.screenshot()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("screenshot is not a PNG (%d bytes)", len(png))
	}
	file := "browser-" + name + "-after-login.png"
	dirs := []string{t.TempDir()}
	if dir := os.Getenv("COATCHECK_SCREENSHOT_DIR"); dir != "" {
		dirs = append(dirs, dir)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot after login: %s", filepath.Join(dirs[len(dirs)-1], file))

	// The session cookie is HttpOnly: the browser says so, and page scripts
	// cannot read it.
	var session *wdCookie
	for _, c := range b.cookies() {
		if c.Name == "session" {
			session = &c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie in the browser after login: %+v", b.cookies())
	}
	if !session.HTTPOnly || session.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, Path=/", *session)
	}
	var docCookie string
	b.script("return document.cookie", &docCookie)
	if strings.Contains(docCookie, "session=") {
		t.Errorf("document.cookie shows the session cookie: %q", docCookie)
	}

	// Reloading: the flash was consumed, the login stays.
	b.refresh()
	text = b.waitPage("/", "Logged in as "+user)
	if got := flashes(); len(got) != 0 || strings.Contains(text, "You were logged in") {
		t.Errorf("flash shown again after reload: %q", got)
	}

	b.navigate(base + "/dashboard")
	b.waitPage("/dashboard", "Welcome to your dashboard, "+user+".")
	b.navigate(base + "/counter")
	b.waitPage("/counter", "visited this page 1 times")
	b.navigate(base + "/counter")
	b.waitPage("/counter", "visited this page 2 times")

	// Log out.
	b.navigate(base + "/logout")
	text = b.waitPage("/", "You were logged out", "You are not logged in")
	if strings.Contains(text, "Logged in as") {
		t.Errorf("still logged in after logout: %q", text)
	}

	// The dashboard now sends the browser to the login form.
	b.navigate(base + "/dashboard")
	b.waitPage("/login", "Please log in to see the dashboard")
	b.find("css selector", `input[name="username"]`)
}
