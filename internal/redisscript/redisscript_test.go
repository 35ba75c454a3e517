package redisscript

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"
	"time"
)

// TestSHA1: the scripts' SHA1s, the names EVALSHA uses. They are the
// hashes the scripts had in redisstore before they moved here: a change of
// a script's text gives it a new name in every server's script cache, so
// make it on purpose (and update this list), never by an edit in passing.
func TestSHA1(t *testing.T) {
	for _, c := range []struct{ name, src, sha string }{
		{"CompareAndSet", CompareAndSet, "3352627e75dee46866dd96e1e6f5784cd90cf84e"},
		{"IndexAdd", IndexAdd, "73f23dc28ada9ce198e563993ce11aa16ac7898c"},
		{"IndexHeal", IndexHeal, "4f13fedbf944bff63bc94817e8ce67aed45a1e5f"},
		{"IndexRemove", IndexRemove, "1a34c8a87fbbc2da02d2ee1d5266b587f82b0826"},
		{"IndexList", IndexList, "ec24b15099d319f15da7c3b371a556dfb8812da3"},
		{"IndexTake", IndexTake, "b7798e5bbf470ce18803b4992e0e9c33b898aae2"},
	} {
		sum := sha1.Sum([]byte(c.src))
		if got := hex.EncodeToString(sum[:]); got != c.sha {
			t.Errorf("%s: SHA1 %s, want %s", c.name, got, c.sha)
		}
	}
}

func TestScore(t *testing.T) {
	if got := Score(time.Time{}); got != "+inf" {
		t.Errorf("Score(zero) = %q", got)
	}
	if got := Score(time.UnixMilli(1700000000123)); got != "1700000000123" {
		t.Errorf("Score = %q", got)
	}
}
