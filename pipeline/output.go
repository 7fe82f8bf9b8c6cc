package pipeline

import (
	"sync"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// output hands out ended sessions in the order they ended. With async set it
// does so from a goroutine of its own, each session once the parses of its
// messages are complete: decoding goes on meanwhile, formatting the output
// runs beside it, and the order does not depend on which parse finishes
// first. Without it, sessions are handed out as they end (live output shows
// each turn as it happens, and the end of a session must follow them).
type output struct {
	emit   func(*smtpdecode.Session)
	idle   func() // or nil
	async  bool
	queue  chan endedSession
	wg     sync.WaitGroup
	parses chan struct{} // a token per async message parse not yet complete
}

type endedSession struct {
	s     *smtpdecode.Session
	sinks []*messageSink
}

// Bounds on what waits: sessions to be handed out, and message parses that
// ended but are not complete (each holds its buffers until it is), past which
// the decoding waits.
const (
	maxQueuedSessions = 32
	maxEndedParses    = 256
)

func newOutput(async bool, emit func(*smtpdecode.Session), idle func()) *output {
	o := &output{emit: emit, idle: idle, async: async}
	if async {
		o.queue = make(chan endedSession, maxQueuedSessions)
		// Open messages are capped at maxOpenParsers (see newMessageSink):
		// past that, the tokens are held by ended parses, which complete
		// without waiting for anything, so a parse can always begin soon.
		o.parses = make(chan struct{}, maxOpenParsers+maxEndedParses)
		o.wg.Add(1)
		go o.run()
	}
	return o
}

// beginParse takes a token for a message parse, waiting while too many ended
// parses are not complete; endParse, called when the parse is, gives it back.
func (o *output) beginParse() { o.parses <- struct{}{} }

func (o *output) endParse() { <-o.parses }

// push hands out a session that ended; sinks are its async message sinks.
func (o *output) push(s *smtpdecode.Session, sinks []*messageSink) {
	if !o.async {
		o.emit(s)
		if o.idle != nil {
			o.idle()
		}
		return
	}
	o.queue <- endedSession{s, sinks}
}

func (o *output) run() {
	defer o.wg.Done()
	for e := range o.queue {
		for _, k := range e.sinks {
			k.finish()
		}
		o.emit(e.s)
		if o.idle != nil && len(o.queue) == 0 {
			o.idle()
		}
	}
}

// close hands out what is queued and returns when it has been.
func (o *output) close() {
	if o.async {
		close(o.queue)
		o.wg.Wait()
	}
}
