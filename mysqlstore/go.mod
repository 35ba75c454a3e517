module github.com/coatcheck/coatcheck/mysqlstore

go 1.23

require (
	github.com/coatcheck/coatcheck v0.1.0
	github.com/go-sql-driver/mysql v1.9.3
)

require filippo.io/edwards25519 v1.1.0 // indirect
