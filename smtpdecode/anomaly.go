package smtpdecode

import (
	"fmt"
	"time"
)

// AnomalyID names a kind of protocol violation. The set is closed: Anomalies
// lists every one with the RFC text it rests on.
type AnomalyID string

// The anomalies smtpdecode reports.
const (
	AnomalyBareLF                AnomalyID = "bare-lf"
	AnomalyBareCR                AnomalyID = "bare-cr"
	AnomalyLineTooLong           AnomalyID = "line-too-long"
	AnomalyCommandBeforeGreeting AnomalyID = "command-before-greeting"
	AnomalyMailBeforeHelo        AnomalyID = "mail-before-helo"
	AnomalyAuthNotOffered        AnomalyID = "auth-not-offered"
	AnomalyPipeliningNotOffered  AnomalyID = "pipelining-not-offered"
	AnomalyBDATNotOffered        AnomalyID = "bdat-not-offered"
	Anomaly8BitWithout8BitMIME   AnomalyID = "8bit-without-8bitmime"
	AnomalyNonASCIICommand       AnomalyID = "non-ascii-command"
	AnomalyMalformedAddress      AnomalyID = "malformed-address"
	AnomalyUnmatchedReply        AnomalyID = "unmatched-reply"
	AnomalyUnansweredCommand     AnomalyID = "unanswered-command"
	AnomalyInvalidReplyCode      AnomalyID = "invalid-reply-code"
	AnomalyReplyCodeMismatch     AnomalyID = "reply-code-mismatch"
	AnomalyUndecodableBase64     AnomalyID = "undecodable-base64"
	AnomalyMessageUnterminated   AnomalyID = "message-unterminated"
	AnomalySmuggledDot           AnomalyID = "smuggled-dot"
	AnomalyDataAfterQuit         AnomalyID = "data-after-quit"
	AnomalyConnectionReset       AnomalyID = "connection-reset"
	AnomalyGap                   AnomalyID = "gap"
	AnomalyStartTLSInjection     AnomalyID = "starttls-injection"
)

// AnomalyKind documents one AnomalyID.
type AnomalyKind struct {
	ID   AnomalyID
	RFC  string // where the rule is written
	What string // what was seen
}

// Anomalies lists every anomaly smtpdecode reports, in the order README.md
// documents them.
var Anomalies = []AnomalyKind{
	{AnomalyBareLF, "RFC 5321 2.3.8", "a line ended with LF alone instead of CRLF"},
	{AnomalyBareCR, "RFC 5321 2.3.8", "a CR not followed by LF inside a line"},
	{AnomalyLineTooLong, "RFC 5321 4.5.3.1", "a command line over 512 bytes, a reply line over 512, or a message text line over 1000 (with CRLF)"},
	{AnomalyCommandBeforeGreeting, "RFC 5321 3.1, 4.3.1", "the client spoke before the server's greeting"},
	{AnomalyMailBeforeHelo, "RFC 5321 4.1.4", "MAIL before any HELO or EHLO"},
	{AnomalyAuthNotOffered, "RFC 4954 4", "AUTH without an AUTH extension in the EHLO reply"},
	{AnomalyPipeliningNotOffered, "RFC 2920 3.1", "a command sent while a reply was still owed, without PIPELINING"},
	{AnomalyBDATNotOffered, "RFC 3030 2", "BDAT without CHUNKING in the EHLO reply"},
	{Anomaly8BitWithout8BitMIME, "RFC 6152 3, RFC 5321 2.4", "8-bit message data without BODY=8BITMIME (or BINARYMIME, SMTPUTF8) on MAIL"},
	{AnomalyNonASCIICommand, "RFC 5321 2.4, RFC 6531 3.3", "a command with non-ASCII bytes without SMTPUTF8 offered"},
	{AnomalyMalformedAddress, "RFC 5321 4.1.2", "a MAIL or RCPT path that is not <local@domain> (no brackets, space after the colon, no @)"},
	{AnomalyUnmatchedReply, "RFC 5321 4.2", "a reply no command was waiting for"},
	{AnomalyUnansweredCommand, "RFC 5321 4.2", "a command that got no reply before the connection closed (one still open at the end of the capture is not flagged)"},
	{AnomalyInvalidReplyCode, "RFC 5321 4.2", "a reply line that does not start with a valid three-digit code"},
	{AnomalyReplyCodeMismatch, "RFC 5321 4.2.1", "the lines of one multi-line reply carry different codes"},
	{AnomalyUndecodableBase64, "RFC 4954 4", "an AUTH challenge or response that is not valid base64"},
	{AnomalyMessageUnterminated, "RFC 5321 4.1.1.4, RFC 3030 2", "message data that never reached its end (the \".\" line or BDAT LAST)"},
	{AnomalySmuggledDot, "RFC 5321 4.1.1.4", "a \".\" line ended or preceded by a bare LF inside message data: an SMTP smuggling attempt"},
	{AnomalyDataAfterQuit, "RFC 5321 4.1.1.10", "the client sent more after QUIT"},
	{AnomalyConnectionReset, "RFC 5321 3.8", "the connection ended with a TCP reset before QUIT was answered (not flagged under TLS, where QUIT cannot be seen)"},
	{AnomalyGap, "", "bytes lost from the capture"},
	{AnomalyStartTLSInjection, "RFC 3207 4.2, CVE-2011-0411", "plaintext the client sent after STARTTLS before the server's 220 (a server that buffers it would run it inside TLS)"},
}

// Anomaly is one protocol violation seen in a session.
type Anomaly struct {
	ID      AnomalyID
	Dir     Direction // the side that broke the rule
	Detail  string
	Command int // index into Session.Commands of the turn it concerns; -1 when none
	Time    time.Time
	// Count is how many times it was seen. Line-level anomalies (line
	// endings, long lines, non-ASCII, gaps, pipelining) are reported once
	// per side with their count.
	Count int
}

// maxAnomalies is how many anomalies a session keeps; later ones are
// counted in Session.DroppedAnomalies.
const maxAnomalies = 100

// counted reports whether repeats of an anomaly from one side are counted
// on the first one rather than listed.
func counted(id AnomalyID) bool {
	switch id {
	case AnomalyBareLF, AnomalyBareCR, AnomalyLineTooLong, AnomalyNonASCIICommand,
		AnomalyGap, AnomalyPipeliningNotOffered, Anomaly8BitWithout8BitMIME, AnomalyDataAfterQuit:
		return true
	}
	return false
}

// again counts one more occurrence of a counted anomaly already recorded
// for that side, and reports whether it did. Call sites of counted
// anomalies try it first, so repeats cost no formatting.
func (d *Decoder) again(id AnomalyID, dir Direction) bool {
	for i := range d.s.Anomalies {
		if a := &d.s.Anomalies[i]; a.ID == id && a.Dir == dir {
			a.Count++
			return true
		}
	}
	return false
}

// flag records an anomaly and returns its index in Session.Anomalies, or -1
// when it was counted on an earlier one or not kept.
func (d *Decoder) flag(id AnomalyID, dir Direction, cmd int, ts time.Time, format string, args ...any) int {
	s := d.s
	if counted(id) && d.again(id, dir) {
		return -1
	}
	if len(s.Anomalies) >= maxAnomalies {
		s.DroppedAnomalies++
		return -1
	}
	detail := format
	if len(args) > 0 {
		detail = fmt.Sprintf(format, args...)
	}
	s.Anomalies = append(s.Anomalies, Anomaly{ID: id, Dir: dir, Detail: detail, Command: cmd, Time: ts, Count: 1})
	return len(s.Anomalies) - 1
}
