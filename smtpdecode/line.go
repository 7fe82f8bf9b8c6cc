package smtpdecode

import (
	"bytes"
	"time"
)

// lineBuf frames one direction's bytes into lines. A line split across
// chunks is gathered in buf, which never grows past max bytes: the rest of
// an over-long line is dropped and counted in cut.
type lineBuf struct {
	buf  []byte
	max  int
	cut  int
	last int       // length of the last line returned, before it was cut
	at   time.Time // when the last byte of buf arrived
}

// next returns the first complete line in p, with its LF, and how many bytes
// of p it used. Without an LF in p, the bytes are kept for the next call and
// ok is false. The line is valid until the next call. ts is when p arrived.
func (l *lineBuf) next(p []byte, ts time.Time) (line []byte, n int, ok bool) {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		l.add(p)
		l.at = ts
		return nil, len(p), false
	}
	if len(l.buf) == 0 && l.cut == 0 && i < l.max {
		l.last = i + 1
		return p[:i+1], i + 1, true
	}
	l.add(p[:i+1])
	line = l.buf
	l.last = len(line) + l.cut
	l.buf = l.buf[:0]
	l.cut = 0
	return line, i + 1, true
}

func (l *lineBuf) add(p []byte) {
	room := l.max - len(l.buf)
	if room < len(p) {
		l.cut += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	l.buf = append(l.buf, p...)
}

// flush returns a partial line left at the end of the stream and when its
// last byte arrived, or nil.
func (l *lineBuf) flush() ([]byte, time.Time) {
	if len(l.buf) == 0 {
		return nil, time.Time{}
	}
	line := l.buf
	l.last = len(line) + l.cut
	l.buf = nil
	l.cut = 0
	return line, l.at
}

// reset drops a partial line (after a gap).
func (l *lineBuf) reset() {
	l.buf = l.buf[:0]
	l.cut = 0
}

// dataState is where the message reader is within a line.
type dataState uint8

const (
	dataLineStart dataState = iota // at the start of a line (the zero value: DATA begins a line)
	dataDot                        // a "." began the line
	dataDotCR                      // ".\r" began the line
	dataBody                       // inside a line
)

// messageBytes reads message content from p until the line holding only
// "." (ended by CRLF, or by a bare LF as lenient servers accept). It returns
// how many bytes of p it used and whether the message ended.
func (d *Decoder) messageBytes(p []byte, ts time.Time) (n int, end bool) {
	m := d.msg
	if m.Start.IsZero() {
		m.Start = ts
	}
	m.End = ts
	for n < len(p) {
		switch d.data {
		case dataLineStart:
			if p[n] == '.' {
				d.data = dataDot
				n++
				continue
			}
			d.data = dataBody
		case dataDot:
			switch p[n] {
			case '\r':
				d.data = dataDotCR
				n++
				continue
			case '\n':
				d.flagMessage(AnomalySmuggledDot, ts, "message ended by a \".\" line with a bare LF (%s.<LF>)", d.lineBefore())
				return n + 1, true
			}
			// A stuffed dot: dropped, the line goes on.
			d.data = dataBody
		case dataDotCR:
			if p[n] == '\n' {
				if d.prevBareLF {
					d.flagMessage(AnomalySmuggledDot, ts, "message ended by <LF>.<CR><LF>")
				}
				return n + 1, true
			}
			// ".<CR>" not followed by LF: a bare CR where some servers see
			// the end of the data.
			d.flagMessage(AnomalySmuggledDot, ts, "a \".\" line ended by a bare CR (%s.<CR>)", d.lineBefore())
			m.Bytes++ // the CR after the stuffed dot
			d.lineLen++
			d.keep(m, []byte{'\r'})
			d.data = dataBody
		case dataBody:
			if d.lineLen == 0 {
				if k := d.plainLines(p[n:], ts); k > 0 {
					n += k
					d.data = dataLineStart
					continue
				}
			}
			i := bytes.IndexByte(p[n:], '\n')
			if i < 0 {
				d.textBytes(p[n:])
				m.Bytes += int64(len(p) - n)
				d.prevCR = p[len(p)-1] == '\r'
				return len(p), false
			}
			d.textBytes(p[n : n+i+1])
			bare := (i == 0 && !d.prevCR) || (i > 0 && p[n+i-1] != '\r')
			if bare && !d.again(AnomalyBareLF, FromClient) {
				d.flagMessage(AnomalyBareLF, ts, "line ended with LF alone (in message data)")
			}
			if d.lineLen > maxTextLine && !d.again(AnomalyLineTooLong, FromClient) {
				d.flagMessage(AnomalyLineTooLong, ts, "%d-byte message line, limit %d", d.lineLen, maxTextLine)
			}
			d.prevBareLF, d.prevCR, d.lineLen = bare, false, 0
			m.Bytes += int64(i + 1)
			m.Lines++
			n += i + 1
			d.data = dataLineStart
		}
	}
	return n, false
}

// plainLines takes, from the start of p (a line start past any leading dot),
// the run of whole lines that need nothing but counting: each ends in CRLF
// and is at most maxTextLine bytes, and only the next line after the run may
// start with a dot. It returns the length of the run, 0 if there is none.
//
// This is the path almost all message bytes take: the run is handed to keep
// in one piece and checked for bare CRs and 8-bit bytes in one pass each,
// instead of line by line (see BenchmarkDecoderMessage).
// What it finds is what the line-by-line path would: a bare CR is flagged
// once per message at the same time, and the run stops before any line the
// other checks would flag.
func (d *Decoder) plainLines(p []byte, ts time.Time) int {
	end, lines := 0, 0
	for {
		i := bytes.IndexByte(p[end:], '\n')
		if i < 1 || p[end+i-1] != '\r' || i+1 > maxTextLine {
			break
		}
		end += i + 1
		lines++
		if end == len(p) || p[end] == '.' {
			break
		}
	}
	if end == 0 {
		return 0
	}
	run, m := p[:end], d.msg
	d.keep(m, run)
	if !d.msgBareCR && bytes.Count(run, []byte{'\r'}) != lines {
		d.bareCR()
	}
	d.noteEightBit(run)
	d.prevBareLF, d.prevCR = false, false
	m.Bytes += int64(end)
	m.Lines += int64(lines)
	return end
}

// textBytes notes what a piece of message text holds: 8-bit bytes and its
// line's length.
func (d *Decoder) textBytes(p []byte) {
	d.lineLen += len(p)
	d.keep(d.msg, p)
	if !d.msgBareCR {
		// A CR not followed by LF. A CR that ends a chunk is judged by the
		// next chunk's first byte (prevCR).
		bare := d.prevCR && len(p) > 0 && p[0] != '\n'
		for i := bytes.IndexByte(p, '\r'); !bare && i >= 0 && i+1 < len(p); i = indexFrom(p, i+1, '\r') {
			bare = p[i+1] != '\n'
		}
		if bare {
			d.bareCR()
		}
	}
	d.noteEightBit(p)
}

// bareCR flags the message being received for a CR without LF, once.
func (d *Decoder) bareCR() {
	d.msgBareCR = true
	if !d.again(AnomalyBareCR, FromClient) {
		d.flagMessage(AnomalyBareCR, d.msg.End, "CR without LF inside a line (in message data)")
	}
}

// noteEightBit notes whether message text p makes the message 8-bit.
func (d *Decoder) noteEightBit(p []byte) {
	if !d.msg.EightBit && hasHighBit(p) {
		d.msg.EightBit = true
	}
}

// indexFrom is bytes.IndexByte of p from i, as an index into p, or -1.
func indexFrom(p []byte, i int, c byte) int {
	if j := bytes.IndexByte(p[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// lineBefore names how the line before a "." line ended.
func (d *Decoder) lineBefore() string {
	if d.prevBareLF {
		return "<LF>"
	}
	return "<CR><LF>"
}

// endMessage closes the message being received; a terminated one waits for
// the server's reply.
func (d *Decoder) endMessage(ts time.Time, terminated, answered bool) {
	m := d.msg
	d.msg = nil
	m.End = ts
	m.Terminated = terminated
	d.endContent()
	idx := d.nextIndex()
	if t := d.tx(); t != nil {
		t.MessageBytes = m.Bytes
		d.check8Bit(t, m, idx, ts)
	}
	// Anomalies found in the data concern this turn, known only now.
	for _, i := range d.msgAnomalies {
		d.s.Anomalies[i].Command = idx
	}
	d.msgAnomalies = d.msgAnomalies[:0]
	c := Command{Time: ts, Kind: KindMessage, Message: m}
	if !answered {
		d.add(c)
		return
	}
	d.push(c, awaitNothing)
}

// flagMessage records an anomaly in message data; endMessage points it at
// the message's turn.
func (d *Decoder) flagMessage(id AnomalyID, ts time.Time, format string, args ...any) {
	if i := d.flag(id, FromClient, -1, ts, format, args...); i >= 0 {
		d.msgAnomalies = append(d.msgAnomalies, i)
	}
}
