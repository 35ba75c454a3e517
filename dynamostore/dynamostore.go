// Package dynamostore is a Coatcheck session store backed by Amazon DynamoDB
// through github.com/aws/aws-sdk-go-v2/service/dynamodb.
//
// The store takes a *dynamodb.Client the caller built (region, credentials,
// endpoint and retries are the caller's business). It satisfies
// coatcheck.Store, coatcheck.Toucher, coatcheck.Iterator, coatcheck.Cleaner
// and coatcheck.CompareAndSetter structurally; it does not import the
// coatcheck package.
//
// # Layout (Flask-Session interop)
//
// Entries use Flask-Session 0.8's DynamoDB layout (DynamoDBSessionInterface),
// so Flask and Go processes can share one table:
//
//   - the table is SESSION_DYNAMODB_TABLE, "Sessions" by default, with one
//     hash key "id" of type S and on-demand billing (PAY_PER_REQUEST);
//   - "id" holds the key as given (SESSION_KEY_PREFIX + session id; the
//     Manager owns the prefix);
//   - "val" (type B) holds the session bytes as given;
//   - "expiration" (type N) holds the expiry as Unix seconds, possibly with a
//     fraction (Flask-Session writes Decimal(datetime.utcnow() + lifetime)
//     .timestamp(), which is Unix time only where the host's local time
//     zone is UTC). The store writes microseconds. An entry without
//     "expiration" (Set with a zero expiry) never expires; Flask-Session
//     always writes one and cannot read an item without it;
//   - time to live is enabled on "expiration", so DynamoDB deletes expired
//     items by itself, up to days late: every read checks the expiry too.
//
// Flask-Session writes with UpdateItem ("SET val = :value, expiration =
// :exp"); this store writes whole items with PutItem, which leaves the same
// item.
//
// # Table
//
// New creates the table when it is missing (unless Options.TableExists, the
// counterpart of SESSION_DYNAMODB_TABLE_EXISTS, says it must already exist),
// waits until it is ACTIVE, and enables time to live on "expiration". Some
// servers refuse UpdateTimeToLive (dynalite does): New logs that and goes
// on; DeleteExpired then sweeps expired items.
//
// # Contexts and errors
//
// Every call passes ctx to the SDK, whose retryer stops at the context's
// deadline. Errors start with "dynamostore:" and wrap the SDK's error, and
// ctx.Err() when the context ended, so errors.Is and errors.As see through
// them. Keys never appear in errors or logs: a message that echoes the key
// shows its fingerprint (first 8 hex digits of its SHA-256) instead.
package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultTable is the table name used when Options.Table is empty
// (Flask-Session's SESSION_DYNAMODB_TABLE default).
const DefaultTable = "Sessions"

// Attribute names of Flask-Session 0.8's layout.
const (
	AttrID         = "id"
	AttrValue      = "val"
	AttrExpiration = "expiration"
)

// MaxItemSize is DynamoDB's item size limit (400 KB), which counts
// attribute names and values. Set and CompareAndSet refuse, with
// ErrTooLarge, an item that would exceed it.
const MaxItemSize = 400 * 1024

// ErrTooLarge is returned when key and value do not fit in one item.
var ErrTooLarge = errors.New("dynamostore: value too large for a DynamoDB item (400 KB)")

// itemSize is the item's size by DynamoDB's count (UTF-8 name and value
// lengths, up to 21 bytes for the number).
func itemSize(key string, data []byte) int {
	return len(AttrID) + len(key) + len(AttrValue) + len(data) + len(AttrExpiration) + 21
}

// ErrNoTable is returned by New when Options.TableExists is set and the
// table does not exist.
var ErrNoTable = errors.New("dynamostore: table does not exist")

// Options configures a Store. The zero value selects every default.
type Options struct {
	// Table is the table name. Empty means DefaultTable ("Sessions").
	Table string
	// TableExists skips creating the table (SESSION_DYNAMODB_TABLE_EXISTS);
	// New then fails with ErrNoTable if it is missing. False means New
	// creates the table when missing.
	TableExists bool
	// TableWait bounds how long New waits for a table to become ACTIVE.
	// Zero means 2 minutes (ctx's deadline applies as well).
	TableWait time.Duration
	// Logger receives the notice that time to live could not be enabled.
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Store is a session store backed by one DynamoDB table. It is safe for
// concurrent use; create it with New.
type Store struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
	ttl    bool
}

// New returns a Store keeping entries in opts.Table through client, creating
// the table (and enabling time to live) when missing. The caller owns the
// client.
func New(ctx context.Context, client *dynamodb.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamostore: New called with a nil client")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	wait := opts.TableWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	s := &Store{client: client, table: table, now: time.Now}
	_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		if opts.TableExists {
			return nil, fmt.Errorf("%w: %q (TableExists is set)", ErrNoTable, table)
		}
		if err := s.createTable(ctx); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, wrap(ctx, "describe table", "", err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &table}, wait); err != nil {
		return nil, wrap(ctx, "wait for table", "", err)
	}
	s.ttl = s.enableTTL(ctx, log)
	return s, nil
}

func (s *Store) createTable(ctx context.Context) error {
	_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &s.table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrID), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) { // another process created it first
		return wrap(ctx, "create table", "", err)
	}
	return nil
}

// enableTTL turns time to live on for "expiration" and reports whether it is
// on. A refusal is logged, not fatal: reads check expiry anyway.
func (s *Store) enableTTL(ctx context.Context, log *slog.Logger) bool {
	d, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &s.table})
	if err == nil && d.TimeToLiveDescription != nil && aws.ToString(d.TimeToLiveDescription.AttributeName) == AttrExpiration {
		switch d.TimeToLiveDescription.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			return true
		}
	}
	_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &s.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrExpiration), Enabled: aws.Bool(true)},
	})
	if err != nil {
		log.Warn("dynamostore: could not enable time to live; expired items stay until DeleteExpired removes them (reads skip them)",
			"table", s.table, "error", err)
		return false
	}
	return true
}

// Table returns the table name.
func (s *Store) Table() string { return s.table }

// TTLEnabled reports whether New found or enabled time to live on the table.
func (s *Store) TTLEnabled() bool { return s.ttl }

// FlaskSessionBackend names Flask-Session's backend with this layout.
func (s *Store) FlaskSessionBackend() string { return "dynamodb" }

func keyAttr(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: key}}
}

// formatExpiry renders t as Unix seconds with microseconds.
func formatExpiry(t time.Time) string {
	us := t.Round(time.Microsecond).UnixMicro()
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	if frac == 0 {
		return strconv.FormatInt(sec, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%06d", sec, frac), "0")
}

// parseExpiry reads an "expiration" number (Unix seconds, maybe fractional
// or in exponent form as DynamoDB may return it).
func parseExpiry(n string) (time.Time, error) {
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("dynamostore: %q attribute is not a number", AttrExpiration)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3), nil
}

// item decodes an item; found is false when it is expired.
func (s *Store) item(it map[string]types.AttributeValue) (data []byte, expiry time.Time, found bool, err error) {
	if it == nil {
		return nil, time.Time{}, false, nil
	}
	if e, ok := it[AttrExpiration]; ok {
		n, ok := e.(*types.AttributeValueMemberN)
		if !ok {
			return nil, time.Time{}, false, fmt.Errorf("dynamostore: %q attribute is not of type N", AttrExpiration)
		}
		if expiry, err = parseExpiry(n.Value); err != nil {
			return nil, time.Time{}, false, err
		}
		if !expiry.After(s.now()) {
			return nil, time.Time{}, false, nil
		}
	}
	switch v := it[AttrValue].(type) {
	case *types.AttributeValueMemberB:
		data = v.Value
	case *types.AttributeValueMemberS: // a value written as a string by hand
		data = []byte(v.Value)
	case nil:
		data = []byte{}
	default:
		return nil, time.Time{}, false, fmt.Errorf("dynamostore: %q attribute is not of type B", AttrValue)
	}
	if data == nil {
		data = []byte{}
	}
	return data, expiry, true, nil
}

// Get returns the bytes stored under key (a strongly consistent GetItem).
// found is false, with a nil error, when the item is absent or expired.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(ctx, "get", key, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: keyAttr(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, wrap(ctx, "get", key, err)
	}
	data, _, found, err := s.item(out.Item)
	if err != nil {
		return nil, false, err
	}
	return data, found, nil
}

func (s *Store) fullItem(key string, data []byte, expiry time.Time) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		AttrID:    &types.AttributeValueMemberS{Value: key},
		AttrValue: &types.AttributeValueMemberB{Value: append([]byte{}, data...)},
	}
	if !expiry.IsZero() {
		it[AttrExpiration] = &types.AttributeValueMemberN{Value: formatExpiry(expiry)}
	}
	return it
}

// Set stores data under key until expiry (PutItem), replacing the item. A
// zero expiry writes no "expiration" (never expires); an expiry that has
// passed deletes the item.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "set", key, err)
	}
	if !expiry.IsZero() && !expiry.After(s.now()) {
		return s.del(ctx, "set", key)
	}
	if itemSize(key, data) > MaxItemSize {
		return ErrTooLarge
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: s.fullItem(key, data, expiry)})
	if err != nil {
		return wrap(ctx, "set", key, err)
	}
	return nil
}

// Delete removes the item under key (DeleteItem); an absent key is no error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "delete", key, err)
	}
	return s.del(ctx, "delete", key)
}

func (s *Store) del(ctx context.Context, op, key string) error {
	if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: keyAttr(key)}); err != nil {
		return wrap(ctx, op, key, err)
	}
	return nil
}

// live is the condition "the item exists and has not expired".
const live = "attribute_exists(#id) AND (attribute_not_exists(#exp) OR #exp > :now)"

// Touch moves the expiry of a live item without rewriting its value
// (UpdateItem with a condition). found is false when the item is absent or
// expired; Touch never creates an item.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "touch", key, err)
	}
	now := s.now()
	in := &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      keyAttr(key),
		ConditionExpression:      aws.String(live),
		ExpressionAttributeNames: map[string]string{"#id": AttrID, "#exp": AttrExpiration},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: formatExpiry(now)},
		},
	}
	if expiry.IsZero() {
		in.UpdateExpression = aws.String("REMOVE #exp")
	} else {
		in.UpdateExpression = aws.String("SET #exp = :e")
		in.ExpressionAttributeValues[":e"] = &types.AttributeValueMemberN{Value: formatExpiry(expiry)}
	}
	_, err := s.client.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, wrap(ctx, "touch", key, err)
	}
	return true, nil
}

// CompareAndSet replaces the item under key only if its live value equals
// old (nil old: only if absent or expired), with one conditional PutItem (or
// a conditional DeleteItem when expiry has passed).
func (s *Store) CompareAndSet(ctx context.Context, key string, old, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, "compare and set", key, err)
	}
	if itemSize(key, data) > MaxItemSize {
		return false, ErrTooLarge
	}
	now := s.now()
	names := map[string]string{"#id": AttrID, "#exp": AttrExpiration}
	values := map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: formatExpiry(now)}}
	var cond string
	if old == nil {
		cond = "attribute_not_exists(#id) OR #exp <= :now"
	} else {
		names["#val"] = AttrValue
		values[":old"] = &types.AttributeValueMemberB{Value: old}
		cond = live + " AND #val = :old"
	}
	var err error
	if !expiry.IsZero() && !expiry.After(now) {
		_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &s.table, Key: keyAttr(key), ConditionExpression: &cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	} else {
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: s.fullItem(key, data, expiry), ConditionExpression: &cond,
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, wrap(ctx, "compare and set", key, err)
	}
	return true, nil
}

// scan runs a paginated, strongly consistent Scan reading id and expiration.
func (s *Store) scan(ctx context.Context, op, filter string, values map[string]types.AttributeValue, fn func(key string, it map[string]types.AttributeValue) (bool, error)) error {
	in := &dynamodb.ScanInput{
		TableName:                &s.table,
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#id, #exp"),
		ExpressionAttributeNames: map[string]string{"#id": AttrID, "#exp": AttrExpiration},
	}
	if filter != "" {
		in.FilterExpression = &filter
		in.ExpressionAttributeValues = values
	}
	p := dynamodb.NewScanPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap(ctx, op, "", err)
		}
		for _, it := range page.Items {
			id, ok := it[AttrID].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			more, err := fn(id.Value, it)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// Iterate calls fn for every live item whose key starts with prefix (a Scan
// filtered with begins_with), until fn returns false.
func (s *Store) Iterate(ctx context.Context, prefix string, fn func(key string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "iterate", "", err)
	}
	var filter string
	var values map[string]types.AttributeValue
	if prefix != "" {
		filter = "begins_with(#id, :p)"
		values = map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}}
	}
	return s.scan(ctx, "iterate", filter, values, func(key string, it map[string]types.AttributeValue) (bool, error) {
		if !strings.HasPrefix(key, prefix) {
			return true, nil
		}
		_, expiry, found, err := s.item(it)
		if err != nil || !found {
			return true, nil // unreadable or expired: skip, as Get would
		}
		return fn(key, expiry), nil
	})
}

// DeleteExpired deletes every item whose expiration has passed (a filtered
// Scan, then one conditional DeleteItem per item, so an item refreshed in
// between survives) and reports how many it deleted. With time to live on,
// DynamoDB does this by itself, later.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap(ctx, "delete expired", "", err)
	}
	now := &types.AttributeValueMemberN{Value: formatExpiry(s.now())}
	values := map[string]types.AttributeValue{":now": now}
	n := 0
	err := s.scan(ctx, "delete expired", "#exp <= :now", values, func(key string, _ map[string]types.AttributeValue) (bool, error) {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &s.table, Key: keyAttr(key),
			ConditionExpression:       aws.String("#exp <= :now"),
			ExpressionAttributeNames:  map[string]string{"#exp": AttrExpiration},
			ExpressionAttributeValues: values,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &ccf):
		case err != nil:
			return false, wrap(ctx, "delete expired", key, err)
		default:
			n++
		}
		return true, nil
	})
	return n, err
}

// Fingerprint returns the first 8 hex digits of key's SHA-256, the form in
// which a key may appear in messages.
func Fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// storeError is a wrapped SDK error whose message has the key replaced by
// its fingerprint (servers may echo attribute values in messages).
type storeError struct {
	msg  string
	errs []error
}

func (e *storeError) Error() string   { return e.msg }
func (e *storeError) Unwrap() []error { return e.errs }

// wrap prefixes err with the package and operation, makes it wrap ctx.Err()
// when the context is done, and scrubs key from the message.
func wrap(ctx context.Context, op, key string, err error) error {
	errs := []error{err}
	msg := fmt.Sprintf("dynamostore: %s: %v", op, err)
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		errs = append(errs, cerr)
		msg += " (" + cerr.Error() + ")"
	}
	if key != "" && strings.Contains(msg, key) {
		msg = strings.ReplaceAll(msg, key, "key#"+Fingerprint(key))
	}
	return &storeError{msg: msg, errs: errs}
}
