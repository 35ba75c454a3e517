package testvectors

import "testing"

func TestFilesPresent(t *testing.T) {
	for _, name := range []string{Cookie, SessionRedis} {
		var v map[string]any
		Decode(t, name, &v)
		if len(v) == 0 {
			t.Errorf("%s: empty", name)
		}
	}
}
