package message

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// rootBufSize is the buffer between the pipe and the parse.
const rootBufSize = 32 << 10

// walker parses the entity tree of one message from a reader, on the Parser's goroutine.
type walker struct {
	o        Options
	header   Header
	parts    []Part
	partMore []int // problems not listed, per part
	dropped  int
	problems []string
	more     int // message problems not listed

	plain, html *preview

	readers []*bufio.Reader // one per depth, reused by sibling parts
	open    io.WriteCloser  // the Part writer of the leaf being read
}

// source is what the reader of an entity reads from: the input batches (chunkReader) or a
// section of a multipart body. It also hands out its bytes in place, so that a leaf body is not
// copied on its way to the decoder.
type source interface {
	io.Reader
	// take returns the next bytes and consumes them; they stay valid until the next call. It
	// returns nil at the end.
	take() []byte
}

func newWalker(o Options) *walker {
	return &walker{o: o}
}

// run parses the message read from r until it ends or needs no more input.
func (w *walker) run(r source) {
	bufs := walkerBufPool.Get().(*walkerBufs)
	w.readers = bufs.readers
	defer func() {
		// A bug must not take the program down with it: report it as a problem.
		if v := recover(); v != nil {
			w.problem(fmt.Sprintf("internal error: %v", v))
			if w.open != nil {
				w.open.Close()
				w.open = nil
			}
		}
		for _, r := range w.readers {
			if r != nil {
				r.Reset(nil)
			}
		}
		bufs.readers = w.readers
		w.readers = nil
		walkerBufPool.Put(bufs)
	}()
	bufs.root.Reset(r)
	defer bufs.root.Reset(nil)
	w.entity(bufs.root, r, "1", 0, "text/plain")
}

// walkerBufs are the buffers of one parse, recycled: a message costs no buffer allocation.
type walkerBufs struct {
	root    *bufio.Reader
	readers []*bufio.Reader
}

var walkerBufPool = sync.Pool{New: func() any {
	return &walkerBufs{root: bufio.NewReaderSize(nil, rootBufSize)}
}}

// finish completes the Message once run has returned.
func (w *walker) finish() *Message {
	m := &Message{Header: w.header, Parts: w.parts, DroppedParts: w.dropped}
	for i := range m.Parts {
		if n := w.partMore[i]; n > 0 {
			m.Parts[i].Problems = append(m.Parts[i].Problems, fmt.Sprintf("%d more problems not listed", n))
		}
	}
	m.Preview = w.plain.String()
	if m.Preview == "" {
		m.Preview = w.html.String()
	}
	m.Problems = w.problems
	if w.more > 0 {
		m.Problems = append(m.Problems, fmt.Sprintf("%d more problems not listed", w.more))
	}
	return m
}

// problem records a problem of the message.
func (w *walker) problem(s string) {
	if slices.Contains(w.problems, s) {
		return
	}
	if len(w.problems) >= maxMessageProblems {
		w.more++
		return
	}
	w.problems = append(w.problems, s)
}

// partProblem records a problem of the part at index i of parts (-1: not listed) and path.
func (w *walker) partProblem(i int, path, s string) {
	w.problem("part " + path + ": " + s)
	if i < 0 {
		return
	}
	p := &w.parts[i]
	if slices.Contains(p.Problems, s) {
		return
	}
	if len(p.Problems) >= maxPartProblems {
		w.partMore[i]++
		return
	}
	p.Problems = append(p.Problems, s)
}

// reader returns the buffered reader for a part at depth, reading from src.
func (w *walker) reader(depth int, src io.Reader) *bufio.Reader {
	for len(w.readers) <= depth {
		w.readers = append(w.readers, nil)
	}
	if w.readers[depth] == nil {
		w.readers[depth] = bufio.NewReaderSize(src, sectionBufSize)
	} else {
		w.readers[depth].Reset(src)
	}
	return w.readers[depth]
}

// entity parses one entity (header and body) that r, reading from src, yields to its end.
func (w *walker) entity(r *bufio.Reader, src source, path string, depth int, defaultType string) {
	block, over := readHeaderBlock(r, w.o.MaxHeaderBytes)
	fields, hprobs := parseHeaderBlock(block)

	var probs []string // problems of the part
	top := depth == 0
	report := func(s string) {
		if top {
			w.problem(s)
		} else {
			probs = append(probs, s)
		}
	}
	if over {
		report(fmt.Sprintf("header block over %d bytes: the rest was skipped", w.o.MaxHeaderBytes))
	}
	for _, p := range hprobs {
		report(p)
	}
	if top {
		w.header = topHeader(fields, w.problem)
	}

	part, params := describe(fields, defaultType, &probs)
	part.Path, part.Depth = path, depth
	idx := -1
	if len(w.parts) < w.o.MaxParts {
		idx = len(w.parts)
		w.parts = append(w.parts, part)
		w.partMore = append(w.partMore, 0)
	} else {
		w.dropped++
	}
	for _, p := range probs {
		w.partProblem(idx, path, p)
	}

	multipart := strings.HasPrefix(part.ContentType, "multipart/")
	enclosed := part.ContentType == "message/rfc822" || part.ContentType == "message/global"
	switch {
	case (multipart || enclosed) && depth >= w.o.MaxDepth:
		w.partProblem(idx, path, fmt.Sprintf("nesting deeper than %d: body taken as a leaf", w.o.MaxDepth))
	case multipart:
		boundary := params["boundary"]
		switch {
		case boundary == "":
			w.partProblem(idx, path, "multipart without a boundary: body taken as a leaf")
		case len(boundary) > maxBoundaryLen:
			w.partProblem(idx, path, fmt.Sprintf("boundary longer than %d bytes: body taken as a leaf", maxBoundaryLen))
		default:
			if !identityEncoding(part.Encoding) {
				w.partProblem(idx, path, fmt.Sprintf("transfer encoding %q on a multipart ignored", part.Encoding))
			}
			w.multipart(r, idx, path, depth, boundary, part.ContentType == "multipart/digest")
			return
		}
	case enclosed:
		if identityEncoding(part.Encoding) {
			w.entity(r, src, path+".1", depth+1, "text/plain")
			return
		}
		// RFC 6532 allows an encoded message/global; message/rfc822 must not be encoded.
		if part.ContentType == "message/rfc822" {
			w.partProblem(idx, path, fmt.Sprintf("message/rfc822 in transfer encoding %q: taken as a leaf", part.Encoding))
		}
	}
	w.leaf(r, src, idx, path)
}

func identityEncoding(e string) bool {
	switch e {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// describe fills the MIME fields of a Part from its header fields and returns the Content-Type
// parameters. Problems are appended to probs.
func describe(fields []field, defaultType string, probs *[]string) (Part, map[string]string) {
	var p Part
	var params map[string]string
	p.ContentType = defaultType
	if v, ok := get(fields, "Content-Type"); ok {
		var t string
		var pp []string
		t, params, pp = parseParams("Content-Type", v)
		*probs = append(*probs, pp...)
		if validMediaType(t) {
			p.ContentType = t
		} else {
			*probs = append(*probs, "invalid media type "+quoteShort(t)+": taken as text/plain")
			p.ContentType = "text/plain"
		}
		p.Charset = strings.ToLower(strings.TrimSpace(params["charset"]))
	}
	if v, ok := get(fields, "Content-Transfer-Encoding"); ok {
		p.Encoding = strings.ToLower(strings.TrimSpace(v))
	}
	var filename string
	if v, ok := get(fields, "Content-Disposition"); ok {
		d, dparams, pp := parseParams("Content-Disposition", v)
		*probs = append(*probs, pp...)
		switch d {
		case "inline", "attachment", "":
			p.Disposition = d
		default:
			*probs = append(*probs, "unknown disposition "+quoteShort(d)+": taken as attachment")
			p.Disposition = "attachment"
		}
		filename = dparams["filename"]
	}
	if filename == "" {
		filename = params["name"]
	}
	if filename != "" {
		var pp []string
		p.Filename, pp = decodeHeader(filename)
		*probs = append(*probs, pp...)
	}
	p.Attachment = p.Disposition == "attachment" || (p.Filename != "" && !strings.HasPrefix(p.ContentType, "text/"))
	return p, params
}

// multipart parses the parts of a multipart body read from r.
func (w *walker) multipart(r *bufio.Reader, idx int, path string, depth int, boundary string, digest bool) {
	mr := newMultipartReader(r, boundary)
	childType := "text/plain"
	if digest {
		childType = "message/rfc822"
	}
	n := 0
	for mr.next() {
		n++
		w.entity(w.reader(depth+1, &mr.sec), &mr.sec, path+"."+strconv.Itoa(n), depth+1, childType)
	}
	switch {
	case n == 0 && !mr.final:
		w.partProblem(idx, path, "boundary "+quoteShort(boundary)+" not found: no parts")
	case !mr.final:
		w.partProblem(idx, path, "missing closing boundary "+quoteShort("--"+boundary+"--"))
	}
}

// leaf reads the body of a leaf part from r and then src: its decoded size and SHA-256, the
// preview, the Part writer.
func (w *walker) leaf(r *bufio.Reader, src source, idx int, path string) {
	if idx < 0 {
		return // not listed: the parent skips the body
	}
	p := &w.parts[idx]
	s := &leafSink{sum: sha256.New()}
	if strings.HasPrefix(p.ContentType, "text/") && p.Charset != "" && lookupCharset(p.Charset) == nil {
		w.partProblem(idx, path, "unknown charset "+p.Charset)
	}
	if p.Disposition != "attachment" {
		switch {
		case p.ContentType == "text/plain" && w.plain == nil:
			w.plain = newPreview(p.Charset, false, w.o.PreviewRunes)
			s.preview = w.plain
		case p.ContentType == "text/html" && w.html == nil && w.plain.String() == "":
			// Past a text/plain part with text (the usual alternative),
			// the HTML preview would never be shown: not made.
			w.html = newPreview(p.Charset, true, w.o.PreviewRunes)
			s.preview = w.html
		}
	}
	if w.o.Part != nil {
		cp := *p
		cp.Problems = slices.Clone(p.Problems)
		if out := w.o.Part(&cp); out != nil {
			s.out = out
			w.open = out
		}
	}
	dec, known := newBodyDecoder(p.Encoding, s)
	if !known {
		w.partProblem(idx, path, fmt.Sprintf("unknown transfer encoding %q: body taken as binary", p.Encoding))
	}
	// What r holds already, then the rest of the body in place from src: not copied into r's
	// buffer and out of it again.
	if n := r.Buffered(); n > 0 {
		b, _ := r.Peek(n)
		dec.Write(b)
		r.Discard(n)
	}
	for b := src.take(); b != nil; b = src.take() {
		dec.Write(b)
	}
	for _, pr := range dec.finish() {
		w.partProblem(idx, path, pr)
	}
	if s.preview != nil {
		s.preview.finish()
	}
	if s.out != nil {
		w.open = nil
		if err := s.out.Close(); err != nil && s.outErr == nil {
			s.outErr = err
		}
	}
	if s.outErr != nil {
		w.partProblem(idx, path, "part writer: "+s.outErr.Error())
	}
	p = &w.parts[idx]
	p.Size = s.size
	p.SHA256 = hex.EncodeToString(s.sum.Sum(nil))
}

// leafSink takes the decoded body of a leaf part.
type leafSink struct {
	size    int64
	sum     hash.Hash
	preview *preview
	out     io.WriteCloser
	outErr  error
}

func (s *leafSink) Write(b []byte) (int, error) {
	s.size += int64(len(b))
	s.sum.Write(b)
	if s.preview != nil {
		s.preview.Write(b)
	}
	if s.out != nil && s.outErr == nil {
		n, err := s.out.Write(b)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
		s.outErr = err
	}
	return len(b), nil
}
