package ranges

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	const size = 100
	tests := []struct {
		name string
		in   string
		want []Range
		err  error
	}{
		{"RFC9110_14.1.2_first-last", "bytes=0-9", []Range{{0, 10}}, nil},
		{"RFC9110_14.1.2_open_end", "bytes=90-", []Range{{90, 10}}, nil},
		{"RFC9110_14.1.2_suffix", "bytes=-5", []Range{{95, 5}}, nil},
		{"RFC9110_14.1.2_suffix_longer_than_size", "bytes=-500", []Range{{0, 100}}, nil},
		{"RFC9110_14.1.2_last_clipped", "bytes=95-500", []Range{{95, 5}}, nil},
		{"RFC9110_14.1.2_several", "bytes=0-0, 90-99", []Range{{0, 1}, {90, 10}}, nil},
		{"RFC9110_14.1.2_unit_case_insensitive", "Bytes=1-1", []Range{{1, 1}}, nil},
		{"RFC9110_14.1.2_whitespace", " bytes=1-2 , 90-91 ", []Range{{1, 2}, {90, 2}}, nil},
		{"RFC9110_14.1.2_unsatisfiable_members_dropped", "bytes=200-300, 0-0", []Range{{0, 1}}, nil},
		{"RFC9110_15.3.7.2_overlapping_coalesced", "bytes=0-9, 5-19", []Range{{0, 20}}, nil},
		{"RFC9110_15.3.7.2_contained_coalesced", "bytes=0-50, 10-20", []Range{{0, 51}}, nil},
		{"RFC9110_15.3.7.2_adjacent_coalesced", "bytes=0-9, 10-19", []Range{{0, 20}}, nil},
		{"RFC9110_15.3.7.2_small_gap_coalesced", "bytes=0-9, 89-99", []Range{{0, 100}}, nil},
		{"RFC9110_15.3.7.2_gap_of_a_part_kept", "bytes=0-9, 90-99", []Range{{0, 10}, {90, 10}}, nil},
		{"RFC9110_15.3.7.2_sorted", "bytes=90-99, 0-0", []Range{{0, 1}, {90, 10}}, nil},
		{"RFC9110_15.3.7.2_sorted_then_coalesced", "bytes=90-99, 0-4, 2-9, 95-", []Range{{0, 10}, {90, 10}}, nil},
		{"RFC9110_15.3.7.2_suffix_and_open_coalesced", "bytes=-10, 0-", []Range{{0, 100}}, nil},
		{"RFC9110_14.2_repeated_ranges_coalesced", "bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-", []Range{{0, 100}}, nil},
		{"RFC9110_15.3.7.2_unsatisfiable_dropped_before_coalescing", "bytes=200-, 0-9, 300-, 5-9", []Range{{0, 10}}, nil},
		{"RFC9110_15.5.17_unsatisfiable", "bytes=100-", nil, ErrUnsatisfiable},
		{"RFC9110_15.5.17_zero_suffix", "bytes=-0", nil, ErrUnsatisfiable},
		{"RFC9110_14.2_other_unit_ignored", "items=0-5", nil, ErrIgnore},
		{"RFC9110_14.2_last_before_first_ignored", "bytes=5-1", nil, ErrIgnore},
		{"RFC9110_14.2_garbage_ignored", "bytes=a-b", nil, ErrIgnore},
		{"RFC9110_14.2_no_dash_ignored", "bytes=5", nil, ErrIgnore},
		{"RFC9110_14.2_empty_set_ignored", "bytes=", nil, ErrIgnore},
		{"RFC9110_14.2_negative_ignored", "bytes=-1-5", nil, ErrIgnore},
		{"RFC9110_14.2_too_many_ignored", "bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16", nil, ErrIgnore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in, size)
			if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestContentRange(t *testing.T) {
	if got := (Range{10, 5}).ContentRange(100); got != "bytes 10-14/100" {
		t.Fatalf("got %q", got)
	}
}

func TestIfRange(t *testing.T) {
	lm := "Sat, 28 Nov 2026 10:00:00 GMT"
	tests := []struct {
		name, value, etag, lm string
		want                  bool
	}{
		{"RFC9110_13.1.5_absent", "", `"a"`, lm, true},
		{"RFC9110_13.1.5_strong_etag_match", `"a"`, `"a"`, lm, true},
		{"RFC9110_13.1.5_etag_mismatch", `"b"`, `"a"`, lm, false},
		{"RFC9110_13.1.5_weak_never_matches", `W/"a"`, `W/"a"`, lm, false},
		{"RFC9110_13.1.5_weak_stored_never_matches", `"a"`, `W/"a"`, lm, false},
		{"RFC9110_13.1.5_date_exact", lm, `"a"`, lm, true},
		{"RFC9110_13.1.5_date_other", "Sat, 28 Nov 2026 09:00:00 GMT", `"a"`, lm, false},
		{"RFC9110_13.1.5_date_without_last_modified", lm, `"a"`, "", false},
		{"RFC9110_13.1.5_invalid_date", "yesterday", `"a"`, lm, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IfRange(tc.value, tc.etag, tc.lm); got != tc.want {
				t.Fatalf("IfRange(%q) = %v", tc.value, got)
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that the ranges it returns
// lie within the representation, ascending and disjoint, at least
// CoalesceGap bytes apart, and never longer in sum than the representation.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"bytes=0-9", "bytes=-5", "bytes=1-,3-4", "items=1", "bytes=a",
		"bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-",
		"bytes=90-99, 0-9, 5-19, -3", "bytes=0-0,200-300,100-150,-1000",
		"bytes=999999999999999999-", "bytes=-999999999999999999",
	} {
		f.Add(s, int64(100))
		f.Add(s, int64(1<<20))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		rs, err := Parse(s, size)
		if err != nil {
			if rs != nil || (err != ErrIgnore && err != ErrUnsatisfiable) {
				t.Fatalf("Parse(%q, %d) = %v, %v", s, size, rs, err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > MaxRanges {
			t.Fatalf("Parse(%q, %d) gave %d ranges", s, size, len(rs))
		}
		var total int64
		for i, r := range rs {
			if r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size {
				t.Fatalf("Parse(%q, %d) gave %v outside [0,%d)", s, size, r, size)
			}
			if i > 0 {
				if prev := rs[i-1]; r.Start-(prev.Start+prev.Length) < CoalesceGap {
					t.Fatalf("Parse(%q, %d) gave %v after %v: not sorted and coalesced", s, size, r, prev)
				}
			}
			total += r.Length
		}
		if total > size {
			t.Fatalf("Parse(%q, %d) gave %d bytes", s, size, total)
		}
	})
}
