// Package message parses one Internet message (RFC 5322, MIME) while it streams: the top header
// (addresses, subject and other fields decoded to UTF-8), the tree of MIME parts with the size and
// SHA-256 of each decoded body, a short text preview, and what was malformed. It keeps no body: memory
// is bounded by Options, whatever the size of the message. Attachments can be extracted while they
// stream through Options.Part.
package message

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"sync"
)

// Limits used for the zero fields of Options.
const (
	defaultMaxHeaderBytes = 64 << 10
	defaultMaxParts       = 100
	defaultMaxDepth       = 16
	defaultPreviewRunes   = 200
)

// Options bound what the parser keeps. The zero value means the defaults.
type Options struct {
	// MaxHeaderBytes bounds the bytes kept of one header block (the message's or a part's);
	// default 64 KiB. The rest of a longer block is skipped and a problem recorded.
	MaxHeaderBytes int
	// MaxParts bounds the parts listed in Message.Parts; default 100. Parts past it are still
	// counted (Message.DroppedParts) but neither hashed nor offered to Part.
	MaxParts int
	// MaxDepth bounds the nesting of multipart and message/rfc822 parts that is followed; default
	// 16. A container part deeper than that is treated as a leaf and a problem recorded.
	MaxDepth int
	// PreviewRunes is how many runes of the main text part are kept as Message.Preview; default 200.
	PreviewRunes int
	// Part, when set, is called for each listed leaf part as its body begins: every part whose
	// body is not parsed into further parts (multipart/* and message/rfc822 bodies are, unless
	// too deep or without a boundary; a descended message/rfc822 is not offered). p has the
	// part's header fields filled in, not Size and SHA256. The part's body, decoded from its
	// transfer encoding (base64, quoted-printable; 7bit, 8bit, binary and unknown encodings as
	// they are) but not converted from its charset, is written to the returned writer (nil: not
	// wanted), and Close is called when the part ends, also when the message was cut short. A
	// write or close error becomes a problem of the part, and the writer gets no more data.
	// Part and its writers are called from a goroutine of the Parser, one part at a time, never
	// after Close returns.
	Part func(p *Part) io.WriteCloser
	// HashMessage computes Message.SHA256, the hash of the whole message; without it that is
	// left empty (the parts are always hashed).
	HashMessage bool
	// Done, when set, is called on the Parser's goroutine once the parse is complete, after
	// Message has its result: when the buffers of the parse are free again.
	Done func()
}

func (o Options) withDefaults() Options {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if o.MaxParts <= 0 {
		o.MaxParts = defaultMaxParts
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = defaultMaxDepth
	}
	if o.PreviewRunes <= 0 {
		o.PreviewRunes = defaultPreviewRunes
	}
	return o
}

// Message is what was parsed of one message.
type Message struct {
	Size         int64  // bytes written
	SHA256       string // hex, of all bytes written; only with Options.HashMessage
	Header       Header // the top header
	Parts        []Part // depth-first, the root first; at most Options.MaxParts
	DroppedParts int    // parts seen past Options.MaxParts
	// Preview is the start of the main text part (the first text/plain leaf that is not an
	// attachment, else the first such text/html leaf with its tags stripped), decoded to UTF-8,
	// whitespace runs collapsed to one space, at most Options.PreviewRunes runes.
	Preview string
	// Problems says what was malformed: in the top header (malformed lines, unknown charsets,
	// an over-long block) and, prefixed with "part PATH: ", every problem of a part. At most 100
	// are listed; a last entry counts the rest.
	Problems []string
}

// Header is the decoded top header of a message.
type Header struct {
	// From, Sender, ReplyTo, To, Cc and Bcc hold the addresses of every such field, in order, as
	// "Name <addr>" (or "addr" when there is no name) with names decoded to UTF-8, or an entry's
	// raw text when it cannot be parsed. Group names are left out, their members kept.
	From, Sender, ReplyTo []string
	To, Cc, Bcc           []string
	// Subject is decoded to UTF-8 (RFC 2047 encoded words). Raw 8-bit text is kept as it is;
	// an encoded word in an unknown charset is kept as written.
	Subject string
	// Date, MessageID and InReplyTo are the fields as given, unfolded.
	Date, MessageID, InReplyTo string
	// UserAgent is the User-Agent field, else X-Mailer, decoded like Subject.
	UserAgent string
	// Received counts the Received fields.
	Received int
	// FirstReceived is the first Received field (the top one, the last hop) and LastReceived the
	// last (the bottom one, the first hop), unfolded.
	FirstReceived, LastReceived string
	// SecondLastReceived is the Received field above the last one, when there are two or more.
	SecondLastReceived string
	// XOriginatingIP is the X-Originating-IP field as given, unfolded (webmail services
	// name the sender's address in it).
	XOriginatingIP string
	// ContentType is the Content-Type field as given, unfolded.
	ContentType string
}

// Part is one MIME entity of a message: the message itself, a multipart container, a leaf body or
// an enclosed message/rfc822.
type Part struct {
	// Path numbers the part: "1" for the root, "1.2.1" for the first part of the second part of the
	// root. The message enclosed in a message/rfc822 part P is P.1.
	Path  string
	Depth int // 0 for the root
	// ContentType is the media type, lower-case ("multipart/mixed", "text/plain"); when absent,
	// text/plain (message/rfc822 in a multipart/digest); when invalid, text/plain.
	ContentType string
	Charset     string // the charset parameter as given, lower-cased; "" when absent
	Encoding    string // Content-Transfer-Encoding, lower-cased; "" when absent
	Disposition string // "inline", "attachment" (also for unknown dispositions) or ""
	// Filename is from the Content-Disposition filename parameter (RFC 2231 continuations and
	// charsets, RFC 2047 encoded words), else the Content-Type name parameter, decoded to UTF-8.
	// It is not sanitized: it may hold path separators or control characters.
	Filename   string
	Size       int64    // decoded body bytes; 0 for a multipart or a descended message/rfc822
	SHA256     string   // hex of the decoded body; "" for a multipart or a descended message/rfc822
	Attachment bool     // disposition attachment, or a filename on a part that is not text/*
	Problems   []string // what was malformed in this part; at most 20, a last entry counts the rest
}

// Limits on the problems listed, so that hostile input cannot grow them.
const (
	maxMessageProblems = 100
	maxPartProblems    = 20
)

// ErrClosed is returned by Write after Close or End.
var ErrClosed = errors.New("message: write after Close")

// Parser parses one message as it is written to it. The parse runs on a goroutine of its own
// from NewParser until the message has ended and its last bytes are parsed, so that the writer
// does not wait for the parse. Write, End and Close must not be called concurrently.
type Parser struct {
	chunks chan []byte   // batches handed to the parse goroutine, from chunkPool
	done   chan struct{} // closed when the parse is complete and msg is set
	batch  []byte        // written but not yet handed over
	ended  bool
	msg    *Message // set by the parse goroutine before done is closed
}

// Hand-over between Write and the parse goroutine: a hand-over per TCP segment costs more than
// the parse itself, so Write gathers batchSize bytes; at most queuedBatches wait for the parse
// before Write waits too. A Parser holds at most (queuedBatches+2)*batchSize bytes of input.
const (
	batchSize     = 32 << 10
	queuedBatches = 4
)

// chunkPool recycles the batches, so a message costs no allocation per batch.
var chunkPool = sync.Pool{New: func() any { return new([batchSize]byte) }}

// NewParser returns a Parser for one message.
func NewParser(o Options) *Parser {
	o = o.withDefaults()
	p := &Parser{
		chunks: make(chan []byte, queuedBatches),
		done:   make(chan struct{}),
	}
	w := newWalker(o)
	spawn(func() { p.parse(w, o.Done) })
	return p
}

// parse runs the walker over the batches, then hashes whatever it did not need.
func (p *Parser) parse(w *walker, done func()) {
	defer func() {
		close(p.done)
		if done != nil {
			done()
		}
	}()
	src := &chunkReader{chunks: p.chunks}
	if w.o.HashMessage {
		src.sum = sha256.New()
	}
	w.run(src)
	src.drain()
	m := w.finish()
	m.Size = src.size
	if src.sum != nil {
		m.SHA256 = hex.EncodeToString(src.sum.Sum(nil))
	}
	p.msg = m
}

// Write takes the next bytes of the message. It never fails on malformed input (that becomes
// Problems); it fails only after End or Close. b is not retained.
func (p *Parser) Write(b []byte) (int, error) {
	if p.ended {
		return 0, ErrClosed
	}
	n := len(b)
	for len(b) > 0 {
		if p.batch == nil {
			p.batch = chunkPool.Get().(*[batchSize]byte)[:0]
		}
		k := copy(p.batch[len(p.batch):cap(p.batch)], b)
		p.batch = p.batch[:len(p.batch)+k]
		b = b[k:]
		if len(p.batch) == cap(p.batch) {
			p.flush()
		}
	}
	return n, nil
}

// flush hands the gathered bytes to the parse goroutine.
func (p *Parser) flush() {
	if len(p.batch) > 0 {
		p.chunks <- p.batch
	} else if p.batch != nil {
		chunkPool.Put((*[batchSize]byte)(p.batch[:batchSize]))
	}
	p.batch = nil
}

// End ends the message (also when it was cut short) without waiting for the parse to finish;
// Message waits for it, and Options.Done tells when it has. Later calls do nothing.
func (p *Parser) End() {
	if p.ended {
		return
	}
	p.ended = true
	p.flush()
	close(p.chunks)
}

// Close ends the message (also when it was cut short) and waits for the parse to complete
// Message. Later calls do nothing.
func (p *Parser) Close() error {
	p.End()
	<-p.done
	return nil
}

// Message is what was parsed: nil before End or Close; after End it waits for the parse.
func (p *Parser) Message() *Message {
	if !p.ended {
		return nil
	}
	<-p.done
	return p.msg
}

// chunkReader is the parse goroutine's side of the hand-over: it reads the batches in order,
// counting (and with a sum, hashing) every byte, and recycles each batch once read.
type chunkReader struct {
	chunks <-chan []byte
	cur    []byte    // the unread rest of the current batch
	batch  []byte    // the current batch, to recycle
	sum    hash.Hash // or nil
	size   int64
}

func (r *chunkReader) Read(b []byte) (int, error) {
	for len(r.cur) == 0 {
		if !r.next() {
			return 0, io.EOF
		}
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// take returns the unread rest of the current batch, or the next one, and consumes it; nil at
// the end of the message.
func (r *chunkReader) take() []byte {
	for len(r.cur) == 0 {
		if !r.next() {
			return nil
		}
	}
	b := r.cur
	r.cur = nil
	return b
}

// next moves to the next batch; false at the end of the message.
func (r *chunkReader) next() bool {
	if r.batch != nil {
		chunkPool.Put((*[batchSize]byte)(r.batch[:batchSize]))
		r.batch = nil
	}
	c, ok := <-r.chunks
	if !ok {
		return false
	}
	if r.sum != nil {
		r.sum.Write(c)
	}
	r.size += int64(len(c))
	r.batch, r.cur = c, c
	return true
}

// drain reads what the walker left, for the hash and the size.
func (r *chunkReader) drain() {
	r.cur = nil
	for r.next() {
		r.cur = nil
	}
}
