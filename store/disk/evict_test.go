package disk_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// indexSlack is how far the directory may exceed MaxBytes in these tests:
// the B+tree's partly filled and free pages and the step by which bbolt grows
// its file (see the package documentation).
const indexSlack = 20 << 20

func TestEvictionBound(t *testing.T) {
	const maxBytes = 4 << 20
	dir := t.TempDir()
	s := openStore(t, dir, disk.Options{MaxBytes: maxBytes, MaxEntryBytes: 512 << 10, InlineMax: 4 << 10, NoSync: true})
	r := rand.New(rand.NewPCG(1, 2))
	pool := randomBytes(1<<20, 1) // bodies are slices of it
	body := func(n int) []byte {
		off := r.IntN(len(pool) - n)
		return pool[off : off+n]
	}
	written := 0
	for i := range 600 {
		var n int
		switch r.IntN(3) {
		case 0:
			n = r.IntN(4 << 10) // inline
		case 1:
			n = 4<<10 + r.IntN(60<<10) // a file of one chunk
		default:
			n = 64<<10 + r.IntN(300<<10) // several chunks
		}
		key := fmt.Sprintf("k%d", r.IntN(1000))
		if r.IntN(4) == 0 {
			if err := s.SetStream(ctx, key, entry(nil), iotestHalf(body(n)), -1, time.Hour); err != nil {
				t.Fatal(err)
			}
		} else {
			mustSet(t, s, key, entry(body(n)), time.Hour)
		}
		written += n
		if st := s.Stats(); st.Bytes > maxBytes {
			t.Fatalf("after %d writes: Stats = %+v, over MaxBytes %d", i+1, st, maxBytes)
		}
	}
	st := s.Stats()
	if written < 10*maxBytes || st.Bytes < maxBytes/2 {
		t.Fatalf("wrote %d bytes, Stats = %+v: the test should overfill the store and leave it well filled", written, st)
	}
	hits := 0
	for i := range 1000 {
		if _, err := s.Get(ctx, fmt.Sprintf("k%d", i)); err == nil {
			hits++
		} else if !errors.Is(err, larder.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if hits != st.Entries {
		t.Fatalf("%d keys readable, Stats().Entries = %d", hits, st.Entries)
	}
	// On disk: the body files within the bound, the index within the slack.
	blobs := dirBytes(t, filepath.Join(dir, "blobs"))
	total := dirBytes(t, dir)
	t.Logf("Stats %+v; on disk: body files %d bytes, index %d bytes, total %d bytes (MaxBytes %d)", st, blobs, total-blobs, total, maxBytes)
	if blobs > st.Bytes {
		t.Fatalf("body files take %d bytes, more than the %d counted", blobs, st.Bytes)
	}
	if total > maxBytes+indexSlack {
		t.Fatalf("the directory takes %d bytes, more than MaxBytes %d and the slack %d", total, maxBytes, indexSlack)
	}
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
}

// sizedStore opens a store in which exactly n entries like entry(body) under
// keys of keyLen bytes fit.
func sizedStore(t *testing.T, n int, body []byte, keyLen int, clock func() time.Time) *disk.Store {
	t.Helper()
	probe := newStore(t, disk.Options{Clock: clock})
	mustSet(t, probe, string(make([]byte, keyLen)), entry(body), time.Hour)
	one := probe.Stats().Bytes
	return newStore(t, disk.Options{MaxBytes: int64(n) * one, MaxEntryBytes: one, Clock: clock})
}

func TestEvictionLRU(t *testing.T) {
	clock := newFakeClock()
	body := make([]byte, 1000)
	s := sizedStore(t, 10, body, 3, clock.Now)
	for i := range 10 {
		mustSet(t, s, fmt.Sprintf("k%02d", i), entry(body), time.Hour)
		clock.Advance(time.Second)
	}
	clock.Advance(time.Minute)
	// Reading k00 and k01 makes them the most recently used.
	mustGet(t, s, "k00")
	mustGet(t, s, "k01")
	clock.Advance(time.Second)
	for i := 10; i < 15; i++ {
		mustSet(t, s, fmt.Sprintf("k%02d", i), entry(body), time.Hour)
		clock.Advance(time.Second)
	}
	// Five evicted: k02..k06, the least recently used.
	for i := range 15 {
		key := fmt.Sprintf("k%02d", i)
		if i >= 2 && i <= 6 {
			mustMiss(t, s, key)
		} else {
			mustGet(t, s, key)
		}
	}
	if st := s.Stats(); st.Entries != 10 {
		t.Fatalf("Stats = %+v, want 10 entries", st)
	}
}

func TestEvictionExpiredFirst(t *testing.T) {
	clock := newFakeClock()
	body := make([]byte, 1000)
	s := sizedStore(t, 5, body, 3, clock.Now)
	for i := range 4 {
		mustSet(t, s, fmt.Sprintf("k%02d", i), entry(body), time.Hour)
		clock.Advance(time.Second)
	}
	// The most recently written, but expired when room is needed.
	mustSet(t, s, "exp", entry(body), time.Minute)
	clock.Advance(2 * time.Minute)
	mustSet(t, s, "k04", entry(body), time.Hour)
	if !s.HasRecord("k00") || s.HasRecord("exp") {
		t.Fatal("eviction took a live entry before the expired one")
	}
	mustSet(t, s, "k05", entry(body), time.Hour)
	if s.HasRecord("k00") || !s.HasRecord("k01") {
		t.Fatal("with nothing expired, eviction did not take the least recently used")
	}
}

func TestLRUSurvivesRestart(t *testing.T) {
	clock := newFakeClock()
	body := make([]byte, 1000)
	probe := newStore(t, disk.Options{Clock: clock.Now})
	mustSet(t, probe, "k00", entry(body), time.Hour)
	one := probe.Stats().Bytes
	opts := disk.Options{MaxBytes: 3 * one, MaxEntryBytes: one, Clock: clock.Now}
	dir := t.TempDir()
	s, err := disk.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		mustSet(t, s, fmt.Sprintf("k%02d", i), entry(body), time.Hour)
		clock.Advance(time.Second)
	}
	clock.Advance(time.Minute)
	mustGet(t, s, "k00") // noted, committed by Close
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, opts)
	mustSet(t, s, "k03", entry(body), time.Hour)
	if !s.HasRecord("k00") || s.HasRecord("k01") {
		t.Fatal("the access time of k00 was lost across a restart")
	}
}

func TestReopenSmaller(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.Open(dir, disk.Options{MaxBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustSet(t, s, fmt.Sprint("k", i), entry(randomBytes(200<<10, uint64(i))), time.Hour)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, disk.Options{MaxBytes: 1 << 20})
	if st := s.Stats(); st.Bytes > 1<<20 || st.Entries == 0 {
		t.Fatalf("Stats after reopening with a smaller MaxBytes = %+v", st)
	}
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != s.Stats().Entries {
		t.Fatalf("%d body files for %d entries", n, s.Stats().Entries)
	}
}

func TestSweep(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	s := openStore(t, dir, disk.Options{Clock: clock.Now, SweepInterval: -1})
	for i := range 20 {
		mustSet(t, s, fmt.Sprint("short", i), entry(make([]byte, i*10<<10)), time.Minute)
	}
	mustSet(t, s, "long", entry(make([]byte, 100<<10)), time.Hour)
	clock.Advance(2 * time.Minute)
	n, err := s.Sweep()
	if err != nil || n != 20 {
		t.Fatalf("Sweep = %d, %v; want 20 removed", n, err)
	}
	if st := s.Stats(); st.Entries != 1 {
		t.Fatalf("Stats after the sweep = %+v, want one entry", st)
	}
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != 1 {
		t.Fatalf("%d body files after the sweep, want 1", n)
	}
	mustGet(t, s, "long")
}

func TestExpiredReadIsRemoved(t *testing.T) {
	clock := newFakeClock()
	s := newStore(t, disk.Options{Clock: clock.Now, SweepInterval: -1})
	mustSet(t, s, "k", entry(make([]byte, 100<<10)), time.Minute)
	clock.Advance(time.Minute)
	mustMiss(t, s, "k")
	waitFor(t, "the expired entry to be removed", func() bool {
		st := s.Stats()
		return !s.HasRecord("k") && st.Entries == 0 && st.Bytes == 0
	})
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOrphansRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "k", entry(make([]byte, 100<<10)), time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash leaves: a temporary file, a body file never committed.
	for _, p := range []string{
		filepath.Join(dir, "tmp", "0123456789abcdef0123456789abcdef"),
		filepath.Join(dir, "blobs", "ab", "ab23456789abcdef0123456789abcdef"),
		filepath.Join(dir, "blobs", "ab", "junk"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = openStore(t, dir, disk.Options{})
	if n := countFiles(t, filepath.Join(dir, "blobs")) + countFiles(t, filepath.Join(dir, "tmp")); n != 2 {
		t.Fatalf("%d files after Open, want the body file and the one not named by the store", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "ab", "junk")); err != nil {
		t.Fatalf("Open removed a file the store did not name: %v", err)
	}
	mustGet(t, s, "k")
}

func TestRefuseForeignDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := disk.Open(dir, disk.Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a directory holding other files succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal(err)
	}
	// A directory that does not exist yet is created.
	s := openStore(t, filepath.Join(dir, "a", "b"), disk.Options{})
	mustSet(t, s, "k", entry([]byte("x")), time.Hour)
}
