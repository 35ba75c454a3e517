//go:build unix

package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/adminui"
	"github.com/coatcheck/coatcheck/storetest"
)

// TestBrowserAdminRevoke: in headless Chromium an operator signs in to the
// operator page with the token, finds a user's session, revokes the user,
// and that user — logged in to the demo in another browser — is logged
// out. Screenshots are kept (COATCHECK_SCREENSHOT_DIR).
func TestBrowserAdminRevoke(t *testing.T) {
	driverPath := storetest.RequireEnv(t, "COATCHECK_CHROMEDRIVER")
	chromium := storetest.RequireEnv(t, "COATCHECK_CHROMIUM")
	driver := startChromedriver(t, driverPath)
	env := map[string]string{"SECRET_KEY": "browser-test-key", "SESSION_TYPE": "memory"}
	cfg, st, err := loadConfig(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.close)
	stats := adminui.NewStats()
	cfg.Logger, cfg.Observer = quietLogger(), stats.Observer()
	m, err := coatcheck.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	demo := httptest.NewServer(demoHandler(m))
	t.Cleanup(demo.Close)
	const token = "browser-admin-token-0123456789"
	h, err := adminui.New(adminui.Config{Manager: m, Token: token, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(h)
	t.Cleanup(admin.Close)
	args := func() []string {
		return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
			"--window-size=1100,800", "--user-data-dir=" + t.TempDir()}
	}
	user := driver.newSession(t, chromium, args())
	op := driver.newSession(t, chromium, args())

	// the user logs in to the demo
	user.navigate(demo.URL + "/login")
	user.find("css selector", `input[name="username"]`).sendKeys("mallory")
	user.find("css selector", `form button[type="submit"]`).click()
	user.waitPage("/", "Logged in as mallory")

	// the operator: refused without the token, then signs in
	op.navigate(admin.URL + "/")
	op.waitPage("/login", "Admin token")
	op.find("css selector", "#token").sendKeys("not-the-token")
	op.find("css selector", "#signin").click()
	op.waitPage("/login", "Wrong token")
	op.find("css selector", "#token").sendKeys(token)
	op.find("css selector", "#signin").click()
	op.waitPage("/", "1 sessions", "Sessions per user", "Expiry", "Store latency", "mallory")
	saveShot(t, op, "admin-overview.png")

	// filter by the user, revoke every session of the user
	op.find("css selector", "#user").sendKeys("mallory")
	op.find("css selector", "#filter").click()
	op.waitPage("/", "1 sessions of mallory")
	op.find("css selector", "#revoke-user").click()
	op.waitPage("/", "Revoked 1 sessions of mallory.")
	saveShot(t, op, "admin-after-revoke.png")

	// the user is logged out
	user.refresh()
	user.waitPage("/", "You are not logged in")
	if text, _ := op.bodyText(); strings.Contains(text, "browser-test-key") {
		t.Error("the page shows the secret key")
	}
}

func saveShot(t *testing.T, b *wdSession, file string) {
	t.Helper()
	png := b.screenshot()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("screenshot %s is not a PNG (%d bytes)", file, len(png))
	}
	dir := os.Getenv("COATCHECK_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
