package smtpdecode

import (
	"bytes"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"time"
)

// Options bound what a Decoder keeps. The zero value means the defaults.
type Options struct {
	// MaxLine is the longest line kept, in bytes; the rest of a longer line
	// is dropped. Default 4096 (RFC 5321 allows 512 for commands and replies).
	MaxLine int
	// MaxCommands is how many turns a session keeps; later ones are
	// counted in Session.DroppedCommands. Default 10000.
	MaxCommands int
	// MaxPending is how many turns waiting for replies are remembered;
	// past it replies are still paired in order, but those to the turns
	// beyond it are not kept. Default 10000.
	MaxPending int
	// MaxHold is how many client bytes are held while the reply to DATA,
	// AUTH or STARTTLS is awaited (it decides how to read them); past it
	// they are read as if the server had said yes, and so is what the
	// client awaits next, until the server answers again. Default 64 KiB.
	MaxHold int
	// MaxData is how many bytes of each message's content (dot-unstuffed)
	// and of each BDAT chunk are kept in Message.Data, for showing it. The
	// default 0 keeps none: content is counted, never stored.
	MaxData int
	// Content, when set, is called as each message begins: at DATA's 354,
	// or at the first BDAT of a transaction. The content is written to the
	// writer it returns as it streams — dot-unstuffed for DATA, the chunks
	// as sent for BDAT — and, when the message ends (complete or not), the
	// writer's Close is called if it has one. This is where message
	// parsing plugs in; the decoder itself never stores content (but see
	// MaxData).
	Content func(c ContentStart) io.Writer

	// OnEvent, when set, is called as each part of the conversation
	// completes, for output that follows a live capture turn by turn.
	OnEvent func(s *Session, e Event)

	// MaxText is how many bytes of command and reply text a session keeps
	// in full; past it each further line keeps its first 64 bytes. Default
	// 1 MiB.
	MaxText int
}

// Defaults for Options.
const (
	DefaultMaxLine     = 4096
	DefaultMaxCommands = 10000
	DefaultMaxPending  = 10000
	DefaultMaxHold     = 64 << 10
	DefaultMaxText     = 1 << 20

	// maxGaps is how many gaps a session lists; the rest are counted in
	// Session.DroppedGaps.
	maxGaps = 1000
	// shortLine is how much of a line is kept past MaxText.
	shortLine = 64
)

// awaitKind is what the reply to a command decides about the client's next bytes.
type awaitKind uint8

const (
	awaitNothing awaitKind = iota
	awaitData              // 354: message content follows
	awaitAuth              // 334: an AUTH response line follows
	awaitTLS               // 220 to STARTTLS: TLS follows
)

// pending is a client turn waiting for its reply.
type pending struct {
	idx   int // into Session.Commands; -1 when not kept
	await awaitKind
	verb  string // the command's verb, kept even when the command is not
	kind  Kind
	tx    int // the transaction it belongs to; -1 for none
	rcpt  int // for RCPT: its index in the transaction's recipients; -1 otherwise
}

// held is client input kept while a reply is awaited: bytes, or a gap.
type held struct {
	p   []byte
	gap int
	ts  time.Time
}

// Decoder decodes one SMTP connection. Feed it each direction's bytes in
// order, in any chunking; Close returns the Session.
type Decoder struct {
	opts Options
	s    *Session

	lines [2]lineBuf
	reply *Reply // being framed
	// resync is set for a direction after a gap there: its next line may be
	// the torn tail of a line, and is dropped unless it reads like a command
	// (from the client) or a reply line (from the server).
	resync [2]bool

	pending   []pending
	pendBase  []pending // the start of pending's array
	untracked int       // replies owed to turns past MaxPending, due after all of pending
	gapped    bool      // a server gap emptied pending: replies until the next turn are not flagged unmatched
	awaiting  bool      // the client's bytes are held until the awaited reply
	hold      []held    // held input is hold[holdHead:]
	holdHead  int
	holdLen   int
	releasing bool      // release is feeding held input again
	rest      []byte    // set by holdBytes while releasing: the unread rest of the piece being fed
	lost      awaitKind // the awaited reply was lost in a server gap: the held bytes will decide
	noHold    bool      // the server fell MaxHold behind: awaited replies are taken as yes until it answers
	authNext  bool      // the last reply was 334 to an AUTH exchange
	replied   bool      // a reply other than the greeting was seen
	challenge string    // text of the last 334 reply

	msg  *Message // message content being received
	data dataState

	chunk     int64     // bytes of the current BDAT chunk still to come
	chunkMsg  *Message  // where they are counted
	chunkLast bool      // the current chunk is the last (BDAT ... LAST)
	content   io.Writer // the Content writer of the message being received

	closed bool // Close is pairing the last replies: no client bytes follow

	st   sessionState
	kept int  // bytes of text kept (see MaxText)
	torn bool // the line being handled was cut by a gap
	tls  TLSHandshake

	// In message data: the current line's length so far, whether the
	// previous line ended with a bare LF, whether the last byte was CR.
	lineLen            int
	prevBareLF, prevCR bool
	msgBareCR          bool  // a bare CR was flagged in this message
	msgAnomalies       []int // anomalies found in this message's data, to point at its turn
}

// New returns a Decoder for one connection.
func New(c Conn, o Options) *Decoder {
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	if o.MaxCommands <= 0 {
		o.MaxCommands = DefaultMaxCommands
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxHold <= 0 {
		o.MaxHold = DefaultMaxHold
	}
	if o.MaxText <= 0 {
		o.MaxText = DefaultMaxText
	}
	d := &Decoder{
		opts: o,
		s:    &Session{Client: c.Client, Server: c.Server, Start: c.Start, End: c.Start},
		st:   sessionState{tx: -1},
	}
	d.lines[FromClient].max = o.MaxLine
	d.lines[FromServer].max = o.MaxLine
	return d
}

// Feed gives the decoder the next bytes one side sent, captured at ts.
// p is not kept after Feed returns.
func (d *Decoder) Feed(dir Direction, p []byte, ts time.Time) {
	if len(p) == 0 {
		return
	}
	if ts.After(d.s.End) {
		d.s.End = ts
	}
	if dir == FromClient && d.s.Bytes[FromClient] == 0 && d.s.Greeting == nil && len(d.s.Commands) == 0 && p[0] == 0x16 {
		// A TLS handshake record before any greeting: implicit TLS (port 465).
		d.s.TLS, d.s.ImplicitTLS = true, true
	}
	d.s.Bytes[dir] += int64(len(p))
	if dir == FromClient {
		d.feedClient(p, ts)
	} else {
		d.feedServer(p, ts)
	}
}

// Gap tells the decoder that n bytes one side sent were lost (n < 0: unknown).
func (d *Decoder) Gap(dir Direction, n int, ts time.Time) {
	if ts.After(d.s.End) {
		d.s.End = ts
	}
	if d.opts.OnEvent != nil {
		d.event(Event{Kind: EventGap, Index: -1, Gap: &Gap{Time: ts, Dir: dir, Bytes: n}})
	}
	if len(d.s.Gaps) < maxGaps {
		d.s.Gaps = append(d.s.Gaps, Gap{Time: ts, Dir: dir, Bytes: n})
	} else {
		d.s.DroppedGaps++
	}
	if n > 0 {
		d.s.Missing[dir] += int64(n)
	}
	if d.s.TLS {
		return
	}
	if dir == FromClient {
		if d.awaiting {
			d.holdGap(n, ts)
			return
		}
		d.clientGap(n)
		return
	}
	// The replies in flight are lost; resynchronise on the next reply.
	d.lines[FromServer].reset()
	d.resync[FromServer] = true
	d.reply = nil
	if d.awaiting {
		// The awaited reply may be among the lost ones: the client's
		// bytes after it will tell how to read them.
		if a := d.takeAwaiting(); a != awaitNothing {
			d.lost = a
		}
	}
	for _, p := range d.pending {
		if p.idx >= 0 {
			d.s.Commands[p.idx].LostReply = true
		}
	}
	d.pending = d.pending[:0]
	d.untracked = 0
	d.gapped = true
	d.authNext = false
	if d.awaiting && (d.lost == awaitNothing || d.canGuess()) {
		d.settle(true)
	}
}

// Close ends the connection at ts and returns what it said.
func (d *Decoder) Close(ts time.Time, how Closed) *Session {
	if ts.After(d.s.End) {
		d.s.End = ts
	}
	if d.awaiting {
		d.settle(true)
	}
	d.closed = true
	if d.msg != nil {
		d.endMessage(ts, false, false)
	}
	if !d.s.TLS {
		// Last lines without their line ending (nc without a final
		// newline) and a reply without its last line: the end of the
		// stream ends them.
		if l, _ := d.lines[FromClient].flush(); l != nil {
			d.clientLine(l, ts)
		}
		if l, _ := d.lines[FromServer].flush(); l != nil {
			d.serverLine(l, ts)
		}
		if d.reply != nil {
			d.reply.Time = ts
			d.endReply()
		}
	}
	d.endContent()
	d.s.Closed = how
	d.onClose(ts)
	return d.s
}

func (d *Decoder) feedClient(p []byte, ts time.Time) {
	for len(p) > 0 {
		switch {
		case d.s.TLS:
			d.s.TLSBytes[FromClient] += int64(len(p))
			d.tls.Feed(true, p)
			return
		case d.awaiting:
			d.holdBytes(p, ts)
			return
		case d.chunk > 0:
			n := int(min(int64(len(p)), d.chunk))
			d.chunkBytes(p[:n], ts)
			p = p[n:]
		case d.msg != nil:
			n, end := d.messageBytes(p, ts)
			p = p[n:]
			if end {
				d.endMessage(ts, true, true)
			}
		default:
			line, n, ok := d.lines[FromClient].next(p, ts)
			p = p[n:]
			if ok {
				d.clientLine(line, ts)
			}
		}
	}
}

func (d *Decoder) feedServer(p []byte, ts time.Time) {
	for len(p) > 0 {
		if d.s.TLS {
			d.s.TLSBytes[FromServer] += int64(len(p))
			d.tls.Feed(false, p)
			return
		}
		line, n, ok := d.lines[FromServer].next(p, ts)
		p = p[n:]
		if ok {
			d.serverLine(line, ts)
		}
	}
}

// holdBytes keeps client bytes until the awaited reply says how to read them.
func (d *Decoder) holdBytes(p []byte, ts time.Time) {
	if d.releasing {
		// p is the rest of a held piece being read again: release puts it
		// back in front, without copying what follows it.
		d.rest = p
		return
	}
	d.hold = append(d.hold, held{p: bytes.Clone(p), ts: ts})
	d.holdLen += len(p)
	switch {
	case d.lost != awaitNothing && (d.holdLen > d.opts.MaxHold || d.canGuess()):
		d.settle(true)
	case d.holdLen > d.opts.MaxHold:
		// The server has not answered for long: read on as if it said
		// yes, to this and to what the client awaits next, until the
		// server answers again (holding again would copy the same bytes
		// over and over).
		d.noHold = true
		d.settle(false)
	}
}

// holdGap keeps a client gap in order with the held bytes. Gaps in a row
// are merged, so gaps never outnumber the held pieces by more than one.
func (d *Decoder) holdGap(n int, ts time.Time) {
	if k := len(d.hold) - 1; k >= d.holdHead && d.hold[k].p == nil {
		g := &d.hold[k]
		if g.gap < 0 || n < 0 {
			g.gap = -1
		} else {
			g.gap += n
		}
		return
	}
	d.hold = append(d.hold, held{gap: n, ts: ts})
}

// settle stops holding without the awaited reply: the awaited turn is taken
// as answered yes, or, when guess is set, the held bytes decide (see
// resolve); then the held input is read.
func (d *Decoder) settle(guess bool) {
	if d.lost != awaitNothing {
		a := d.lost
		d.lost = awaitNothing
		d.resolve(a, true)
	} else if a := d.takeAwaiting(); a != awaitNothing {
		d.resolve(a, guess)
	}
	d.release()
}

// release stops holding and feeds the held client input again, now that
// how to read it is known.
//
// When a turn in the held input makes the decoder wait again, the rest stays
// held where it is: each held byte is copied once, however many replies it
// waits for.
func (d *Decoder) release() {
	d.awaiting = false
	for d.holdHead < len(d.hold) && !d.awaiting {
		c := d.hold[d.holdHead]
		d.hold[d.holdHead] = held{}
		d.holdHead++
		d.holdLen -= len(c.p)
		if c.p == nil {
			d.clientGap(c.gap)
			continue
		}
		d.releasing = true
		d.feedClient(c.p, c.ts)
		d.releasing = false
		if d.rest != nil {
			d.holdHead--
			d.hold[d.holdHead] = held{p: d.rest, ts: c.ts}
			d.holdLen += len(d.rest)
			d.rest = nil
		}
	}
	if d.holdHead == len(d.hold) {
		d.hold, d.holdHead, d.holdLen = d.hold[:0], 0, 0
	} else if d.holdHead > 64 && d.holdHead > len(d.hold)/2 {
		n := copy(d.hold, d.hold[d.holdHead:])
		clear(d.hold[n:])
		d.hold, d.holdHead = d.hold[:n], 0
	}
}

// heldInput is the input held now, in order.
func (d *Decoder) heldInput() []held { return d.hold[d.holdHead:] }

// takeAwaiting clears and returns what the pending turn that holds the
// client's bytes awaits. At most one pending turn awaits, since the client
// bytes after it are held; its reply, if one comes, is still paired with it
// but decides nothing.
func (d *Decoder) takeAwaiting() awaitKind {
	for i := range d.pending {
		if a := d.pending[i].await; a != awaitNothing {
			d.pending[i].await = awaitNothing
			return a
		}
	}
	return awaitNothing
}

// guessBytes is how many held bytes resolve looks at.
const guessBytes = 16

// heldPrefix returns the first held bytes, up to guessBytes.
func (d *Decoder) heldPrefix() []byte {
	var first []byte
	for _, c := range d.heldInput() {
		first = append(first, c.p[:min(len(c.p), guessBytes-len(first))]...)
		if len(first) == guessBytes {
			break
		}
	}
	return first
}

// canGuess reports whether enough bytes are held for resolve to guess what
// the lost reply said.
func (d *Decoder) canGuess() bool {
	first := d.heldPrefix()
	switch d.lost {
	case awaitTLS:
		return len(first) > 0
	case awaitData, awaitAuth:
		return len(first) == guessBytes || bytes.ContainsAny(first, " \r\n")
	}
	return true
}

// resolve applies the outcome of an awaited reply that is not known.
// Without guess it is taken as positive. With guess the held bytes decide:
// after DATA or AUTH, a message or an AUTH response unless they read like a
// command; after STARTTLS, TLS if they start like a TLS handshake record.
func (d *Decoder) resolve(a awaitKind, guess bool) {
	if !guess {
		d.begin(a)
		return
	}
	first := d.heldPrefix()
	if len(first) == 0 {
		return
	}
	switch a {
	case awaitData, awaitAuth:
		if !looksLikeCommand(first) {
			d.begin(a)
		}
	case awaitTLS:
		if first[0] == 0x16 {
			d.begin(a)
		}
	}
}

// begin switches the client's reading after a positive awaited reply.
func (d *Decoder) begin(a awaitKind) {
	if d.closed {
		return // no client bytes follow
	}
	switch a {
	case awaitData:
		d.msg = &Message{}
		d.data = dataLineStart
		d.prevBareLF, d.prevCR, d.lineLen, d.msgBareCR = false, false, 0, false
		d.startContent(d.msg)
	case awaitAuth:
		d.authNext = true
	case awaitTLS:
		d.s.TLS = true
	}
}

// chunkBytes counts bytes of a BDAT chunk, which are taken by count, not by line.
func (d *Decoder) chunkBytes(p []byte, ts time.Time) {
	m := d.chunkMsg
	d.keep(m, p)
	if !m.EightBit && hasHighBit(p) {
		m.EightBit = true
	}
	m.Bytes += int64(len(p))
	m.Lines += int64(bytes.Count(p, []byte{'\n'}))
	m.End = ts
	d.chunk -= int64(len(p))
	if d.chunk == 0 && d.chunkLast {
		d.endContent()
	}
	if d.chunk == 0 {
		m.Terminated = true
	}
}

func (d *Decoder) clientGap(n int) {
	if d.chunk > 0 {
		if n < 0 {
			// Where the chunk ends is unknown now.
			d.chunk = 0
			d.lines[FromClient].reset()
			d.resync[FromClient] = true
			return
		}
		lost := min(int64(n), d.chunk)
		d.chunkMsg.Missing += lost
		d.chunk -= lost
		if d.chunk > 0 {
			return
		}
		d.chunkMsg.Terminated = true // its end is known, even if lost
		if int64(n) == lost {
			return // the gap ended with the chunk: a line starts next
		}
		// The rest of the gap was in the lines after the chunk.
	}
	if d.msg != nil {
		if n > 0 {
			d.msg.Missing += int64(n)
		}
		return
	}
	// A line the gap cut is taken for its start; the first line after the
	// gap may be its tail.
	if l, at := d.lines[FromClient].flush(); l != nil {
		d.torn = true // its address, if any, is cut: not the client's fault
		d.clientLine(l, at)
		d.torn = false
	}
	d.resync[FromClient] = true
}

// clientLine handles one complete client line, line ending included.
func (d *Decoder) clientLine(line []byte, ts time.Time) {
	raw := trimEOL(line)
	if d.resync[FromClient] {
		// The first line after a gap: dropped as the tail of a line the gap
		// cut, unless it reads like a command.
		d.resync[FromClient] = false
		if !d.authNext && !startsWithVerb(raw) {
			return
		}
	}
	c := Command{Time: ts, Line: d.text(raw)}
	await := awaitNothing
	if d.authNext {
		d.authNext = false
		c.Kind = KindAuthResponse
		// "*" cancels; "=" and "" are empty: none holds a credential. Only
		// the first answer to a user-name prompt is taken as not secret
		// until the exchange is decoded as a whole (finishAuth).
		first := d.st.auth == nil || len(d.st.auth.responses) == 0
		c.Secret = !(first && asksUsername(d.challenge)) && len(raw) > 0 && string(raw) != "*" && string(raw) != "="
		await = awaitAuth
	} else {
		c.Verb, _ = ParseCommand(raw)
		if i := strings.IndexAny(c.Line, " \t"); i >= 0 {
			c.Arg = c.Line[i+1:] // as ParseCommand cuts it, sharing Line's bytes
		}
		switch c.Verb {
		case "DATA":
			await = awaitData
		case "AUTH":
			// An initial response (PLAIN, XOAUTH2...) carries the secret.
			_, ir := SplitAuthArg(c.Arg)
			c.Secret = ir != "" && ir != "="
			await = awaitAuth
		case "STARTTLS":
			await = awaitTLS
		case "BDAT":
			size, _, _ := strings.Cut(c.Arg, " ")
			if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
				c.Message = &Message{Start: ts, End: ts, Terminated: n == 0}
				d.chunk, d.chunkMsg = n, c.Message
				if d.content == nil {
					d.startContent(c.Message)
				}
				d.chunkLast = strings.Contains(strings.ToUpper(c.Arg), "LAST")
				if n == 0 && d.chunkLast {
					d.endContent()
				}
			}
		}
	}
	owed := len(d.pending)
	d.onCommand(&c, d.nextIndex(), owed, line, d.lines[FromClient].last)
	if await != awaitNothing && d.noHold {
		d.push(c, awaitNothing)
		d.begin(await)
		return
	}
	if !d.push(c, await) && await != awaitNothing {
		d.begin(await) // its reply will not be looked at: read on as if it said yes
		return
	}
	if await != awaitNothing {
		d.awaiting = true
	}
}

// push records a client turn that waits for a reply, and reports whether
// its reply will be looked at (false past MaxPending).
func (d *Decoder) push(c Command, await awaitKind) bool {
	idx := d.add(c)
	d.gapped = false
	if len(d.pending) >= d.opts.MaxPending || d.untracked > 0 {
		d.untracked++
		return false
	}
	if len(d.pending) == cap(d.pending) {
		// Turns leave at the front and join at the back, so the queue walks
		// along its array. Move it back to the start when there is room
		// there; else grow to twice its length, so moves stay rare.
		if cap(d.pendBase) >= 2*len(d.pending) {
			d.pending = d.pendBase[:copy(d.pendBase[:len(d.pending)], d.pending)]
		} else {
			nb := make([]pending, len(d.pending), 2*len(d.pending)+4)
			copy(nb, d.pending)
			d.pending, d.pendBase = nb, nb[:0]
		}
	}
	p := pending{idx: idx, await: await, verb: c.Verb, kind: c.Kind, tx: d.st.tx, rcpt: -1}
	if t := d.tx(); t != nil && c.Verb == "RCPT" {
		p.rcpt = len(t.Rcpts) - 1
	}
	d.pending = append(d.pending, p)
	return true
}

// add keeps a turn if there is room and returns its index, or -1.
func (d *Decoder) add(c Command) int {
	if len(d.s.Commands) >= d.opts.MaxCommands {
		d.s.DroppedCommands++
		return -1
	}
	d.s.Commands = append(d.s.Commands, c)
	idx := len(d.s.Commands) - 1
	if c.Kind == KindUnmatched {
		d.event(Event{Kind: EventReply, Index: idx, Reply: c.Reply})
	} else {
		d.event(Event{Kind: EventTurn, Index: idx})
	}
	return idx
}

// maxReplyLines is how many lines of one reply are kept; the rest of a
// longer reply is dropped (EHLO replies run to a few dozen lines).
const maxReplyLines = 256

// serverLine handles one complete server line, line ending included.
func (d *Decoder) serverLine(line []byte, ts time.Time) {
	code, more, text, ok := ParseReplyLine(trimEOL(line))
	if d.resync[FromServer] {
		d.resync[FromServer] = false
		if !ok {
			return // the torn tail of a line cut by a gap
		}
	}
	d.lineAnomalies(FromServer, line, d.lines[FromServer].last, maxReplyLine, -1, ts)
	if d.reply == nil {
		d.reply = &Reply{Code: code}
	} else if ok && code != d.reply.Code {
		d.reply.Mismatch = true
	}
	d.reply.Time = ts
	if len(d.reply.Lines) < maxReplyLines {
		d.reply.Lines = append(d.reply.Lines, d.text(text))
	}
	if ok && more {
		return
	}
	d.endReply()
}

// endReply pairs the reply just completed with the turn it answers.
func (d *Decoder) endReply() {
	r := d.reply
	d.reply = nil
	d.noHold = false
	if d.isGreeting(r) {
		d.s.Greeting = r
		d.event(Event{Kind: EventReply, Index: -1, Reply: r, Greeting: true})
		if len(d.s.Commands) > 0 {
			d.flag(AnomalyCommandBeforeGreeting, FromClient, 0, d.s.Commands[0].Time, "%s sent before the greeting", turnName(&d.s.Commands[0]))
		}
		d.replyAnomalies(r, -1)
		return
	}
	d.replied = true
	if len(d.pending) == 0 && d.untracked > 0 {
		d.untracked-- // the reply to a turn past MaxPending
		return
	}
	if len(d.pending) == 0 && d.msg != nil {
		// A reply in the middle of message data: the server ended the
		// message (a timeout, or an end we did not take for one).
		d.endMessage(r.Time, false, true)
	}
	if len(d.pending) == 0 {
		idx := d.add(Command{Time: r.Time, Kind: KindUnmatched, Reply: r})
		if !d.gapped {
			d.flag(AnomalyUnmatchedReply, FromServer, idx, r.Time, "%d reply with no command waiting", r.Code)
		}
		d.replyAnomalies(r, idx)
		return
	}
	p := d.pending[0]
	d.pending = d.pending[1:]
	if p.idx >= 0 {
		d.s.Commands[p.idx].Reply = r
	}
	d.replyAnomalies(r, p.idx)
	d.event(Event{Kind: EventReply, Index: p.idx, Reply: r})
	d.onReply(p, r)
	if p.await == awaitNothing {
		return
	}
	positive := false
	switch p.await {
	case awaitData:
		positive = r.Code == 354
	case awaitAuth:
		positive = r.Code == 334
		if positive && len(r.Lines) > 0 {
			d.challenge = r.Lines[0]
		}
	case awaitTLS:
		positive = r.Code == 220
		if held := d.heldPrefix(); positive && len(held) > 0 && held[0] != 0x16 {
			d.flag(AnomalyStartTLSInjection, FromClient, p.idx, r.Time, "%d bytes sent after STARTTLS before its reply, starting %q", d.holdLen, held)
		}
	}
	if positive {
		d.begin(p.await)
	}
	if d.awaiting && !d.frontAwaits() {
		d.release()
	}
}

// replyAnomalies checks a complete reply's code.
func (d *Decoder) replyAnomalies(r *Reply, idx int) {
	switch {
	case r.Code == 0:
		l := firstLine(r)
		d.flag(AnomalyInvalidReplyCode, FromServer, idx, r.Time, "reply line %q has no three-digit code", l[:min(len(l), 24)])
	case !CodeValid(r.Code):
		d.flag(AnomalyInvalidReplyCode, FromServer, idx, r.Time, "%d is not a valid reply code", r.Code)
	}
	if r.Mismatch {
		d.flag(AnomalyReplyCodeMismatch, FromServer, idx, r.Time, "lines of one %d reply carry other codes", r.Code)
	}
}

// isGreeting reports whether r is the server's greeting: the first reply,
// with a greeting's code (220, or 421 and 554 that refuse service), ahead
// of any client turns but STARTTLS, whose own reply is 220.
func (d *Decoder) isGreeting(r *Reply) bool {
	if d.s.Greeting != nil || d.replied {
		return false
	}
	if len(d.pending) == 0 {
		return r.Code == 220 || r.Code == 421 || r.Code == 554
	}
	switch r.Code {
	case 220:
		return d.pending[0].await != awaitTLS
	case 421, 554:
		// A client that spoke first, from the start (its first turn is
		// HELO or EHLO), gets the greeting first, refusals too.
		first := d.s.Commands
		return len(first) > 0 && (first[0].Verb == "HELO" || first[0].Verb == "EHLO")
	}
	return false
}

// frontAwaits reports whether a reply still to come decides how the client's
// bytes are read.
func (d *Decoder) frontAwaits() bool {
	if d.lost != awaitNothing {
		return true
	}
	for _, p := range d.pending {
		if p.await != awaitNothing {
			return true
		}
	}
	return false
}

// text returns a line to keep, whole while the session's text stays within
// MaxText, else its first bytes.
func (d *Decoder) text(b []byte) string {
	if d.kept > d.opts.MaxText {
		b = b[:min(len(b), shortLine)]
	}
	d.kept += len(b)
	return string(b)
}

// keep appends content to m.Data up to MaxData, and hands it to the
// Content writer.
func (d *Decoder) keep(m *Message, p []byte) {
	if room := d.opts.MaxData - len(m.Data); room > 0 {
		m.Data = append(m.Data, p[:min(room, len(p))]...)
	}
	if d.content != nil {
		d.content.Write(p)
	}
}

// startContent opens the Content writer for a message, ending any other.
func (d *Decoder) startContent(m *Message) {
	d.endContent()
	c := ContentStart{Message: m, Time: m.Start}
	if c.Time.IsZero() {
		c.Time = d.s.End // DATA's content starts with its next byte: the 354 is the latest news
	}
	if t := d.tx(); t != nil {
		t.Message = m
		c.Transaction, c.MailFrom = d.st.tx+1, t.MailFrom
	}
	if d.opts.Content != nil {
		d.content = d.opts.Content(c)
	}
}

// EventKind says what completed.
type EventKind uint8

// Kinds of event.
const (
	EventTurn  EventKind = iota // a client turn was recorded: Session.Commands[Index]
	EventReply                  // a reply completed: Reply, answering Session.Commands[Index] (-1: the greeting, or a turn not kept)
	EventGap                    // bytes were lost: Gap
)

// Event is one step of the conversation, as Options.OnEvent sees it.
type Event struct {
	Kind     EventKind
	Index    int
	Reply    *Reply
	Greeting bool // the reply is the server's greeting
	Gap      *Gap
}

// Session returns the session being decoded, for callers that show it
// while it goes on; it is complete only once Close returns it.
func (d *Decoder) Session() *Session { return d.s }

func (d *Decoder) event(e Event) {
	if d.opts.OnEvent != nil {
		d.opts.OnEvent(d.s, e)
	}
}

// ContentStart tells an Options.Content consumer which message begins.
type ContentStart struct {
	Message     *Message
	Transaction int    // 1-based index in Session.Transactions; 0 when not kept
	MailFrom    string // the transaction's reverse-path
	Time        time.Time
}

// endContent closes the Content writer of the message that ended.
func (d *Decoder) endContent() {
	if c, ok := d.content.(io.Closer); ok {
		c.Close()
	}
	d.content = nil
}

// looksLikeCommand reports whether p starts like an SMTP command line: a
// verb followed by a separator or the line's end.
func looksLikeCommand(p []byte) bool {
	end := bytes.IndexAny(p, " \t\r\n")
	return end >= 0 && KnownVerb(upperASCII(p[:end]))
}

// startsWithVerb reports whether a line (without its ending) starts with a
// command verb, cut where ParseCommand cuts it.
func startsWithVerb(line []byte) bool {
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		line = line[:i]
	}
	return KnownVerb(upperASCII(line))
}

// KnownVerb reports whether v (upper-case) is a command of SMTP or of a
// common extension: RFC 5321's, AUTH, STARTTLS, BDAT, ETRN, TURN/ATRN, the
// old SEND/SOML/SAML, and Postfix's XCLIENT and XFORWARD.
func KnownVerb(v string) bool {
	switch v {
	case "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "QUIT", "NOOP", "VRFY", "EXPN", "HELP",
		"AUTH", "STARTTLS", "BDAT", "ETRN", "TURN", "ATRN", "SEND", "SOML", "SAML", "XCLIENT", "XFORWARD":
		return true
	}
	return false
}

// asksUsername reports whether a 334 challenge asks for a user name (AUTH
// LOGIN's "VXNlcm5hbWU6"), whose answer is not a secret.
func asksUsername(challenge string) bool {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(challenge))
	if err != nil {
		return false
	}
	return strings.HasPrefix(strings.ToLower(string(b)), "user")
}
