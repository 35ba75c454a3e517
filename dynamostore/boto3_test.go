package dynamostore_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coatcheck/coatcheck/storetest"
)

// flaskSession08 does with the real boto3 (Debian's python3-boto3) what
// Flask-Session 0.8's DynamoDBSessionInterface does: _upsert_session's
// update_item and _retrieve_session_data's get_item and expiry comparison,
// through the resource API it uses. (Debian ships Flask-Session 0.3.2,
// which has no DynamoDB backend, so the two methods are reproduced here.)
const flaskSession08 = `
import sys, boto3
from decimal import Decimal
from datetime import datetime, timedelta
ep, table, mode, key = sys.argv[1:5]
r = boto3.resource("dynamodb", endpoint_url=ep, region_name="us-west-2",
                   aws_access_key_id="dummy", aws_secret_access_key="dummy")
t = r.Table(table)
if mode == "write":
    exp = datetime.utcnow() + timedelta(seconds=int(sys.argv[6]))
    t.update_item(Key={"id": key},
                  UpdateExpression="SET val = :value, expiration = :exp",
                  ExpressionAttributeValues={":value": bytes.fromhex(sys.argv[5]),
                                             ":exp": Decimal(exp.timestamp())})
else:
    doc = t.get_item(Key={"id": key}).get("Item")
    if doc and Decimal(datetime.utcnow().timestamp()) <= doc.get("expiration"):
        print(bytes(doc.get("val").value).hex())
    else:
        print("NONE")
`

func python(t *testing.T, args ...string) string {
	t.Helper()
	py := storetest.RequireEnv(t, "COATCHECK_PYTHON")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		if os.Getenv("COATCHECK_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s has no boto3 (apt-get install python3-boto3)", py)
		}
		t.Skipf("%s has no boto3 (apt-get install python3-boto3)", py)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", flaskSession08}, args...)...)
	// datetime.utcnow().timestamp() is Unix time only in a UTC zone
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestBoto3FlaskSessionInterop(t *testing.T) {
	s, _ := newStore(t)
	ep := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	ctx := context.Background()
	val := []byte("\x80\x04}\x94(\x8c\x08username\x94\x8c\x05alice\x94u.")

	// Flask-Session writes, the store reads
	python(t, ep, s.Table(), "write", "session:from-flask", hex.EncodeToString(val), "3600")
	got, found, err := s.Get(ctx, "session:from-flask")
	if err != nil || !found || !bytes.Equal(got, val) {
		t.Fatalf("Get of boto3's item = %q, %v, %v", got, found, err)
	}
	var exp time.Time
	s.Iterate(ctx, "session:from-flask", func(_ string, e time.Time) bool { exp = e; return false })
	if d := time.Until(exp) - time.Hour; d > 5*time.Second || d < -5*time.Second {
		t.Fatalf("expiry of boto3's item is %v from now, want 1h", time.Until(exp))
	}
	// a lifetime already over reads as absent
	python(t, ep, s.Table(), "write", "session:flask-expired", hex.EncodeToString(val), "-5")
	if _, found, err := s.Get(ctx, "session:flask-expired"); found || err != nil {
		t.Fatalf("expired boto3 item: found=%v err=%v", found, err)
	}

	// the store writes, Flask-Session reads
	if err := s.Set(ctx, "session:from-go", val, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := python(t, ep, s.Table(), "read", "session:from-go"); got != hex.EncodeToString(val) {
		t.Fatalf("boto3 read %q, want %x", got, val)
	}
	if err := s.Set(ctx, "session:go-short", val, time.Now().Add(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := python(t, ep, s.Table(), "read", "session:go-short"); got != "NONE" {
		t.Fatalf("boto3 read an expired item: %q", got)
	}
}
