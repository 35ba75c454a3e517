package mongostore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func seedDocs(t testing.TB) [][]byte {
	exp := bson.NewDateTimeFromTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	var out [][]byte
	for _, d := range []any{
		document{ID: "session:abc", Val: binary([]byte("\x80\x04\x95data")), Expiration: &exp},
		document{ID: "session:abc", Val: binary(nil)},
		bson.D{{Key: "val", Value: binary([]byte{0, 0xff, 1})}},
		bson.D{{Key: "val", Value: "not bytes"}},
		bson.D{{Key: "other", Value: int32(1)}},
	} {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// malformed are documents a broken or hostile server could send: a binary
// length past the end, a truncated element, a wrong total length.
var malformed = [][]byte{
	// {val: binary, length 0x7fffffff}, total length 16
	{16, 0, 0, 0, 0x05, 'v', 'a', 'l', 0, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0},
	// {val: binary, length 100} but 2 bytes of data
	{18, 0, 0, 0, 0x05, 'v', 'a', 'l', 0, 100, 0, 0, 0, 0, 'a', 'b', 0, 0},
	// {val: string, length -5}
	{17, 0, 0, 0, 0x02, 'v', 'a', 'l', 0, 0xfb, 0xff, 0xff, 0xff, 'x', 0, 0, 0},
	// element name without terminator
	{9, 0, 0, 0, 0x05, 'v', 'a', 'l', 'x'},
	// declared length larger than the buffer
	{100, 0, 0, 0, 0},
	{},
}

// TestDecodeMalformed: malformed documents are ErrCorrupt, never a panic,
// and the error does not contain the key.
func TestDecodeMalformed(t *testing.T) {
	for i, raw := range malformed {
		_, found, err := decodeVal("session:secret-id", bson.Raw(raw))
		if !errors.Is(err, ErrCorrupt) || found {
			t.Errorf("malformed document %d: found=%v err=%v, want ErrCorrupt", i, found, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-id") {
			t.Errorf("malformed document %d: error %q contains the key", i, err)
		}
	}
	for i, raw := range seedDocs(t) {
		_, _, err := decodeVal("session:secret-id", bson.Raw(raw))
		if err != nil && strings.Contains(err.Error(), "secret-id") {
			t.Errorf("document %d: error %q contains the key", i, err)
		}
	}
}

// FuzzDecodeDocument: decodeVal never panics, and returns data only for
// documents that are valid BSON with a binary val.
func FuzzDecodeDocument(f *testing.F) {
	for _, d := range seedDocs(f) {
		f.Add(d)
	}
	for _, d := range malformed {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		data, found, err := decodeVal("session:k", bson.Raw(raw))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || found || data != nil {
				t.Fatalf("error %v with found=%v data=%q", err, found, data)
			}
			return
		}
		if !found {
			t.Fatal("nil error with found=false")
		}
		if bson.Raw(raw).Validate() != nil {
			t.Fatal("accepted an invalid document")
		}
	})
}

func TestFingerprint(t *testing.T) {
	// SHA-256("session:abc") starts with these 8 hex digits.
	if got := fingerprint("session:abc"); len(got) != len("key#")+8 || !strings.HasPrefix(got, "key#") {
		t.Errorf("fingerprint = %q", got)
	}
	if fingerprint("a") == fingerprint("b") {
		t.Error("fingerprints of different keys are equal")
	}
}
