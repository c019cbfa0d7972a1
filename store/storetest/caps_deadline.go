package storetest

import (
	"context"
	"testing"

	"github.com/larder-cache/larder"
)

// ---- DeadlineStore ----

// testDeadline checks that HonoursDeadline gives one answer, and that a
// store that says its calls return by their context's deadline does return
// from each call made with a context whose deadline has passed, a Get of
// it not finding an entry stored before: the cache calls such a store on
// the request's goroutine, counting on that.
func testDeadline(t *testing.T, s larder.Store, _ *config) {
	d := s.(larder.DeadlineStore)
	v := d.HonoursDeadline()
	for range 10 {
		if d.HonoursDeadline() != v {
			t.Fatal("HonoursDeadline changed its answer")
		}
	}
	if !v {
		t.Skip("HonoursDeadline reports false")
	}
	ok, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Set(ok, "d", newEntry(200, "d"), longTTL); err != nil {
		t.Fatal(err)
	}
	ctx, cancelExpired := context.WithDeadline(context.Background(), epoch)
	defer cancelExpired()
	if e, err := s.Get(ctx, "d"); err == nil || e != nil {
		t.Errorf("Get with an expired deadline: %v, %v; want no entry and an error", e, err)
	}
	_ = s.Set(ctx, "d2", newEntry(200, "d2"), longTTL)
	_ = s.Delete(ctx, "d")
	if ms, ok := s.(larder.MultiGetter); ok {
		_, _ = ms.GetMulti(ctx, []string{"d", "x"})
	}
	if cs, ok := s.(larder.ConditionalStore); ok {
		_, _ = cs.SetIf(ctx, "c", genEntry("c", "g"), longTTL, "")
	}
}
