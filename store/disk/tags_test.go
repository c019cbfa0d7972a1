package disk_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/larder-cache/larder/store/disk"
)

// TestTagIndexBounded: records of the tag index go once their time has
// passed, as later calls sweep them, and they survive a reopen.
func TestTagIndexBounded(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	// 600 keys living 1 s each, one added every 5 ms of index time: about
	// 200 live at once, two tags each.
	most := 0
	for i := range 600 {
		now := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		if ok, err := s.AddTags(ctx, "k"+strconv.Itoa(i), []string{"all", "t" + strconv.Itoa(i%5)}, now, now.Add(time.Second)); err != nil || !ok {
			t.Fatalf("AddTags: %v %v", ok, err)
		}
		if i%100 == 0 {
			if _, err := s.PurgeTags(ctx, []string{"p" + strconv.Itoa(i)}, now, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		tags, _, _ := s.TagRecords()
		most = max(most, tags)
	}
	if most > 2*200+2*256 {
		t.Fatalf("the index held %d key records, with about 400 live", most)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	end := t0.Add(10 * time.Second)
	keys, err := s.PurgeTags(ctx, []string{"all"}, t0.Add(2990*time.Millisecond), time.Second)
	if err != nil || len(keys) == 0 {
		t.Fatalf("after a reopen: %d keys, %v", len(keys), err)
	}
	for range 10 { // each call sweeps up to 256 records
		if _, err := s.PurgeTags(ctx, []string{"x"}, end, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	tags, purges, exps := s.TagRecords()
	if tags != 0 || purges != 1 || exps != 1 {
		t.Fatalf("after everything expired: %d key records, %d purge records, %d expiry records; want 0, 1 (x), 1", tags, purges, exps)
	}
}
