package main

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"1000000", 1000000},
		{"512KiB", 512 << 10},
		{"256MiB", 256 << 20},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"10KB", 10000},
		{"3MB", 3000000},
		{"1GB", 1000000000},
		{"64B", 64},
		{"256mib", 256 << 20},
		{" 8 MiB ", 8 << 20},
		{"", 0},
		{"MiB", 0},
		{"0", 0},
		{"-1", 0},
		{"+5", 0},
		{"1.5GiB", 0},
		{"12XB", 0},
		{"1K", 0},
		{"9999999999TiB", 0},
		{"9223372036854775807", 9223372036854775807},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{256 << 20: "256MiB", 8 << 20: "8MiB", 1 << 30: "1GiB", 3 << 10: "3KiB", 1536: "1536", 1000: "1000"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig([]string{"--upstream", "https://origin.example"}, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:8080" || c.admin != "" || c.store.scheme != "memory" || c.store.size != 256<<20 ||
		c.upstreamTimeout != 30*time.Second || c.shutdownTimeout != 10*time.Second || !c.accessLog ||
		c.rewriteHost || c.logFormat != "text" || c.maxObjectSize != 8<<20 || c.bodyBuffer != 1<<20 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseConfig([]string{"--upstream", "http://o", "--store", "memory://?size=1GiB", "--max-object-size", "512KiB", "--body-buffer", "64KiB"},
		func(k string) string {
			return map[string]string{"LARDER_ADMIN": "10.0.0.1:9", "LARDER_ADMIN_TOKEN": "t", "LARDER_LOG_LEVEL": "debug"}[k]
		}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.store.size != 1<<30 || c.maxObjectSize != 512<<10 || c.bodyBuffer != 64<<10 || c.admin != "10.0.0.1:9" || c.adminToken != "t" || c.logLevel.String() != "DEBUG" {
		t.Errorf("set: %+v", c)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:9091": true,
		"127.1.2.3:0":    true,
		"[::1]:9091":     true,
		"localhost:9091": true,
		":9091":          false,
		"0.0.0.0:9091":   false,
		"[::]:9091":      false,
		"10.0.0.1:9091":  false,
		"example.com:80": false,
		"garbage":        false,
	}
	for addr, want := range tests {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
