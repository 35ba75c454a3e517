package dynamostore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/dynamostore"
	"github.com/coatcheck/coatcheck/storetest"
)

// storeOn builds a store on table through endpoint, and drops the table
// when the test ends if drop is set.
func storeOn(t *testing.T, endpoint, table string, drop bool) *dynamostore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := dynamostore.New(ctx, client(endpoint), dynamostore.Options{Table: table, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if drop {
		ep := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
		t.Cleanup(func() {
			client(ep).DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		})
	}
	return s
}

func TestFaults(t *testing.T) {
	ep := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	storetest.RunFaults(t, strings.TrimPrefix(ep, "http://"), func(t *testing.T, addr string) coatcheck.Store {
		return storeOn(t, "http://"+addr, tableName(t), true)
	})
}

func TestTwoClients(t *testing.T) {
	ep := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	table := tableName(t)
	storetest.RunTwoClients(t,
		func(t *testing.T) coatcheck.Store { return storeOn(t, ep, table, true) },
		func(t *testing.T) coatcheck.Store { return storeOn(t, ep, table, false) })
}

func TestSessions(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) coatcheck.Store { s, _ := newStore(t); return s })
}

func TestUserIndex(t *testing.T) {
	storetest.RunUserIndex(t, func(t *testing.T) coatcheck.Store { s, _ := newStore(t); return s })
}
