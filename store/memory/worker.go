package memory

import (
	"sync"
	"time"
)

// worker runs otter's maintenance tasks (draining its read and write
// buffers, evicting, expiring) on one long-lived goroutine.
//
// A hit must not pay for waking it. otter asks for a drain whenever a read
// buffer fills; handing each request to a parked goroutine costs the reader
// a futex wake-up of another thread, several microseconds on a VM, which
// every hit then shares. So the worker, once woken, stays awake on a ticker
// and runs what was asked since its last tick: under load the readers only
// append to a list, and drains wait at most one tick. After idleTicks quiet
// ticks it parks again, so an idle store costs nothing; the first task after
// that wakes it.
//
// Delaying a drain is safe: otter returns no expired entry whatever its
// maintenance state, drops reads while a drain is pending (its read buffers
// are lossy by design), and makes writers drain themselves when its write
// buffer fills. The byte bound holds once the pending drain has run.
type worker struct {
	tick      time.Duration // how often an awake worker runs what is queued
	idleTicks int           // quiet ticks after which it parks

	mu      sync.Mutex
	pending []func()
	parked  bool // the worker waits on wake, not on its ticker
	closed  bool
	wake    chan struct{} // capacity 1
	done    chan struct{}
	exited  chan struct{}
}

// The store's worker runs queued drains every millisecond while busy and
// parks after 100 ms without any.
const (
	workerTick      = time.Millisecond
	workerIdleTicks = 100
)

// newWorker starts a worker that, once woken, runs the queued tasks every
// tick and parks after idleTicks ticks without any.
func newWorker(tick time.Duration, idleTicks int) *worker {
	w := &worker{
		tick: tick, idleTicks: idleTicks, parked: true,
		wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{}),
	}
	go w.run()
	return w
}

// execute is otter's Executor: it queues fn for the worker, waking it if it
// is parked. Once the worker is closed, fn runs on a goroutine of its own.
func (w *worker) execute(fn func()) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		go fn()
		return
	}
	w.pending = append(w.pending, fn)
	wake := w.parked
	w.parked = false
	w.mu.Unlock()
	if wake {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// runPending runs the queued tasks and reports how many there were.
func (w *worker) runPending() int {
	w.mu.Lock()
	tasks := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, fn := range tasks {
		fn()
	}
	return len(tasks)
}

func (w *worker) run() {
	defer close(w.exited)
	t := time.NewTicker(w.tick)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-w.wake:
		case <-w.done:
			w.runPending()
			return
		}
		w.runPending()
		t.Reset(w.tick)
		for quiet := 0; quiet < w.idleTicks; {
			select {
			case <-t.C:
			case <-w.done:
				w.runPending()
				return
			}
			if w.runPending() == 0 {
				quiet++
			} else {
				quiet = 0
			}
		}
		t.Stop()
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.parked = true
		} else {
			// A task came after the last tick: stay awake for it.
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		w.mu.Unlock()
	}
}

// close stops the worker after it has run the tasks already queued; later
// tasks run on goroutines of their own.
func (w *worker) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	close(w.done)
	w.mu.Unlock()
	<-w.exited
}
