package smtpdecode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// What the decoder keeps besides framing: the session's meaning, built as
// turns and replies complete. State moves on each (command, reply) pair, not
// on a guess of where the client should be, so it recovers after gaps.

// Caps on what a session keeps.
const (
	maxTransactions = 1000
	maxRecipients   = 1000
	maxAuthTurns    = 32
	maxCommandLine  = 512 // RFC 5321 4.5.3.1.4, with CRLF
	// maxAuthLine bounds an AUTH response line (RFC 4954 4: 12288 octets
	// suffice for deployed mechanisms; OAuth tokens run past 512). The
	// AUTH command itself, initial response included, keeps the 512 limit.
	maxAuthLine  = 12288
	maxReplyLine = 512  // RFC 5321 4.5.3.1.5
	maxTextLine  = 1000 // RFC 5321 4.5.3.1.6
)

// sessionState is the decoder's view of the protocol state.
type sessionState struct {
	tx   int // current transaction in Session.Transactions; -1 when none
	auth *authState
	quit bool // the client sent QUIT
	// helo is set when a HELO or EHLO was sent and not refused: its reply
	// may still be owed (pipelined) or lost in a gap.
	helo  bool
	rcpts int // recipients kept in all transactions, at most MaxCommands
}

// authState gathers an AUTH exchange until its final reply.
type authState struct {
	arg       string
	cmd       int
	turns     []AuthTurn
	responses []int // command index of each client turn, in order
}

// nextIndex is the index the next kept turn will have, or -1.
func (d *Decoder) nextIndex() int {
	if len(d.s.Commands) >= d.opts.MaxCommands {
		return -1
	}
	return len(d.s.Commands)
}

// tx returns the current transaction, or nil.
func (d *Decoder) tx() *Transaction {
	if d.st.tx < 0 || d.st.tx >= len(d.s.Transactions) {
		return nil
	}
	return &d.s.Transactions[d.st.tx]
}

// endTx ends the current transaction, if it has no outcome yet, with o
// (or as rejected, when every recipient was refused).
func (d *Decoder) endTx(o Outcome) {
	if t := d.tx(); t != nil && t.Outcome == "" {
		t.Outcome = o
		if rcptsRefused(t) {
			t.Outcome = OutcomeRejected
		}
	}
	d.st.tx = -1
}

// rcptsRefused reports whether a transaction had recipients and the server
// refused every one.
func rcptsRefused(t *Transaction) bool {
	for _, r := range t.Rcpts {
		if r.Code < 400 {
			return false
		}
	}
	return len(t.Rcpts) > 0
}

// lineAnomalies checks one line's ending and length. line includes its ending;
// n is its length before MaxLine cut it.
func (d *Decoder) lineAnomalies(dir Direction, line []byte, n, limit, cmd int, ts time.Time) {
	raw := trimEOL(line)
	if bytes.HasSuffix(line, []byte{'\n'}) && !bytes.HasSuffix(line, []byte("\r\n")) {
		d.flag(AnomalyBareLF, dir, cmd, ts, "line ended with LF alone")
	}
	if bytes.IndexByte(raw, '\r') >= 0 {
		d.flag(AnomalyBareCR, dir, cmd, ts, "CR without LF inside a line")
	}
	if n > limit && !d.again(AnomalyLineTooLong, dir) {
		d.flag(AnomalyLineTooLong, dir, cmd, ts, "%d-byte line, limit %d", n, limit)
	}
}

// onCommand updates the session for a client line about to be pushed as
// turn idx. owed is how many replies were still owed when it arrived.
func (d *Decoder) onCommand(c *Command, idx, owed int, line []byte, n int) {
	s := d.s
	// A line cut by MaxLine or by a gap has lost its end: its address is
	// not checked.
	whole := !d.torn && n <= len(line)
	limit := maxCommandLine
	if c.Kind == KindAuthResponse {
		limit = maxAuthLine
	}
	d.lineAnomalies(FromClient, line, n, limit, idx, c.Time)
	if d.st.quit && !d.again(AnomalyDataAfterQuit, FromClient) {
		d.flag(AnomalyDataAfterQuit, FromClient, idx, c.Time, "%q after QUIT", firstWord(c.Line))
	}
	if c.Kind == KindAuthResponse {
		if a := d.st.auth; a != nil && len(a.turns) < maxAuthTurns {
			a.turns = append(a.turns, AuthTurn{Text: c.Line})
			a.responses = append(a.responses, idx)
		}
		return
	}
	if owed > 0 && s.Greeting != nil && !s.Offers("PIPELINING") && !d.again(AnomalyPipeliningNotOffered, FromClient) {
		d.flag(AnomalyPipeliningNotOffered, FromClient, idx, c.Time, "%s sent while %d repl%s owed", c.Verb, owed, plural(owed, "y was", "ies were"))
	}
	if hasHighBit([]byte(c.Line)) && !s.Offers("SMTPUTF8") && !d.again(AnomalyNonASCIICommand, FromClient) {
		d.flag(AnomalyNonASCIICommand, FromClient, idx, c.Time, "non-ASCII bytes in %s without SMTPUTF8", c.Verb)
	}
	switch c.Verb {
	case "HELO", "EHLO":
		d.endTx(OutcomeAborted) // RFC 5321 4.1.4: HELO/EHLO reset the state
		d.st.helo = true
	case "MAIL":
		d.endTx(OutcomeAborted)
		if s.Helo == nil && !d.st.helo && s.Greeting != nil {
			d.flag(AnomalyMailBeforeHelo, FromClient, idx, c.Time, "MAIL before HELO/EHLO")
		}
		t := Transaction{Command: idx}
		t.MailFrom, t.MailParams = d.path(c, idx, "FROM", whole)
		if len(s.Transactions) < maxTransactions {
			s.Transactions = append(s.Transactions, t)
			d.st.tx = len(s.Transactions) - 1
		} else {
			s.DroppedTransactions++
		}
	case "RCPT":
		addr, params := d.path(c, idx, "TO", whole)
		if t := d.tx(); t != nil && len(t.Rcpts) < maxRecipients && d.st.rcpts < d.opts.MaxCommands {
			d.st.rcpts++
			t.Rcpts = append(t.Rcpts, Recipient{Address: addr, Params: params})
		}
	case "BDAT":
		if s.Helo != nil && !s.Offers("CHUNKING") {
			d.flag(AnomalyBDATNotOffered, FromClient, idx, c.Time, "BDAT without CHUNKING")
		}
	case "AUTH":
		if s.Helo != nil && !s.Offers("AUTH") {
			d.flag(AnomalyAuthNotOffered, FromClient, idx, c.Time, "AUTH without an AUTH extension")
		}
		d.st.auth = &authState{arg: c.Arg, cmd: idx}
	case "RSET":
		d.endTx(OutcomeAborted)
	case "QUIT":
		d.endTx(OutcomeAborted)
		d.st.quit = true
	}
}

// path parses the path of MAIL (keyword FROM) or RCPT (TO) and flags what
// is malformed in it, unless the line was cut (not whole).
func (d *Decoder) path(c *Command, idx int, keyword string, whole bool) (string, []Param) {
	addr, params, problems, ok := ParsePath(c.Arg, keyword)
	if !whole {
		return addr, params
	}
	if !ok {
		d.flag(AnomalyMalformedAddress, FromClient, idx, c.Time, "%s without %s:", c.Verb, keyword)
	}
	for _, p := range problems {
		d.flag(AnomalyMalformedAddress, FromClient, idx, c.Time, "%s %s: %s", c.Verb, keyword, p)
	}
	return addr, params
}

// onReply updates the session for a reply to the pending turn p.
func (d *Decoder) onReply(p pending, r *Reply) {
	s := d.s
	var c *Command
	if p.idx >= 0 {
		c = &s.Commands[p.idx]
	}
	t := d.txAt(p.tx)
	switch {
	case p.kind == KindAuthResponse || p.verb == "AUTH":
		d.authReply(r)
	case p.kind == KindMessage:
		if t != nil {
			t.FinalCode = r.Code
			t.QueueID = QueueID(firstLine(r))
			t.Outcome = outcomeOf(r.Code)
		}
	}
	switch p.verb {
	case "HELO", "EHLO":
		if r.Code < 200 || r.Code >= 300 {
			d.st.helo = s.Helo != nil
		}
		if r.Code >= 200 && r.Code < 300 && c != nil {
			s.Helo = &Helo{Verb: p.verb, Name: firstWord(c.Arg)}
			s.Extensions = nil
			if p.verb == "EHLO" && len(r.Lines) > 1 {
				s.Extensions = ParseExtensions(r.Lines[1:])
			}
		}
	case "MAIL":
		if t != nil {
			t.MailCode = r.Code
			if r.Code >= 400 {
				t.Outcome = OutcomeRejected
			}
		}
	case "RCPT":
		if t != nil && p.rcpt >= 0 && p.rcpt < len(t.Rcpts) {
			t.Rcpts[p.rcpt].Code = r.Code
			// RSET or QUIT may have been pipelined before the replies.
			if t.Outcome == OutcomeAborted && rcptsRefused(t) {
				t.Outcome = OutcomeRejected
			}
		}
	case "DATA":
		if t != nil {
			t.DataCode = r.Code
			if r.Code != 354 {
				t.FinalCode = r.Code
				t.Outcome = OutcomeRejected
			}
		}
	case "BDAT":
		if t != nil {
			if c != nil && c.Message != nil {
				t.MessageBytes += c.Message.Bytes
				d.check8Bit(t, c.Message, p.idx, r.Time)
			}
			last := c != nil && strings.Contains(strings.ToUpper(c.Arg), "LAST")
			if r.Code >= 400 || last {
				t.FinalCode = r.Code
				t.QueueID = QueueID(firstLine(r))
				t.Outcome = outcomeOf(r.Code)
			}
		}
	case "STARTTLS":
		if r.Code == 220 {
			s.StartTLS = true
			d.endTx(OutcomeUnfinished)
		}
	}
}

// check8Bit notes 8-bit message content in its transaction and flags it
// when MAIL did not declare it (RFC 6152: BODY=8BITMIME; BINARYMIME and
// SMTPUTF8 allow it too). Flagged once per transaction.
func (d *Decoder) check8Bit(t *Transaction, m *Message, idx int, ts time.Time) {
	if !m.EightBit || t.EightBit {
		return
	}
	t.EightBit = true
	body, _ := paramValue(t.MailParams, "BODY")
	_, utf8 := paramValue(t.MailParams, "SMTPUTF8")
	if !utf8 && !strings.EqualFold(body, "8BITMIME") && !strings.EqualFold(body, "BINARYMIME") {
		d.flag(Anomaly8BitWithout8BitMIME, FromClient, idx, ts, "8-bit message data without BODY=8BITMIME")
	}
}

// txAt returns transaction i, or nil.
func (d *Decoder) txAt(i int) *Transaction {
	if i < 0 || i >= len(d.s.Transactions) {
		return nil
	}
	return &d.s.Transactions[i]
}

func outcomeOf(code int) Outcome {
	if code >= 200 && code < 300 {
		return OutcomeAccepted
	}
	return OutcomeRejected
}

// authReply follows an AUTH exchange: a 334 is one more challenge; any other
// reply ends it.
func (d *Decoder) authReply(r *Reply) {
	a := d.st.auth
	if a == nil {
		return
	}
	if r.Code == 334 {
		if b, ok := authBase64(firstLine(r)); ok {
			r.Decoded = string(b)
		}
		if len(a.turns) < maxAuthTurns {
			a.turns = append(a.turns, AuthTurn{FromServer: true, Text: firstLine(r)})
		}
		return
	}
	d.finishAuth(r.Code, r.Time)
}

// finishAuth decodes the AUTH exchange and marks which lines hold secrets.
func (d *Decoder) finishAuth(code int, ts time.Time) {
	a := d.st.auth
	d.st.auth = nil
	if a == nil {
		return
	}
	res := &AuthResult{Auth: DecodeAuth(a.arg, a.turns), Command: a.cmd, Code: code, Success: code == 235}
	d.s.Auth = res
	if res.Undecodable {
		// Flag the side that sent it: a challenge or a response.
		var seen [2]bool
		for _, st := range res.Steps {
			dir, what := FromClient, "a response"
			if st.FromServer {
				dir, what = FromServer, "a challenge"
			}
			if st.Undecodable && !seen[dir] {
				seen[dir] = true
				d.flag(AnomalyUndecodableBase64, dir, a.cmd, ts, "AUTH %s: %s is not valid base64", res.Mechanism, what)
			}
		}
	}
	// Steps: the initial response (if any), then the turns in order.
	steps := res.Steps
	if len(steps) > len(a.turns) {
		if a.cmd >= 0 {
			d.s.Commands[a.cmd].Secret = steps[0].Secret
			if !steps[0].Secret {
				d.s.Commands[a.cmd].Decoded = steps[0].Decoded
			}
		}
		steps = steps[1:]
	}
	ci := 0
	for i, st := range steps {
		if i >= len(a.turns) {
			break
		}
		if st.FromServer {
			continue
		}
		if ci < len(a.responses) {
			if idx := a.responses[ci]; idx >= 0 {
				c := &d.s.Commands[idx]
				c.Secret = st.Secret
				c.Decoded = ""
				if !st.Secret {
					c.Decoded = st.Decoded
				}
			}
		}
		ci++
	}
}

// onClose settles what the end of the connection leaves open.
func (d *Decoder) onClose(ts time.Time) {
	s := d.s
	if d.st.auth != nil {
		d.finishAuth(0, ts)
	}
	for i := range s.Transactions {
		if t := &s.Transactions[i]; t.Outcome == "" {
			t.Outcome = OutcomeUnfinished
			if rcptsRefused(t) {
				t.Outcome = OutcomeRejected
			}
		}
	}
	for i := range s.Commands {
		c := &s.Commands[i]
		switch {
		case c.Kind == KindMessage && !c.Message.Terminated:
			d.flag(AnomalyMessageUnterminated, FromClient, i, ts, "%d bytes of message without its end", c.Message.Bytes)
		case c.Verb == "BDAT" && c.Message != nil && !c.Message.Terminated:
			d.flag(AnomalyMessageUnterminated, FromClient, i, ts, "BDAT chunk cut short after %d bytes", c.Message.Bytes)
		case c.Reply == nil && !c.LostReply && c.Kind != KindUnmatched && !(c.Kind == KindMessage && !c.Message.Terminated) && s.Closed != ClosedOpen && s.Closed != ClosedEvicted:
			// A connection still open when the capture ended may have
			// its reply after the end: only a closed one is flagged.
			d.flag(AnomalyUnansweredCommand, FromServer, i, ts, "no reply to %s", turnName(c))
		}
	}
	if s.Closed == ClosedRST && !d.quitAnswered() && !s.TLS {
		// Many MTAs reset after QUIT's 221: that reset loses nothing. Under
		// TLS the QUIT cannot be seen, so nothing can be said.
		d.flag(AnomalyConnectionReset, FromClient, -1, ts, "the connection was reset before QUIT was answered")
	}
	for dir := FromClient; dir <= FromServer; dir++ {
		n, unknown := 0, false
		var first time.Time
		for _, g := range s.Gaps {
			if g.Dir != dir {
				continue
			}
			if n == 0 {
				first = g.Time
			}
			n++
			unknown = unknown || g.Bytes < 0
		}
		if n == 0 {
			continue
		}
		what := fmt.Sprintf("%d bytes lost", s.Missing[dir])
		if unknown {
			what = "bytes lost (how many is not known)"
		}
		if n > 1 {
			what += fmt.Sprintf(" in %d gaps", n)
		}
		if s.DroppedGaps > 0 {
			what += fmt.Sprintf(" (and %d more gaps not listed)", s.DroppedGaps)
		}
		d.flag(AnomalyGap, dir, -1, first, "%s", what)
		if k := len(s.Anomalies) - 1; k >= 0 && s.Anomalies[k].ID == AnomalyGap && s.Anomalies[k].Dir == dir {
			s.Anomalies[k].Count = n
		}
	}
	if s.TLS {
		s.TLSInfo = d.tls.Info()
	}
}

// quitAnswered reports whether a QUIT got its 221.
func (d *Decoder) quitAnswered() bool {
	for i := range d.s.Commands {
		if c := &d.s.Commands[i]; c.Verb == "QUIT" && c.Reply != nil && c.Reply.Code == 221 {
			return true
		}
	}
	return false
}

// turnName names a turn in anomaly details.
func turnName(c *Command) string {
	switch c.Kind {
	case KindMessage:
		return "the message"
	case KindAuthResponse:
		return "an AUTH response"
	}
	return c.Verb
}

func firstLine(r *Reply) string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return w
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// hasHighBit reports whether p holds a byte over 127.
func hasHighBit(p []byte) bool {
	// Four words at a time: every message byte passes here until one is
	// 8-bit, and the loop bound was the cost (BenchmarkHasHighBit).
	for len(p) >= 32 {
		w := binary.LittleEndian.Uint64(p) | binary.LittleEndian.Uint64(p[8:]) |
			binary.LittleEndian.Uint64(p[16:]) | binary.LittleEndian.Uint64(p[24:])
		if w&0x8080808080808080 != 0 {
			return true
		}
		p = p[32:]
	}
	for len(p) >= 8 {
		if binary.LittleEndian.Uint64(p)&0x8080808080808080 != 0 {
			return true
		}
		p = p[8:]
	}
	for _, c := range p {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
