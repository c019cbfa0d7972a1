package larder_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// slowStore blocks every call until its context ends.
type slowStore struct{}

func (slowStore) Get(ctx context.Context, _ string) (*larder.Entry, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (slowStore) Set(ctx context.Context, _ string, _ *larder.Entry, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}
func (slowStore) Delete(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }

func TestSlowStoreGoesToOrigin(t *testing.T) {
	var ev larder.Event
	c := larder.New(slowStore{}, larder.WithStoreTimeout(5*time.Millisecond), larder.WithClock(newClock().Now),
		larder.WithObserver(func(e larder.Event) { ev = e }))
	o := &origin{fn: respond(200, "fresh", "Cache-Control", "max-age=60")}
	w := httptest.NewRecorder()
	c.Middleware(o).ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 200 || w.Body.String() != "fresh" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	// The lookup timed out; the write went behind the response (and times
	// out there, logged).
	if !errors.Is(ev.StoreErr, larder.ErrStoreTimeout) || !ev.Stored {
		t.Fatalf("event %+v: want a store timeout and a queued write", ev)
	}
	if got := w.Header().Get("Cache-Status"); got != "Larder; fwd=uri-miss; stored; ttl=60; detail=store-error" {
		t.Fatalf("Cache-Status %q", got)
	}
	c.Close()
}

func TestNilStoreStoresNothing(t *testing.T) {
	c := larder.New(nil)
	o := &origin{fn: respond(200, "x", "Cache-Control", "max-age=60")}
	h := c.Middleware(o)
	for i := 0; i < 2; i++ {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	}
	expectCalls(t, o, 2)
}
