package proxy

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns a transport to one upstream, the proxy's default. Its
// ResponseHeaderTimeout is timeout (zero: none), which also shortens the dial
// timeout (30 s) when smaller. It keeps up to 256 idle connections to the
// upstream, tries HTTP/2 over TLS, and ignores the environment's proxy
// settings (HTTP_PROXY and the like), since the upstream is named explicitly.
func NewTransport(timeout time.Duration) *http.Transport {
	dialTimeout := 30 * time.Second
	if timeout > 0 && timeout < dialTimeout {
		dialTimeout = timeout
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256, // one upstream: let it keep many idle connections
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: max(timeout, 0),
	}
}

// timedTransport reports every round trip to the upstream to hook.
type timedTransport struct {
	next http.RoundTripper
	hook func(time.Duration, error)
}

func (t timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	d := time.Since(start)
	if err != nil {
		t.hook(d, classify(r.Context(), err))
	} else {
		t.hook(d, nil)
	}
	return resp, err
}
