package main

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// sess is a generated session: its segments in time order, those already
// written before next. Its payloads point into arena and the body pool.
type sess struct {
	id    int
	segs  []pcapgen.Segment
	next  int
	at    int64 // time of segs[next], Unix nanoseconds
	arena []byte
	bytes int64 // bytes its records take in the capture
}

// Bytes of a capture record besides the TCP payload: pcap record header,
// Ethernet, IP and TCP headers.
const (
	overhead4 = 16 + 14 + 20 + 20
	overhead6 = 16 + 14 + 40 + 20
)

// builder writes the segments of one session. One builder is reused for
// every session of a run.
type builder struct {
	g   *gen
	rng *rand.Rand
	s   *sess
	c   *pcapgen.Conn
	now int64 // Unix nanoseconds of the next segment
	ovh int64

	cli  *client
	srv  *server
	kind *serverKind
	// What the session uses of what the server offered.
	ehlo, pipe, chunking, eightBit, size bool
	mechs                                []string

	// Timing: round-trip time, server processing time, client data rate.
	rtt, proc int64
	nsPerByte float64
	open      bool // fixed small delays for -open

	vars   [numVars][]byte // template variables
	from   *person         // the sender
	rcpts  [][]byte        // recipients of the current transaction
	codes  []reply         // the server's answer to each
	dataN  int             // message data segments sent so far
	record bool            // note the indices of message data segments
	msg    []int           // indices of the data segments of a message of several
}

// Time draws.

func (b *builder) logUniform(lo, hi float64) float64 {
	return lo * math.Pow(hi/lo, b.rng.Float64())
}

// serverDelay is how long the server takes to answer a command.
func (b *builder) serverDelay() int64 {
	if b.open {
		return b.proc
	}
	return b.proc/2 + b.rng.Int64N(b.proc+1)
}

// clientDelay is how long the client takes to send after a reply.
func (b *builder) clientDelay() int64 {
	if b.open {
		return b.rtt
	}
	return b.rtt + b.rng.Int64N(b.rtt/4+20_000)
}

// Arena text.

func (b *builder) mark() int { return len(b.s.arena) }

func (b *builder) since(m int) []byte {
	a := b.s.arena
	return a[m:len(a):len(a)]
}

func (b *builder) add(s string)  { b.s.arena = append(b.s.arena, s...) }
func (b *builder) addB(p []byte) { b.s.arena = append(b.s.arena, p...) }
func (b *builder) addInt(n int)  { b.s.arena = strconv.AppendInt(b.s.arena, int64(n), 10) }

// put copies s into the arena.
func (b *builder) put(s string) []byte {
	m := b.mark()
	b.add(s)
	return b.since(m)
}

// expand appends template t with the session's variables.
func (b *builder) expand(t tmpl) {
	for _, p := range t {
		if p.v == vLit {
			b.add(p.lit)
		} else {
			b.addB(b.vars[p.v])
		}
	}
}

func (b *builder) replyText(r reply) []byte {
	m := b.mark()
	b.expand(b.kind.replies[r])
	return b.since(m)
}

// rnd appends n characters drawn from set.
func (b *builder) rnd(n int, set string) {
	for range n {
		b.s.arena = append(b.s.arena, set[b.rng.IntN(len(set))])
	}
}

// Segments.

func (b *builder) seg(s pcapgen.Segment) {
	b.s.segs = append(b.s.segs, s)
	b.s.bytes += b.ovh + int64(len(s.Payload))
}

func (b *builder) at() time.Time { return time.Unix(0, b.now) }

// client sends p and waits for the server to process it.
func (b *builder) client(p []byte) {
	b.c.Now = b.at()
	b.seg(b.c.FromClient(p))
	b.now += b.serverDelay()
}

// server answers with p and waits for the client's next move.
func (b *builder) server(p []byte) {
	b.c.Now = b.at()
	b.seg(b.c.FromServer(p))
	b.now += b.clientDelay()
}

func (b *builder) ack(fromClient bool) {
	b.c.Now = b.at()
	b.seg(b.c.Ack(fromClient))
}

// command sends a command built by f and the server's reply r.
func (b *builder) command(r reply, f func()) {
	m := b.mark()
	f()
	b.add("\r\n")
	b.client(b.since(m))
	b.server(b.replyText(r))
}

// verb appends a command verb in the client's case.
func (b *builder) verb(upper, lower string) {
	if b.cli.lower {
		b.add(lower)
	} else {
		b.add(upper)
	}
}

// stream sends the concatenation of pieces as message data, in segments
// of pcapgen.MSS bytes as a TCP sender fills them, the server
// acknowledging every second one. Whole segments of one piece point into
// it; a segment across pieces is copied into the arena.
func (b *builder) stream(pieces ...[]byte) {
	pend := -1 // start of a segment being gathered in the arena
	for _, p := range pieces {
		for len(p) > 0 {
			if pend < 0 && len(p) >= pcapgen.MSS {
				b.data(p[:pcapgen.MSS:pcapgen.MSS])
				p = p[pcapgen.MSS:]
				continue
			}
			if pend < 0 {
				pend = b.mark()
			}
			n := min(pcapgen.MSS-(b.mark()-pend), len(p))
			b.addB(p[:n])
			p = p[n:]
			if b.mark()-pend == pcapgen.MSS {
				b.data(b.since(pend))
				pend = -1
			}
		}
	}
	if pend >= 0 {
		b.data(b.since(pend))
	}
}

// data sends one segment of message data.
func (b *builder) data(p []byte) {
	b.c.Now = b.at()
	b.seg(b.c.FromClient(p))
	if b.record {
		b.msg = append(b.msg, len(b.s.segs)-1)
	}
	b.dataN++
	step := int64(float64(len(p))*b.nsPerByte) + 1000
	if b.dataN%2 == 0 {
		b.now += step / 2
		b.ack(false)
		b.now += step - step/2
	} else {
		b.now += step
	}
	if b.dataN%44 == 0 { // a 64 KiB window
		b.now += b.rtt
	}
}

// The session.

// setup chooses the session's client, server, addresses, names and timing,
// and opens its connection at start. relayOnly keeps to clients that do
// not authenticate.
func (b *builder) setup(s *sess, start int64, relayOnly bool) {
	rng := b.rng
	b.s = s
	s.segs, s.arena, s.next, s.bytes = s.segs[:0], s.arena[:0], 0, 0
	b.now = start
	b.dataN, b.msg, b.record = 0, b.msg[:0], false
	b.vars = [numVars][]byte{}
	for {
		b.cli = &clients[weighted(rng.IntN(clientTotal), len(clients), clientWeight)]
		if !relayOnly || !b.cli.submit {
			break
		}
	}
	if b.cli.submit {
		b.srv = &submitServers[weighted(rng.IntN(submitTotal), len(submitServers), submitWeight)]
	} else {
		b.srv = &relayServers[weighted(rng.IntN(relayTotal), len(relayServers), relayWeight)]
	}
	b.kind = b.srv.kind

	id := uint64(s.id) + 1 // no client at 10.64.0.0
	port := uint16(1024 + (id*2654435761>>7)%64000)
	var cl, sv netip.AddrPort
	if rng.IntN(100) < 12 {
		var a [16]byte
		a[0], a[1], a[3] = 0xfd, 0x00, 0x0c
		for i := range 8 {
			a[15-i] = byte(id >> (8 * i))
		}
		cl, sv, b.ovh = netip.AddrPortFrom(netip.AddrFrom16(a), port), b.srv.addr6, overhead6
	} else {
		a := [4]byte{10, byte(64 + (id>>16)&63), byte(id >> 8), byte(id)}
		cl, sv, b.ovh = netip.AddrPortFrom(netip.AddrFrom4(a), port), b.srv.addr4, overhead4
	}
	b.c = pcapgen.NewConn(cl, sv, b.at())

	if !b.open { // -open sets its own
		b.rtt = int64(b.logUniform(300e3, 120e6))
		b.proc = int64(b.logUniform(50e3, 3e6))
		b.nsPerByte = 1e9 / b.logUniform(2e6, 120e6)
	}

	// Template variables.
	b.vars[vHost] = b.put(b.srv.host)
	m := b.mark()
	b.s.arena = cl.Addr().AppendTo(b.s.arena)
	b.vars[vIP] = b.since(m)
	b.vars[vName] = b.heloName(cl.Addr())
	m = b.mark()
	b.s.arena = time.Unix(0, start).UTC().AppendFormat(b.s.arena, "Mon, 2 Jan 2006 15:04:05 -0700")
	b.vars[vDate] = b.since(m)
	b.from = &people[rng.IntN(len(people))]
	m = b.mark()
	b.add(b.from.local)
	b.add("@")
	b.addDomain(b.cli.submit || rng.IntN(2) == 0)
	b.vars[vFrom] = b.since(m)
}

// heloName returns the name the client gives in HELO or EHLO.
func (b *builder) heloName(addr netip.Addr) []byte {
	rng := b.rng
	m := b.mark()
	switch b.cli.style {
	case heloMX:
		b.add(hostWords[rng.IntN(len(hostWords))])
		if rng.IntN(2) == 0 {
			b.addInt(1 + rng.IntN(9))
		}
		b.add(".")
		b.add(domains[rng.IntN(len(domains))])
	case heloExch:
		b.add("EXCH0")
		b.addInt(1 + rng.IntN(6))
		b.add(".fabrikam.example")
	case heloDesktop:
		b.add("DESKTOP-")
		b.rnd(7, desktopLetter)
	case heloLiteral:
		if addr.Is6() {
			b.add("[IPv6:")
			b.s.arena = addr.AppendTo(b.s.arena)
			b.add("]")
		} else {
			b.add("[192.168.")
			b.addInt(rng.IntN(4))
			b.add(".")
			b.addInt(2 + rng.IntN(250))
			b.add("]")
		}
	case heloDevice:
		b.add(deviceNames[rng.IntN(len(deviceNames))])
	case heloLocal:
		b.add(hostWords[rng.IntN(len(hostWords))])
		b.addInt(rng.IntN(20))
		b.add(".localdomain")
	}
	return b.since(m)
}

// address returns a mail address; local ones are in the server's domain.
func (b *builder) address(anyDomain bool) []byte {
	m := b.mark()
	b.add(people[b.rng.IntN(len(people))].local)
	b.add("@")
	b.addDomain(anyDomain)
	return b.since(m)
}

func (b *builder) addDomain(anyDomain bool) {
	if anyDomain {
		b.add(domains[b.rng.IntN(len(domains))])
		return
	}
	h := b.srv.host
	for i := 0; i < len(h); i++ {
		if h[i] == '.' {
			b.add(h[i+1:])
			return
		}
	}
	b.add(h)
}

// handshake opens the connection and reads the greeting.
func (b *builder) handshake() {
	b.c.Now = b.at()
	hs := b.c.Handshake()
	synAck := b.now + b.proc/8 + 1000
	hs[1].Time = time.Unix(0, synAck)
	b.now = synAck + b.rtt
	hs[2].Time = b.at()
	for _, s := range hs {
		b.seg(s)
	}
	if b.open {
		b.now += b.proc
	} else {
		b.now += int64(b.logUniform(200e3, 30e6))
	}
	b.server(b.replyText(rGreet))
}

// hello sends HELO or EHLO and notes what the server offered.
func (b *builder) hello() {
	b.ehlo = !b.cli.helo
	m := b.mark()
	if b.ehlo {
		b.verb("EHLO ", "ehlo ")
	} else {
		b.verb("HELO ", "helo ")
	}
	b.addB(b.vars[vName])
	b.add("\r\n")
	b.client(b.since(m))
	switch {
	case !b.ehlo:
		b.server(b.replyText(rHelo))
	case b.cli.submit:
		m := b.mark()
		b.expand(b.kind.ehloSubmit)
		b.server(b.since(m))
	default:
		b.server(b.replyText(rEhlo))
	}
	k := b.kind
	b.pipe = b.ehlo && k.pipelining && b.cli.pipeline
	b.chunking = b.ehlo && k.chunking && b.cli.bdat
	b.eightBit = b.ehlo && k.eightBit
	b.size = b.ehlo && b.cli.sizeParam
	b.mechs = nil
	if b.ehlo && b.cli.submit {
		b.mechs = k.auth
	}
}

// authenticate runs an AUTH exchange and reports whether it succeeded.
func (b *builder) authenticate(fail bool) bool {
	rng := b.rng
	mech := ""
	for _, want := range b.cli.auth {
		for _, m := range b.mechs {
			if m == want && mech == "" {
				mech = m
			}
		}
	}
	if mech == "" {
		return true // nothing in common: go on without
	}
	user := string(b.vars[vFrom])
	if rng.IntN(3) == 0 {
		user = user[:indexByte(user, '@')]
	}
	pass := passwords[rng.IntN(len(passwords))]
	final := rAuthOK
	if fail {
		final = rAuthFail
		pass += "1"
	}
	line := func(s string) []byte { return b.put(s + "\r\n") }
	switch {
	case mech == "PLAIN" && rng.IntN(5) > 0:
		b.client(line("AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)))
	case mech == "PLAIN":
		b.client(line("AUTH PLAIN"))
		b.server(b.replyText(rPlain))
		b.client(line(b64("\x00" + user + "\x00" + pass)))
	case rng.IntN(7) == 0:
		b.client(line("AUTH LOGIN " + b64(user)))
		b.server(b.replyText(rPass))
		b.client(line(b64(pass)))
	default:
		b.client(line("AUTH LOGIN"))
		b.server(b.replyText(rUser))
		b.client(line(b64(user)))
		b.server(b.replyText(rPass))
		b.client(line(b64(pass)))
	}
	b.server(b.replyText(final))
	return !fail
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

var passwords = []string{"hunter2", "correct horse battery staple", "Winter2026!", "s3cr3t-P@ss", "letmein", "Tr0ub4dor&3"}

// transaction is one mail transaction.
type transaction struct {
	body    *body
	header  []byte
	bounce  bool
	nrcpt   int
	spam    bool
	useBdat bool
}

// newTransaction chooses a transaction's sender, recipients and message,
// the message of a size class at most maxClass.
func (b *builder) newTransaction(maxClass int) *transaction {
	rng := b.rng
	t := &transaction{}
	if !b.cli.submit && rng.IntN(50) == 0 {
		t.bounce = true
	}
	t.nrcpt = 1 + weighted(rng.IntN(100), 5, func(i int) int { return [5]int{70, 15, 8, 4, 3}[i] })
	b.rcpts, b.codes = b.rcpts[:0], b.codes[:0]
	for range t.nrcpt {
		r := b.address(b.cli.submit)
		for try := 0; try < 4 && b.hasRcpt(r); try++ {
			r = b.address(b.cli.submit)
		}
		b.rcpts = append(b.rcpts, r)
		code := rRcpt
		switch r := rng.IntN(100); {
		case r < 4:
			code = rUnknown
		case r < 6 && !b.cli.submit:
			code = rGrey
		}
		b.codes = append(b.codes, code)
	}
	c := b.g.sizeClass(rng)
	if b.open {
		// Every connection of -open finishes: one recipient, accepted,
		// and a small message.
		c, t.bounce, t.nrcpt = 0, false, 1
		b.rcpts, b.codes = b.rcpts[:1], append(b.codes[:0], rRcpt)
	}
	t.body = b.g.pool.pick(rng, min(c, maxClass), !b.eightBit)
	t.spam = rng.IntN(50) == 0 && !b.open
	t.useBdat = b.chunking
	t.header = b.header(t)
	return t
}

func (b *builder) hasRcpt(r []byte) bool {
	for _, x := range b.rcpts {
		if string(x) == string(r) {
			return true
		}
	}
	return false
}

// header writes the message's own header fields.
func (b *builder) header(t *transaction) []byte {
	rng := b.rng
	m := b.mark()
	if n := b.cli.received; n > 0 && !b.open {
		for i := rng.IntN(n + 1); i > 0; i-- {
			b.received()
		}
	}
	b.add("Date: ")
	b.addB(b.vars[vDate])
	b.add("\r\nFrom: ")
	switch {
	case t.bounce:
		b.add("MAILER-DAEMON@")
		b.addB(b.vars[vName])
		b.add(" (Mail Delivery System)")
	case b.from.display != "":
		b.add(b.from.display)
		b.add(" <")
		b.addB(b.vars[vFrom])
		b.add(">")
	default:
		b.addB(b.vars[vFrom])
	}
	b.add("\r\nTo: ")
	for i, r := range b.rcpts[:min(3, len(b.rcpts))] {
		if i > 0 {
			b.add(",\r\n ")
		}
		b.addB(r)
	}
	if rng.IntN(7) == 0 {
		b.add("\r\nCc: ")
		b.address(true) // appended where it belongs
	}
	b.add("\r\nSubject: ")
	if t.bounce {
		b.add("Undelivered Mail Returned to Sender")
	} else {
		b.add(subjects[rng.IntN(len(subjects))])
	}
	b.add("\r\nMessage-ID: <")
	mid := b.mark()
	b.rnd(16, "0123456789abcdef")
	b.add(".")
	b.rnd(8, "0123456789abcdef")
	b.add("@")
	b.addDomain(true)
	b.vars[vMsgID] = b.since(mid)
	b.add(">\r\n")
	if b.cli.mailer != "" {
		b.add(b.cli.mailer)
		b.add("\r\n")
	}
	return b.since(m)
}

// received writes a Received field of an earlier hop, in the style of
// the client's software.
func (b *builder) received() {
	rng := b.rng
	prev := func() {
		b.add(hostWords[rng.IntN(len(hostWords))])
		b.addInt(rng.IntN(9))
		b.add(".internal")
	}
	ip := func() {
		b.add("172.16.")
		b.addInt(rng.IntN(256))
		b.add(".")
		b.addInt(1 + rng.IntN(254))
	}
	switch b.cli.name {
	case "exchange":
		b.add("Received: from ")
		prev()
		b.add(" (")
		ip()
		b.add(") by ")
		b.addB(b.vars[vName])
		b.add("\r\n (")
		ip()
		b.add(") with Microsoft SMTP Server (version=TLS1_2,\r\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.2.1544.14; ")
	case "exim":
		b.add("Received: from [")
		ip()
		b.add("] (helo=")
		prev()
		b.add(")\r\n\tby ")
		b.addB(b.vars[vName])
		b.add(" with esmtpsa  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n\t(Exim 4.97)\r\n\t(envelope-from <")
		b.addB(b.vars[vFrom])
		b.add(">)\r\n\tid ")
		b.rnd(6, qidChars)
		b.add("-")
		b.rnd(6, qidChars)
		b.add("-")
		b.rnd(2, qidChars)
		b.add("\r\n\tfor ")
		b.addB(b.rcpts[0])
		b.add("; ")
	default:
		b.add("Received: from ")
		prev()
		b.add(" (unknown [")
		ip()
		b.add("])\r\n\tby ")
		b.addB(b.vars[vName])
		b.add(" (Postfix) with ESMTP id ")
		b.rnd(12, qidChars)
		b.add("\r\n\tfor <")
		b.addB(b.rcpts[0])
		b.add(">; ")
	}
	b.addB(b.vars[vDate])
	b.add("\r\n")
}

const qidChars = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"

// mailLine appends MAIL FROM with its parameters.
func (b *builder) mailLine(t *transaction) {
	b.verb("MAIL FROM:", "mail FROM:")
	if b.cli.spaceAfter {
		b.add(" ")
	}
	b.add("<")
	if !t.bounce {
		b.addB(b.vars[vFrom])
	}
	b.add(">")
	if b.size {
		b.verb(" SIZE=", " size=")
		b.addInt(len(t.header) + len(t.body.raw))
	}
	if t.body.eightBit && b.eightBit {
		b.add(" BODY=8BITMIME")
	}
	b.add("\r\n")
}

func (b *builder) rcptLine(r []byte) {
	b.verb("RCPT TO:", "rcpt TO:")
	if b.cli.spaceAfter {
		b.add(" ")
	}
	b.add("<")
	b.addB(r)
	b.add(">\r\n")
}

// setRcpt sets the variables for the answer about recipient r.
func (b *builder) setRcpt(r []byte) {
	b.vars[vRcpt] = r
	b.vars[vDomain] = r[indexByte(string(r), '@')+1:]
}

// mail runs MAIL FROM, unless it was pipelined.
func (b *builder) mail(t *transaction) {
	if b.pipe {
		return
	}
	m := b.mark()
	b.mailLine(t)
	b.client(b.since(m))
	b.server(b.replyText(rMail))
}

// finishTransaction sends the recipients and the message (MAIL too when
// pipelining). It reports whether the message was sent.
func (b *builder) finishTransaction(t *transaction) bool {
	accepted := 0
	for _, c := range b.codes {
		if c == rRcpt {
			accepted++
		}
	}
	if b.pipe {
		m := b.mark()
		b.mailLine(t)
		for _, r := range b.rcpts {
			b.rcptLine(r)
		}
		if !t.useBdat {
			b.verb("DATA\r\n", "data\r\n")
		}
		b.client(b.since(m))
		m = b.mark()
		b.expand(b.kind.replies[rMail])
		for i, r := range b.rcpts {
			b.setRcpt(r)
			b.expand(b.kind.replies[b.codes[i]])
		}
		if !t.useBdat {
			if accepted > 0 {
				b.expand(b.kind.replies[rData])
			} else {
				b.expand(b.kind.replies[rNoRcpt])
			}
		}
		b.server(b.since(m))
	} else {
		for i, r := range b.rcpts {
			m := b.mark()
			b.rcptLine(r)
			b.client(b.since(m))
			b.setRcpt(r)
			b.server(b.replyText(b.codes[i]))
		}
		if accepted > 0 && !t.useBdat {
			b.command(rData, func() { b.verb("DATA", "data") })
		}
	}
	if accepted == 0 {
		if b.rng.IntN(10) < 6 {
			b.command(rRset, func() { b.verb("RSET", "rset") })
		}
		return false
	}
	b.record = len(b.msg) == 0
	final := rQueued
	if t.spam {
		final = rSpam
	}
	qid := b.mark()
	b.rnd(10+b.rng.IntN(5), qidChars)
	b.vars[vQID] = b.since(qid)
	if t.useBdat {
		b.bdat(t, final)
	} else {
		b.stream(t.header, t.body.stuffed)
		b.now += b.scanDelay()
		b.server(b.replyText(final))
	}
	if b.record && len(b.msg) < 2 {
		b.msg = b.msg[:0]
	}
	b.record = false
	return true
}

// scanDelay is how long the server takes to accept a message.
func (b *builder) scanDelay() int64 {
	if b.open {
		return b.proc
	}
	return int64(b.logUniform(2e6, 150e6))
}

// bdat sends the message in BDAT chunks: one, or 64 KiB ones for a large
// message.
func (b *builder) bdat(t *transaction, final reply) {
	hdr, raw := t.header, t.body.raw
	total := len(hdr) + len(raw)
	chunk := total
	if total > 128<<10 && b.rng.IntN(2) == 0 {
		chunk = 64 << 10
	}
	for off := 0; off < total; off += chunk {
		n := min(chunk, total-off)
		last := off+n == total
		m := b.mark()
		b.add("BDAT ")
		b.addInt(n)
		if last {
			b.add(" LAST")
		}
		b.add("\r\n")
		cmd := b.since(m)
		// The chunk's bytes: the part of hdr, then of raw, in [off, off+n).
		h := hdr[min(off, len(hdr)):min(off+n, len(hdr))]
		r := raw[max(0, off-len(hdr)):max(0, off+n-len(hdr))]
		b.stream(cmd, h, r)
		if last {
			b.now += b.scanDelay()
			b.server(b.replyText(final))
		} else {
			nm := b.mark()
			b.addInt(n)
			b.vars[vN] = b.since(nm)
			b.now += b.serverDelay()
			b.server(b.replyText(rBdat))
		}
	}
}

// quit ends the session: QUIT and FINs, or now and then a reset.
func (b *builder) quit() {
	r := 1000
	if !b.open {
		r = b.rng.IntN(1000)
	}
	if !b.open && b.rng.IntN(100) < b.cli.rstNoQuit || r < 10 {
		b.c.Now = b.at()
		b.seg(b.c.ClientRST())
		return
	}
	m := b.mark()
	b.verb("QUIT\r\n", "quit\r\n")
	b.client(b.since(m))
	b.c.Now = b.at()
	b.seg(b.c.FromServer(b.replyText(rQuit)))
	b.now += 1000 // the server closes at once
	if r < 30 {
		b.now += b.rtt
		b.c.Now = b.at()
		b.seg(b.c.ClientRST())
		return
	}
	b.c.Now = b.at()
	b.seg(b.c.ServerFIN())
	b.now += b.rtt + 1000
	b.c.Now = b.at()
	b.seg(b.c.ClientFIN())
	b.now += 1000
	b.ack(false)
}

// session writes a whole session to s, starting at start. Its messages
// are at most of class maxClass.
func (b *builder) session(s *sess, start int64, maxClass int) {
	b.setup(s, start, false)
	rng := b.rng
	b.handshake()
	b.hello()
	if b.cli.submit {
		if !b.authenticate(rng.IntN(100) < 12) {
			b.quit()
			return
		}
	}
	n := 1
	if rng.IntN(100) < b.cli.multi {
		n += 1 + rng.IntN(2)
	}
	for i := range n {
		if i > 0 && rng.IntN(2) == 0 {
			b.command(rRset, func() { b.verb("RSET", "rset") })
		}
		t := b.newTransaction(maxClass)
		b.mail(t)
		b.finishTransaction(t)
	}
	b.quit()
	b.trouble()
}

// trouble gives a few sessions TCP trouble: two data segments swapped, one
// sent twice, or one lost from the capture.
func (b *builder) trouble() {
	r := b.rng.IntN(1000)
	if r >= 45 || len(b.msg) < 2 {
		return
	}
	segs := b.s.segs
	switch {
	case r < 15: // reordering: two adjacent segments swapped, times kept
		for k := b.rng.IntN(len(b.msg) - 1); k < len(b.msg)-1; k++ {
			if i := b.msg[k]; b.msg[k+1] == i+1 {
				t0, t1 := segs[i].Time, segs[i+1].Time
				segs[i], segs[i+1] = segs[i+1], segs[i]
				segs[i].Time, segs[i+1].Time = t0, t1
				return
			}
		}
	case r < 30: // retransmission: a copy a few segments later
		i := b.msg[b.rng.IntN(len(b.msg))]
		j := min(len(segs), i+2+b.rng.IntN(3))
		dup := segs[i]
		dup.Time = segs[j-1].Time
		segs = append(segs, pcapgen.Segment{})
		copy(segs[j+1:], segs[j:])
		segs[j] = dup
		b.s.bytes += b.ovh + int64(len(dup.Payload))
	default: // loss: a data segment missing, not the one with the end
		i := b.msg[b.rng.IntN(len(b.msg)-1)]
		b.s.bytes -= b.ovh + int64(len(segs[i].Payload))
		segs = append(segs[:i], segs[i+1:]...)
	}
	b.s.segs = segs
}
