package bytesize

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "1000000": 1000000, "512KiB": 512 << 10, "10 GiB": 10 << 30, "8mb": 8e6,
		"1TiB": 1 << 40, "3B": 3, " 2MiB ": 2 << 20,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "+1", "1.5MiB", "MiB", "12XB", "9999999999TiB", "1 KiB B"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1: "1", 1024: "1KiB", 8 << 20: "8MiB", 1 << 40: "1TiB", 1500: "1500"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q; want %q", n, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "512KiB", "10 GiB", "", "-1", "9999999999TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err == nil && n <= 0 {
			t.Fatalf("Parse(%q) = %d without error", s, n)
		}
		if err == nil {
			if m, err := Parse(Format(n)); err != nil || m != n {
				t.Fatalf("Parse(Format(%d)) = %d, %v", n, m, err)
			}
		}
	})
}
