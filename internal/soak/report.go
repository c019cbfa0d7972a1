package soak

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LeakSuffix ends the names of the mismatch kinds that are data of one user
// reaching another: the soak's key metric.
const LeakSuffix = "-other-user"

// maxSamples is how many stale reads and errors a Report keeps in full, for
// the log, and how many mismatches of each kind (maxSamplesPerKind) and in
// all (maxMismatchSamples).
const (
	maxSamples         = 12
	maxSamplesPerKind  = 3
	maxMismatchSamples = 24
)

// Report is what one run saw. Its counters are safe for concurrent use.
type Report struct {
	Stack    string
	Clients  int
	Duration time.Duration // the load's wall time

	Requests        atomic.Int64 // HTTP requests sent through the cache (all methods)
	Reads           atomic.Int64 // GET and HEAD requests
	Hits            atomic.Int64 // reads whose Cache-Status says "; hit"
	Writes          atomic.Int64 // POST, PUT and DELETE requests
	Purges          atomic.Int64 // Cache.Purge calls
	Errors          atomic.Int64 // requests that failed (transport, body read, purge)
	StaleAfterWrite atomic.Int64 // reads older than the client's own completed write or purge
	GuestPages      atomic.Int64 // guest KindCookie pages served to a signed-in user (allowed, counted)
	OriginServed    int64        // requests the origin answered, set by the caller
	StoreEntries    int64        // entries in the store at the end, set by the caller (-1: unknown)
	StoreBytes      int64        // their bytes

	statuses [600]atomic.Int64 // responses by status code

	mu           sync.Mutex
	mismatches   map[string]int64
	samples      []string
	staleSamples []string
	errSamples   []string
}

func newReport(stack string, clients int) *Report {
	return &Report{Stack: stack, Clients: clients, StoreEntries: -1, mismatches: make(map[string]int64)}
}

func (r *Report) mismatch(kind, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mismatches[kind]++
	if r.mismatches[kind] <= maxSamplesPerKind && len(r.samples) < maxMismatchSamples {
		r.samples = append(r.samples, kind+": "+detail)
	}
}

func (r *Report) staleRead(detail string) {
	r.StaleAfterWrite.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.staleSamples) < maxSamples {
		r.staleSamples = append(r.staleSamples, detail)
	}
}

func (r *Report) failed(detail string) {
	r.Errors.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errSamples) < maxSamples {
		r.errSamples = append(r.errSamples, detail)
	}
}

// Statuses returns the number of responses of each status code seen.
func (r *Report) Statuses() map[string]int64 {
	m := make(map[string]int64)
	for code := range r.statuses {
		if n := r.statuses[code].Load(); n > 0 {
			m[strconv.Itoa(code)] = n
		}
	}
	return m
}

func (r *Report) status(code int) {
	if code >= 0 && code < len(r.statuses) {
		r.statuses[code].Add(1)
	}
}

// Mismatches returns the number of mismatches of each kind.
func (r *Report) Mismatches() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.mismatches)
}

// MismatchTotal returns the number of mismatches of all kinds.
func (r *Report) MismatchTotal() int64 {
	var n int64
	for _, v := range r.Mismatches() {
		n += v
	}
	return n
}

// Leaks returns the number of mismatches that delivered one user's data
// (body, Set-Cookie, X-User) to another.
func (r *Report) Leaks() int64 {
	var n int64
	for k, v := range r.Mismatches() {
		if strings.HasSuffix(k, LeakSuffix) {
			n += v
		}
	}
	return n
}

// Samples returns the first mismatches, stale reads and errors, described.
func (r *Report) Samples() (mismatches, stale, errs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples), slices.Clone(r.staleSamples), slices.Clone(r.errSamples)
}

// HitRatio returns the share of reads answered from the cache.
func (r *Report) HitRatio() float64 {
	if n := r.Reads.Load(); n > 0 {
		return float64(r.Hits.Load()) / float64(n)
	}
	return 0
}

// MismatchString formats mismatches by kind, sorted: "{kind=n ...}".
func MismatchString(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Summary is the report on one line.
func (r *Report) Summary() string {
	rss := "n/a"
	if n, ok := PeakRSS(); ok {
		rss = fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	}
	store := "n/a"
	if r.StoreEntries >= 0 {
		store = fmt.Sprintf("%d/%.1fMiB", r.StoreEntries, float64(r.StoreBytes)/(1<<20))
	}
	secs := r.Duration.Seconds()
	return fmt.Sprintf("soak stack=%s clients=%d load=%s requests=%d (%.0f/s) reads=%d writes=%d purges=%d hit-ratio=%.1f%% origin=%d store=%s "+
		"status=%s mismatches=%d leaks=%d %s staleAfterWrite=%d guestPages=%d errors=%d peakRSS=%s",
		r.Stack, r.Clients, r.Duration.Round(time.Millisecond), r.Requests.Load(), float64(r.Requests.Load())/max(secs, 1e-9),
		r.Reads.Load(), r.Writes.Load(), r.Purges.Load(), 100*r.HitRatio(), r.OriginServed, store, MismatchString(r.Statuses()),
		r.MismatchTotal(), r.Leaks(), MismatchString(r.Mismatches()), r.StaleAfterWrite.Load(), r.GuestPages.Load(),
		r.Errors.Load(), rss)
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM in
// /proc/self/status), and false where that is not available.
func PeakRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, false
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		return n << 10, err == nil
	}
	return 0, false
}
