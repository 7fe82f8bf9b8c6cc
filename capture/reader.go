// Package capture owns reading packet capture files: it recognises pcap and
// pcapng streams (optionally gzip-compressed) by their magic bytes and hands
// out each packet's bytes with its link type, interface and timestamp. It knows
// nothing about the protocols inside the packets.
package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// LinkType is a pcap/pcapng LINKTYPE_ value.
type LinkType uint32

// Link types with names here; any other value is passed through as read.
const (
	LinkNull      LinkType = 0   // BSD loopback, host byte order AF_ value
	LinkEthernet  LinkType = 1   // Ethernet II / 802.3
	LinkRaw       LinkType = 101 // raw IPv4/IPv6
	LinkLoop      LinkType = 108 // OpenBSD loopback, network byte order
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// String returns the libpcap DLT name of the link type ("EN10MB",
// "LINUX_SLL2", ...) or "LINKTYPE_n" for one without a name here.
func (t LinkType) String() string {
	switch t {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "EN10MB"
	case LinkRaw:
		return "RAW"
	case LinkLoop:
		return "LOOP"
	case LinkLinuxSLL:
		return "LINUX_SLL"
	case LinkIPv4:
		return "IPV4"
	case LinkIPv6:
		return "IPV6"
	case LinkLinuxSLL2:
		return "LINUX_SLL2"
	}
	return "LINKTYPE_" + strconv.FormatUint(uint64(t), 10)
}

// Packet is one captured packet. Data is valid until the next call to Next.
type Packet struct {
	Data      []byte    // captured bytes (may be shorter than Length: snap length)
	Length    int       // original length on the wire
	Time      time.Time // capture time (UTC)
	LinkType  LinkType
	Interface int   // pcapng interface index within its section; 0 for pcap
	Offset    int64 // byte offset of the packet's record/block in the (decompressed) input
}

// Sentinel errors wrapped by *FormatError.
var (
	// ErrNotCapture means the input starts with neither a pcap, a pcapng nor
	// a gzip magic number.
	ErrNotCapture = errors.New("capture: not a pcap or pcapng file")
	// ErrTruncated means the input ends inside a header, record or block.
	ErrTruncated = errors.New("capture: truncated input")
)

// FormatError reports input that is not a readable capture. Its message is one
// line: "<name>: offset <n>: <what>", with " (decompressed)" after the offset
// when the input was gzip-compressed.
type FormatError struct {
	Name   string // input name as given to Open or NewReader
	Offset int64  // offset of the offending record or block (decompressed)
	Gzip   bool   // the input was gzip-compressed
	Err    error  // what is wrong
}

func (e *FormatError) Error() string {
	gz := ""
	if e.Gzip {
		gz = " (decompressed)"
	}
	return fmt.Sprintf("%s: offset %d%s: %v", e.Name, e.Offset, gz, e.Err)
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// detailError is a message that wraps a sentinel (or the cause) without
// repeating its text.
type detailError struct {
	msg string
	err error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.err }

const (
	bufSize   = 64 << 10 // bufio size and largest single read into the packet buffer
	maxPacket = 16 << 20 // largest packet or block accepted
)

type format int

const (
	formatPcap format = iota
	formatPcapNano
	formatPcapng
)

// Reader reads packets from a pcap or pcapng stream, optionally
// gzip-compressed; the format is chosen by magic bytes, never by file name.
type Reader struct {
	name   string
	file   *os.File // closed by Close; nil unless Open opened it
	br     *bufio.Reader
	ahead  []*prefetcher // reading the source ahead, and decompressing it ahead
	gzip   bool
	format format
	off    int64    // bytes consumed from br
	err    error    // sticky error returned by Next
	hdr    [24]byte // record and block headers
	buf    []byte   // packet or block contents, reused
	pcap   pcapState
	ng     ngState
}

// Open opens the named capture file; "-" means standard input, which Close
// leaves open. A file that cannot be opened gives the *os.PathError.
func Open(name string) (*Reader, error) {
	if name == "-" {
		return NewReader(os.Stdin, "<stdin>")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, name)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReader reads a capture from src, reading its file header before it
// returns. name is used in errors.
func NewReader(src io.Reader, name string) (*Reader, error) {
	r := &Reader{name: name}
	r.br = bufio.NewReaderSize(r.prefetch(src), bufSize)
	magic, err := r.br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		r.gzip = true
		zr, err := gzip.NewReader(r.br)
		if err != nil {
			r.Close()
			return nil, r.readError(err)
		}
		r.br = bufio.NewReaderSize(r.prefetch(zr), bufSize)
	}
	magic, err = r.br.Peek(8)
	if err != nil && err != io.EOF {
		r.Close()
		return nil, r.readError(err)
	}
	switch {
	case len(magic) == 0:
		r.Close()
		return nil, r.errorf(0, ErrNotCapture, "not a pcap or pcapng file (empty input)")
	case len(magic) >= 4 && isPcapMagic(magic):
		err = r.readPcapHeader()
	case len(magic) >= 4 && bytes.Equal(magic[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		r.format = formatPcapng
		err = r.readFirstSection()
	default:
		r.Close()
		return nil, r.errorf(0, ErrNotCapture, "not a pcap or pcapng file (starts with %q)", magic)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// prefetch returns src read ahead on a goroutine that Close stops.
func (r *Reader) prefetch(src io.Reader) io.Reader {
	p := newPrefetcher(src)
	r.ahead = append(r.ahead, p)
	return p
}

// Next returns the next packet. It returns io.EOF at a clean end of input and
// a *FormatError for anything else; after an error every call returns it again.
func (r *Reader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	var p Packet
	var err error
	if r.format == formatPcapng {
		p, err = r.nextPcapng()
	} else {
		p, err = r.nextPcap()
	}
	if err != nil {
		r.err = err
		return Packet{}, err
	}
	return p, nil
}

// Format names the input format: "pcap", "pcap (nanosecond)" or "pcapng",
// followed by " gzip" when the input is compressed.
func (r *Reader) Format() string {
	s := [...]string{"pcap", "pcap (nanosecond)", "pcapng"}[r.format]
	if r.gzip {
		s += " gzip"
	}
	return s
}

// Offset returns the number of (decompressed) input bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Close stops reading ahead and closes the file that Open opened; a reader
// given to NewReader is left open, and may still be in one Read call, from
// which it is not read again.
func (r *Reader) Close() error {
	for _, p := range r.ahead {
		p.Close()
	}
	f := r.file
	r.file = nil
	if f == nil {
		return nil
	}
	return f.Close()
}

// errorf returns a *FormatError at off whose text is the formatted message and
// which wraps sentinel (if not nil).
func (r *Reader) errorf(off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Name: r.name, Offset: off, Gzip: r.gzip,
		Err: &detailError{msg: fmt.Sprintf(format, args...), err: sentinel}}
}

// readError turns a failed read from the source or the decompressor (anything
// but io.EOF) into a *FormatError at the current offset.
func (r *Reader) readError(err error) error {
	switch {
	case !r.gzip:
		return &FormatError{Name: r.name, Offset: r.off, Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return r.errorf(r.off, ErrTruncated, "truncated gzip stream")
	default:
		return r.errorf(r.off, err, "bad gzip stream: %v", err)
	}
}

// read fills b from the input, returning how many bytes it got. The error is
// io.EOF if the input ended first, or whatever else the source returned.
func (r *Reader) read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.br.Read(b[n:])
		n += m
		if err != nil {
			r.off += int64(n)
			return n, err
		}
	}
	r.off += int64(n)
	return n, nil
}

// readHeader reads the rest of the header b of the record or block starting
// at start, of which the first have bytes are already in b. It returns io.EOF
// if the input ends cleanly before the record's first byte.
func (r *Reader) readHeader(b []byte, have int, start int64, what string) error {
	n, err := r.read(b[have:])
	n += have
	switch {
	case err == nil:
		return nil
	case err != io.EOF:
		return r.readError(err)
	case n == 0:
		return io.EOF
	}
	return r.errorf(start, ErrTruncated, "truncated %s: %d of %d bytes", what, n, len(b))
}

// fill reads the n bytes of a record or block body into r.buf and returns
// them. The buffer grows only as bytes arrive, never to a size merely claimed,
// so a huge length in a short input costs no memory. On a short input the
// error reports got+base of n+base bytes for the record at start.
func (r *Reader) fill(n int, start int64, base int, what string) ([]byte, error) {
	if n <= bufSize {
		// Most records: hand out the bytes in place, valid until the next
		// read, as Packet.Data is.
		if b, err := r.br.Peek(n); err == nil {
			r.br.Discard(n)
			r.off += int64(n)
			return b, nil
		}
	}
	var got int
	var err error
	if n <= cap(r.buf) {
		r.buf = r.buf[:n]
		got, err = r.read(r.buf)
	} else {
		r.buf = r.buf[:0]
		for len(r.buf) < n && err == nil {
			chunk := min(n-len(r.buf), bufSize)
			r.buf = slices.Grow(r.buf, chunk)
			var m int
			m, err = r.read(r.buf[len(r.buf) : len(r.buf)+chunk])
			r.buf = r.buf[:len(r.buf)+m]
		}
		got = len(r.buf)
	}
	switch {
	case err == nil:
		return r.buf, nil
	case err != io.EOF:
		return nil, r.readError(err)
	}
	return nil, r.errorf(start, ErrTruncated, "truncated %s: %d of %d bytes", what, got+base, n+base)
}
