package flaskconfig

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/dynamostore"
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

// SessionTypes lists the SESSION_TYPE values Open accepts.
var SessionTypes = []string{"cookie", "memory", "filesystem", "sqlite", "redis", "memcached", "postgresql", "mysql", "sqlalchemy", "mongodb", "dynamodb"}

// ErrConfig is wrapped by every error about a setting's value.
var ErrConfig = errors.New("flaskconfig: invalid setting")

// Client timeouts applied when the setting's URL does not choose its own.
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = 3 * time.Second
	SQLConnect   = 5 * time.Second
	SQLReadWrite = 10 * time.Second
	AttemptLimit = 10 * time.Second
)

// DefaultDynamoDBEndpoint is the endpoint used when SESSION_DYNAMODB is
// unset, Flask-Session's default (DynamoDB Local's port).
const DefaultDynamoDBEndpoint = "http://localhost:8000"

// Store is the store SESSION_TYPE named, with the clients opened for it.
type Store struct {
	// Store is nil for cookie sessions.
	Store coatcheck.Store
	// Backend is Flask-Session's backend name for the layout
	// (ServerConfig.FlaskSessionBackend), empty for cookie sessions.
	Backend string
	// Description names the store for humans (URLs without passwords).
	Description string

	once   sync.Once
	closer func()
}

// Close closes the store and the clients opened for it. It is safe to call
// more than once.
func (s *Store) Close() error {
	if s != nil {
		s.once.Do(func() {
			if s.closer != nil {
				s.closer()
			}
		})
	}
	return nil
}

// Sessions is a Manager built from Flask settings, with what Close closes.
type Sessions struct {
	*coatcheck.Manager // Manager.Config() is the configuration it was built from
	// Store is the opened store (Store.Store is nil for cookie sessions).
	Store *Store
}

// Close closes the clients Open opened.
func (s *Sessions) Close() error {
	if s == nil {
		return nil
	}
	return s.Store.Close()
}

// Options adjusts Open.
type Options struct {
	// Configure, when set, may change the Config (Logger, Observer, ...)
	// after it was read and before the Manager is built. An error aborts
	// Open.
	Configure func(*coatcheck.Config) error
}

// Open reads the settings through lookup (os.LookupEnv for the
// environment), opens the store SESSION_TYPE names and builds the Manager.
func Open(ctx context.Context, lookup func(string) (string, bool), opts Options) (*Sessions, error) {
	cfg, st, err := LoadConfig(ctx, lookup)
	if err != nil {
		return nil, err
	}
	if opts.Configure != nil {
		if err := opts.Configure(&cfg); err != nil {
			st.Close()
			return nil, err
		}
	}
	m, err := coatcheck.New(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Sessions{Manager: m, Store: st}, nil
}

// FromEnv is Open on the process environment.
func FromEnv(ctx context.Context, opts Options) (*Sessions, error) {
	return Open(ctx, os.LookupEnv, opts)
}

// FromMap is Open on a map of settings (an absent key is unset; an empty
// value is set and empty).
func FromMap(ctx context.Context, settings map[string]string, opts Options) (*Sessions, error) {
	return Open(ctx, MapLookup(settings), opts)
}

// MapLookup returns a lookup function reading m.
func MapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// LoadConfig reads the configuration through lookup with
// coatcheck.ConfigFromEnv and opens the store SESSION_TYPE names, setting
// cfg.Store and cfg.Server.FlaskSessionBackend. The caller closes the Store.
func LoadConfig(ctx context.Context, lookup func(string) (string, bool)) (coatcheck.Config, *Store, error) {
	cfg, err := coatcheck.ConfigFromEnv(lookup)
	if err != nil {
		return cfg, nil, err
	}
	st, err := OpenStore(ctx, lookup)
	if err != nil {
		return cfg, nil, err
	}
	if st.Store != nil {
		cfg.Store = st.Store
		cfg.Server.FlaskSessionBackend = st.Backend
		if st.Backend == "filesystem" && cfg.Server.Serialization == "" && cfg.Server.Codec == nil {
			// cachelib's FileSystemCache pickles in every Flask-Session version
			cfg.Server.Serialization = "pickle"
		}
	}
	return cfg, st, nil
}

type settings func(string) (string, bool)

// get returns the value of k, or def when k is unset or empty.
func (g settings) or(k, def string) string {
	if v, ok := g(k); ok && v != "" {
		return v
	}
	return def
}

func (g settings) get(k string) string { v, _ := g(k); return v }

func (g settings) boolean(k string) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(g.get(k)))
	switch v {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s=%q: want true or false", ErrConfig, k, v)
}

func noop() {}

// seconds reads k as a duration in seconds, as coatcheck.ConfigFromEnv
// reads SESSION_STORE_TIMEOUT: an integer or decimal number of seconds, or
// a Go duration ("90s", "2m"). Unset or empty is 0; negative is an error.
func (g settings) seconds(k string) (time.Duration, error) {
	v := strings.TrimSpace(g.get(k))
	if v == "" {
		return 0, nil
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(n) * time.Second
	} else if f, err := strconv.ParseFloat(v, 64); err == nil {
		d = time.Duration(f * float64(time.Second))
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, fmt.Errorf("%w: %s=%q: not a number of seconds", ErrConfig, k, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%w: %s=%q: negative", ErrConfig, k, v)
	}
	return d, nil
}

// OpenStore opens the store SESSION_TYPE names (cookie when unset).
func OpenStore(ctx context.Context, lookup func(string) (string, bool)) (*Store, error) {
	g := settings(lookup)
	typ := strings.ToLower(g.or("SESSION_TYPE", "cookie"))
	// Checked whatever the type; only the SQL stores use it.
	refresh, err := g.seconds("SESSION_REFRESH_INTERVAL")
	if err != nil {
		return nil, err
	}
	switch typ {
	case "cookie", "null":
		return &Store{closer: noop, Description: "signed cookies"}, nil
	case "memory":
		s := memstore.New(memstore.Options{})
		return &Store{Store: s, Backend: "redis", closer: func() { s.Close() }, Description: "memory"}, nil
	case "filesystem":
		return openFiles(g)
	case "sqlite":
		path := g.or("SESSION_SQLITE", "coatcheck-sessions.db")
		s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Table: g.get("SESSION_SQLALCHEMY_TABLE"), RefreshInterval: refresh})
		if err != nil {
			return nil, err
		}
		return &Store{Store: s, Backend: "sqlalchemy", closer: func() { s.Close() }, Description: "sqlite " + path}, nil
	case "redis":
		client, desc, err := RedisClient(g.or("SESSION_REDIS", "redis://127.0.0.1:6379/0"))
		if err != nil {
			return nil, err
		}
		return &Store{Store: redisstore.New(client, redisstore.Options{}), Backend: "redis", closer: func() { client.Close() }, Description: desc}, nil
	case "memcached":
		servers := strings.Split(g.or("SESSION_MEMCACHED", "127.0.0.1:11211"), ",")
		for i := range servers {
			servers[i] = strings.TrimSpace(servers[i])
		}
		client := memcache.New(servers...)
		client.Timeout = DialTimeout
		return &Store{Store: memcachestore.New(client, memcachestore.Options{}), Backend: "memcached", closer: func() { client.Close() }, Description: "memcached " + strings.Join(servers, ",")}, nil
	case "postgresql", "postgres", "mysql", "sqlalchemy":
		u := g.get("SESSION_SQLALCHEMY")
		if u == "" {
			u = g.get("SESSION_POSTGRESQL")
		}
		if u == "" {
			return nil, fmt.Errorf("%w: SESSION_TYPE=%s needs SESSION_SQLALCHEMY (a postgresql:// or mysql:// URL)", ErrConfig, typ)
		}
		return openSQL(ctx, u, g.get("SESSION_SQLALCHEMY_TABLE"), refresh)
	case "mongodb":
		return openMongo(ctx, g)
	case "dynamodb":
		return openDynamo(ctx, g)
	}
	return nil, fmt.Errorf("%w: SESSION_TYPE %q: want one of %s", ErrConfig, typ, strings.Join(SessionTypes, ", "))
}

func openFiles(g settings) (*Store, error) {
	dir := g.or("SESSION_FILE_DIR", "flask_session")
	opts := filestore.Options{}
	if v := g.get("SESSION_FILE_THRESHOLD"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%w: SESSION_FILE_THRESHOLD: %w", ErrConfig, err)
		}
		opts.Threshold = n
	}
	if v := g.get("SESSION_FILE_MODE"); v != "" {
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: SESSION_FILE_MODE: %w", ErrConfig, err)
		}
		opts.Mode = os.FileMode(n)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("flaskconfig: SESSION_FILE_DIR: %w", err)
	}
	s, err := filestore.New(dir, opts)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dir)
	return &Store{Store: s, Backend: "filesystem", closer: noop, Description: "filesystem " + abs}, nil
}

// RedisClient builds a client from a SESSION_REDIS URL: redis://…,
// rediss://… or unix://… (go-redis' ParseURL: unknown parameters are
// errors), redis+cluster://h1:p1,h2:p2 for a Cluster,
// redis+sentinel://h1:p1,h2:p2/MASTER for Sentinel (user and password, if
// given, are the servers'). Context deadlines are enabled and dials bounded
// (DialTimeout) unless the URL sets dial_timeout. It also returns a
// description without the password.
func RedisClient(raw string) (redis.UniversalClient, string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, "", fmt.Errorf("%w: SESSION_REDIS: want a redis:// URL", ErrConfig)
	}
	var user, pass string
	if at := strings.LastIndex(rest, "@"); at >= 0 && (scheme == "redis+cluster" || scheme == "redis-cluster" || scheme == "redis+sentinel" || scheme == "redis-sentinel") {
		cred := rest[:at]
		rest = rest[at+1:]
		user, pass, _ = strings.Cut(cred, ":")
		user, _ = url.PathUnescape(user)
		pass, _ = url.PathUnescape(pass)
	}
	switch scheme {
	case "redis+cluster", "redis-cluster":
		hosts, _, _ := strings.Cut(rest, "/")
		if hosts == "" {
			return nil, "", fmt.Errorf("%w: SESSION_REDIS: a cluster URL names its nodes: redis+cluster://host:port,host:port", ErrConfig)
		}
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: strings.Split(hosts, ","), Username: user, Password: pass,
			ContextTimeoutEnabled: true, DialTimeout: DialTimeout, ReadTimeout: ReadTimeout, WriteTimeout: ReadTimeout,
		}), "redis cluster " + hosts, nil
	case "redis+sentinel", "redis-sentinel":
		hosts, master, _ := strings.Cut(rest, "/")
		if master == "" || hosts == "" {
			return nil, "", fmt.Errorf("%w: SESSION_REDIS: a sentinel URL names the master: redis+sentinel://host:port/MASTER", ErrConfig)
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: master, SentinelAddrs: strings.Split(hosts, ","), Username: user, Password: pass,
			ContextTimeoutEnabled: true, DialTimeout: DialTimeout, ReadTimeout: ReadTimeout, WriteTimeout: ReadTimeout,
		}), "redis sentinel " + hosts + " master " + master, nil
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w: SESSION_REDIS: %w", ErrConfig, err)
	}
	opt.ContextTimeoutEnabled = true
	if opt.DialTimeout == 0 {
		opt.DialTimeout = DialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = ReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = ReadTimeout
	}
	return redis.NewClient(opt), "redis " + opt.Addr, nil
}

// openSQL picks PostgreSQL or MySQL from an SQLAlchemy-style URL
// (postgresql+psycopg2://…, mysql+pymysql://…).
func openSQL(ctx context.Context, raw, table string, refresh time.Duration) (*Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: SESSION_SQLALCHEMY is not a URL", ErrConfig)
	}
	dialect, _, _ := strings.Cut(u.Scheme, "+")
	switch dialect {
	case "postgres", "postgresql":
		u.Scheme = "postgres"
		pc, err := pgxpool.ParseConfig(u.String())
		if err != nil {
			return nil, fmt.Errorf("%w: SESSION_SQLALCHEMY (%s): %w", ErrConfig, u.Redacted(), err)
		}
		if !u.Query().Has("connect_timeout") {
			pc.ConnConfig.ConnectTimeout = SQLConnect
		}
		pool, err := pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("flaskconfig: SESSION_SQLALCHEMY (%s): %w", u.Redacted(), err)
		}
		s, err := pgstore.New(ctx, pool, pgstore.Options{Table: table, RefreshInterval: refresh})
		if err != nil {
			pool.Close()
			return nil, err
		}
		return &Store{Store: s, Backend: "sqlalchemy", closer: func() { s.Close(); pool.Close() }, Description: "postgresql " + u.Redacted()}, nil
	case "mysql", "mariadb":
		mc := mysql.NewConfig()
		mc.Net = "tcp"
		mc.Addr = u.Host
		if u.Port() == "" {
			mc.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
		mc.User = u.User.Username()
		mc.Passwd, _ = u.User.Password()
		mc.DBName = strings.TrimPrefix(u.Path, "/")
		mc.ParseTime = true
		mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = SQLConnect, SQLReadWrite, SQLReadWrite
		db, err := sql.Open("mysql", mc.FormatDSN())
		if err != nil {
			return nil, fmt.Errorf("flaskconfig: SESSION_SQLALCHEMY (%s): %w", u.Redacted(), err)
		}
		s, err := mysqlstore.New(ctx, db, mysqlstore.Options{Table: table, RefreshInterval: refresh})
		if err != nil {
			db.Close()
			return nil, err
		}
		return &Store{Store: s, Backend: "sqlalchemy", closer: func() { s.Close(); db.Close() }, Description: "mysql " + u.Redacted()}, nil
	}
	return nil, fmt.Errorf("%w: SESSION_SQLALCHEMY: want a postgresql:// or mysql:// URL, got %s", ErrConfig, u.Redacted())
}

func openMongo(ctx context.Context, g settings) (*Store, error) {
	u := g.or("SESSION_MONGODB", "mongodb://127.0.0.1:27017/")
	// defaults first: settings in the URI override them
	co := options.Client().SetConnectTimeout(SQLConnect).SetServerSelectionTimeout(SQLConnect).ApplyURI(u)
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("%w: SESSION_MONGODB: %w", ErrConfig, err)
	}
	disconnect := func() {
		dctx, cancel := context.WithTimeout(context.Background(), SQLConnect)
		defer cancel()
		client.Disconnect(dctx)
	}
	coll := client.Database(g.or("SESSION_MONGODB_DB", "flask_session")).Collection(g.or("SESSION_MONGODB_COLLECT", "sessions"))
	// SESSION_MONGODB_TTL_INDEX=false for servers without TTL indexes
	// (FerretDB); expiry is still checked on read and purge-expired sweeps.
	noTTL := false
	if v, ok := g("SESSION_MONGODB_TTL_INDEX"); ok && v != "" {
		on, err := g.boolean("SESSION_MONGODB_TTL_INDEX")
		if err != nil {
			disconnect()
			return nil, err
		}
		noTTL = !on
	}
	s, err := mongostore.New(ctx, coll, mongostore.Options{NoTTLIndex: noTTL})
	if err != nil {
		disconnect()
		return nil, err
	}
	return &Store{Store: s, Backend: "mongodb", closer: disconnect, Description: "mongodb"}, nil
}

// DynamoDBClient builds a DynamoDB client for endpoint ("aws" or empty:
// the region's AWS endpoint) with region and credentials from the standard
// AWS settings read through lookup; see the package documentation.
func DynamoDBClient(ctx context.Context, endpoint string, lookup func(string) (string, bool)) (*dynamodb.Client, error) {
	g := settings(lookup)
	region := g.or("AWS_REGION", g.get("AWS_DEFAULT_REGION"))
	keyID, secret := g.get("AWS_ACCESS_KEY_ID"), g.get("AWS_SECRET_ACCESS_KEY")
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = DialTimeout }).
		WithTimeout(AttemptLimit).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = DialTimeout; t.ResponseHeaderTimeout = AttemptLimit })
	local := false
	if endpoint != "" && endpoint != "aws" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: SESSION_DYNAMODB: want an http:// or https:// endpoint URL or \"aws\"", ErrConfig)
		}
		h := u.Hostname()
		ip := net.ParseIP(h)
		local = h == "localhost" || (ip != nil && ip.IsLoopback())
	}
	var cfg aws.Config
	if keyID != "" && secret != "" || local {
		if keyID == "" || secret == "" {
			keyID, secret = "coatcheck", "coatcheck" // a local server accepts any key
		}
		if region == "" {
			region = "us-east-1"
		}
		cfg = aws.Config{
			Region:      region,
			Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, g.get("AWS_SESSION_TOKEN")),
			HTTPClient:  httpClient,
		}
	} else {
		var err error
		lo := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(httpClient)}
		if region != "" {
			lo = append(lo, awsconfig.WithRegion(region))
		}
		if cfg, err = awsconfig.LoadDefaultConfig(ctx, lo...); err != nil {
			return nil, fmt.Errorf("flaskconfig: AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return nil, fmt.Errorf("%w: SESSION_TYPE=dynamodb on AWS needs AWS_REGION", ErrConfig)
		}
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" && endpoint != "aws" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

func openDynamo(ctx context.Context, g settings) (*Store, error) {
	endpoint := g.or("SESSION_DYNAMODB", DefaultDynamoDBEndpoint)
	exists, err := g.boolean("SESSION_DYNAMODB_TABLE_EXISTS")
	if err != nil {
		return nil, err
	}
	client, err := DynamoDBClient(ctx, endpoint, g)
	if err != nil {
		return nil, err
	}
	s, err := dynamostore.New(ctx, client, dynamostore.Options{Table: g.get("SESSION_DYNAMODB_TABLE"), TableExists: exists})
	if err != nil {
		return nil, err
	}
	desc := "dynamodb table " + s.Table()
	if endpoint != "aws" {
		desc += " at " + endpoint
	}
	return &Store{Store: s, Backend: "dynamodb", closer: noop, Description: desc}, nil
}
