package message

import "sync/atomic"

// Each message is parsed on a goroutine of its own (see Parser). A new goroutine starts with a
// small stack, and the walk through go-message's header reader and the decoders grows it several
// times: on a capture of many small messages that stack copying was 4 % of the run. So a parse
// goes to a goroutine that has finished one before, when one is idle, and keeps its grown stack.
//
// The number of parses at once is not bounded here: a parse waits for its message's bytes, and
// the one writer feeding all of them must never wait for a free goroutine (it could be waiting
// for itself). Only the idle goroutines are bounded, by maxIdleWorkers.
const maxIdleWorkers = 64

var (
	work        = make(chan func()) // unbuffered: a send succeeds only when a worker is idle
	idleWorkers atomic.Int32
)

// spawn runs f on an idle worker goroutine, or on a new one when none is idle.
func spawn(f func()) {
	select {
	case work <- f:
	default:
		go worker(f)
	}
}

// worker runs f, then waits for more work while fewer than maxIdleWorkers others wait.
func worker(f func()) {
	for {
		f()
		f = nil // an idle worker must not keep the last parse's parser and buffers alive
		if idleWorkers.Add(1) > maxIdleWorkers {
			idleWorkers.Add(-1)
			return
		}
		f = <-work
		idleWorkers.Add(-1)
	}
}
