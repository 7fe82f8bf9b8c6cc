package pipeline

import (
	"sync"
	"time"

	"github.com/smtpscope/smtpscope/reassembly"
)

// stage moves SMTP decoding (and what it feeds: message parses, the output)
// off the goroutine that reads and reassembles. Reassembly hands each
// connection's bytes, gaps and end to a proxy Handler, which copies them into
// batches; one goroutine takes the batches in order and calls the real
// Handlers, so every connection sees the same calls in the same order as
// without the stage, and the output does not change. Batches are recycled:
// at most stageBatches of them exist.
type stage struct {
	ch   chan *eventBatch
	free chan *eventBatch
	made int
	cur  *eventBatch
	wg   sync.WaitGroup
}

// Limits of a batch, and the number of batches.
const (
	batchEvents  = 1024
	batchBytes   = 256 << 10
	stageBatches = 4
)

type eventBatch struct {
	events []event
	arena  []byte // the events' data
}

type eventKind uint8

const (
	eventData eventKind = iota
	eventGap
	eventClose
)

// event is one Handler call.
type event struct {
	kind     eventKind
	h        reassembly.Handler
	dir      reassembly.Dir
	n        int // gap size
	from, to int // data in the batch's arena
	ts       time.Time
	st       reassembly.ConnStats
}

func newStage() *stage {
	s := &stage{ch: make(chan *eventBatch, stageBatches-1), free: make(chan *eventBatch, stageBatches)}
	s.wg.Add(1)
	go s.run()
	return s
}

func (s *stage) run() {
	defer s.wg.Done()
	for b := range s.ch {
		for i := range b.events {
			e := &b.events[i]
			switch e.kind {
			case eventData:
				e.h.Data(e.dir, b.arena[e.from:e.to], e.ts)
			case eventGap:
				e.h.Gap(e.dir, e.n, e.ts)
			case eventClose:
				e.h.Close(e.ts, e.st)
			}
			*e = event{}
		}
		b.events, b.arena = b.events[:0], b.arena[:0]
		s.free <- b
	}
}

// add queues a Handler call; data is copied.
func (s *stage) add(e event, data []byte) {
	if s.cur == nil {
		select {
		case s.cur = <-s.free:
		default:
			if s.made < stageBatches {
				s.made++
				s.cur = &eventBatch{events: make([]event, 0, batchEvents), arena: make([]byte, 0, batchBytes)}
			} else {
				s.cur = <-s.free
			}
		}
	}
	b := s.cur
	if data != nil {
		e.from = len(b.arena)
		b.arena = append(b.arena, data...)
		e.to = len(b.arena)
	}
	b.events = append(b.events, e)
	if len(b.events) >= batchEvents || len(b.arena) >= batchBytes {
		s.send()
	}
}

func (s *stage) send() {
	if s.cur != nil && len(s.cur.events) > 0 {
		s.ch <- s.cur
		s.cur = nil
	}
}

// close hands over what is queued and returns once it has been handled.
func (s *stage) close() {
	s.send()
	close(s.ch)
	s.wg.Wait()
}

// staged is the Handler reassembly sees: it queues the calls for h.
type staged struct {
	h reassembly.Handler
	s *stage
}

func (p staged) Data(d reassembly.Dir, b []byte, ts time.Time) {
	p.s.add(event{kind: eventData, h: p.h, dir: d, ts: ts}, b)
}

func (p staged) Gap(d reassembly.Dir, n int, ts time.Time) {
	p.s.add(event{kind: eventGap, h: p.h, dir: d, n: n, ts: ts}, nil)
}

func (p staged) Close(ts time.Time, st reassembly.ConnStats) {
	p.s.add(event{kind: eventClose, h: p.h, ts: ts, st: st}, nil)
}
