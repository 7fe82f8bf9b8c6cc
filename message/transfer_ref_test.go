package message

// The transfer decoders as they were before they were made faster, kept unchanged (renamed) as
// the reference that TestDecodersMatchReference and FuzzDecoders compare the decoders with: the
// same decoded bytes and the same problems, for valid and malformed input alike.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
)

// refBase64Decoder decodes base64 (RFC 2045 6.8) as far as it is valid: white space is skipped, the
// first byte outside the alphabet (or data after the padding) ends the decoding with a problem,
// and a last group cut short is decoded as far as it goes. encoding/base64's streaming decoder
// is not used because whether it accepts data after padding depends on how its input was cut.
type refBase64Decoder struct {
	out     io.Writer
	in      [4 * 1024]byte // alphabet characters waiting to be decoded, a multiple of 4 when full
	nin     int
	dec     [3 * 1024]byte
	padded  bool  // the padding was seen
	npad    int   // '=' seen
	stopped bool  // decoding ended at a bad byte
	decoded int64 // bytes decoded so far
	probs   []string
}

var refBase64Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

func (d *refBase64Decoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !d.stopped {
		// Line by line: a line of alphabet characters only (the usual case) is copied whole.
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		p = p[len(line):]
		text := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if d.padded || !refAllBase64(text) {
			d.slow(line)
			continue
		}
		for rest := text; len(rest) > 0; {
			c := copy(d.in[d.nin:], rest)
			d.nin += c
			rest = rest[c:]
			if d.nin == len(d.in) {
				d.flush(d.nin)
			}
		}
	}
	return n, nil
}

// refAllBase64 reports whether b holds only characters of the base64 alphabet (no padding).
func refAllBase64(b []byte) bool {
	for _, c := range b {
		if refBase64Index[c] < 0 {
			return false
		}
	}
	return true
}

// slow decodes p byte by byte.
func (d *refBase64Decoder) slow(p []byte) {
	for _, c := range p {
		switch {
		case refBase64Index[c] >= 0 && !d.padded:
			d.in[d.nin] = c
			d.nin++
			if d.nin == len(d.in) {
				d.flush(d.nin)
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c == '=':
			if !d.padded {
				d.padded = true
				if r := d.nin % 4; r < 2 {
					d.stop(fmt.Sprintf("bad base64: padding after %d of 4 characters of a group", r))
					return
				}
				d.complete()
			}
			d.npad++
		default:
			what := fmt.Sprintf("byte 0x%02x", c)
			if c > ' ' && c < 0x7f {
				what = fmt.Sprintf("byte %q", c)
			}
			if d.padded {
				what = "data after the padding"
			}
			d.stop("bad base64: " + what)
			return
		}
	}
}

// flush decodes the first n characters of in (a multiple of 4).
func (d *refBase64Decoder) flush(n int) {
	m, _ := base64.StdEncoding.Decode(d.dec[:], d.in[:n])
	d.write(d.dec[:m])
	copy(d.in[:], d.in[n:d.nin])
	d.nin -= n
}

// complete decodes everything waiting, the last group being short (2 or 3 characters) or whole.
func (d *refBase64Decoder) complete() {
	full := d.nin / 4 * 4
	d.flush(full)
	if d.nin > 0 {
		m, _ := base64.RawStdEncoding.Decode(d.dec[:], d.in[:d.nin])
		d.write(d.dec[:m])
		d.nin = 0
	}
}

func (d *refBase64Decoder) write(b []byte) {
	d.decoded += int64(len(b))
	d.out.Write(b)
}

func (d *refBase64Decoder) stop(problem string) {
	d.complete4()
	d.stopped = true
	d.probs = append(d.probs, fmt.Sprintf("%s after %d decoded bytes; the rest is not decoded", problem, d.decoded))
}

// complete4 decodes the whole groups waiting and drops a partial one.
func (d *refBase64Decoder) complete4() {
	d.flush(d.nin / 4 * 4)
	d.nin = 0
}

func (d *refBase64Decoder) finish() []string {
	if !d.stopped && !d.padded {
		switch d.nin % 4 {
		case 0:
			d.flush(d.nin)
		case 1:
			d.complete4()
			d.probs = append(d.probs, "bad base64: ends with a single character of a group")
		default:
			d.complete()
			d.probs = append(d.probs, "bad base64: last group without padding")
		}
	}
	return d.probs
}

// refQPDecoder decodes quoted-printable (RFC 2045 6.7): "=XX" is a byte (lower-case hex accepted),
// "=" before the line end (spaces and tabs may come between) is a soft line break, spaces and tabs
// before a line end are dropped, line ends are kept as they are (CRLF or LF). A "=" not followed
// by two hex digits is kept as written, with a problem. Unlike mime/quotedprintable it accepts
// lines of any length and control bytes, and goes on after a bad sequence.
type refQPDecoder struct {
	out   io.Writer
	buf   []byte // decoded bytes waiting to be written
	state int
	hex1  byte   // first hex digit after '='
	ws    []byte // spaces and tabs held until we know whether a line end follows
	bad   int    // bad "=" sequences
}

const (
	refQPText   = iota
	refQPEq     // after '='
	refQPEqHex  // after '=' and one hex digit
	refQPEqWS   // after '=' and spaces or tabs
	refQPCR     // after CR (with ws held)
	refQPEqCR   // after '=' [ws] CR
	refMaxQPWS  = 1024
	refQPBufCap = 8 * 1024
)

func refUnhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func (d *refQPDecoder) emit(b ...byte) {
	d.buf = append(d.buf, b...)
	if len(d.buf) >= refQPBufCap {
		d.out.Write(d.buf)
		d.buf = d.buf[:0]
	}
}

func (d *refQPDecoder) flushWS() {
	if len(d.ws) > 0 {
		d.emit(d.ws...)
		d.ws = d.ws[:0]
	}
}

func (d *refQPDecoder) Write(p []byte) (int, error) {
	for _, c := range p {
		d.step(c)
	}
	if len(d.buf) > 0 {
		d.out.Write(d.buf)
		d.buf = d.buf[:0]
	}
	return len(p), nil
}

func (d *refQPDecoder) step(c byte) {
	switch d.state {
	case refQPText:
		switch c {
		case ' ', '\t':
			if len(d.ws) == refMaxQPWS {
				d.flushWS()
			}
			d.ws = append(d.ws, c)
		case '\r':
			d.state = refQPCR
		case '\n':
			d.ws = d.ws[:0]
			d.emit('\n')
		case '=':
			d.flushWS()
			d.state = refQPEq
		default:
			d.flushWS()
			d.emit(c)
		}
	case refQPCR:
		d.state = refQPText
		if c == '\n' {
			d.ws = d.ws[:0]
			d.emit('\r', '\n')
			return
		}
		d.flushWS()
		d.emit('\r')
		d.step(c)
	case refQPEq:
		switch {
		case c == '\n':
			d.state = refQPText
		case c == '\r':
			d.state = refQPEqCR
		case c == ' ' || c == '\t':
			d.ws = append(d.ws, c)
			d.state = refQPEqWS
		default:
			if _, ok := refUnhex(c); ok {
				d.hex1 = c
				d.state = refQPEqHex
				return
			}
			d.bad++
			d.state = refQPText
			d.emit('=')
			d.step(c)
		}
	case refQPEqHex:
		d.state = refQPText
		if lo, ok := refUnhex(c); ok {
			hi, _ := refUnhex(d.hex1)
			d.emit(hi<<4 | lo)
			return
		}
		d.bad++
		d.emit('=', d.hex1)
		d.step(c)
	case refQPEqWS:
		switch c {
		case ' ', '\t':
			if len(d.ws) < refMaxQPWS {
				d.ws = append(d.ws, c)
			}
		case '\r':
			d.ws = d.ws[:0]
			d.state = refQPEqCR
		case '\n':
			d.ws = d.ws[:0]
			d.state = refQPText
		default:
			// "=" then spaces inside a line: keep them as written.
			d.bad++
			d.emit('=')
			d.state = refQPText
			ws := append([]byte(nil), d.ws...)
			d.ws = d.ws[:0]
			for _, w := range ws {
				d.step(w)
			}
			d.step(c)
		}
	case refQPEqCR:
		// "=" CR: a soft line break, with or without the LF.
		d.state = refQPText
		if c != '\n' {
			d.step(c)
		}
	}
}

func (d *refQPDecoder) finish() []string {
	switch d.state {
	case refQPText:
		// Spaces and tabs at the end of the body are trailing white space: dropped.
	case refQPCR:
		d.emit('\r')
	case refQPEqHex:
		d.bad++
		d.emit('=', d.hex1)
	}
	// A "=" (with or without spaces) at the very end is a soft line break.
	if len(d.buf) > 0 {
		d.out.Write(d.buf)
		d.buf = d.buf[:0]
	}
	if d.bad > 0 {
		return []string{fmt.Sprintf("bad quoted-printable: %d \"=\" not followed by two hex digits or a line end, kept as written", d.bad)}
	}
	return nil
}
