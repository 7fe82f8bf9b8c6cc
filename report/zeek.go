package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Zeek writes Zeek's smtp.log: the fields, types, escaping and record
// boundaries of Zeek's base/protocols/smtp scripts and of its ASCII log
// writer, so that tools built on Zeek logs read it.
//
// Records are made as Zeek's script makes them, by replaying the session's
// commands and replies in the order of their capture times (a reply before a
// command that arrived at the same time):
//   - A record starts with the session's first SMTP event (ts: the greeting's
//     time, else the first command's), and again after each message, at the
//     time of the reply that ended it; trans_depth is one more than the
//     messages ended so far, so a transaction aborted by RSET and the one
//     after it share a depth, as in Zeek.
//   - It is written when the server answers the end of a message ("." or
//     BDAT ... LAST), when a MAIL FROM: follows, and when the session ends —
//     each time only if MAIL FROM:, RCPT TO: or an accepted STARTTLS was seen
//     in it. A session with none of them (greeting, EHLO, QUIT, or AUTH
//     alone) writes nothing, as in Zeek.
//   - STARTTLS answered 220 sets tls and ends what can be read, as Zeek's
//     analyzer hands the connection to TLS there.
//
// Fields Zeek takes from the message's top header come from the parsed
// message (smtpdecode.Message.Parsed), so they are empty unless messages
// were parsed. They differ from Zeek's where the parse gives less or other
// than the raw field Zeek keeps: from, to, cc and reply_to hold the parsed
// addresses ("Name <addr>", names decoded) rather than the field's text;
// subject and user_agent are decoded from RFC 2047; an empty field is unset;
// the hops of path between the top and the bottom Received field are known
// only when there are at most two.
//
// Sets keep the order in which their elements were first seen (Zeek's is
// its hash order). Records come session by session, in the order the
// sessions are written, not interleaved by time as Zeek logs them.
//
// Nothing from AUTH is written, with or without Options.ShowSecrets.
type Zeek struct {
	w    io.Writer
	o    Options
	json bool

	opened   bool                // the TSV header was written
	last     time.Time           // the latest ts or session end written, for #close
	buf      []byte              // the session's lines, reused
	key      []byte              // what uids and fuids are hashed from, reused
	uid      []byte              // the session's uid
	seen     map[string]struct{} // finds duplicates in long sets, reused
	r        zeekRecord          // the record being filled, reused
	sess     *smtpdecode.Session
	st       zeekState
	fkey     []byte // what a fuid is hashed from, reused
	wroteAny bool   // some record was written for the current session
	// rcptSeen holds the record's rcptto once it is long (rcptMapped).
	rcptSeen   map[string]struct{}
	rcptMapped bool
}

// NewZeek returns a writer of Zeek's smtp.log: TSV with Zeek's header lines
// when jsonLines is false, one JSON object per line (Zeek's JSON log format,
// as `zeek LogAscii::use_json=T` writes) when true.
//
// The TSV header is written with the first record and its #open time is
// that record's ts; #close (written by Close) is the latest ts or session
// end written. Neither is the wall clock, so the same capture gives the same
// log. Without any record nothing is written at all, as Zeek makes no
// smtp.log then.
func NewZeek(w io.Writer, o Options, jsonLines bool) *Zeek {
	return &Zeek{w: w, o: o, json: jsonLines}
}

// zeekState is the part of Zeek's SMTP::State that decides records.
type zeekState struct {
	helo      string
	hasHelo   bool
	messages  int  // messages_transferred
	bdatLast  bool // bdat_last_observed
	contents  int  // messages whose content was seen, numbering them for fuids
	stopped   bool // STARTTLS was accepted: nothing more is SMTP
	hasRecord bool // r is a record in progress (c$smtp is set)
}

// zeekRecord is one SMTP::Info being filled.
type zeekRecord struct {
	ts       time.Time
	depth    int
	helo     string
	hasHelo  bool
	mailFrom string // "" when unset
	rcptSet  bool   // rcptto is set (maybe empty)
	rcpt     []string
	msg      *message.Message // the message whose header and parts fill the rest
	content  int              // the message's number in the session
	reply    *smtpdecode.Reply
	tls      bool
	activity bool // has_client_activity
}

// zeekFields and zeekTypes are the #fields and #types lines of Zeek's
// smtp.log (SMTP::Info with files.zeek's fuids).
const (
	zeekFields = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\thelo\tmailfrom\trcptto\tdate\tfrom\tto\tcc\treply_to\tmsg_id\tin_reply_to\tsubject\tx_originating_ip\tfirst_received\tsecond_received\tlast_reply\tpath\tuser_agent\ttls\tfuids\n"
	zeekTypes  = "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tset[string]\tstring\tstring\tset[string]\tset[string]\tstring\tstring\tstring\tstring\taddr\tstring\tstring\tstring\tvector[addr]\tstring\tbool\tvector[string]\n"
	// zeekLogTime is how #open and #close spell a time.
	zeekLogTime = "2006-01-02-15-04-05"
	// zeekMaxSet is Zeek's cap on the addresses in rcptto, to and cc
	// (max_rcptto_addresses, max_to_addresses, max_cc_addresses).
	zeekMaxSet = 1000
)

// Session writes the session's records.
func (z *Zeek) Session(s *smtpdecode.Session) error {
	z.buf = z.buf[:0]
	z.sess = s
	z.st = zeekState{}
	z.wroteAny = false
	z.uid = z.uid[:0] // made with the first record

	if g := s.Greeting; g != nil {
		z.reply(g, "", false)
	}
	cmds := s.Commands
	i, j := 0, 0 // the next command, the next command whose reply is due
	for !z.st.stopped {
		for j < i && cmds[j].Reply == nil {
			j++
		}
		due := j < i
		if i < len(cmds) && (!due || cmds[i].Time.Before(cmds[j].Reply.Time)) {
			z.request(&cmds[i])
			i++
		} else if due {
			c := &cmds[j]
			z.reply(c.Reply, c.Verb, c.Kind == smtpdecode.KindMessage)
			j++
		} else {
			break
		}
	}
	z.flush() // Zeek's finalize_smtp, when the connection is removed
	z.unkept(s)
	if z.wroteAny && s.End.After(z.last) {
		z.last = s.End
	}
	z.sess = nil
	if len(z.buf) == 0 {
		return nil
	}
	_, err := z.w.Write(z.buf)
	return err
}

// Close writes the #close line (TSV, when a record was written) and flushes
// w when it can be flushed.
func (z *Zeek) Close() error {
	if z.opened && !z.json {
		b := append(z.buf[:0], "#close\t"...)
		b = z.last.UTC().AppendFormat(b, zeekLogTime)
		b = append(b, '\n')
		z.buf = b
		z.opened = false // written once; another record would open the log again
		if _, err := z.w.Write(b); err != nil {
			return err
		}
	}
	if f, ok := z.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// begin starts a record at t, as Zeek's new_smtp_log.
func (z *Zeek) begin(t time.Time) {
	r := &z.r
	*r = zeekRecord{ts: t, depth: z.st.messages + 1, helo: z.st.helo, hasHelo: z.st.hasHelo, rcpt: r.rcpt[:0]}
	z.st.hasRecord = true
	z.rcptMapped = false
}

// ensure starts a record when none is in progress (set_smtp_session).
func (z *Zeek) ensure(t time.Time) {
	if !z.st.hasRecord {
		z.begin(t)
	}
}

// flush writes the record in progress when the client did something in it
// (smtp_message); the record stays in progress.
func (z *Zeek) flush() {
	if z.st.hasRecord && z.r.activity {
		z.write(&z.r)
	}
}

// request is Zeek's smtp_request for one client turn.
func (z *Zeek) request(c *smtpdecode.Command) {
	switch c.Kind {
	case smtpdecode.KindCommand:
	case smtpdecode.KindMessage:
		// The content's header and parts, then Zeek's "." request.
		z.ensure(c.Time)
		z.content(c.Message)
		return
	default:
		// AUTH responses (never looked at) and replies nothing asked for.
		return
	}
	z.ensure(c.Time)
	r := &z.r
	arg := strings.TrimLeft(c.Arg, " \t") // Zeek's argument starts after the blanks
	switch c.Verb {
	case "HELO", "EHLO":
		z.st.helo, z.st.hasHelo = arg, true
		r.helo, r.hasHelo = arg, true
	case "RCPT":
		if !hasPrefixFold(arg, "TO:") {
			return
		}
		r.rcptSet = true
		forEachZeekEmail(arg, func(a string) bool {
			if len(r.rcpt) >= zeekMaxSet {
				return false
			}
			if strings.Contains(a, "ORCPT=rfc822") {
				a = strings.ReplaceAll(a, "ORCPT=rfc822", "")
			}
			z.addRcpt(a)
			return true
		})
		r.activity = true
	case "MAIL":
		if !hasPrefixFold(arg, "FROM:") {
			return
		}
		z.flush() // a message whose end was not answered
		if r.activity {
			z.begin(c.Time)
		}
		forEachZeekEmail(arg, func(a string) bool {
			r.mailFrom = a
			return false
		})
		r.activity = true
	case "BDAT":
		if strings.HasSuffix(arg, " LAST") {
			z.st.bdatLast = true
		}
		z.content(c.Message)
	}
}

// addRcpt adds an address to rcptto unless it is there.
func (z *Zeek) addRcpt(a string) {
	r := &z.r
	if len(r.rcpt) < 32 { // a scan is quicker than the map
		if !containsString(r.rcpt, a) {
			r.rcpt = append(r.rcpt, a)
		}
		return
	}
	if !z.rcptMapped {
		if z.rcptSeen == nil {
			z.rcptSeen = make(map[string]struct{})
		}
		clear(z.rcptSeen)
		for _, v := range r.rcpt {
			z.rcptSeen[v] = struct{}{}
		}
		z.rcptMapped = true
	}
	if _, dup := z.rcptSeen[a]; !dup {
		z.rcptSeen[a] = struct{}{}
		r.rcpt = append(r.rcpt, a)
	}
}

// content fills the record from a message's parse, as Zeek's MIME events
// do while the message streams.
func (z *Zeek) content(m *smtpdecode.Message) {
	pm := parsedMessage(m)
	if pm == nil {
		return
	}
	z.st.contents++
	z.r.msg, z.r.content = pm, z.st.contents
}

// reply is Zeek's smtp_reply for a reply (verb: the command it answers;
// message: it answers the end of a message's content).
func (z *Zeek) reply(rep *smtpdecode.Reply, verb string, message bool) {
	if rep.Code == 0 {
		return // a line without a code is no reply to Zeek
	}
	z.ensure(rep.Time)
	z.r.reply = rep
	if message || (verb == "BDAT" && z.st.bdatLast) {
		z.st.messages++
		z.st.bdatLast = false
		z.flush()
		z.begin(rep.Time)
	}
	if verb == "STARTTLS" && rep.Code == 220 {
		z.r.tls = true
		z.r.activity = true
		z.st.stopped = true
	}
}

// unkept writes a record for each transaction whose MAIL was past
// MaxCommands, from what the transaction kept: its turns are not there to
// replay, and last_reply is unknown.
func (z *Zeek) unkept(s *smtpdecode.Session) {
	if s.DroppedCommands == 0 || z.st.stopped {
		return
	}
	for k := range s.Transactions {
		t := &s.Transactions[k]
		if t.Command >= 0 {
			continue
		}
		ts := s.End
		if t.Message != nil && !t.Message.Start.IsZero() {
			ts = t.Message.Start
		}
		z.begin(ts)
		r := &z.r
		r.mailFrom = t.MailFrom
		r.rcptSet = len(t.Rcpts) > 0
		for _, rc := range t.Rcpts {
			if len(r.rcpt) < zeekMaxSet && rc.Address != "" && !containsString(r.rcpt, rc.Address) {
				r.rcpt = append(r.rcpt, rc.Address)
			}
		}
		z.content(t.Message)
		r.activity = true
		z.write(r)
		if t.Message != nil && t.FinalCode != 0 { // the end of the message was answered
			z.st.messages++
		}
	}
	z.st.hasRecord = false
}

// sessionKey is what identifies the session for its uid and its fuids: the
// two ends, the start time and the capture file.
func (z *Zeek) sessionKey(s *smtpdecode.Session) []byte {
	k := append(z.key[:0], "smtpscope zeek uid\x00"...)
	k = appendAddrPort(k, s.Client)
	k = appendAddrPort(k, s.Server)
	k = binary.BigEndian.AppendUint64(k, uint64(s.Start.UnixNano()))
	k = append(k, s.File...)
	z.key = k
	return k
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().As16()
	b = append(b, a[:]...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// appendZeekUID appends the connection uid for key: "C" and 96 bits of its
// SHA-256, spelt as Zeek spells a uid.
func appendZeekUID(b, key []byte) []byte {
	h := sha256.Sum256(key)
	return appendZeekID(b, 'C', &h)
}

// appendZeekID appends prefix and the first 96 bits of h as Zeek's
// UID::Base62 writes a uid: a 32-bit then a 64-bit number, each in base 62
// with its least significant digit first (so 2 to 18 characters in all).
func appendZeekID(b []byte, prefix byte, h *[32]byte) []byte {
	b = append(b, prefix)
	b = appendBase62(b, uint64(binary.BigEndian.Uint32(h[0:4])))
	return appendBase62(b, binary.BigEndian.Uint64(h[4:12]))
}

func appendBase62(b []byte, v uint64) []byte {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for {
		b = append(b, digits[v%62])
		v /= 62
		if v == 0 {
			return b
		}
	}
}

// appendFUID appends the file id of a message part. Zeek names a file by a
// hash of its handle (the analyzer, the connection's start, trans_depth and
// the session's MIME entity count); here it is "F" and 96 bits of the
// SHA-256 of the session's key (see sessionKey), the message's number in the
// session and the part's path ("1.2"), in Zeek's spelling (appendZeekID).
// The same part of the same capture gets the same fuid every time.
func (z *Zeek) appendFUID(b []byte, content int, path string) []byte {
	k := append(z.fkey[:0], "smtpscope zeek fuid\x00"...)
	k = append(k, z.key...)
	k = binary.BigEndian.AppendUint32(k, uint32(content))
	k = append(k, path...)
	z.fkey = k
	h := sha256.Sum256(k)
	return appendZeekID(b, 'F', &h)
}

// isZeekFile reports whether Zeek's file analysis would see p as a file: a
// leaf part (not a multipart nor a message/rfc822 parsed into parts) with a
// body.
func isZeekFile(p *message.Part) bool {
	return p.SHA256 != "" && p.Size > 0
}

// write appends one record as a TSV or JSON line.
func (z *Zeek) write(r *zeekRecord) {
	s := z.sess
	if !z.json && !z.opened {
		z.opened = true
		b := append(z.buf, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tsmtp\n#open\t"...)
		b = r.ts.UTC().AppendFormat(b, zeekLogTime)
		b = append(b, '\n')
		b = append(b, zeekFields...)
		z.buf = append(b, zeekTypes...)
	}
	if r.ts.After(z.last) {
		z.last = r.ts
	}
	if !z.wroteAny {
		z.wroteAny = true
		z.uid = appendZeekUID(z.uid, z.sessionKey(s))
	}
	e := zeekEnc{b: z.buf, json: z.json, seen: &z.seen}
	if e.json {
		e.b = append(e.b, '{')
	}
	e.time("ts", r.ts)
	e.id("uid", z.uid)
	e.addr("id.orig_h", s.Client.Addr())
	e.count("id.orig_p", uint64(s.Client.Port()))
	e.addr("id.resp_h", s.Server.Addr())
	e.count("id.resp_p", uint64(s.Server.Port()))
	e.count("trans_depth", uint64(r.depth))
	if r.hasHelo {
		e.str("helo", r.helo)
	} else {
		e.unset("helo")
	}
	e.optStr("mailfrom", r.mailFrom)
	if r.rcptSet {
		e.set("rcptto", r.rcpt)
	} else {
		e.unset("rcptto")
	}
	h := &noHeader
	if r.msg != nil {
		h = &r.msg.Header
	}
	e.optStr("date", h.Date)
	e.optList("from", h.From)
	e.optSet("to", h.To)
	e.optSet("cc", h.Cc)
	e.optList("reply_to", h.ReplyTo)
	e.optStr("msg_id", h.MessageID)
	e.optStr("in_reply_to", h.InReplyTo)
	e.optStr("subject", h.Subject)
	if a, ok := firstAddr(h.XOriginatingIP); ok {
		e.addr("x_originating_ip", a)
	} else {
		e.unset("x_originating_ip")
	}
	// Zeek's first_received is the last Received field it read (the bottom
	// one, the first hop) and second_received the one before it.
	first, second := "", ""
	if h.Received > 0 {
		first = h.LastReceived
	}
	if h.Received >= 2 {
		second = h.SecondLastReceived
	}
	e.optStr("first_received", first)
	e.optStr("second_received", second)
	if r.reply != nil {
		e.key("last_reply")
		e.lastReply(r.reply)
	} else {
		e.unset("last_reply")
	}
	e.path(s, h)
	e.optStr("user_agent", h.UserAgent)
	e.bool("tls", r.tls)
	e.key("fuids")
	n := 0
	e.open()
	if r.msg != nil {
		for i := range r.msg.Parts {
			p := &r.msg.Parts[i]
			if !isZeekFile(p) {
				continue
			}
			e.elem(n)
			n++
			e.quote()
			e.b = z.appendFUID(e.b, r.content, p.Path)
			e.quote()
		}
	}
	e.close(n)
	if e.json {
		e.b = append(e.b, '}')
	}
	z.buf = append(e.b, '\n')
}

// noHeader stands for the header of a record without a message.
var noHeader message.Header

// zeekEnc appends the fields of one record: TSV, tab-separated, an unset
// field as "-"; or JSON, "name":value, an unset field left out.
type zeekEnc struct {
	b    []byte
	json bool
	n    int                  // fields written
	seen *map[string]struct{} // finds duplicates in long sets, reused
}

// key starts a field.
func (e *zeekEnc) key(name string) {
	if e.json {
		if e.n > 0 {
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, '"')
		e.b = append(e.b, name...)
		e.b = append(e.b, '"', ':')
	} else if e.n > 0 {
		e.b = append(e.b, '\t')
	}
	e.n++
}

func (e *zeekEnc) unset(name string) {
	if !e.json {
		e.key(name)
		e.b = append(e.b, '-')
	}
}

func (e *zeekEnc) str(name, v string) {
	e.key(name)
	e.string(v, false)
}

// string appends a string value (inSet: an element of a set or vector).
func (e *zeekEnc) string(v string, inSet bool) {
	if e.json {
		e.b = appendZeekJSONString(e.b, v)
	} else {
		e.b = appendZeekTSV(e.b, v, inSet)
	}
}

// optStr writes v, unset when empty.
func (e *zeekEnc) optStr(name, v string) {
	if v == "" {
		e.unset(name)
		return
	}
	e.str(name, v)
}

// optList writes the addresses of a field as one string, joined by ", ",
// unset when there are none.
func (e *zeekEnc) optList(name string, vs []string) {
	switch len(vs) {
	case 0:
		e.unset(name)
	case 1:
		e.optStr(name, vs[0])
	default:
		// Joined, the value cannot be one of TSV's reserved spellings.
		e.key(name)
		if e.json {
			e.b = append(e.b, '"')
		}
		for i, v := range vs {
			if i > 0 {
				e.b = append(e.b, ", "...)
			}
			if e.json {
				e.b = appendZeekJSONText(e.b, v)
			} else {
				e.b = appendZeekTSVText(e.b, v, false)
			}
		}
		if e.json {
			e.b = append(e.b, '"')
		}
	}
}

// optSet writes a set of strings from a list (duplicates dropped, at most
// zeekMaxSet), unset when the list is empty.
func (e *zeekEnc) optSet(name string, vs []string) {
	if len(vs) == 0 {
		e.unset(name)
		return
	}
	e.set(name, vs)
}

// set writes a set of strings, duplicates dropped, at most zeekMaxSet.
func (e *zeekEnc) set(name string, vs []string) {
	e.key(name)
	var m map[string]struct{}
	if len(vs) > 32 { // else a scan is quicker
		if *e.seen == nil {
			*e.seen = make(map[string]struct{})
		}
		m = *e.seen
		clear(m)
	}
	n := 0
	e.open()
	for i, v := range vs {
		if n == zeekMaxSet {
			break
		}
		if m != nil {
			if _, dup := m[v]; dup {
				continue
			}
			m[v] = struct{}{}
		} else if containsString(vs[:i], v) {
			continue
		}
		e.elem(n)
		n++
		e.string(v, true)
	}
	e.close(n)
}

// open starts a set or vector; elem separates its elements; close ends it,
// after n elements.
func (e *zeekEnc) open() {
	if e.json {
		e.b = append(e.b, '[')
	}
}

func (e *zeekEnc) elem(i int) {
	if i > 0 {
		e.b = append(e.b, ',')
	}
}

func (e *zeekEnc) close(n int) {
	switch {
	case e.json:
		e.b = append(e.b, ']')
	case n == 0:
		e.b = append(e.b, "(empty)"...)
	}
}

// quote appends a quote in JSON: around a value that needs no escaping.
func (e *zeekEnc) quote() {
	if e.json {
		e.b = append(e.b, '"')
	}
}

// id writes a uid (its characters need no escaping).
func (e *zeekEnc) id(name string, v []byte) {
	e.key(name)
	e.quote()
	e.b = append(e.b, v...)
	e.quote()
}

func (e *zeekEnc) count(name string, v uint64) {
	e.key(name)
	e.b = strconv.AppendUint(e.b, v, 10)
}

func (e *zeekEnc) bool(name string, v bool) {
	e.key(name)
	switch {
	case e.json:
		e.b = strconv.AppendBool(e.b, v)
	case v:
		e.b = append(e.b, 'T')
	default:
		e.b = append(e.b, 'F')
	}
}

// addr writes an address; unset when invalid (only a hand-made session
// lacks one).
func (e *zeekEnc) addr(name string, a netip.Addr) {
	if !a.IsValid() {
		e.unset(name)
		return
	}
	e.key(name)
	e.addrValue(a)
}

// addrValue appends an address as Zeek renders one: IPv4 (also when mapped
// into IPv6) dotted, IPv6 compressed, no zone.
func (e *zeekEnc) addrValue(a netip.Addr) {
	e.quote()
	e.b = a.Unmap().WithZone("").AppendTo(e.b)
	e.quote()
}

// time appends t as Zeek writes a time: epoch seconds with six decimals in
// TSV; in JSON the double Zeek holds (seconds plus microseconds/1e6, as
// libpcap gives them) as rapidjson writes it, shortest and with ".0" when
// whole.
func (e *zeekEnc) time(name string, t time.Time) {
	e.key(name)
	sec, usec := t.Unix(), int64(t.Nanosecond()/1000)
	if e.json {
		f := float64(sec) + float64(usec)/1e6
		n := len(e.b)
		e.b = strconv.AppendFloat(e.b, f, 'f', -1, 64)
		if bytes.IndexByte(e.b[n:], '.') < 0 {
			e.b = append(e.b, ".0"...)
		}
		return
	}
	us := sec*1e6 + usec
	if us < 0 {
		e.b = append(e.b, '-')
		us = -us
	}
	e.b = strconv.AppendInt(e.b, us/1e6, 10)
	e.b = append(e.b, '.')
	frac := us % 1e6
	for d := int64(100000); d > 1 && frac < d; d /= 10 {
		e.b = append(e.b, '0')
	}
	e.b = strconv.AppendInt(e.b, frac, 10)
}

// lastReply appends Zeek's last_reply: the code, a space and the text of
// the reply's last line.
func (e *zeekEnc) lastReply(r *smtpdecode.Reply) {
	text := ""
	if len(r.Lines) > 0 {
		text = r.Lines[len(r.Lines)-1]
	}
	var code [3]byte
	c := strconv.AppendInt(code[:0], int64(r.Code), 10)
	if e.json {
		e.b = append(e.b, '"')
		e.b = append(e.b, c...)
		e.b = append(e.b, ' ')
		e.b = appendZeekJSONText(e.b, text)
		e.b = append(e.b, '"')
		return
	}
	e.b = append(e.b, c...)
	e.b = append(e.b, ' ')
	e.b = appendZeekTSVText(e.b, text, false)
}

// path appends Zeek's path: the server, the client, then the address of
// each Received field from the top one, each unless it repeats the one
// before (of the Received fields, only the top and the bottom one are
// known).
func (e *zeekEnc) path(s *smtpdecode.Session, h *message.Header) {
	e.key("path")
	e.open()
	var path [4]netip.Addr
	p := append(path[:0], s.Server.Addr().Unmap().WithZone(""), s.Client.Addr().Unmap().WithZone(""))
	for k, field := range [2]string{h.FirstReceived, h.LastReceived} {
		if h.Received > k {
			if a, ok := receivedAddr(field); ok && a != p[len(p)-1] {
				p = append(p, a)
			}
		}
	}
	n := 0
	for _, a := range p {
		if a.IsValid() {
			e.elem(n)
			n++
			e.addrValue(a)
		}
	}
	e.close(n)
}

// receivedAddr is the address Zeek's path takes from a Received field: of
// the addresses in it wrapped in [], (), {} or spaces (or making up the
// whole field), the second, or the first when there is one.
func receivedAddr(field string) (netip.Addr, bool) {
	var found [2]netip.Addr
	n := 0
	if a, err := netip.ParseAddr(field); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	for i := 0; i < len(field) && n < 2; i++ {
		var closer byte
		switch field[i] {
		case '[':
			closer = ']'
		case '(':
			closer = ')'
		case '{':
			closer = '}'
		case ' ':
			closer = ' '
		default:
			continue
		}
		j := i + 1
		for j < len(field) && isAddrByte(field[j]) {
			j++
		}
		if j > i+1 && j < len(field) && field[j] == closer {
			if a, err := netip.ParseAddr(field[i+1 : j]); err == nil {
				found[n] = a.Unmap()
				n++
			}
		}
		// No opener is among the address bytes; the closer may open the
		// next one (" 1.2.3.4 5.6.7.8 ").
		i = j - 1
	}
	switch n {
	case 0:
		return netip.Addr{}, false
	case 1:
		return found[0], true
	}
	return found[1], true
}

// firstAddr is the first IP address in s, as Zeek's extract_ip_addresses finds them for
// x_originating_ip ("[192.0.2.7]", "192.0.2.7, 10.0.0.1").
func firstAddr(s string) (netip.Addr, bool) {
	for i := 0; i < len(s); {
		if !isAddrByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAddrByte(s[j]) {
			j++
		}
		if a, err := netip.ParseAddr(s[i:j]); err == nil {
			return a.Unmap(), true
		}
		i = j
	}
	return netip.Addr{}, false
}

func isAddrByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':'
}

// forEachZeekEmail calls f with each address Zeek's extract_email_addrs_vec
// finds in s, until f returns false: a run of characters other than
// `<,:@` and blanks, "@", a run of characters other than `>,;` and blanks,
// each at the start of s or after one of `<,:` or a blank; the address is
// that with `<>,:;` and blanks removed.
func forEachZeekEmail(s string, f func(string) bool) {
	for t := 0; t < len(s); t++ {
		p := t
		if isEmailLead(s[t]) {
			p = t + 1
		}
		q := p
		for q < len(s) && !isEmailLead(s[q]) && s[q] != '@' {
			q++
		}
		if q == p || q >= len(s) || s[q] != '@' {
			// A match starting before q would stop at q too.
			t = max(t, q-1)
			continue
		}
		r := q + 1
		for r < len(s) && !isEmailEnd(s[r]) {
			r++
		}
		if r == q+1 {
			t = max(t, q-1)
			continue
		}
		a := s[p:r]
		if strings.ContainsAny(a, "<>,:; \t") {
			a = strings.Map(func(c rune) rune {
				if strings.ContainsRune("<>,:; \t", c) {
					return -1
				}
				return c
			}, a)
		}
		if !f(a) {
			return
		}
		if r < len(s) {
			r++ // the character that ended it is part of the match
		}
		t = r - 1
	}
}

func isEmailLead(c byte) bool { return c == '<' || c == ',' || c == ':' || c == ' ' || c == '\t' }
func isEmailEnd(c byte) bool  { return c == '>' || c == ',' || c == ';' || c == ' ' || c == '\t' }

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendZeekTSV appends a string field (or, inSet, an element of a set or
// vector) as Zeek's ASCII writer writes it: "" as "(empty)"; a value that
// reads as the unset or empty field ("-", "(empty)") with its first byte as
// \xHH; otherwise as appendZeekTSVText.
func appendZeekTSV(b []byte, s string, inSet bool) []byte {
	switch s {
	case "":
		return append(b, "(empty)"...)
	case "-":
		return append(b, `\x2d`...)
	case "(empty)":
		return append(b, `\x28empty)`...)
	}
	return appendZeekTSVText(b, s, inSet)
}

// appendZeekTSVText appends s escaped as Zeek's ASCII writer escapes it
// (with LogAscii::enable_utf_8, its default): a backslash as `\\`; control
// bytes (tab and newline among them), DEL and invalid UTF-8 as \xHH; in a
// set, the set separator "," as \x2c. Valid UTF-8 is kept, but for what a
// terminal may act on or hide — C1 controls, format characters such as
// bidirectional overrides, line and paragraph separators, spaces other than
// ASCII's — which is written \xHH byte by byte: Zeek's readers unescape
// \xHH, so the value is the same.
func appendZeekTSVText(b []byte, s string, inSet bool) []byte {
	start := 0 // s[start:i] is still to be copied as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' && (c != ',' || !inSet) {
			i++
			continue
		}
		n := 1
		if c >= utf8.RuneSelf {
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			if n > 1 && unicode.IsPrint(r) {
				i += n
				continue
			}
		}
		b = append(b, s[start:i]...)
		if c == '\\' {
			b = append(b, '\\', '\\')
		} else {
			for k := i; k < i+n; k++ {
				b = append(b, '\\', 'x', hexDigits[s[k]>>4], hexDigits[s[k]&0xf])
			}
		}
		i += n
		start = i
	}
	return append(b, s[start:]...)
}

// appendZeekJSONString appends s as Zeek's JSON writer writes a string:
// control bytes other than \b \f \n \r \t, and invalid UTF-8, become the
// text \xHH (so `"\\x1b"` in JSON); the rest is kept and spelt as JSON
// spells it. DEL, C1 controls, format characters such as bidirectional
// overrides and U+2028/U+2029, which Zeek writes as they are, are spelt
// \uXXXX: the same value, nothing a terminal acts on.
func appendZeekJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendZeekJSONText(b, s)
	return append(b, '"')
}

// appendZeekJSONText appends s spelt as appendZeekJSONString spells it,
// without the quotes.
func appendZeekJSONText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		n := 1
		r := rune(c)
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			if n > 1 && r > 0x9f && r != '\u2028' && r != '\u2029' && !unicode.Is(unicode.Cf, r) {
				i += n
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || n == 1 && c >= utf8.RuneSelf:
			b = append(b, '\\', '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default: // DEL, C1, format characters, line and paragraph separators
			b = appendUnicodeEscape(b, r)
		}
		i += n
		start = i
	}
	return append(b, s[start:]...)
}
