module github.com/coatcheck/coatcheck/rueidisstore

go 1.25.0

require (
	github.com/coatcheck/coatcheck v0.1.0
	github.com/coatcheck/coatcheck/redisstore v0.1.0
	github.com/redis/go-redis/v9 v9.18.0
	github.com/redis/rueidis v1.0.79
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
