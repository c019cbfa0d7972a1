package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
	"github.com/larder-cache/larder/store/memory"
)

// TestStoreErrorKind: store failures are classified by kind.
func TestStoreErrorKind(t *testing.T) {
	timedOut, cancel := context.WithCancelCause(context.Background())
	cancel(larder.ErrStoreTimeout)
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"store timeout", context.Background(), larder.ErrStoreTimeout, "timeout"},
		{"deadline", context.Background(), fmt.Errorf("redis: GET: %w", context.DeadlineExceeded), "timeout"},
		{"cancelled at the store timeout", timedOut, context.Canceled, "timeout"},
		{"net timeout", context.Background(), &net.OpError{Op: "read", Err: timeoutErr{}}, "timeout"},
		{"client gone", context.Background(), context.Canceled, "canceled"},
		{"refused", context.Background(), &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "unreachable"},
		{"reset", context.Background(), fmt.Errorf("x: %w", syscall.ECONNRESET), "unreachable"},
		{"EOF", context.Background(), fmt.Errorf("redis: GET: %w", io.EOF), "unreachable"},
		{"other net", context.Background(), &net.OpError{Op: "write", Err: errors.New("?")}, "unreachable"},
		{"format", context.Background(), larder.ErrEntryFormat, "other"},
		{"other", context.Background(), errors.New("LOADING Redis is loading"), "other"},
	}
	for _, tt := range tests {
		if got := storeErrorKind(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestInstrumentStore: the memory store is left alone; a networked store
// keeps its capabilities, and its calls are timed and counted.
func TestInstrumentStore(t *testing.T) {
	m0 := &metrics{reg: prometheus.NewRegistry()}
	sm := newStoreMetrics(m0.reg)
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := instrumentStore(m, sm); s != larder.Store(m) {
		t.Error("the memory store was wrapped")
	}
	d, err := disk.Open(t.TempDir(), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := instrumentStore(d, sm)
	if _, ok := s.(larder.BodyStreamer); !ok {
		t.Error("the disk store lost BodyStreamer")
	}
	if _, ok := s.(larder.ConditionalStore); !ok {
		t.Error("the disk store lost ConditionalStore")
	}
	if _, ok := s.(larder.MultiGetter); !ok {
		t.Error("the disk store lost MultiGetter")
	}
	ctx := context.Background()
	_, _ = s.Get(ctx, "missing")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = s.Get(cancelled, "k")
	got := scrapeRegistry(t, m0)
	if got[`larder_store_call_duration_seconds_count{op="get"}`] != 2 {
		t.Errorf("get calls timed: %v", got[`larder_store_call_duration_seconds_count{op="get"}`])
	}
	if got[`larder_store_call_errors_total{kind="canceled",op="get"}`] != 1 {
		t.Errorf("errors: %v", got[`larder_store_call_errors_total{kind="canceled",op="get"}`])
	}
}

// TestInstrumentKeepsCapabilities: every store the daemon opens keeps,
// wrapped for its metrics, each optional capability it has, and gains
// none of those the cache would use differently (purge by tag through a
// TagStore or a PurgeRecorder, streaming through a BodyStreamer).
func TestInstrumentKeepsCapabilities(t *testing.T) {
	urls := []string{"disk://" + t.TempDir() + "?size=64MiB"}
	for _, env := range []struct{ name, scheme string }{{"LARDER_TEST_REDIS", "redis://"}, {"LARDER_TEST_MEMCACHE", "memcache://"}} {
		v := os.Getenv(env.name)
		if v == "" {
			if os.Getenv("LARDER_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s is not set, and LARDER_REQUIRE_SERVICES=1", env.name)
			}
			continue
		}
		urls = append(urls, env.scheme+v)
		if env.scheme == "redis://" {
			urls = append(urls, "tiered:memory?size=8MiB+redis://"+v)
		}
	}
	caps := []struct {
		name string
		has  func(larder.Store) bool
	}{
		{"ConditionalStore", is[larder.ConditionalStore]},
		{"MultiGetter", is[larder.MultiGetter]},
		{"BodyStreamer", is[larder.BodyStreamer]},
		{"TagStore", is[larder.TagStore]},
		{"MultiSetter", is[larder.MultiSetter]},
		{"PurgeRecorder", is[larder.PurgeRecorder]},
		{"LocalGetter", is[larder.LocalGetter]},
		{"HonoursDeadline", honoursDeadline},
		{"FillLocker", is[larder.FillLocker]},
	}
	for _, u := range urls {
		sc, err := parseStore(u)
		if err != nil {
			t.Fatal(err)
		}
		s, _, closeStore, err := openStore(sc, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		w := instrumentStore(s, newStoreMetrics(prometheus.NewRegistry()))
		if w == s {
			t.Errorf("%s: not instrumented", u)
		}
		for _, c := range caps {
			// A wrapper may answer GetLocal for a store without it (always
			// false, which is correct), and LockFill (always held, which
			// is too); every other capability must match.
			if (c.name == "LocalGetter" || c.name == "FillLocker") && !c.has(s) {
				continue
			}
			if c.has(w) != c.has(s) {
				t.Errorf("%s: %s: wrapped %v, store %v", u[:min(len(u), 20)], c.name, c.has(w), c.has(s))
			}
		}
		// The daemon makes its Redis clients with ContextTimeoutEnabled,
		// so the cache calls them without a goroutine per call.
		if (strings.HasPrefix(u, "redis://") || strings.HasPrefix(u, "tiered:")) && !honoursDeadline(w) {
			t.Errorf("%s: does not honour deadlines", u[:min(len(u), 20)])
		}
		closeStore()
	}
}

func is[T any](s larder.Store) bool { _, ok := s.(T); return ok }

// honoursDeadline is a store's larder.DeadlineStore answer: false without
// the method.
func honoursDeadline(s larder.Store) bool {
	d, ok := s.(larder.DeadlineStore)
	return ok && d.HonoursDeadline()
}
