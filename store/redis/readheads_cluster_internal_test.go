package redis

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// TestReadHeadsFirst: where heads are read by GETRANGE (a cluster), the
// first read of a unit after the first takes the longest head read so far
// and headSlack more, not headRead; a head longer than that, or than
// headRead, is read again whole; each head comes back exactly.
func TestReadHeadsFirst(t *testing.T) {
	s, cc := clusterStore(t)
	ctx := context.Background()
	// Heads of about 150 bytes, then longer ones: 300 bytes, past headRead.
	pads := []int{0, 0, 0, 150, 0, 700, 0, 10}
	keys := make([]string, len(pads))
	want := make([]string, len(pads))
	for i, pad := range pads {
		keys[i] = "http://example.com/heads/" + strconv.Itoa(i)
		e := &larder.Entry{
			Kind: larder.KindResponse, Status: 200, Nonce: "gen-" + strconv.Itoa(i),
			Header:       http.Header{"Etag": {`"x"`}, "X-Pad": {strings.Repeat("p", pad)}},
			Body:         []byte(strings.Repeat("b", 1000)),
			ResponseTime: time.Now(), Lifetime: time.Hour,
		}
		if err := s.Set(ctx, keys[i], e, time.Hour); err != nil {
			t.Fatal(err)
		}
		v, err := cc.Get(ctx, s.Key(keys[i])).Result()
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v[:headLen(v)]
	}
	t.Cleanup(func() {
		for _, k := range keys {
			cc.Del(context.Background(), s.Key(k))
		}
	})
	rkeys := s.redisKeys(keys)
	first := headRead
	// The first unit: the short heads.
	heads, err := s.readHeads(ctx, cc, rkeys[:3], &first)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range heads {
		if h[:headLen(h)] != want[i] {
			t.Fatalf("head %d: %q, want %q", i, h, want[i])
		}
	}
	if wantFirst := len(want[0]) + headSlack; first != wantFirst || first >= headRead {
		t.Fatalf("after heads of %d bytes, the next first read is %d bytes, want %d", len(want[0]), first, wantFirst)
	}
	// The next: longer heads than that, one longer than headRead.
	heads, err = s.readHeads(ctx, cc, rkeys[3:], &first)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range heads {
		if n := headLen(h); n == 0 || n > len(h) || h[:n] != want[3+i] {
			t.Fatalf("head %d: %d bytes of %d read, want %q", 3+i, n, len(h), want[3+i])
		}
	}
	if first != headRead {
		t.Fatalf("after a head longer than headRead, the next first read is %d bytes, want %d", first, headRead)
	}
}
