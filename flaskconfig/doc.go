// Package flaskconfig builds a ready *coatcheck.Manager, store included,
// from Flask's and Flask-Session's setting names, read from the environment
// or a map, so a Go service configures its sessions exactly like the Flask
// app it shares them with.
//
// SESSION_TYPE picks the store (Flask-Session's names, plus Coatcheck's
// "memory" and "sqlite"):
//
//	cookie (default), null  signed cookies, no store
//	memory                  an in-process memstore (tests, one process)
//	filesystem              SESSION_FILE_DIR ("flask_session"), SESSION_FILE_THRESHOLD, SESSION_FILE_MODE
//	sqlite                  SESSION_SQLITE (a path, "coatcheck-sessions.db"), SESSION_SQLALCHEMY_TABLE
//	redis                   SESSION_REDIS: redis://, rediss://, unix:// (go-redis' URL form, whose
//	                        parameters such as dial_timeout are honoured),
//	                        redis+cluster://h1:p1,h2:p2 and redis+sentinel://h1:p1,h2:p2/MASTER
//	memcached               SESSION_MEMCACHED: host:port[,host:port...]
//	postgresql, mysql,      SESSION_SQLALCHEMY: an SQLAlchemy URL (postgresql[+driver]://…,
//	sqlalchemy              mysql[+driver]://…), SESSION_SQLALCHEMY_TABLE
//	mongodb                 SESSION_MONGODB (a mongodb:// URL), SESSION_MONGODB_DB,
//	                        SESSION_MONGODB_COLLECT, SESSION_MONGODB_TTL_INDEX=false for servers
//	                        without TTL indexes
//	dynamodb                SESSION_DYNAMODB, SESSION_DYNAMODB_TABLE ("Sessions"),
//	                        SESSION_DYNAMODB_TABLE_EXISTS
//
// SESSION_DYNAMODB is an endpoint URL: Coatcheck's own convention, since
// Flask-Session takes a boto3 resource object there. Unset, it is
// Flask-Session's default endpoint, http://localhost:8000 (DynamoDB Local,
// dynalite); the word "aws" means the AWS endpoint of the region. Region and
// credentials come from the standard AWS settings (AWS_REGION or
// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN) read through the same lookup; without keys, a loopback
// endpoint gets dummy credentials and region us-east-1, any other endpoint
// the SDK's default chain (shared profiles, SSO, instance roles).
//
// SESSION_REFRESH_INTERVAL (Coatcheck's, in seconds like the other
// Coatcheck durations; default 0) is passed to the SQL stores only
// (sqlite, postgresql, mysql, sqlalchemy) as their Options.RefreshInterval:
// 0 refreshes a session's expiry on every read, as Flask-Session does; N > 0
// makes a read one SELECT and writes the expiry at most once per N seconds
// for a session read on every request (see sqlstore.Options.RefreshInterval).
// No other store reads it; a bad or negative value is an error whatever the
// type.
//
// Every other setting (SECRET_KEY, SESSION_COOKIE_*, SESSION_KEY_PREFIX,
// PERMANENT_SESSION_LIFETIME, ...) is read by coatcheck.ConfigFromEnv.
//
// # Timeouts
//
// Every client this package builds has bounded dials and reads, so a dead
// server costs seconds, not minutes: go-redis with ContextTimeoutEnabled and
// a 2 s dial timeout (3 s read and write); pgx with a 5 s connect timeout
// unless the URL sets connect_timeout; MySQL with timeout 5 s, readTimeout
// and writeTimeout 10 s; MongoDB with 5 s connect and server-selection
// timeouts unless the URL sets them; memcached with 2 s; DynamoDB with a 2 s
// dial and 10 s per attempt. Settings in a URL win over these defaults.
//
// The caller closes what Open opened with Sessions.Close (or Store.Close).
package flaskconfig
