package dynamostore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coatcheck/coatcheck/dynamostore"
	"github.com/coatcheck/coatcheck/storetest"
)

// proxy forwards to target until hang is set; from then on it accepts
// connections and never answers, and swallows what open ones carry.
type proxy struct {
	ln    net.Listener
	hang  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			if p.hang.Load() {
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.hang.Load() { // hung: swallow the bytes, answer nothing
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Every method returns by its context's deadline once the server stops
// answering, with an error wrapping context.DeadlineExceeded: the SDK's
// retries do not outlive the context.
func TestHungServerAfterNew(t *testing.T) {
	ep := storetest.RequireEnv(t, "COATCHECK_DYNAMODB_URL")
	p := newProxy(t, strings.TrimPrefix(ep, "http://"))
	c := client("http://" + p.ln.Addr().String())
	ctx := context.Background()
	s, err := dynamostore.New(ctx, c, dynamostore.Options{Table: tableName(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer client(ep).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(s.Table())})
	key := "session:hung-" + tableName(t)
	if err := s.Set(ctx, key, []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p.hang.Store(true)
	exp := time.Now().Add(time.Hour)
	calls := map[string]func(context.Context) error{
		"Get":    func(ctx context.Context) error { _, _, err := s.Get(ctx, key); return err },
		"Set":    func(ctx context.Context) error { return s.Set(ctx, key, []byte("w"), exp) },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, key) },
		"Touch":  func(ctx context.Context) error { _, err := s.Touch(ctx, key, exp); return err },
		"CompareAndSet": func(ctx context.Context) error {
			_, err := s.CompareAndSet(ctx, key, []byte("v"), []byte("w"), exp)
			return err
		},
		"Iterate": func(ctx context.Context) error {
			return s.Iterate(ctx, "session:", func(string, time.Time) bool { return true })
		},
		"DeleteExpired": func(ctx context.Context) error { _, err := s.DeleteExpired(ctx); return err },
	}
	for name, call := range calls {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		start := time.Now()
		err := call(cctx)
		el := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a hung server: %v, want DeadlineExceeded", name, err)
		}
		if el > 1500*time.Millisecond {
			t.Errorf("%s took %v past a 300ms deadline", name, el)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: error contains the key", name)
		}
	}
	// the value is intact once the server answers again
	p.hang.Store(false)
	c2 := client(ep)
	s2, err := dynamostore.New(ctx, c2, dynamostore.Options{Table: s.Table(), TableExists: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s2.Get(ctx, key); err != nil || !ok || string(v) != "v" {
		t.Fatalf("after the hang: %q %v %v (the timed-out writes must not have landed)", v, ok, err)
	}
}
