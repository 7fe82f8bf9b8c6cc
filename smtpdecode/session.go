// Package smtpdecode is the SMTP protocol as seen from the wire: it takes the
// two byte streams of one connection, in any chunking, and gives back the
// conversation — the greeting, every command paired with its reply, message
// data, and where the stream could not be read.
//
// Its input is plain bytes with capture times; it knows nothing of packets.
// It is incremental: memory per session is bounded by Options, whatever the
// size of the messages.
package smtpdecode

import (
	"net/netip"
	"time"
)

// Direction says which side sent bytes.
type Direction uint8

// The two directions.
const (
	FromClient Direction = iota
	FromServer
)

// Closed tells how a connection ended.
type Closed uint8

// How connections end.
const (
	ClosedOpen Closed = iota // still open when the capture ended or was flushed as idle
	ClosedFIN
	ClosedRST
	// ClosedEvicted: still open, flushed because too many connections were
	// open at once (the longest idle go first).
	ClosedEvicted
)

func (c Closed) String() string {
	switch c {
	case ClosedFIN:
		return "fin"
	case ClosedRST:
		return "rst"
	case ClosedEvicted:
		return "evicted"
	}
	return "open"
}

// Conn identifies a connection.
type Conn struct {
	Client, Server netip.AddrPort
	Start          time.Time
}

// Kind says what a client turn is.
type Kind uint8

// Kinds of turn.
const (
	KindCommand      Kind = iota // a command line
	KindAuthResponse             // a line answering a 334 challenge
	KindMessage                  // message content sent after DATA's 354
	KindUnmatched                // no client turn: a reply nothing asked for
)

func (k Kind) String() string {
	switch k {
	case KindAuthResponse:
		return "auth-response"
	case KindMessage:
		return "message"
	case KindUnmatched:
		return "unmatched"
	}
	return "command"
}

// Reply is a server reply, all its lines.
type Reply struct {
	Time time.Time // when its last line arrived (or the connection ended, for a reply cut short)
	Code int       // 0 when the line did not start with a three-digit code
	// Lines holds the text of each line, after the code and separator,
	// without the line ending; a line without a code is kept whole. At most
	// 256 lines are kept: the rest of a longer reply is dropped.
	Lines []string
	// Decoded is a 334 challenge decoded from base64 ("Username:").
	Decoded string
	// Mismatch is set when the lines of a multi-line reply carry different codes.
	Mismatch bool
}

// Message describes the content sent after DATA.
type Message struct {
	Bytes      int64 // dot-unstuffed, without the terminating "."
	Lines      int64
	Start, End time.Time
	Terminated bool // the "." line was seen (for BDAT: the chunk was complete)
	Missing    int64
	EightBit   bool // it held bytes over 127
	// Data is the start of the content, when Options.MaxData asked for it.
	Data []byte
	// Parsed is what the Options.Content consumer made of the message, if
	// it set it; smtpdecode never reads it.
	Parsed any
}

// Command is one client turn and the reply to it.
type Command struct {
	Time    time.Time // when its line (or the message end) arrived
	Kind    Kind
	Verb    string // upper-cased; empty for other kinds
	Arg     string // the rest of the line after the verb and one space
	Line    string // the whole line as sent, without its line ending
	Message *Message
	Reply   *Reply // nil when no reply was seen
	// LostReply is set when a gap in the server's stream may have held the reply.
	LostReply bool
	// Secret is set when Line holds a credential: an AUTH response other
	// than a user name, or an AUTH initial response.
	Secret bool
	// Decoded is the AUTH text this line carries, decoded from base64, when
	// it is not Secret (a user name, a CRAM-MD5 user...).
	Decoded string
}

// Latency is the time from the command to its reply, or 0 without a reply.
func (c *Command) Latency() time.Duration {
	if c.Reply == nil {
		return 0
	}
	return c.Reply.Time.Sub(c.Time)
}

// Gap is a stretch of lost bytes in one direction.
type Gap struct {
	Time  time.Time
	Dir   Direction
	Bytes int // < 0 when unknown
}

// Session is what one connection said.
type Session struct {
	// ID numbers sessions from 1 in order of their first packet; Packets and
	// Sides (how the client side was decided) come from reassembly. The
	// decoder leaves them zero for its caller to set.
	ID      int64
	Packets int
	Sides   string
	// File names the capture the session came from when several were read (the name as
	// given on the command line); "" when there was one.
	File string

	Client, Server netip.AddrPort
	Start, End     time.Time
	Closed         Closed

	Greeting *Reply
	Commands []Command
	Gaps     []Gap

	// TLS is set when the connection turned to TLS (after STARTTLS, or
	// from the start for implicit TLS); TLSBytes counts what followed.
	TLS         bool
	ImplicitTLS bool
	TLSBytes    [2]int64

	Bytes   [2]int64 // bytes each way, indexed by Direction
	Missing [2]int64 // bytes lost each way

	// DroppedCommands counts turns not kept once MaxCommands was reached.
	DroppedCommands int

	Helo         *Helo       // the last HELO or EHLO
	Extensions   []Extension // what the EHLO reply offered (at most 64)
	Auth         *AuthResult // the last AUTH exchange
	StartTLS     bool        // the client asked for STARTTLS and the server said 220
	TLSInfo      TLSInfo     // what the plaintext TLS handshake showed
	Transactions []Transaction
	Anomalies    []Anomaly
	// DroppedAnomalies and DroppedTransactions count what was not kept
	// past the caps (100 anomalies, 1000 transactions).
	DroppedAnomalies    int
	DroppedTransactions int
	// DroppedGaps counts gaps not listed in Gaps past the first 1000
	// (their bytes are still in Missing).
	DroppedGaps int
}

// Helo is the client's HELO or EHLO.
type Helo struct {
	Verb string // "HELO" or "EHLO"
	Name string // the name the client gave
}

// AuthResult is a decoded AUTH exchange and how it ended.
type AuthResult struct {
	Auth
	Command int  // index into Session.Commands of the AUTH command; -1 when not kept
	Code    int  // the final reply's code; 0 when none was seen
	Success bool // the server answered 235
}

// Outcome is how a mail transaction ended.
type Outcome string

// Transaction outcomes.
const (
	OutcomeAccepted   Outcome = "accepted"   // the server took the message (2xx after its end)
	OutcomeRejected   Outcome = "rejected"   // MAIL, every RCPT, DATA or the message was refused
	OutcomeAborted    Outcome = "aborted"    // RSET, a new MAIL or QUIT before the message ended
	OutcomeUnfinished Outcome = "unfinished" // the connection ended (or turned to TLS) first
)

// Recipient is one RCPT TO and the server's answer.
type Recipient struct {
	Address string
	Params  []Param
	Code    int // 0 when no reply was seen
}

// Transaction is one mail transaction: MAIL, its recipients and the message.
type Transaction struct {
	MailFrom   string // "" for the null reverse-path <>
	MailParams []Param
	MailCode   int
	Rcpts      []Recipient // at most 1000 kept
	// DataCode is the reply to DATA (354, or a refusal); 0 for BDAT.
	DataCode int
	// FinalCode is the reply to the end of the message: after DATA's "."
	// or BDAT LAST (or a refusal that ended the transaction early).
	FinalCode    int
	QueueID      string
	MessageBytes int64
	EightBit     bool // the message held bytes over 127
	Outcome      Outcome
	Command      int // index into Session.Commands of its MAIL; -1 when not kept
	// Message is the message's content description: DATA's, or the first
	// BDAT chunk's (the one Options.Content was called with); nil when no
	// content was sent.
	Message *Message
}

// Accepted counts the recipients the server took (2xx).
func (t *Transaction) Accepted() int {
	n := 0
	for _, r := range t.Rcpts {
		if r.Code >= 200 && r.Code < 300 {
			n++
		}
	}
	return n
}
