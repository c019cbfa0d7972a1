package tiered_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/internal/fakeclock"
	"github.com/larder-cache/larder/internal/faultproxy"
	"github.com/larder-cache/larder/store/memory"
	"github.com/larder-cache/larder/store/storetest"
	"github.com/larder-cache/larder/store/tiered"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newLocal returns a tiered store without a bus over a memory L2, both on
// clk.
func newLocal(t *testing.T, clk *fakeclock.Clock, opts tiered.Options) (*tiered.Store, *memory.Store) {
	t.Helper()
	l2, err := memory.New(memory.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l2.Close)
	opts.Clock = clk.Now
	s, err := tiered.New(l2, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, l2
}

// TestConformanceLocal runs the conformance suite on a store without a bus,
// with a memory L2, on a clock the suite moves.
func TestConformanceLocal(t *testing.T) {
	clk := fakeclock.New(epoch)
	storetest.Run(t, func(t *testing.T) larder.Store {
		s, _ := newLocal(t, clk, tiered.Options{})
		return s
	}, storetest.WithAdvance(clk.Advance))
}

// entryUntil is a response entry whose Expires is exp, as the cache sets it.
func entryUntil(body, nonce string, exp time.Time) *larder.Entry {
	return &larder.Entry{
		Kind:         larder.KindResponse,
		Status:       200,
		Header:       http.Header{"Content-Type": {"text/plain"}},
		Body:         []byte(body),
		ResponseTime: epoch,
		Lifetime:     time.Minute,
		Expires:      exp,
		Nonce:        nonce,
	}
}

func getBody(t *testing.T, s larder.Store, key string) string {
	t.Helper()
	e, err := s.Get(context.Background(), key)
	if errors.Is(err, larder.ErrNotFound) {
		return "<miss>"
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(e.Body)
}

// TestL1 checks what the L1 keeps, and for how long: a Get fills it, a
// second Get does not reach the L2; it keeps an entry for MaxL1TTL at
// most and never past Expires; an entry without Expires is not kept; a
// write through the store evicts it.
func TestL1(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New(epoch)
	s, l2 := newLocal(t, clk, tiered.Options{MaxL1TTL: 10 * time.Second})

	// Filled by a Get, served from the L1 even when the L2 changes behind
	// the store's back (which a shared L2 does only with a publication).
	must(t, s.Set(ctx, "a", entryUntil("a1", "n1", epoch.Add(time.Hour)), time.Hour))
	if got := getBody(t, s, "a"); got != "a1" {
		t.Fatalf("first Get = %q", got)
	}
	must(t, l2.Set(ctx, "a", entryUntil("a2", "n2", epoch.Add(time.Hour)), time.Hour))
	before := s.Stats()
	if got := getBody(t, s, "a"); got != "a1" {
		t.Fatalf("second Get = %q, want the L1's a1", got)
	}
	if st := s.Stats(); st.L1Hits != before.L1Hits+1 || st.L2Gets != before.L2Gets {
		t.Fatalf("second Get: stats %+v then %+v, want one L1 hit and no L2 read", before, st)
	}
	// MaxL1TTL.
	clk.Advance(10*time.Second + time.Millisecond)
	if got := getBody(t, s, "a"); got != "a2" {
		t.Fatalf("after MaxL1TTL, Get = %q, want the L2's a2", got)
	}

	// Never past Expires.
	must(t, s.Set(ctx, "b", entryUntil("b", "n", clk.Now().Add(time.Second)), time.Second))
	_ = getBody(t, s, "b")
	must(t, l2.Set(ctx, "b", entryUntil("b2", "n", clk.Now().Add(time.Hour)), time.Hour))
	clk.Advance(time.Second + time.Millisecond)
	if got := getBody(t, s, "b"); got != "b2" {
		t.Fatalf("after Expires, Get = %q, want the L2's b2", got)
	}

	// No Expires, no L1.
	must(t, s.Set(ctx, "c", entryUntil("c1", "n", time.Time{}), time.Hour))
	_ = getBody(t, s, "c")
	must(t, l2.Set(ctx, "c", entryUntil("c2", "n", time.Time{}), time.Hour))
	if got := getBody(t, s, "c"); got != "c2" {
		t.Fatalf("entry without Expires: Get = %q, want the L2's c2 (not kept in the L1)", got)
	}

	// Writes through the store evict: Set, SetIf (stored or not), Delete.
	exp := clk.Now().Add(time.Hour)
	for _, tc := range []struct {
		name  string
		write func(key string)
		want  string
	}{
		{"Set", func(k string) { must(t, s.Set(ctx, k, entryUntil("new", "g2", exp), time.Hour)) }, "new"},
		{"SetIf", func(k string) { mustSetIf(t, s, k, entryUntil("new", "g2", exp), "g1", true) }, "new"},
		{"SetIfFailed", func(k string) {
			must(t, l2.Set(ctx, k, entryUntil("other", "g9", exp), time.Hour))
			mustSetIf(t, s, k, entryUntil("new", "g2", exp), "g1", false)
		}, "other"},
		{"Delete", func(k string) { must(t, s.Delete(ctx, k)) }, "<miss>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := "w-" + tc.name
			must(t, s.Set(ctx, k, entryUntil("old", "g1", exp), time.Hour))
			if got := getBody(t, s, k); got != "old" {
				t.Fatalf("Get = %q", got)
			}
			tc.write(k)
			if got := getBody(t, s, k); got != tc.want {
				t.Fatalf("after the write, Get = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGetMulti checks that GetMulti serves what the L1 has from it and
// reads the rest from the L2 in one call, filling the L1.
func TestGetMulti(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New(epoch)
	s, _ := newLocal(t, clk, tiered.Options{})
	exp := epoch.Add(time.Hour)
	must(t, s.Set(ctx, "a", entryUntil("a", "", exp), time.Hour))
	must(t, s.Set(ctx, "b", entryUntil("b", "", exp), time.Hour))
	_ = getBody(t, s, "a")

	before := s.Stats()
	got, err := s.GetMulti(ctx, []string{"a", "b", "none", "a"})
	must(t, err)
	var bodies []string
	for _, e := range got {
		if e == nil {
			bodies = append(bodies, "<nil>")
		} else {
			bodies = append(bodies, string(e.Body))
		}
	}
	if want := "a b <nil> a"; strings.Join(bodies, " ") != want {
		t.Fatalf("GetMulti = %q, want %q", strings.Join(bodies, " "), want)
	}
	st := s.Stats()
	if st.L1Hits-before.L1Hits != 2 || st.L2Gets-before.L2Gets != 1 {
		t.Fatalf("GetMulti: %d L1 hits, %d L2 reads; want 2 and 1", st.L1Hits-before.L1Hits, st.L2Gets-before.L2Gets)
	}
	before = st
	_ = getBody(t, s, "b") // filled by GetMulti
	if st := s.Stats(); st.L1Hits != before.L1Hits+1 {
		t.Fatalf("GetMulti did not fill the L1")
	}
}

func TestOptions(t *testing.T) {
	l2, err := memory.New(memory.Options{})
	must(t, err)
	defer l2.Close()
	for _, tc := range []struct {
		name string
		opts tiered.Options
	}{
		{"negative MaxL1TTL", tiered.Options{MaxL1TTL: -1}},
		{"short Lease", tiered.Options{Lease: time.Millisecond}},
		{"negative L1 size", tiered.Options{L1: memory.Options{MaxBytes: -1}}},
	} {
		if s, err := tiered.New(l2, tc.opts); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	if _, err := tiered.New(nil, tiered.Options{}); err == nil {
		t.Error("nil L2: New succeeded")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustSetIf(t testing.TB, s larder.ConditionalStore, key string, e *larder.Entry, gen string, want bool) {
	t.Helper()
	ok, err := s.SetIf(context.Background(), key, e, time.Hour, gen)
	if err != nil {
		t.Fatal(err)
	}
	if ok != want {
		t.Fatalf("SetIf(%q, gen %q) = %v, want %v", key, gen, ok, want)
	}
}

// TestCloseWhileFlushing closes stores whose bus goroutine is busy
// flushing (a bus that keeps breaking): Close must return.
func TestCloseWhileFlushing(t *testing.T) {
	c := standalone.client(t)
	for range 20 {
		p, err := faultproxy.New(standalone.addrs(t)[0])
		must(t, err)
		bc := standalone.client(t, p.Addr())
		l2, err := memory.New(memory.Options{})
		must(t, err)
		s, err := tiered.New(l2, tiered.Options{Bus: bc, Channel: newSpace(t, c).channel, Lease: 20 * time.Millisecond})
		must(t, err)
		p.Break()
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not return")
		}
		l2.Close()
		p.Close()
	}
}
