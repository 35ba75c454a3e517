module github.com/coatcheck/coatcheck/memcachestore

go 1.23

require (
	github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c
	github.com/coatcheck/coatcheck v0.1.0
)
