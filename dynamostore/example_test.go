package dynamostore_test

import (
	"context"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coatcheck/coatcheck/dynamostore"
)

func ExampleNew() {
	ctx := context.Background()
	// A local DynamoDB (dynalite, DynamoDB Local) accepts any credentials.
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:8000"),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	// Flask-Session's table ("Sessions"), created if missing.
	store, err := dynamostore.New(ctx, client, dynamostore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// Usually the coatcheck Manager calls these.
	if err := store.Set(ctx, "session:0f8e", []byte("\x80"), time.Now().Add(31*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	data, found, err := store.Get(ctx, "session:0f8e")
	log.Println(data, found, err)
}
