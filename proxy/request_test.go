package proxy_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/larder-cache/larder/proxy"
)

// overrideFields are the fields the proxy strips by default, as a client
// might spell them.
var overrideFields = []string{
	"X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	"X-Forwarded-Scheme", "X-Forwarded-Port", "X-Forwarded-Server", "X-Forwarded-Prefix",
	"X-Host", "X-Forwarded-Ssl", "Front-End-Https",
}

func TestStrippedFields(t *testing.T) {
	if got := proxy.StrippedFields(); !slices.Equal(got, overrideFields) {
		t.Errorf("StrippedFields() = %v, want %v", got, overrideFields)
	}
	proxy.StrippedFields()[0] = "changed"
	if proxy.StrippedFields()[0] != overrideFields[0] {
		t.Error("StrippedFields returns the proxy's own slice")
	}

	o := newOrigin(t, ok)
	tests := []struct {
		name string
		pass []string
		want []string // forwarded among overrideFields
	}{
		{"default", nil, nil},
		{"one passed", []string{"X-Forwarded-Prefix"}, []string{"X-Forwarded-Prefix"}},
		{"passed in any case", []string{"x-http-method-override", "FRONT-END-HTTPS"}, []string{"X-HTTP-Method-Override", "Front-End-Https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := serve(t, newProxy(t, proxy.Config{Upstream: o.url(t, ""), PassFields: tt.pass}))
			var header []string
			for _, f := range overrideFields {
				header = append(header, f, "evil")
			}
			// Sent in lower case too, as an HTTP/2 client would.
			header = append(header, "x-original-url", "/admin", "X-Kept", "yes")
			do(t, c, srv, http.MethodGet, "/page", header...)
			got := o.Last()
			for _, f := range overrideFields {
				v := got.Header.Values(f)
				if slices.Contains(tt.want, f) {
					if len(v) != 1 || v[0] != "evil" {
						t.Errorf("passed %s: origin got %q, want evil", f, v)
					}
				} else if len(v) != 0 {
					t.Errorf("origin got %s: %q, want it stripped", f, v)
				}
			}
			if got.URI != "/page" || got.Method != http.MethodGet || got.Header.Get("X-Kept") != "yes" {
				t.Errorf("origin got %s %s, X-Kept %q", got.Method, got.URI, got.Header.Get("X-Kept"))
			}
			// The proxy's own X-Forwarded-* are still set.
			if got.Header.Get("X-Forwarded-Host") != "site.test" || got.Header.Get("X-Forwarded-Proto") != "http" {
				t.Errorf("origin got X-Forwarded-Host %q, X-Forwarded-Proto %q", got.Header.Get("X-Forwarded-Host"), got.Header.Get("X-Forwarded-Proto"))
			}
		})
	}
}

// received is what an origin saw of a request's body.
type received struct {
	method           string
	contentLength    int64
	transferEncoding []string
	lengthField      string
	body             string
}

func TestGetBodyNotForwarded(t *testing.T) {
	var mu sync.Mutex
	var last received
	o := newRawOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = received{r.Method, r.ContentLength, r.TransferEncoding, r.Header.Get("Content-Length"), string(b)}
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	u := (&origin{Server: o}).url(t, "")
	srv, c := serve(t, newProxy(t, proxy.Config{Upstream: u}))
	tests := []struct {
		method  string
		chunked bool
		want    string // the body the origin gets
	}{
		{http.MethodGet, false, ""},
		{http.MethodGet, true, ""},
		{http.MethodHead, false, ""},
		{http.MethodPost, false, "poison"},
		{http.MethodPost, true, "poison"},
		{http.MethodDelete, false, "poison"},
		{http.MethodOptions, false, "poison"},
	}
	for _, tt := range tests {
		name := tt.method
		if tt.chunked {
			name += " chunked"
		}
		t.Run(name, func(t *testing.T) {
			var body io.Reader = strings.NewReader("poison")
			if tt.chunked {
				body = io.MultiReader(body)
			}
			req, err := http.NewRequest(tt.method, srv.URL+"/q", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got.method != tt.method || got.body != tt.want {
				t.Errorf("origin got %s with body %q, want %s with %q", got.method, got.body, tt.method, tt.want)
			}
			if tt.want == "" && (got.contentLength != 0 || got.transferEncoding != nil || got.lengthField != "") {
				t.Errorf("origin got Content-Length %d (field %q), Transfer-Encoding %v: want no body at all",
					got.contentLength, got.lengthField, got.transferEncoding)
			}
			// The client's connection, whose body the server discarded,
			// serves the next request.
			if r := do(t, c, srv, http.MethodGet, "/next"); r.StatusCode != 200 || r.body != "ok" {
				t.Errorf("next request: %d %q", r.StatusCode, r.body)
			}
		})
	}
}
