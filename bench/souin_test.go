package bench

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/darkweak/souin/configurationtypes"
	"github.com/darkweak/souin/pkg/middleware"
	"github.com/darkweak/storages/core"
	souinotter "github.com/darkweak/storages/otter"
	"github.com/maypok86/otter"
	"go.uber.org/zap"
)

// Versions (go.mod): souin v1.7.8, the newest the module proxy serves, with
// github.com/darkweak/storages core and otter v0.0.19, the newest it serves
// of those. Souin v1.7.8 itself asks for core v0.0.15, and the only older
// otter storage served is v0.0.11 (built for core v0.0.11). With core
// v0.0.15 and otter v0.0.11 every hit, 304 and miss allocates lz4 buffers of
// 4 MiB (about 8.5 MB and 1.2 ms per request); core v0.0.19 reads the stored
// response as a stream and otter v0.0.19 closes its compressor, which
// removes that from the hit and miss paths. A 304 still costs it with a
// 64 KiB body: Souin answers without reading the stored body to its end, so
// the lz4 reader never hands its buffer back.

// souinOtterEntries bounds Souin's store. The otter storage counts entries,
// not bytes (cost 1 each), and Souin writes two per response (the response
// and its mapping key), so this holds 4096 responses, as Gregjones' cache.
const souinOtterEntries = 2 * 4096

// souinLive holds the otter caches of the Souin fixtures not yet released.
// storages/otter hands out the same cache to every store built with the same
// size until one of them is Reset, so two live fixtures would share one.
var souinLive sync.Map // otter.CacheWithVariableTTL[string, []byte] → struct{}

// wrapSouin serves the origin through github.com/darkweak/souin's core
// net/http middleware (pkg/middleware), wired as its chi and net/http plugins
// do, over the otter storage of github.com/darkweak/storages, Souin's
// recommended in-memory storage (without a registered storage Souin falls
// back to an unbounded sync.Map, shared by every handler of the process).
//
// Configuration: a shared cache (Souin is one; the default, strict mode), a
// default TTL of one hour (the origin's max-age=3600 takes precedence), no
// stale window, no API endpoints, surrogate keys disabled, a no-op logger.
// Souin answers a matching If-None-Match from its store with a 304 itself,
// so no wrapper does it here. It registers its Prometheus metrics in the
// default registry whatever the configuration, and updates them on every
// request.
//
// The release function clears and closes the otter cache (stopping its two
// goroutines). Souin itself starts, per handler, a goroutine that evicts
// expired mapping keys every minute in an endless loop, which nothing can
// stop; after the release it only ranges over an empty store.
func wrapSouin(tb testing.TB, o http.Handler) (http.Handler, func()) {
	logger := zap.NewNop().Sugar()
	provider := core.CacheProvider{Configuration: map[string]interface{}{"size": souinOtterEntries}}
	st, err := souinotter.Factory(provider, logger, 0)
	if err != nil {
		tb.Fatal(err)
	}
	oc := otterCache(tb, st)
	if _, shared := souinLive.LoadOrStore(*oc, struct{}{}); shared {
		tb.Fatal("souin: the otter store of another live Souin fixture was handed out again")
	}
	// Souin finds its storages in a process-wide registry, under
	// "<Name>-<Uuid>" (for otter, "OTTER-<stale duration>"), and falls back
	// to its default store when the configured key is not there. Registering
	// right before the handler is built makes this handler take this store:
	// fixtures are built one at a time.
	core.RegisterStorage(st)
	c := &middleware.BaseConfiguration{
		DefaultCache: &configurationtypes.DefaultCache{
			TTL:   configurationtypes.Duration{Duration: time.Hour},
			Otter: configurationtypes.CacheProvider{Uuid: st.Name() + "-" + st.Uuid()},
		},
		Logger:               logger,
		SurrogateKeyDisabled: true,
	}
	s := middleware.NewHTTPCacheHandler(c)
	if len(s.Storers) != 1 || s.Storers[0] != st {
		tb.Fatalf("souin: the handler did not take its otter store (%d storers, first %s)",
			len(s.Storers), s.Storers[0].Name())
	}
	next := func(w http.ResponseWriter, r *http.Request) error {
		o.ServeHTTP(w, r)
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Souin sets a Date field on the request it is handed when there is
		// none (and then takes "now" from it). net/http's server hands every
		// request a new header map; the runner's requests share one, so the
		// field is removed again, for every request to pay the same.
		_, hadDate := r.Header["Date"]
		_ = s.ServeHTTP(w, r, next)
		if !hadDate {
			delete(r.Header, "Date")
		}
	})
	release := func() {
		_ = st.Reset() // clears the cache and drops it from storages/otter's instances
		souinLive.Delete(*oc)
		oc.Close()
	}
	return h, release
}

// otterCache returns the otter cache inside a storages/otter store, which
// that package keeps unexported and never closes (its Reset only clears it),
// so that the release can stop its goroutines.
func otterCache(tb testing.TB, st core.Storer) *otter.CacheWithVariableTTL[string, []byte] {
	v := reflect.ValueOf(st)
	want := reflect.TypeFor[*otter.CacheWithVariableTTL[string, []byte]]()
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		tb.Fatalf("souin: otter store is a %T", st)
	}
	f := v.Elem().FieldByName("cache")
	if !f.IsValid() || f.Type() != want {
		tb.Fatalf("souin: otter store %T has no field cache of type %v", st, want)
	}
	return *(**otter.CacheWithVariableTTL[string, []byte])(unsafe.Pointer(f.UnsafeAddr()))
}
