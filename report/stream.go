package report

import (
	"fmt"
	"io"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Stream writes sessions turn by turn as they happen, for a live capture:
// each line is written and flushed as soon as it is complete. Lines of
// sessions that overlap in time are told apart by a "[N]" prefix, N being
// the session's number.
type Stream struct {
	t  *Text
	id int64 // the session t.prefix names, when not 0
}

// NewStream returns a Stream writer on w.
func NewStream(w io.Writer, o Options) *Stream {
	t := NewText(w, o)
	t.live = true
	return &Stream{t: t}
}

func (st *Stream) prefix(s *smtpdecode.Session) {
	if st.id != s.ID || st.id == 0 {
		st.id = s.ID
		st.t.prefix = fmt.Sprintf("[%d]", s.ID)
	}
}

// Open writes the line that starts a session.
func (st *Stream) Open(s *smtpdecode.Session) error {
	st.prefix(s)
	fmt.Fprintf(st.t.w, "%s %s\n", st.t.prefix, st.t.paint(bold, fmt.Sprintf("Session %d: %s -> %s at %s", s.ID, s.Client, s.Server, s.Start.UTC().Format(timeLayout))))
	return st.t.w.Flush()
}

// Event writes what just completed in a session.
func (st *Stream) Event(s *smtpdecode.Session, e smtpdecode.Event) error {
	st.prefix(s)
	t := st.t
	switch e.Kind {
	case smtpdecode.EventGap:
		t.line(t.relTime(e.Gap.Time.Sub(s.Start)), nil, side(e.Gap.Dir), t.paint(red, gapText(e.Gap.Bytes)))
	case smtpdecode.EventTurn:
		if e.Index >= 0 && e.Index < len(s.Commands) {
			c := &s.Commands[e.Index]
			t.command(t.relTime(c.Time.Sub(s.Start)), c)
		}
	case smtpdecode.EventReply:
		var lat []byte
		if e.Index >= 0 && e.Index < len(s.Commands) && s.Commands[e.Index].Kind != smtpdecode.KindUnmatched {
			lat = t.latency(e.Reply.Time.Sub(s.Commands[e.Index].Time))
		}
		t.reply(t.relTime(e.Reply.Time.Sub(s.Start)), lat, e.Reply)
	}
	return t.w.Flush()
}

// Close writes how a session ended: its anomalies, what TLS hid, and its
// outcome.
func (st *Stream) Close(s *smtpdecode.Session) error {
	st.prefix(s)
	t := st.t
	for i := range s.Anomalies {
		t.anomaly(&s.Anomalies[i])
	}
	if s.TLS {
		fmt.Fprint(t.w, t.prefix)
		t.tls(s)
	}
	fmt.Fprintf(t.w, "%s %s after %s, %d packets · %s\n", t.prefix, closedText(s.Closed), seconds(s.End.Sub(s.Start)), s.Packets, appendOutcome(t.buf[:0], s, t.o.Color))
	return t.w.Flush()
}
