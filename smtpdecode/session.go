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
)

func (c Closed) String() string {
	switch c {
	case ClosedFIN:
		return "fin"
	case ClosedRST:
		return "rst"
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
}

// Message describes the content sent after DATA.
type Message struct {
	Bytes      int64 // dot-unstuffed, without the terminating "."
	Lines      int64
	Start, End time.Time
	Terminated bool // the "." line was seen
	Missing    int64
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
}
