package disk_test

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// waitRemoved waits until the entry under key is gone from the index, and
// its body file (path, if any) from the disk.
func waitRemoved(t *testing.T, s *disk.Store, key, path string) {
	t.Helper()
	waitFor(t, "the corrupt entry to be removed", func() bool {
		if s.HasRecord(key) || s.Stats().Entries != 0 {
			return false
		}
		if path == "" {
			return true
		}
		_, err := os.Stat(path)
		return errors.Is(err, os.ErrNotExist)
	})
}

func TestCorruptRecord(t *testing.T) {
	for _, c := range []struct {
		name string
		at   int
	}{
		{"flags", 1},
		{"deadline", 20},
		{"key", 28},
		{"metadata", 60},
		{"body", -10},
		{"checksum", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t, disk.Options{})
			mustSet(t, s, "key", entry([]byte("a body of a few bytes")), time.Hour)
			if err := s.CorruptRecord("key", c.at); err != nil {
				t.Fatal(err)
			}
			mustMiss(t, s, "key")
			if _, _, _, err := s.GetStream(ctx, "key"); !errors.Is(err, larder.ErrNotFound) {
				t.Fatalf("GetStream of a corrupt record: %v, want ErrNotFound", err)
			}
			waitRemoved(t, s, "key", "")
			// The key takes a new entry.
			mustSet(t, s, "key", entry([]byte("new")), time.Hour)
			mustSame(t, "entry over a corrupt one", mustGet(t, s, "key"), entry([]byte("new")))
		})
	}
}

// flipByte flips a bit of the byte at off in the file at path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBodyFile(t *testing.T) {
	body := randomBytes(3*disk.ChunkSize+100, 5)
	damage := map[string]func(t *testing.T, path string){
		"chunk": func(t *testing.T, path string) {
			flipByte(t, path, 32+2*(disk.ChunkSize+4)+1000) // in the third chunk
		},
		"checksum": func(t *testing.T, path string) { flipByte(t, path, 32+disk.ChunkSize+2) },
		"header":   func(t *testing.T, path string) { flipByte(t, path, 10) },
		"truncated": func(t *testing.T, path string) {
			if err := os.Truncate(path, 5000); err != nil {
				t.Fatal(err)
			}
		},
		"missing": func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, disk.Options{})
			mustSet(t, s, "key", entry(body), time.Hour)
			path := s.BodyFile("key")
			if path == "" {
				t.Fatal("no body file")
			}
			fn(t, path)
			mustMiss(t, s, "key")
			waitRemoved(t, s, "key", path)
		})
	}
}

// TestCorruptChunkWhileStreaming: a chunk that fails its checksum fails the
// read, after the good chunks before it, and never ends in io.EOF.
func TestCorruptChunkWhileStreaming(t *testing.T) {
	s := newStore(t, disk.Options{})
	body := randomBytes(3*disk.ChunkSize+100, 6)
	mustSet(t, s, "key", entry(body), time.Hour)
	path := s.BodyFile("key")
	flipByte(t, path, 32+2*(disk.ChunkSize+4)+1000)
	_, r, _, err := s.GetStream(ctx, "key")
	if err != nil {
		t.Fatalf("GetStream (the header and size are sound): %v", err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err == nil {
		t.Fatal("reading a corrupt body ended without an error")
	}
	if len(got) != 2*disk.ChunkSize || string(got) != string(body[:len(got)]) {
		t.Fatalf("read %d bytes before the error, want the %d of the two good chunks", len(got), 2*disk.ChunkSize)
	}
	p := make([]byte, 10)
	if _, err := r.(io.ReaderAt).ReadAt(p, 2*disk.ChunkSize+5); err == nil || err == io.EOF {
		t.Fatalf("ReadAt in the corrupt chunk: %v, want an error", err)
	}
	waitRemoved(t, s, "key", "") // the open reader may hold the file
}
