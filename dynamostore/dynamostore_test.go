package dynamostore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/dynamostore"
	"github.com/coatcheck/coatcheck/storetest"
)

func client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("coatcheck", "coatcheck", ""),
	})
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func tableName(t *testing.T) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "coatcheck_test_" + hex.EncodeToString(b)
}

func newStore(t *testing.T) (*dynamostore.Store, *dynamodb.Client) {
	t.Helper()
	url := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	c := client(url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := dynamostore.New(ctx, c, dynamostore.Options{Table: tableName(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(s.Table())})
	})
	return s, c
}

func TestConformance(t *testing.T) {
	storetest.RunWithOptions(t, func(t *testing.T) coatcheck.Store { s, _ := newStore(t); return s },
		storetest.Options{MaxValueSize: 390 << 10}) // DynamoDB's 400 KB item limit
}

func TestTooLarge(t *testing.T) {
	s, _ := newStore(t)
	big := make([]byte, dynamostore.MaxItemSize)
	if err := s.Set(context.Background(), "session:big", big, time.Now().Add(time.Hour)); !errors.Is(err, dynamostore.ErrTooLarge) {
		t.Fatalf("Set of 400 KB: %v, want ErrTooLarge", err)
	}
	if _, err := s.CompareAndSet(context.Background(), "session:big", nil, big, time.Time{}); !errors.Is(err, dynamostore.ErrTooLarge) {
		t.Fatalf("CompareAndSet of 400 KB: %v, want ErrTooLarge", err)
	}
}

// Flask-Session 0.8 (src/flask_session/dynamodb/dynamodb.py) writes with
// the boto3 resource API:
//
//	store.update_item(Key={"id": store_id},
//	    UpdateExpression="SET val = :value, expiration = :exp",
//	    ExpressionAttributeValues={":value": serialized_session_data,
//	        ":exp": Decimal(storage_expiration_datetime.timestamp())})
//
// boto3's TypeSerializer sends bytes as B and Decimal as N; the Decimal of a
// float timestamp has the float's exact binary expansion. It reads with
// get_item(Key={"id": store_id})["Item"], compares Decimal(utcnow()
// .timestamp()) <= item["expiration"], and loads item["val"].value. The
// table (_create_table) has the hash key id of type S, PAY_PER_REQUEST,
// and time to live on "expiration".
func TestFlaskSessionLayout(t *testing.T) {
	s, c := newStore(t)
	ctx := context.Background()
	key := "session:flask-written"
	exp := time.Now().Add(time.Hour)
	// the exact decimal expansion of the float64 Unix time, as Decimal(float) gives
	expN := strconv.FormatFloat(float64(exp.UnixNano())/1e9, 'f', 20, 64)
	val := []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")
	_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table()),
		Key:              map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression: aws.String("SET val = :value, expiration = :exp"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":value": &types.AttributeValueMemberB{Value: val},
			":exp":   &types.AttributeValueMemberN{Value: expN},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Get(ctx, key)
	if err != nil || !found || !bytes.Equal(got, val) {
		t.Fatalf("Get of a Flask-Session item = %q, %v, %v; want %q", got, found, err, val)
	}
	var seen time.Time
	if err := s.Iterate(ctx, "session:", func(k string, e time.Time) bool { seen = e; return k != key }); err != nil {
		t.Fatal(err)
	}
	if d := seen.Sub(exp); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("Iterate expiry = %v, want %v", seen, exp)
	}
	// an expired Flask-Session item reads as absent
	past := strconv.FormatFloat(float64(time.Now().Add(-time.Minute).UnixNano())/1e9, 'f', 20, 64)
	c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table()), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression:          aws.String("SET expiration = :exp"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": &types.AttributeValueMemberN{Value: past}},
	})
	if _, found, err := s.Get(ctx, key); found || err != nil {
		t.Fatalf("Get of an expired Flask-Session item: found=%v err=%v", found, err)
	}

	// the reverse: what the store writes, read as Flask-Session reads it
	key2 := "session:go-written"
	exp2 := time.Now().Add(31 * 24 * time.Hour)
	if err := s.Set(ctx, key2, val, exp2); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key2}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) != 3 {
		t.Fatalf("item has attributes %v, want id, val, expiration", out.Item)
	}
	if id, ok := out.Item["id"].(*types.AttributeValueMemberS); !ok || id.Value != key2 {
		t.Fatalf("id = %#v", out.Item["id"])
	}
	if v, ok := out.Item["val"].(*types.AttributeValueMemberB); !ok || !bytes.Equal(v.Value, val) {
		t.Fatalf("val = %#v, want B %q", out.Item["val"], val)
	}
	n, ok := out.Item["expiration"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("expiration = %#v, want N", out.Item["expiration"])
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || f < float64(time.Now().Unix()) || f-float64(exp2.UnixNano())/1e9 > 1e-3 || float64(exp2.UnixNano())/1e9-f > 1e-3 {
		t.Fatalf("expiration = %s, want Unix seconds %v", n.Value, float64(exp2.UnixNano())/1e9)
	}
	// the table's key schema is Flask-Session's
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table())})
	if err != nil {
		t.Fatal(err)
	}
	ks := d.Table.KeySchema
	if len(ks) != 1 || aws.ToString(ks[0].AttributeName) != "id" || ks[0].KeyType != types.KeyTypeHash {
		t.Fatalf("key schema = %+v", ks)
	}
	if s.FlaskSessionBackend() != "dynamodb" {
		t.Fatal("FlaskSessionBackend")
	}
}

func TestDefaultTableAndTableExists(t *testing.T) {
	url := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	c := client(url)
	ctx := context.Background()
	name := tableName(t)
	if _, err := dynamostore.New(ctx, c, dynamostore.Options{Table: name, TableExists: true}); !errors.Is(err, dynamostore.ErrNoTable) {
		t.Fatalf("TableExists on a missing table: %v, want ErrNoTable", err)
	}
	s, err := dynamostore.New(ctx, c, dynamostore.Options{Table: name})
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	if err := s.Set(ctx, "session:x", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	s2, err := dynamostore.New(ctx, c, dynamostore.Options{Table: name, TableExists: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s2.Get(ctx, "session:x"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("second store: %q %v %v", v, ok, err)
	}
	t.Logf("time to live enabled: %v", s.TTLEnabled())
	if (dynamostore.Options{}).Table == "" && dynamostore.DefaultTable != "Sessions" {
		t.Fatal("default table")
	}
}

// A server that accepts and never answers: every call returns by the
// context's deadline, with the SDK's retries cut short.
func TestDeadlineOnHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c := client("http://" + ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = dynamostore.New(ctx, c, dynamostore.Options{})
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("New took %v past a 300ms deadline", el)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New on a hung server: %v, want DeadlineExceeded", err)
	}
}

func TestKeyNotInErrors(t *testing.T) {
	s, _ := newStore(t)
	key := "session:" + strings.Repeat("k", 3000) // over DynamoDB's 2048-byte hash key limit
	ctx := context.Background()
	errs := []error{s.Set(ctx, key, []byte("v"), time.Now().Add(time.Hour))}
	_, _, err := s.Get(ctx, key)
	errs = append(errs, err)
	_, err = s.Touch(ctx, key, time.Now().Add(time.Hour))
	errs = append(errs, err)
	_, err = s.CompareAndSet(ctx, key, nil, []byte("v"), time.Now().Add(time.Hour))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Logf("call %d accepted a 3000-byte key", i)
			continue
		}
		if strings.Contains(err.Error(), strings.Repeat("k", 40)) {
			t.Fatalf("call %d: error contains the key: %.200s", i, err)
		}
		if !strings.HasPrefix(err.Error(), "dynamostore: ") {
			t.Fatalf("call %d: error %q lacks the package prefix", i, err)
		}
	}
}

func TestDeleteExpired(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		s.Set(ctx, "session:live"+strconv.Itoa(i), []byte("v"), time.Now().Add(time.Hour))
		s.Set(ctx, "session:dead"+strconv.Itoa(i), []byte("v"), time.Now().Add(300*time.Millisecond))
	}
	time.Sleep(400 * time.Millisecond)
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 5 {
		t.Fatalf("DeleteExpired = %d, %v; want 5", n, err)
	}
	count := 0
	s.Iterate(ctx, "", func(string, time.Time) bool { count++; return true })
	if count != 5 {
		t.Fatalf("%d live items, want 5", count)
	}
}
