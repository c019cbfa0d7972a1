package disk_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-cache/larder"
	"github.com/larder-cache/larder/store/disk"
)

// The kill -9 test: TestCrashKill9 runs this test binary again as a child
// that runs TestCrashChild, which writes to a store in a loop from several
// goroutines (Set, SetStream of slow bodies, SetIf, Delete; bodies inline
// and in files); it kills the child with SIGKILL at a random moment, opens
// the directory again and checks that every entry it serves is whole.
const (
	crashDirEnv    = "LARDER_DISK_CRASH_DIR"
	crashNoSyncEnv = "LARDER_DISK_CRASH_NOSYNC"
	crashKeys      = 64
)

func crashOptions(noSync bool) disk.Options {
	return disk.Options{MaxBytes: 16 << 20, MaxEntryBytes: 2 << 20, InlineMax: 4 << 10, NoSync: noSync}
}

// crashEntry is the entry the child writes under key: its header names the
// key and holds the body's length and SHA-256, so that a reader can tell a
// whole entry from a torn or mixed one.
func crashEntry(key string, body []byte, gen string) *larder.Entry {
	sum := sha256.Sum256(body)
	return &larder.Entry{
		Kind:   larder.KindResponse,
		Status: http.StatusOK,
		Header: http.Header{
			"X-Key": {key},
			"X-Len": {strconv.Itoa(len(body))},
			"X-Sum": {hex.EncodeToString(sum[:])},
		},
		Nonce: gen,
		Body:  body,
	}
}

// checkWhole reports how meta and body fail to be a whole entry of key.
func checkWhole(key string, meta *larder.Entry, body []byte) error {
	sum := sha256.Sum256(body)
	switch {
	case meta.Header.Get("X-Key") != key:
		return fmt.Errorf("entry of key %q under %q", meta.Header.Get("X-Key"), key)
	case meta.Header.Get("X-Len") != strconv.Itoa(len(body)):
		return fmt.Errorf("%q: body of %d bytes, header says %s", key, len(body), meta.Header.Get("X-Len"))
	case meta.Header.Get("X-Sum") != hex.EncodeToString(sum[:]):
		return fmt.Errorf("%q: body of %d bytes does not match its checksum", key, len(body))
	}
	return nil
}

// slowReader hands out its bytes a few KiB at a time, pausing, so that a
// kill often lands while a body is being streamed.
type slowReader struct {
	b []byte
	n int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	r.n++
	if r.n%8 == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	n := copy(p[:min(len(p), 8<<10)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestCrashChild is the child of TestCrashKill9; it is skipped otherwise.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child process of TestCrashKill9")
	}
	s, err := disk.Open(dir, crashOptions(os.Getenv(crashNoSyncEnv) == "1"))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	sizes := []int{0, 100, 3000, 5000, 70 << 10, 300 << 10, 1 << 20}
	for w := range 4 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for {
				key := fmt.Sprint("k", r.IntN(crashKeys))
				body := make([]byte, sizes[r.IntN(len(sizes))])
				for i := range body {
					body[i] = byte(r.Uint32())
				}
				e := crashEntry(key, body, strconv.FormatUint(r.Uint64(), 36))
				switch r.IntN(6) {
				case 0, 1:
					err = s.Set(ctx, key, e, time.Hour)
				case 2, 3:
					size := int64(-1)
					if r.IntN(2) == 0 {
						size = int64(len(body))
					}
					err = s.SetStream(ctx, key, e, &slowReader{b: body}, size, time.Hour)
				case 4:
					gen := ""
					if cur, err := s.Get(ctx, key); err == nil {
						gen = cur.Nonce
					}
					_, err = s.SetIf(ctx, key, e, time.Hour, gen)
				default:
					err = s.Delete(ctx, key)
				}
				if err != nil {
					fmt.Println("write:", err)
					os.Exit(4)
				}
			}
		}()
	}
	select {} // until killed
}

func TestCrashKill9(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes and SIGKILL")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	served, inFlight := 0, 0
	for round := range 6 {
		noSync := round%2 == 1
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashNoSyncEnv+"=0")
		if noSync {
			cmd.Env = append(cmd.Env, crashNoSyncEnv+"=1")
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan string, 1)
		var rest strings.Builder
		var wg sync.WaitGroup
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "ready" {
					ready <- ""
				} else {
					rest.WriteString(sc.Text() + "\n")
				}
			}
			close(ready)
		})
		select {
		case _, ok := <-ready:
			if !ok {
				cmd.Wait()
				wg.Wait()
				t.Fatalf("round %d: the child exited before writing: %s%s", round, rest.String(), stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child did not start", round)
		}
		time.Sleep(time.Duration(100+r.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		wg.Wait()
		if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.Exited() {
			t.Fatalf("round %d: the child was not killed (%v): %s%s", round, err, rest.String(), stderr.String())
		}
		// What the kill interrupted: bodies being streamed.
		inFlight += countFiles(t, filepath.Join(dir, "tmp"))
		served += checkAfterCrash(t, dir, round)
	}
	if served == 0 {
		t.Fatal("no entry survived any of the kills: the test checked nothing")
	}
	t.Logf("%d entries checked whole after 6 kills, which interrupted %d body files being written", served, inFlight)
}

// checkAfterCrash opens the store the child was killed writing, and checks
// that every entry it serves is whole, that nothing is left over, and that
// it works. It returns how many entries it served.
func checkAfterCrash(t *testing.T, dir string, round int) int {
	t.Helper()
	s, err := disk.Open(dir, crashOptions(false))
	if err != nil {
		t.Fatalf("round %d: Open after kill -9: %v", round, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	served, files := 0, 0
	for i := range crashKeys {
		key := fmt.Sprint("k", i)
		e, err := s.Get(ctx, key)
		if errors.Is(err, larder.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("round %d: Get(%q): %v", round, key, err)
		}
		if err := checkWhole(key, e, e.Body); err != nil {
			t.Fatalf("round %d: Get served a torn entry: %v", round, err)
		}
		meta, body, _, err := s.GetStream(ctx, key)
		if err != nil {
			t.Fatalf("round %d: GetStream(%q) after Get: %v", round, key, err)
		}
		b, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			t.Fatalf("round %d: GetStream(%q): reading the body: %v", round, key, err)
		}
		if err := checkWhole(key, meta, b); err != nil {
			t.Fatalf("round %d: GetStream served a torn entry: %v", round, err)
		}
		served++
		if s.BodyFile(key) != "" {
			files++
		}
	}
	if st := s.Stats(); st.Entries != served || st.Bytes > 16<<20 {
		t.Fatalf("round %d: Stats = %+v for %d entries served", round, st, served)
	}
	// Open removed what the kill left behind.
	if n := countFiles(t, filepath.Join(dir, "blobs")); n != files {
		t.Fatalf("round %d: %d body files for %d entries with one", round, n, files)
	}
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Fatalf("round %d: %d temporary files left", round, n)
	}
	// It works.
	body := randomBytes(100<<10, uint64(round))
	mustSet(t, s, "after", crashEntry("after", body, ""), time.Hour)
	if e := mustGet(t, s, "after"); checkWhole("after", e, e.Body) != nil {
		t.Fatalf("round %d: a write after the crash is not read back", round)
	}
	if err := s.Delete(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	return served
}
