package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/adminui"
)

const adminUsage = "usage: coatcheck admin [--addr 127.0.0.1:8081]   (needs COATCHECK_ADMIN_TOKEN and a server-side SESSION_TYPE)"

// adminCmd serves the operator page for the store the environment names.
func adminCmd(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	token := env.get("COATCHECK_ADMIN_TOKEN")
	if token == "" {
		fmt.Fprintln(stderr, "coatcheck admin: refusing to start without COATCHECK_ADMIN_TOKEN (the operator page is never open by default); `coatcheck keygen` makes one")
		return 1
	}
	cfg, st, err := loadConfig(ctx, env)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	defer st.close()
	if st.store == nil {
		fmt.Fprintln(stderr, "coatcheck admin: SESSION_TYPE is cookie: sessions live in the browser; set a server-side SESSION_TYPE")
		return 1
	}
	stats := adminui.NewStats()
	cfg.Logger, cfg.Observer = quietLogger(), stats.Observer()
	m, err := coatcheck.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	h, err := adminui.New(adminui.Config{Manager: m, Token: token, Stats: stats})
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	return serveUntilDone(ctx, *addr, h, "operator page for "+st.desc, stdout, stderr)
}

// serveUntilDone serves h on addr until ctx ends.
func serveUntilDone(ctx context.Context, addr string, h http.Handler, what string, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "coatcheck: %s on http://%s/\n", what, ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "coatcheck:", err)
		return 1
	}
	return 0
}
