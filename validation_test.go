package larder_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/larder-cache/larder"
)

func TestValidation_RFC9111_4_3_4_304FreshensStoredResponse(t *testing.T) {
	f := newFixture(t, validating(`"v1"`, "body-v1", "Cache-Control", "max-age=10", "X-Version", "1"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = validating(`"v1"`, "unused", "Cache-Control", "max-age=100", "X-Version", "2")
	w := f.do("GET", "/x")
	if w.Code != 200 || w.Body.String() != "body-v1" {
		t.Fatalf("revalidated response: %d %q", w.Code, w.Body)
	}
	if got := f.orig.last.Load().Header.Get("If-None-Match"); got != `"v1"` {
		t.Fatalf("validation request If-None-Match = %q", got)
	}
	if w.Header().Get("X-Version") != "2" || w.Header().Get("Cache-Control") != "max-age=100" {
		t.Fatalf("stored header not updated: %v", w.Header())
	}
	// Freshened for 100 s from now.
	f.clock.Advance(90 * time.Second)
	w = f.do("GET", "/x")
	expectCalls(t, f.orig, 2)
	if w.Header().Get("X-Version") != "2" || w.Header().Get("Content-Length") != "7" {
		t.Fatalf("hit after freshening: %v", w.Header())
	}
}

func TestValidation_RFC9111_4_3_1_IfModifiedSinceFromLastModified(t *testing.T) {
	lm := "Mon, 02 Jan 2006 15:04:05 GMT"
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Last-Modified", lm)
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "full")
	})
	f.do("GET", "/x")
	f.clock.Advance(time.Minute)
	if w := f.do("GET", "/x"); w.Body.String() != "full" || w.Code != 200 {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	if got := f.orig.last.Load().Header.Get("If-Modified-Since"); got != lm {
		t.Fatalf("If-Modified-Since = %q", got)
	}
}

func TestValidation_RFC9111_4_3_3_FullResponseReplacesStored(t *testing.T) {
	f := newFixture(t, validating(`"v1"`, "one", "Cache-Control", "max-age=10"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = validating(`"v2"`, "two", "Cache-Control", "max-age=10")
	if w := f.do("GET", "/x"); w.Body.String() != "two" {
		t.Fatalf("got %q", w.Body)
	}
	if w := f.do("GET", "/x"); w.Body.String() != "two" {
		t.Fatalf("then %q", w.Body)
	}
	expectCalls(t, f.orig, 2)
}

func TestValidation_NonStorableFullResponseDropsStored(t *testing.T) {
	f := newFixture(t, validating(`"v1"`, "one", "Cache-Control", "max-age=10"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = respond(200, "two", "Cache-Control", "no-store")
	f.do("GET", "/x")
	if f.store.len() != 0 {
		t.Fatal("stale entry kept after a no-store replacement")
	}
}

func TestValidation_RFC9111_4_3_4_StrongValidatorMismatchRefetches(t *testing.T) {
	f := newFixture(t, validating(`"v1"`, "one", "Cache-Control", "max-age=10"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	calls := 0
	f.orig.fn = func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") != "" {
			w.Header().Set("ETag", `"other"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v3"`)
		fmt.Fprint(w, "three")
	}
	if w := f.do("GET", "/x"); w.Body.String() != "three" {
		t.Fatalf("got %q", w.Body)
	}
	if calls != 2 {
		t.Fatalf("origin calls %d, want 2 (validation, then full fetch)", calls)
	}
}

func TestValidation_RFC9111_4_3_5_HEADFreshensStoredGET(t *testing.T) {
	f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=10", "ETag", `"v1"`, "X-V", "1"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = respond(200, "", "Cache-Control", "max-age=100", "ETag", `"v1"`, "X-V", "2")
	if w := f.do("HEAD", "/x"); w.Header().Get("X-V") != "2" {
		t.Fatalf("HEAD response: %v", w.Header())
	}
	w := f.do("GET", "/x")
	expectCalls(t, f.orig, 2)
	if w.Body.String() != "body" || w.Header().Get("X-V") != "2" {
		t.Fatalf("GET after HEAD update: %q %v", w.Body, w.Header())
	}
}

func TestValidation_RFC9111_4_3_5_HEADWithNewValidatorInvalidates(t *testing.T) {
	f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=10", "ETag", `"v1"`))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = respond(200, "", "Cache-Control", "max-age=100", "ETag", `"v2"`)
	f.do("HEAD", "/x")
	if f.store.len() != 0 {
		t.Fatal("stored GET kept after HEAD showed a new validator")
	}
}

func TestValidation_304MakingResponseUnstorableStillServes(t *testing.T) {
	f := newFixture(t, validating(`"v1"`, "one", "Cache-Control", "max-age=10"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = validating(`"v1"`, "x", "Cache-Control", "no-store")
	if w := f.do("GET", "/x"); w.Code != 200 || w.Body.String() != "one" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	if f.store.len() != 0 {
		t.Fatal("entry kept after 304 said no-store")
	}
}

func TestValidation_RouteExpiryRevalidatesWithETag(t *testing.T) {
	f := newFixture(t, validating(`"a"`, "v")).route(larder.Expiry(time.Second))
	f.do("GET", "/x")
	f.clock.Advance(5 * time.Second)
	w := f.do("GET", "/x")
	if w.Code != 200 || w.Body.String() != "v" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	if got := w.Header().Get("Cache-Status"); got != "Larder; fwd=stale; fwd-status=304; stored; ttl=1" {
		t.Fatalf("Cache-Status %q", got)
	}
}

func TestValidation_RFC9111_4_3_5_HEADUpdatesResponseWithoutValidators(t *testing.T) {
	f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=10", "X-V", "1"))
	f.do("GET", "/x")
	f.clock.Advance(20 * time.Second)
	f.orig.fn = respond(200, "", "Cache-Control", "max-age=100", "X-V", "2")
	f.do("HEAD", "/x")
	w := f.do("GET", "/x")
	expectCalls(t, f.orig, 2)
	if w.Body.String() != "body" || w.Header().Get("X-V") != "2" {
		t.Fatalf("GET after HEAD update: %q %v", w.Body, w.Header())
	}
}

func TestValidation_StaleKeptForMaxStale(t *testing.T) {
	f := newFixture(t, respond(200, "body", "Cache-Control", "max-age=10"), larder.WithStaleRetention(time.Minute))
	f.do("GET", "/x")
	f.clock.Advance(50 * time.Second)
	if w := f.do("GET", "/x", "Cache-Control", "max-stale=60"); w.Body.String() != "body" {
		t.Fatalf("got %q", w.Body)
	}
	expectCalls(t, f.orig, 1)
	f.clock.Advance(30 * time.Second) // past lifetime + retention: gone
	f.do("GET", "/x", "Cache-Control", "max-stale")
	expectCalls(t, f.orig, 2)
}
