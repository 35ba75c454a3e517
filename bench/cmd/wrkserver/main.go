// Command wrkserver is the like-for-like HTTP target of the wrk half of
// ../../run.sh (issue 12): one tiny page, "<p>Logged in as alice</p>", whose
// user comes from the session, behind each session library in turn, with no
// access log in any mode.
//
//	wrkserver -mode MODE [-addr 127.0.0.1:8082] [-prefix KEYPREFIX]
//
// Modes:
//
//	bare                        no sessions; the user is the constant "alice"
//	coatcheck-cookie            coatcheck.Manager, signed cookie (not permanent:
//	                            a read sends nothing back)
//	coatcheck-cookie-permanent  the same, the cookie made permanent at login, so
//	                            every read re-signs and re-sends it, as Flask does
//	                            (SESSION_REFRESH_EACH_REQUEST)
//	coatcheck-redis             coatcheck with redisstore on COATCHECK_REDIS_URL
//	                            (server-side, permanent: a read is one GETEX)
//	coatcheck-rueidis           coatcheck with rueidisstore (one GETEX per read)
//	coatcheck-rueidis-cached    the same with RefreshInterval 1 min: reads from
//	                            the client-side cache, TTL refreshed once a minute
//	scs-redis                   alexedwards/scs v2, goredisstore on the same Redis
//	                            (a read is one GET)
//	gorilla-cookie              gorilla/sessions CookieStore (HMAC-SHA256, gob)
//
// coatcheck-cookie-nocache and coatcheck-cookie-permanent-nocache are the
// two cookie modes with the verified-cookie cache disabled
// (Config.CookieCacheSize -1): wrk sends one cookie over and over, so with
// the cache on every request after the first is a hit; with it off every
// request verifies and decodes the cookie.
//
// Every mode but bare has POST /login (and GET /login) that sets
// username=alice in the session and answers 200 with the session cookie;
// run.sh takes the cookie from there with curl. GET / answers the page, or
// 401 when the session holds no user (so wrk counts a lost session as
// non-2xx). The keys and secrets are the ones bench_test.go uses; the
// Coatcheck secret is $SECRET_KEY when set (run.sh sets it, so Flask under
// gunicorn accepts Coatcheck's cookie).
package main

import (
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/coatcheck/coatcheck/rueidisstore"
	"github.com/gorilla/sessions"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

const defaultSecret = "bench-secret-key-0123456789abcdef" // bench_test.go's secretKey

var (
	gorillaHashKey = []byte("bench-hash-key-0123456789abcdef-0123456789abcdef-0123456789abcde")[:64]
	modes          = []string{"bare", "coatcheck-cookie", "coatcheck-cookie-permanent", "coatcheck-cookie-nocache",
		"coatcheck-cookie-permanent-nocache", "coatcheck-redis", "coatcheck-rueidis", "coatcheck-rueidis-cached",
		"scs-redis", "gorilla-cookie"}
)

// page writes the page every mode serves, the same bytes and headers.
func page(w http.ResponseWriter, user string) {
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	if user == "" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "<p>You are not logged in</p>\n")
		return
	}
	io.WriteString(w, "<p>Logged in as "+html.EscapeString(user)+"</p>\n")
}

func loggedIn(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "logged in as alice\n")
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen address")
	mode := flag.String("mode", "", "one of: "+strings.Join(modes, ", "))
	prefix := flag.String("prefix", fmt.Sprintf("wrkserver:%d:", os.Getpid()), "Redis key prefix (coatcheck-redis, scs-redis)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (stopped by SIGINT/SIGTERM)")
	flag.Parse()

	// warnings and errors only: no per-request log in any mode
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	secret := os.Getenv("SECRET_KEY")
	if secret == "" {
		secret = defaultSecret
	}
	mux := http.NewServeMux()
	var h http.Handler = mux

	switch *mode {
	case "bare":
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { page(w, "alice") })

	case "coatcheck-cookie", "coatcheck-cookie-permanent", "coatcheck-cookie-nocache",
		"coatcheck-cookie-permanent-nocache", "coatcheck-redis", "coatcheck-rueidis", "coatcheck-rueidis-cached":
		cfg := coatcheck.Config{SecretKey: secret, Logger: logger}
		if strings.HasSuffix(*mode, "-nocache") {
			cfg.CookieCacheSize = -1
		}
		switch *mode {
		case "coatcheck-redis":
			cfg.Store = redisstore.New(redisClient(), redisstore.Options{Logger: logger})
			cfg.Server.KeyPrefix = *prefix
		case "coatcheck-rueidis", "coatcheck-rueidis-cached":
			var opts rueidisstore.Options
			if *mode == "coatcheck-rueidis-cached" {
				opts.RefreshInterval = time.Minute // client-side caching
			}
			cfg.Store = rueidisstore.New(rueidisClient(), opts)
			cfg.Server.KeyPrefix = *prefix
		}
		m, err := coatcheck.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		permanent := strings.HasPrefix(*mode, "coatcheck-cookie-permanent")
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			user, _ := coatcheck.Value[string](coatcheck.FromRequest(r), "username")
			page(w, user)
		})
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
			s := coatcheck.FromRequest(r)
			s.Set("username", "alice")
			if permanent {
				s.SetPermanent(true)
			}
			loggedIn(w)
		})
		h = m.Handler(mux)

	case "scs-redis":
		sm := scs.New()
		sm.Store = goredisstore.NewWithPrefix(redisClient(), *prefix)
		sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Error("scs", "err", err)
			http.Error(w, "session error", http.StatusInternalServerError)
		}
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			page(w, sm.GetString(r.Context(), "username"))
		})
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
			sm.Put(r.Context(), "username", "alice")
			loggedIn(w)
		})
		h = sm.LoadAndSave(mux)

	case "gorilla-cookie":
		st := sessions.NewCookieStore(gorillaHashKey)
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			var user string
			if sess, err := st.Get(r, "session"); err == nil {
				user, _ = sess.Values["username"].(string)
			}
			page(w, user)
		})
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
			sess, _ := st.Get(r, "session")
			sess.Values["username"] = "alice"
			if err := sess.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			loggedIn(w)
		})

	default:
		fmt.Fprintf(os.Stderr, "wrkserver: -mode must be one of: %s\n", strings.Join(modes, ", "))
		os.Exit(2)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-stop
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// redisClient connects to COATCHECK_REDIS_URL (default
// redis://127.0.0.1:6379/0) with ContextTimeoutEnabled, as bench_test.go's
// redisClient builds it for both Coatcheck and scs.
func rueidisClient() rueidis.Client {
	raw := os.Getenv("COATCHECK_REDIS_URL")
	if raw == "" {
		raw = "redis://127.0.0.1:6379/0"
	}
	opt, err := rueidis.ParseURL(raw)
	if err != nil {
		log.Fatal(err)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		log.Fatalf("redis %s: %v", raw, err)
	}
	return c
}

func redisClient() *redis.Client {
	url := os.Getenv("COATCHECK_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		log.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		log.Fatalf("redis %s: %v", url, err)
	}
	return c
}
