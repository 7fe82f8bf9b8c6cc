// Package pipeline runs a capture through reassembly and the SMTP decoder and
// hands out each session as its connection ends. It owns the wiring between
// the stages, nothing of their logic.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/reassembly"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// DefaultPorts are the server ports selected without --port: SMTP, submission,
// the common alternative, and implicit-TLS submission.
var DefaultPorts = []uint16{25, 587, 2525, 465}

// Options configure a run. The zero value selects DefaultPorts with the
// default caps.
type Options struct {
	Ports      []uint16 // server ports; nil means DefaultPorts
	AnyPort    bool     // also find SMTP on other ports by content
	Reassembly reassembly.Options
	Decoder    smtpdecode.Options
	Messages   Messages // what is done with the messages

	// For output that follows a live capture: OnOpen is called when a
	// session begins (its ID, addresses and start are set), OnEvent as each
	// of its turns completes, Packet with every packet read (to save them).
	OnOpen  func(*smtpdecode.Session)
	OnEvent func(*smtpdecode.Session, smtpdecode.Event)
	Packet  func(capture.Packet)
	// Streaming says the source may pause (a pipe, a live capture): what
	// each packet completes is decoded at once. Otherwise decoding runs on a
	// goroutine of its own, fed in batches, beside reading and reassembly.
	Streaming bool
	// OnIdle, when set, is called after a session is handed out when no
	// other is ready to be: where buffered output is flushed, so that each
	// session shows as soon as the next may take a while.
	OnIdle func()
}

// Stats count what a run read.
type Stats struct {
	Packets   int64 // packets read
	Malformed int64 // packets skipped because they did not decode
	Other     int64 // packets that were not TCP of a selected connection
	Sessions  int64 // sessions handed out
	Evicted   int64 // connections flushed while open: more than Reassembly.MaxConnections were
	// Messages holds the errors met writing messages out (Messages.Dir,
	// Messages.Mbox), or nil.
	Messages error
}

// Source hands out captured packets: a capture file (*capture.Reader) or a
// live capture (*capture.Live). io.EOF or capture.ErrClosed end it.
type Source interface {
	Next() (capture.Packet, error)
}

// Run reads packets from src until it ends, ctx is done or the capture is
// found broken, and calls emit with each session when its connection ends,
// in a deterministic order. Sessions still open when Run stops are flushed
// and emitted before it returns, also when it returns an error.
func Run(ctx context.Context, src Source, o Options, emit func(*smtpdecode.Session)) (Stats, error) {
	var st Stats
	ro := o.Reassembly
	ro.Ports = o.Ports
	if ro.Ports == nil {
		ro.Ports = DefaultPorts
	}
	ro.Role = role
	if o.AnyPort {
		ro.Detect = detect
	}
	var failures errorList
	var open gate
	var sessions int64 // counted by the output, read once it is closed
	// Parses may finish after their sessions end, on other cores, when
	// nothing needs them sooner: live output (OnEvent) shows each message
	// as it ends, and written messages are named from their parse.
	async := o.OnEvent == nil && o.Messages.Dir == nil && o.Messages.Mbox == nil
	out := newOutput(async, func(s *smtpdecode.Session) {
		sessions++
		emit(s)
	}, o.OnIdle)
	// The decoding stage keeps the order of every call, so it may run
	// whenever nothing shows the decoding as it happens (OnOpen, OnEvent).
	var dec *stage
	if async && o.OnOpen == nil && !o.Streaming {
		dec = newStage()
	}
	newHandler := func(c reassembly.Conn) reassembly.Handler {
		h := &conn{conn: c, out: out}
		do := o.Decoder
		do.OnEvent = o.OnEvent
		if o.Messages.wanted() {
			do.Content = func(cs smtpdecode.ContentStart) io.Writer {
				var tokens *output
				if async {
					tokens = out
				}
				mo := &o.Messages
				if mo.Select != nil && (mo.Dir != nil || mo.Mbox != nil) {
					s := h.dec.Session()
					s.ID = c.ID
					if !mo.Select(s, cs) {
						// Parsed for the reports, not written out.
						if !mo.Parse {
							return io.Discard
						}
						kept := *mo
						kept.Dir, kept.Mbox = nil, nil
						mo = &kept
					}
				}
				sink := mo.newMessageSink(&open, c.ID, cs, failures.add, tokens)
				if sink == nil {
					return io.Discard
				}
				if async {
					h.sinks = append(h.sinks, sink)
				}
				return sink
			}
		}
		h.dec = smtpdecode.New(smtpdecode.Conn{Client: c.Client, Server: c.Server, Start: c.Start}, do)
		if o.OnOpen != nil {
			s := h.dec.Session()
			s.ID, s.Sides = c.ID, c.Sides.String()
			o.OnOpen(s)
		}
		if dec != nil {
			return staged{h, dec}
		}
		return h
	}
	a := reassembly.New(newHandler, ro)
	var err error
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		p, rerr := src.Next()
		if rerr != nil {
			switch {
			case ctx.Err() != nil:
				err = ctx.Err()
			case !errors.Is(rerr, io.EOF) && !errors.Is(rerr, capture.ErrClosed):
				err = rerr
			}
			break
		}
		if o.Packet != nil {
			o.Packet(p)
		}
		a.Packet(p.LinkType, p.Data, p.Time)
	}
	a.Flush()
	if dec != nil {
		dec.close()
	}
	out.close()
	st.Sessions = sessions
	c := a.Counters()
	st.Packets, st.Malformed, st.Other, st.Evicted = c.Packets, c.Malformed, c.Other, c.Evicted
	st.Messages = failures.err()
	return st, err
}

// conn adapts a reassembled connection to the decoder.
type conn struct {
	conn  reassembly.Conn
	dec   *smtpdecode.Decoder
	sinks []*messageSink // async message sinks, whose parses the session waits for
	out   *output
}

func (c *conn) Data(d reassembly.Dir, p []byte, ts time.Time) {
	c.dec.Feed(smtpdecode.Direction(d), p, ts)
}

func (c *conn) Gap(d reassembly.Dir, n int, ts time.Time) {
	c.dec.Gap(smtpdecode.Direction(d), n, ts)
}

func (c *conn) Close(ts time.Time, st reassembly.ConnStats) {
	var how smtpdecode.Closed
	switch st.End {
	case reassembly.EndFIN:
		how = smtpdecode.ClosedFIN
	case reassembly.EndRST:
		how = smtpdecode.ClosedRST
	case reassembly.EndEvicted:
		how = smtpdecode.ClosedEvicted
	}
	s := c.dec.Close(ts, how)
	s.ID = c.conn.ID
	s.Packets = st.Packets
	s.Sides = c.conn.Sides.String()
	c.out.push(s, c.sinks)
	c.sinks = nil
}

func role(first []byte) reassembly.Role {
	switch {
	case smtpdecode.IsGreeting(first):
		return reassembly.RoleServer
	case smtpdecode.StartsLikeCommand(first):
		return reassembly.RoleClient
	}
	return reassembly.RoleUnknown
}

func detect(client, server []byte) reassembly.Verdict {
	smtp, decided := smtpdecode.Detect(client, server)
	switch {
	case !decided:
		return reassembly.VerdictMore
	case smtp:
		return reassembly.VerdictYes
	}
	return reassembly.VerdictNo
}

// String formats stats the way the text report ends.
func (s Stats) String() string {
	noun := "sessions"
	if s.Sessions == 1 {
		noun = "session"
	}
	return fmt.Sprintf("%d %s, %d packets read, %d skipped as malformed", s.Sessions, noun, s.Packets, s.Malformed)
}
