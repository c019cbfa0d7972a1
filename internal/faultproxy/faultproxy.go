// Package faultproxy is a TCP proxy for tests that puts faults between a
// client and a server: latency on every chunk forwarded, a pause (bytes are
// held, as on a silent network), a break (every connection closed), and
// refusal of new connections.
package faultproxy

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections accepted on its address to a target address.
// It is safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	latency time.Duration
	paused  chan struct{} // closed when not paused; nil when never paused
	refuse  bool
	conns   map[net.Conn]struct{}
	breaks  int // Break calls: a connection being made across one is closed too
	closed  bool
	wg      sync.WaitGroup
}

// New starts a proxy on a free loopback port forwarding to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return Serve(ln, target), nil
}

// Serve starts a proxy accepting on ln and forwarding to target.
func Serve(ln net.Listener, target string) *Proxy {
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk of bytes forwarded, either way, by d.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Pause holds every byte until Resume, on the connections open and new
// ones, which stay open: a silent network.
func (p *Proxy) Pause() {
	p.mu.Lock()
	if p.paused == nil || isClosed(p.paused) {
		p.paused = make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume lets the bytes held by Pause go.
func (p *Proxy) Resume() {
	p.mu.Lock()
	if p.paused != nil && !isClosed(p.paused) {
		close(p.paused)
	}
	p.mu.Unlock()
}

// Break closes every open connection.
func (p *Proxy) Break() {
	p.mu.Lock()
	p.breaks++
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Refuse makes the proxy close new connections at once (on) or forward
// them again (off).
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Resume()
	p.Break()
	p.wg.Wait()
	return err
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		refuse, closed, breaks := p.refuse, p.closed, p.breaks
		p.mu.Unlock()
		if refuse || closed {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(breaks, c, s) {
			continue
		}
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// track records the connections, made when Break had been called breaks
// times, or closes them if the proxy has been closed, broken or set to
// refuse since.
func (p *Proxy) track(breaks int, cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.refuse || p.breaks != breaks {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
	p.mu.Unlock()
}

// pipe copies from src to dst, chunk by chunk, applying the faults.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.untrack(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			lat, paused := p.latency, p.paused
			p.mu.Unlock()
			if paused != nil {
				<-paused
			}
			if lat > 0 {
				time.Sleep(lat)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // io.EOF or a broken connection: close both ends
			return
		}
	}
}

// Conns returns how many connections the proxy holds open (two per client:
// its own and the one to the target).
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
