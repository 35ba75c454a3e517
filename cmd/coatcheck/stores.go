package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/filestore"
	"github.com/coatcheck/coatcheck/memcachestore"
	"github.com/coatcheck/coatcheck/memstore"
	"github.com/coatcheck/coatcheck/mongostore"
	"github.com/coatcheck/coatcheck/mysqlstore"
	"github.com/coatcheck/coatcheck/pgstore"
	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/coatcheck/coatcheck/sqlitestore"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// sessionTypes lists SESSION_TYPE values.
var sessionTypes = []string{"cookie", "memory", "filesystem", "sqlite", "redis", "memcached", "postgresql", "mysql", "mongodb", "sqlalchemy"}

// openedStore is a store built from the environment, with what closes it.
type openedStore struct {
	store   coatcheck.Store
	backend string // Flask-Session's backend name, for the compatibility profile
	close   func()
	desc    string
}

// loadConfig reads the whole configuration from the environment with
// Flask's and Flask-Session's names, and opens the store SESSION_TYPE names.
func loadConfig(ctx context.Context, getenv func(string) string) (coatcheck.Config, *openedStore, error) {
	cfg, err := coatcheck.ConfigFromEnv(func(k string) (string, bool) { v := getenv(k); return v, v != "" })
	if err != nil {
		return cfg, nil, err
	}
	st, err := openStore(ctx, getenv)
	if err != nil {
		return cfg, nil, err
	}
	if st.store != nil {
		cfg.Store = st.store
		cfg.Server.FlaskSessionBackend = st.backend
		if st.backend == "filesystem" && cfg.Server.Serialization == "" && cfg.Server.Codec == nil {
			// cachelib's FileSystemCache pickles in every Flask-Session version
			cfg.Server.Serialization = "pickle"
		}
	}
	return cfg, st, nil
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

// openStore builds the store named by SESSION_TYPE.
func openStore(ctx context.Context, getenv func(string) string) (*openedStore, error) {
	typ := strings.ToLower(envOr(getenv, "SESSION_TYPE", "cookie"))
	noop := func() {}
	switch typ {
	case "cookie", "null", "":
		return &openedStore{close: noop, desc: "signed cookies"}, nil
	case "memory":
		s := memstore.New(memstore.Options{})
		return &openedStore{store: s, backend: "redis", close: func() { s.Close() }, desc: "memory"}, nil
	case "filesystem":
		dir := envOr(getenv, "SESSION_FILE_DIR", "flask_session")
		opts := filestore.Options{}
		if v := getenv("SESSION_FILE_THRESHOLD"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("SESSION_FILE_THRESHOLD: %w", err)
			}
			opts.Threshold = n
		}
		if v := getenv("SESSION_FILE_MODE"); v != "" {
			n, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("SESSION_FILE_MODE: %w", err)
			}
			opts.Mode = os.FileMode(n)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		s, err := filestore.New(dir, opts)
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(dir)
		return &openedStore{store: s, backend: "filesystem", close: noop, desc: "filesystem " + abs}, nil
	case "sqlite":
		path := envOr(getenv, "SESSION_SQLITE", "coatcheck-sessions.db")
		s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Table: envOr(getenv, "SESSION_SQLALCHEMY_TABLE", "")})
		if err != nil {
			return nil, err
		}
		return &openedStore{store: s, backend: "sqlalchemy", close: func() { s.Close() }, desc: "sqlite " + path}, nil
	case "redis":
		client, err := redisClient(envOr(getenv, "SESSION_REDIS", "redis://127.0.0.1:6379/0"))
		if err != nil {
			return nil, err
		}
		return &openedStore{store: redisstore.New(client, redisstore.Options{}), backend: "redis", close: func() { client.Close() }, desc: "redis"}, nil
	case "memcached":
		servers := strings.Split(envOr(getenv, "SESSION_MEMCACHED", "127.0.0.1:11211"), ",")
		for i := range servers {
			servers[i] = strings.TrimSpace(servers[i])
		}
		client := memcache.New(servers...)
		client.Timeout = 2 * time.Second
		return &openedStore{store: memcachestore.New(client, memcachestore.Options{}), backend: "memcached", close: func() { client.Close() }, desc: "memcached " + strings.Join(servers, ",")}, nil
	case "postgresql", "postgres", "mysql", "sqlalchemy":
		u := getenv("SESSION_SQLALCHEMY")
		if u == "" {
			u = getenv("SESSION_POSTGRESQL")
		}
		if u == "" {
			return nil, fmt.Errorf("SESSION_TYPE=%s needs SESSION_SQLALCHEMY (a postgres:// or mysql:// URL)", typ)
		}
		return openSQL(ctx, u, envOr(getenv, "SESSION_SQLALCHEMY_TABLE", ""))
	case "mongodb":
		u := envOr(getenv, "SESSION_MONGODB", "mongodb://127.0.0.1:27017/")
		client, err := mongo.Connect(options.Client().ApplyURI(u).SetServerSelectionTimeout(5 * time.Second))
		if err != nil {
			return nil, fmt.Errorf("SESSION_MONGODB: %w", err)
		}
		coll := client.Database(envOr(getenv, "SESSION_MONGODB_DB", "flask_session")).Collection(envOr(getenv, "SESSION_MONGODB_COLLECT", "sessions"))
		// SESSION_MONGODB_TTL_INDEX=false for servers without TTL indexes
		// (FerretDB); expiry is still checked on read and purge-expired sweeps.
		noTTL := strings.EqualFold(getenv("SESSION_MONGODB_TTL_INDEX"), "false") || getenv("SESSION_MONGODB_TTL_INDEX") == "0"
		s, err := mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: noTTL})
		if err != nil {
			client.Disconnect(context.Background())
			return nil, err
		}
		return &openedStore{store: s, backend: "mongodb", close: func() { client.Disconnect(context.Background()) }, desc: "mongodb"}, nil
	}
	return nil, fmt.Errorf("SESSION_TYPE %q: want one of %s", typ, strings.Join(sessionTypes, ", "))
}

// redisClient parses SESSION_REDIS: redis://… or rediss://… (go-redis'
// ParseURL: unknown parameters are errors), redis+cluster://h1:p1,h2:p2 for
// a Cluster, redis+sentinel://h1:p1,h2:p2/MASTER for Sentinel.
func redisClient(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("SESSION_REDIS %q: want a redis:// URL", raw)
	}
	switch scheme {
	case "redis+cluster", "redis-cluster":
		hosts, _, _ := strings.Cut(rest, "/")
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(hosts, ",")}), nil
	case "redis+sentinel", "redis-sentinel":
		hosts, master, _ := strings.Cut(rest, "/")
		if master == "" {
			return nil, fmt.Errorf("SESSION_REDIS %q: a sentinel URL names the master: redis+sentinel://host:port/MASTER", raw)
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: strings.Split(hosts, ",")}), nil
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("SESSION_REDIS: %w", err)
	}
	return redis.NewClient(opt), nil
}

// openSQL picks PostgreSQL or MySQL from an SQLAlchemy-style URL
// (postgresql+psycopg2://…, mysql+pymysql://…).
func openSQL(ctx context.Context, raw, table string) (*openedStore, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("SESSION_SQLALCHEMY: %w", err)
	}
	dialect, _, _ := strings.Cut(u.Scheme, "+")
	switch dialect {
	case "postgres", "postgresql":
		u.Scheme = "postgres"
		pool, err := pgxpool.New(ctx, u.String())
		if err != nil {
			return nil, fmt.Errorf("SESSION_SQLALCHEMY: %w", err)
		}
		s, err := pgstore.New(ctx, pool, pgstore.Options{Table: table})
		if err != nil {
			pool.Close()
			return nil, err
		}
		return &openedStore{store: s, backend: "sqlalchemy", close: func() { s.Close(); pool.Close() }, desc: "postgresql " + u.Redacted()}, nil
	case "mysql", "mariadb":
		mc := mysql.NewConfig()
		mc.Net = "tcp"
		mc.Addr = u.Host
		if u.Port() == "" {
			mc.Addr = u.Hostname() + ":3306"
		}
		mc.User = u.User.Username()
		mc.Passwd, _ = u.User.Password()
		mc.DBName = strings.TrimPrefix(u.Path, "/")
		mc.ParseTime = true
		db, err := sql.Open("mysql", mc.FormatDSN())
		if err != nil {
			return nil, err
		}
		s, err := mysqlstore.New(ctx, db, mysqlstore.Options{Table: table})
		if err != nil {
			db.Close()
			return nil, err
		}
		return &openedStore{store: s, backend: "sqlalchemy", close: func() { s.Close(); db.Close() }, desc: "mysql " + u.Redacted()}, nil
	}
	return nil, errors.New("SESSION_SQLALCHEMY: want a postgresql:// or mysql:// URL, got " + u.Redacted())
}
