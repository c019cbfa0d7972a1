package larder_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

// deadlineStore blocks every Get until its context ends, and records
// whether the call had a deadline and ran on the goroutine that serves the
// request (the middleware's frames are on its stack) or on one of its own.
type deadlineStore struct {
	slowStore
	honours bool

	mu    sync.Mutex
	calls []getCall
}

type getCall struct {
	onRequest   bool // the stack holds the request's frames
	hadDeadline bool
}

func (s *deadlineStore) HonoursDeadline() bool { return s.honours }

func (s *deadlineStore) Get(ctx context.Context, key string) (*larder.Entry, error) {
	buf := make([]byte, 64<<10)
	stack := string(buf[:runtime.Stack(buf, false)])
	_, ok := ctx.Deadline()
	s.mu.Lock()
	s.calls = append(s.calls, getCall{strings.Contains(stack, "larder.(*handler).ServeHTTP"), ok})
	s.mu.Unlock()
	return s.slowStore.Get(ctx, key)
}

// TestDeadlineStoreCalledDirectly: a store that returns by its context's
// deadline (DeadlineStore) is called on the request's goroutine, under the
// store timeout; one that does not say so (or says false) on a goroutine of
// its own, which the request gives up on. Either way a store that does not
// answer in time sends the request to the origin after the timeout.
func TestDeadlineStoreCalledDirectly(t *testing.T) {
	for _, tc := range []struct {
		honours       bool
		wantOnRequest bool
	}{
		{honours: true, wantOnRequest: true},
		{honours: false, wantOnRequest: false},
	} {
		s := &deadlineStore{honours: tc.honours}
		var ev larder.Event
		c := larder.New(s, larder.WithStoreTimeout(5*time.Millisecond),
			larder.WithObserver(func(e larder.Event) { ev = e }))
		o := &origin{fn: respond(200, "fresh", "Cache-Control", "max-age=60")}
		w := httptest.NewRecorder()
		c.Middleware(o).ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
		c.Close()
		if w.Code != 200 || w.Body.String() != "fresh" || o.calls.Load() != 1 {
			t.Fatalf("honours=%v: got %d %q, origin called %d times", tc.honours, w.Code, w.Body, o.calls.Load())
		}
		if !errors.Is(ev.StoreErr, larder.ErrStoreTimeout) {
			t.Errorf("honours=%v: store error %v, want a store timeout", tc.honours, ev.StoreErr)
		}
		// The lookup is the first Get (the fill may read again, behind
		// the response).
		s.mu.Lock()
		if len(s.calls) == 0 || !s.calls[0].hadDeadline {
			t.Errorf("honours=%v: calls %+v: want a lookup with a deadline", tc.honours, s.calls)
		} else if got := s.calls[0].onRequest; got != tc.wantOnRequest {
			t.Errorf("honours=%v: lookup on the request's goroutine: %v, want %v", tc.honours, got, tc.wantOnRequest)
		}
		s.mu.Unlock()
	}
}
