package memory

import (
	"sync/atomic"
	"testing"
	"time"
)

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

func (w *worker) isParked() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.parked
}

func TestWorkerRunsTasksAndParks(t *testing.T) {
	w := newWorker(time.Millisecond, 3)
	defer w.close()
	var ran atomic.Int64

	// Parked: the first task wakes it.
	if !w.isParked() {
		t.Fatal("a new worker should be parked")
	}
	w.execute(func() { ran.Add(1) })
	waitFor(t, "the first task", func() bool { return ran.Load() == 1 })

	// Awake: tasks queued meanwhile run on the next ticks.
	for range 100 {
		w.execute(func() { ran.Add(1) })
	}
	waitFor(t, "100 more tasks", func() bool { return ran.Load() == 101 })

	// Quiet: it parks again, and a task wakes it again.
	waitFor(t, "the worker to park", w.isParked)
	w.execute(func() { ran.Add(1) })
	waitFor(t, "a task after parking", func() bool { return ran.Load() == 102 })
}

func TestWorkerTaskQueuesATask(t *testing.T) {
	// otter's drain may ask for another drain from within the worker.
	w := newWorker(time.Millisecond, 3)
	defer w.close()
	done := make(chan struct{})
	w.execute(func() { w.execute(func() { close(done) }) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the task queued by a task did not run")
	}
}

func TestWorkerClose(t *testing.T) {
	w := newWorker(time.Hour, 1) // it never ticks: only close runs what is queued
	var ran atomic.Int64
	w.execute(func() { ran.Add(1) }) // wakes it: runs at once
	waitFor(t, "the first task", func() bool { return ran.Load() == 1 })
	w.execute(func() { ran.Add(1) }) // queued for a tick that is an hour away
	w.close()
	if got := ran.Load(); got != 2 {
		t.Fatalf("close left %d of 2 tasks unrun", 2-got)
	}
	w.close() // idempotent
	// After close, a task runs on a goroutine of its own.
	done := make(chan struct{})
	w.execute(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a task after close did not run")
	}
}
