package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/internal/testvectors"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = run(context.Background(), args, lookup, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

type cookieVectors struct {
	Stacks []struct {
		Stack   string `json:"stack"`
		Cookies []struct {
			ID        string `json:"id"`
			SecretKey struct {
				Type, Value, Hex string
			} `json:"secret_key"`
			CookieValue string `json:"cookie_value"`
			JSON        string `json:"json"`
			Compressed  bool   `json:"compressed"`
			Lossless    bool   `json:"lossless_roundtrip"`
		} `json:"cookies"`
		Negative []struct {
			ID          string                 `json:"id"`
			CookieValue string                 `json:"cookie_value"`
			SecretKey   struct{ Value string } `json:"secret_key"`
			Now         int64                  `json:"now"`
			Outcome     string                 `json:"outcome"`
		} `json:"negative"`
	} `json:"stacks"`
}

func loadCookieVectors(t *testing.T) *cookieVectors {
	b := testvectors.Read(t, testvectors.Cookie)
	var v cookieVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func TestCookieDecodeVectors(t *testing.T) {
	v := loadCookieVectors(t)
	for _, st := range v.Stacks {
		for _, c := range st.Cookies {
			keyFlag := []string{"--key", c.SecretKey.Value}
			if c.SecretKey.Type == "bytes" {
				keyFlag = []string{"--key-hex", c.SecretKey.Hex}
			}
			args := append([]string{"cookie", "decode", "--now", "1700000000"}, keyFlag...)
			code, out, errs := runCLI(t, nil, append(args, c.CookieValue)...)
			want := c.JSON
			if !c.Lossless {
				want = "" // lossy values (datetimes with µs, int keys...) print what they decode to
			}
			if code != 0 || (want != "" && strings.TrimSpace(out) != want) {
				t.Errorf("%s/%s: code %d out %q err %q, want %q", st.Stack, c.ID, code, out, errs, want)
			}
			if c.Compressed || !c.Lossless {
				continue
			}
			// sign reproduces Flask's cookie
			code, out, errs = runCLI(t, nil, append(append([]string{"cookie", "sign", "--now", "1700000000"}, keyFlag...), c.JSON)...)
			if code != 0 || strings.TrimSpace(out) != c.CookieValue {
				t.Errorf("%s/%s sign: code %d out %q err %q", st.Stack, c.ID, code, out, errs)
			}
		}
	}
}

func TestCookieDecodeRejections(t *testing.T) {
	v := loadCookieVectors(t)
	reasons := map[string]string{
		"sig_char_flipped": "bad signature", "payload_char_flipped": "bad signature", "wrong_secret": "bad signature",
		"no_dots": "malformed", "expired_by_one_second": "expired", "future_timestamp": "expired",
		"no_timestamp": "malformed", "validly_signed_bad_zlib": "bad payload", "validly_signed_bad_json": "bad payload",
	}
	seen := 0
	for _, c := range v.Stacks[0].Negative {
		want, ok := reasons[c.ID]
		if !ok {
			continue
		}
		seen++
		code, out, errs := runCLI(t, nil, "cookie", "decode", "--key", c.SecretKey.Value, "--now", strconv.FormatInt(c.Now, 10), c.CookieValue)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "coatcheck: "+want+":") {
			t.Errorf("%s: code %d out %q stderr %q, want exit 1 and %q", c.ID, code, out, errs, want)
		}
	}
	if seen != len(reasons) {
		t.Errorf("matched %d negative vectors, want %d", seen, len(reasons))
	}
}

func TestCookieDecodeWithoutKey(t *testing.T) {
	code, out, errs := runCLI(t, nil, "cookie", "decode", "eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	if code != 0 || out != "{\"user_id\":42}\n" || !strings.Contains(errs, "NOT verified") {
		t.Errorf("code %d out %q err %q", code, out, errs)
	}
}

func TestCookieDecodeFallbackKeyAndFlagsAfterArg(t *testing.T) {
	// signed with old-key-1 (rotation vector); flags after the positional argument
	code, out, errs := runCLI(t, nil, "cookie", "decode", "eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.R4lA6dRNVyicNFIo_elwwFQn2jw",
		"--key", "new-key", "--fallback-key", "old-key-1", "--now", "1700000000")
	if code != 0 || out != "{\"user_id\":42}\n" {
		t.Errorf("code %d out %q err %q", code, out, errs)
	}
	code, _, _ = runCLI(t, nil, "cookie", "decode", "eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.R4lA6dRNVyicNFIo_elwwFQn2jw", "--key", "new-key", "--now", "1700000000")
	if code != 1 {
		t.Errorf("old key accepted without --fallback-key: exit %d", code)
	}
	code, _, _ = runCLI(t, nil, "cookie", "decode", "--key", "dev-secret-key", "--max-age", "60", "--now", "1700000061", "eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	if code != 1 {
		t.Errorf("--max-age not applied")
	}
}

func TestKeygenAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, nil, "keygen")
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(out) {
		t.Errorf("keygen: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, nil, "frobnicate"); code != 2 || !strings.Contains(errs, "usage") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, nil, "cookie", "sign", "{}"); code != 2 {
		t.Errorf("sign without key: exit %d", code)
	}
}

func TestVersionAndUnknownInput(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !regexp.MustCompile(`^coatcheck (\(devel\)|v\S+)\n$`).MatchString(out) {
		t.Errorf("version: %d %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frob"}, `unknown flag "--frob"`},
		{[]string{"cookie"}, "missing subcommand"},
		{[]string{"cookie", "eat"}, `unknown subcommand "eat"`},
		{[]string{"cookie", "decode", "--frob", "x"}, "flag provided but not defined: -frob"},
	} {
		code, out, errs := runCLI(t, nil, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: code %d out %q stderr %q, want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestCookieDecodeSignedInTheFuture(t *testing.T) {
	// signed at 1700000000 (2023-11-14T22:13:20Z), checked 100 s earlier
	code, _, errs := runCLI(t, nil, "cookie", "decode", "--key", "dev-secret-key", "--now", "1699999900", "eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8")
	if code != 1 || !strings.Contains(errs, "signed in the future: at 2023-11-14T22:13:20Z, 100 seconds after now") || strings.Contains(errs, "age -") {
		t.Errorf("code %d stderr %q", code, errs)
	}
}
