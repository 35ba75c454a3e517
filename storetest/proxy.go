package storetest

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// maxProxyConns bounds the connections a Proxy holds at once; further
// connections are closed as soon as they are accepted.
const maxProxyConns = 256

type proxyMode int

const (
	modeForward proxyMode = iota
	modeBlackhole
	modeCut
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a real server, for fault
// tests: Blackhole makes the server look hung, Cut makes it look down, and
// Restore brings it back. Its methods are safe for concurrent use. It is
// closed, and all its goroutines have ended, when the test that made it
// ends.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cond   *sync.Cond
	mode   proxyMode
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// NewProxy starts a proxy on 127.0.0.1:0 forwarding to target (host:port).
// The target is dialled once per accepted connection; the proxy starts in
// forwarding mode.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("storetest: proxy: listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address, host:port, for the client under test.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Blackhole stops forwarding in both directions, on existing connections
// and on new ones, which are still accepted and held open: the server looks
// hung, and only the client's own deadlines get it out. Bytes read while
// blackholed are held and delivered after Restore, like a network that
// delayed them.
func (p *Proxy) Blackhole() { p.setMode(modeBlackhole) }

// Cut closes every connection, and closes new ones as soon as they are
// accepted, until Restore: the server looks down.
func (p *Proxy) Cut() {
	p.setMode(modeCut)
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Restore forwards again. Connections held by Blackhole resume; after Cut
// clients must reconnect.
func (p *Proxy) Restore() { p.setMode(modeForward) }

func (p *Proxy) setMode(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// track registers c; it reports false (and closes c) when the proxy is
// closed, cut or full.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode == modeCut || len(p.conns) >= maxProxyConns {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !p.track(c) {
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(server) {
		p.untrack(client)
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(server, client) }()
	go func() { defer wg.Done(); p.pump(client, server) }()
	wg.Wait()
	p.untrack(client)
	p.untrack(server)
}

// pump copies src to dst, holding what it read while the proxy is
// blackholed; it closes both when either side ends or the proxy is cut.
func (p *Proxy) pump(dst, src net.Conn) {
	defer func() { dst.Close(); src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.mode == modeBlackhole && !p.closed {
				p.cond.Wait()
			}
			stop := p.closed || p.mode == modeCut
			p.mu.Unlock()
			if stop {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
