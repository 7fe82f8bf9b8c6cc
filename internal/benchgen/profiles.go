package main

import (
	"net/netip"
	"strings"
)

// Servers and clients of the generated traffic, after what real ones send.

// tmpl is a reply or field text with variables: the parts alternate between
// literal text and a variable.
type tmpl []tpart

type tpart struct {
	lit string
	v   tvar // 0 for literal text
}

// Template variables.
type tvar uint8

const (
	vLit    tvar = iota
	vHost        // the server's host name
	vIP          // the client's address
	vName        // the name the client gave in HELO/EHLO
	vDate        // the session's date in RFC 5322 form
	vQID         // the transaction's queue ID
	vFrom        // the reverse path
	vRcpt        // the recipient being answered
	vMsgID       // the message ID, without angle brackets
	vN           // a number: a BDAT chunk's size
	vDomain      // the recipient's domain
	numVars
)

var tvarNames = map[string]tvar{
	"host": vHost, "ip": vIP, "name": vName, "date": vDate, "qid": vQID,
	"from": vFrom, "rcpt": vRcpt, "msgid": vMsgID, "n": vN, "domain": vDomain,
}

// parseTmpl parses text with {var} variables; "\n" stands for CRLF.
func parseTmpl(s string) tmpl {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	var t tmpl
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t = append(t, tpart{lit: s})
			break
		}
		j := strings.IndexByte(s[i:], '}')
		v, ok := tvarNames[s[i+1:i+j]]
		if !ok {
			panic("benchgen: unknown template variable in " + s)
		}
		if i > 0 {
			t = append(t, tpart{lit: s[:i]})
		}
		t = append(t, tpart{v: v})
		s = s[i+j+1:]
	}
	return t
}

// Replies a server gives.
type reply uint8

const (
	rGreet    reply = iota
	rEhlo           // the whole EHLO reply, extensions included
	rHelo           // the HELO reply
	rMail           // MAIL accepted
	rRcpt           // RCPT accepted
	rUnknown        // 550 5.1.1 no such user
	rGrey           // 450 4.2.0 greylisted
	rData           // 354
	rQueued         // the message accepted
	rSpam           // 554 after the message
	rNoRcpt         // DATA refused: no valid recipient
	rQuit           // 221
	rRset           // 250 after RSET
	rAuthOK         // 235
	rAuthFail       // 535 5.7.8
	rUser           // 334 asking for the user name (AUTH LOGIN)
	rPass           // 334 asking for the password (AUTH LOGIN)
	rPlain          // 334 asking for the AUTH PLAIN response
	rBdat           // 250 after a BDAT chunk that is not the last
	numReplies
)

// serverKind is the software of a server: its replies and what it offers.
type serverKind struct {
	name       string
	replies    [numReplies]tmpl
	ehloSubmit tmpl // the EHLO reply on the submission port (AUTH offered)
	pipelining bool
	chunking   bool
	eightBit   bool
	auth       []string // mechanisms offered on the submission port
}

func newServerKind(name string, pipelining, chunking, eightBit bool, auth []string, texts map[reply]string, ehloSubmit string) *serverKind {
	k := &serverKind{name: name, pipelining: pipelining, chunking: chunking, eightBit: eightBit, auth: auth}
	for r, s := range texts {
		k.replies[r] = parseTmpl(s + "\n")
	}
	for r := range k.replies {
		if k.replies[r] == nil {
			panic("benchgen: server " + name + " lacks a reply")
		}
	}
	k.ehloSubmit = parseTmpl(ehloSubmit + "\n")
	return k
}

var (
	postfix = newServerKind("postfix", true, true, true, []string{"PLAIN", "LOGIN"}, map[reply]string{
		rGreet:    "220 {host} ESMTP Postfix (Debian/GNU)",
		rEhlo:     "250-{host}\n250-PIPELINING\n250-SIZE 52428800\n250-VRFY\n250-ETRN\n250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING",
		rHelo:     "250 {host}",
		rMail:     "250 2.1.0 Ok",
		rRcpt:     "250 2.1.5 Ok",
		rUnknown:  "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
		rGrey:     "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/{domain}.html",
		rData:     "354 End data with <CR><LF>.<CR><LF>",
		rQueued:   "250 2.0.0 Ok: queued as {qid}",
		rSpam:     "554 5.7.1 Spam message rejected",
		rNoRcpt:   "554 5.5.1 Error: no valid recipients",
		rQuit:     "221 2.0.0 Bye",
		rRset:     "250 2.0.0 Ok",
		rAuthOK:   "235 2.7.0 Authentication successful",
		rAuthFail: "535 5.7.8 Error: authentication failed: authentication failure",
		rUser:     "334 VXNlcm5hbWU6",
		rPass:     "334 UGFzc3dvcmQ6",
		rPlain:    "334 ",
		rBdat:     "250 2.0.0 Ok: {n} bytes",
	}, "250-{host}\n250-PIPELINING\n250-SIZE 52428800\n250-ETRN\n250-STARTTLS\n250-AUTH PLAIN LOGIN\n250-AUTH=PLAIN LOGIN\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING")

	exim = newServerKind("exim", true, true, true, []string{"PLAIN", "LOGIN"}, map[reply]string{
		rGreet:    "220 {host} ESMTP Exim 4.97 {date}",
		rEhlo:     "250-{host} Hello {name} [{ip}]\n250-SIZE 52428800\n250-8BITMIME\n250-PIPELINING\n250-PIPECONNECT\n250-CHUNKING\n250-STARTTLS\n250-PRDR\n250 HELP",
		rHelo:     "250 {host} Hello {name} [{ip}]",
		rMail:     "250 OK",
		rRcpt:     "250 Accepted",
		rUnknown:  "550 5.1.1 <{rcpt}>: User unknown",
		rGrey:     "450 4.2.0 <{rcpt}>: greylisted, please try again in 5 minutes",
		rData:     "354 Enter message, ending with \".\" on a line by itself",
		rQueued:   "250 OK id={qid}",
		rSpam:     "554 5.7.1 Message rejected as spam",
		rNoRcpt:   "503-All RCPT commands were rejected with this error:\n503-550 5.1.1 User unknown\n503 Valid RCPT command must precede DATA",
		rQuit:     "221 {host} closing connection",
		rRset:     "250 Reset OK",
		rAuthOK:   "235 Authentication succeeded",
		rAuthFail: "535 5.7.8 Incorrect authentication data",
		rUser:     "334 VXNlcm5hbWU6",
		rPass:     "334 UGFzc3dvcmQ6",
		rPlain:    "334 ",
		rBdat:     "250 {n} byte chunk received",
	}, "250-{host} Hello {name} [{ip}]\n250-SIZE 52428800\n250-8BITMIME\n250-PIPELINING\n250-CHUNKING\n250-STARTTLS\n250-AUTH PLAIN LOGIN\n250 HELP")

	exchange = newServerKind("exchange", true, true, true, []string{"LOGIN"}, map[reply]string{
		rGreet:    "220 {host} Microsoft ESMTP MAIL Service ready at {date}",
		rEhlo:     "250-{host} Hello [{ip}]\n250-SIZE 37748736\n250-PIPELINING\n250-DSN\n250-ENHANCEDSTATUSCODES\n250-STARTTLS\n250-8BITMIME\n250-BINARYMIME\n250-CHUNKING\n250 SMTPUTF8",
		rHelo:     "250 {host} Hello [{ip}]",
		rMail:     "250 2.1.0 Sender OK",
		rRcpt:     "250 2.1.5 Recipient OK",
		rUnknown:  "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP address lookup",
		rGrey:     "450 4.2.0 Mailbox temporarily unavailable, greylisted",
		rData:     "354 Start mail input; end with <CRLF>.<CRLF>",
		rQueued:   "250 2.6.0 <{msgid}> [InternalId={qid}, Hostname={host}] Queued mail for delivery",
		rSpam:     "554 5.7.1 Message rejected as spam by Content Filtering.",
		rNoRcpt:   "503 5.5.2 Need rcpt command",
		rQuit:     "221 2.0.0 Service closing transmission channel",
		rRset:     "250 2.0.0 Resetting",
		rAuthOK:   "235 2.7.0 Authentication successful",
		rAuthFail: "535 5.7.8 Authentication unsuccessful",
		rUser:     "334 VXNlcm5hbWU6",
		rPass:     "334 UGFzc3dvcmQ6",
		rPlain:    "334 ",
		rBdat:     "250 2.0.0 CHUNK received OK, {n} octets",
	}, "250-{host} Hello [{ip}]\n250-SIZE 37748736\n250-PIPELINING\n250-DSN\n250-ENHANCEDSTATUSCODES\n250-STARTTLS\n250-AUTH NTLM LOGIN\n250-8BITMIME\n250-BINARYMIME\n250-CHUNKING\n250 SMTPUTF8")

	sendmail = newServerKind("sendmail", true, false, true, []string{"LOGIN", "PLAIN"}, map[reply]string{
		rGreet:    "220 {host} ESMTP Sendmail 8.17.2/8.17.2; {date}",
		rEhlo:     "250-{host} Hello {name} [{ip}], pleased to meet you\n250-ENHANCEDSTATUSCODES\n250-PIPELINING\n250-8BITMIME\n250-SIZE 20000000\n250-DSN\n250-ETRN\n250-STARTTLS\n250-DELIVERBY\n250 HELP",
		rHelo:     "250 {host} Hello {name} [{ip}], pleased to meet you",
		rMail:     "250 2.1.0 <{from}>... Sender ok",
		rRcpt:     "250 2.1.5 <{rcpt}>... Recipient ok",
		rUnknown:  "550 5.1.1 <{rcpt}>... User unknown",
		rGrey:     "450 4.2.0 <{rcpt}>... Greylisted, try again later",
		rData:     "354 Enter mail, end with \".\" on a line by itself",
		rQueued:   "250 2.0.0 {qid} Message accepted for delivery",
		rSpam:     "554 5.7.1 Message rejected: content policy",
		rNoRcpt:   "503 5.0.0 Need RCPT (recipient)",
		rQuit:     "221 2.0.0 {host} closing connection",
		rRset:     "250 2.0.0 Reset state",
		rAuthOK:   "235 2.0.0 OK Authenticated",
		rAuthFail: "535 5.7.8 Error: authentication failed",
		rUser:     "334 VXNlcm5hbWU6",
		rPass:     "334 UGFzc3dvcmQ6",
		rPlain:    "334 ",
		rBdat:     "250 2.0.0 OK",
	}, "250-{host} Hello {name} [{ip}], pleased to meet you\n250-ENHANCEDSTATUSCODES\n250-PIPELINING\n250-8BITMIME\n250-SIZE 20000000\n250-DSN\n250-AUTH LOGIN PLAIN\n250-STARTTLS\n250 HELP")

	// aiosmtpd, the Python server: no PIPELINING, and its own AUTH LOGIN
	// prompts ("User Name\0", "Password\0").
	aiosmtpd = newServerKind("aiosmtpd", false, false, true, []string{"LOGIN", "PLAIN"}, map[reply]string{
		rGreet:    "220 {host} Python SMTP 1.4.6",
		rEhlo:     "250-{host}\n250-SIZE 33554432\n250-8BITMIME\n250-SMTPUTF8\n250 HELP",
		rHelo:     "250 {host}",
		rMail:     "250 OK",
		rRcpt:     "250 OK",
		rUnknown:  "550 5.1.1 User unknown",
		rGrey:     "450 4.2.0 Greylisted, try again later",
		rData:     "354 End data with <CR><LF>.<CR><LF>",
		rQueued:   "250 OK",
		rSpam:     "554 5.7.1 Message rejected",
		rNoRcpt:   "503 Error: need RCPT command",
		rQuit:     "221 Bye",
		rRset:     "250 OK",
		rAuthOK:   "235 2.7.0 Authentication successful",
		rAuthFail: "535 5.7.8 Authentication credentials invalid",
		rUser:     "334 VXNlciBOYW1lAA==",
		rPass:     "334 UGFzc3dvcmQA",
		rPlain:    "334 ",
		rBdat:     "250 OK",
	}, "250-{host}\n250-SIZE 33554432\n250-8BITMIME\n250-SMTPUTF8\n250-AUTH LOGIN PLAIN\n250 HELP")
)

// server is one server of the capture.
type server struct {
	kind   *serverKind
	host   string
	addr4  netip.AddrPort
	addr6  netip.AddrPort
	weight int
}

func newServer(kind *serverKind, host, ip4, ip6 string, port uint16, weight int) server {
	return server{kind, host,
		netip.AddrPortFrom(netip.MustParseAddr(ip4), port),
		netip.AddrPortFrom(netip.MustParseAddr(ip6), port), weight}
}

// Servers on port 25 (relay) and 587 (submission).
var (
	relayServers = []server{
		newServer(postfix, "mx1.example.net", "10.0.0.25", "fd00::25", 25, 30),
		newServer(postfix, "mx2.example.net", "10.0.0.26", "fd00::26", 25, 15),
		newServer(exim, "mail.example.org", "10.0.0.27", "fd00::27", 25, 20),
		newServer(exchange, "EXCH01.contoso.example", "10.0.0.28", "fd00::28", 25, 20),
		newServer(sendmail, "mail.initech.example", "10.0.0.29", "fd00::29", 25, 8),
		newServer(aiosmtpd, "relay.hooli.example", "10.0.0.30", "fd00::30", 25, 7),
	}
	submitServers = []server{
		newServer(postfix, "smtp.example.net", "10.0.0.87", "fd00::87", 587, 45),
		newServer(exchange, "EXCH02.contoso.example", "10.0.0.88", "fd00::88", 587, 25),
		newServer(aiosmtpd, "submit.hooli.example", "10.0.0.89", "fd00::89", 587, 15),
		newServer(exim, "smtp.example.org", "10.0.0.90", "fd00::90", 587, 10),
		newServer(sendmail, "smtp.initech.example", "10.0.0.91", "fd00::91", 587, 5),
	}
)

// Ways of naming oneself in HELO/EHLO.
type heloStyle uint8

const (
	heloMX      heloStyle = iota // mail3.example.com
	heloExch                     // EXCH03.fabrikam.example
	heloDesktop                  // DESKTOP-7F3K2QL
	heloLiteral                  // [192.168.1.23]
	heloDevice                   // SCANNER-3F, printer.local, localhost
	heloLocal                    // web01.localdomain
)

// client is a kind of client program.
type client struct {
	name       string
	weight     int
	submit     bool // connects to port 587 and authenticates
	helo       bool // says HELO, never EHLO
	lower      bool // lower-case verbs, as Python's smtplib
	pipeline   bool // pipelines when PIPELINING is offered
	bdat       bool // sends BDAT when CHUNKING is offered
	sizeParam  bool // adds SIZE= when SIZE is offered
	auth       []string
	style      heloStyle
	mailer     string // X-Mailer or User-Agent field, with its name
	received   int    // at most this many Received fields of earlier hops
	multi      int    // percent of sessions with more than one transaction
	spaceAfter bool   // writes "MAIL FROM: <a>", with a space (a malformed path)
	rstNoQuit  int    // percent of sessions ended by RST instead of QUIT
}

var clients = []client{
	{name: "postfix", weight: 30, pipeline: true, sizeParam: true, style: heloMX, received: 3, multi: 8,
		mailer: "X-Mailer: Microsoft Outlook 16.0"},
	{name: "exchange", weight: 10, pipeline: true, bdat: true, sizeParam: true, style: heloExch, received: 2, multi: 6,
		mailer: "X-MS-Has-Attach: yes"},
	{name: "exim", weight: 8, pipeline: true, sizeParam: true, style: heloMX, received: 2, multi: 4,
		mailer: "User-Agent: Mutt/2.2.12 (2023-09-09)"},
	{name: "device", weight: 6, helo: true, style: heloDevice, rstNoQuit: 25, spaceAfter: true,
		mailer: "X-Mailer: RICOH MP C3004 Scan to Email"},
	{name: "smtplib", weight: 6, lower: true, sizeParam: true, style: heloLocal},
	{name: "swaks", weight: 3, style: heloLocal, mailer: "X-Mailer: swaks v20240103.0 jetmore.org/john/code/swaks/"},
	{name: "outlook", weight: 6, submit: true, auth: []string{"LOGIN", "PLAIN"}, style: heloDesktop, sizeParam: true,
		mailer: "X-Mailer: Microsoft Outlook 16.0"},
	{name: "thunderbird", weight: 6, submit: true, pipeline: true, sizeParam: true, auth: []string{"PLAIN", "LOGIN"}, style: heloLiteral,
		mailer: "User-Agent: Mozilla Thunderbird"},
	{name: "smtplib-auth", weight: 4, submit: true, lower: true, sizeParam: true, auth: []string{"PLAIN", "LOGIN"}, style: heloLocal},
	{name: "phpmailer", weight: 2, submit: true, auth: []string{"LOGIN", "PLAIN"}, style: heloLocal,
		mailer: "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)"},
	{name: "swaks-auth", weight: 1, submit: true, auth: []string{"LOGIN"}, style: heloLocal,
		mailer: "X-Mailer: swaks v20240103.0 jetmore.org/john/code/swaks/"},
}

// weighted returns the index chosen by r in [0, total weight) among n
// items of the given weights.
func weighted(r, n int, weight func(int) int) int {
	for i := range n {
		if r < weight(i) {
			return i
		}
		r -= weight(i)
	}
	return n - 1
}

func totalWeight(n int, weight func(int) int) int {
	t := 0
	for i := range n {
		t += weight(i)
	}
	return t
}

var (
	clientWeight  = func(i int) int { return clients[i].weight }
	relayWeight   = func(i int) int { return relayServers[i].weight }
	submitWeight  = func(i int) int { return submitServers[i].weight }
	clientTotal   = totalWeight(len(clients), clientWeight)
	relayTotal    = totalWeight(len(relayServers), relayWeight)
	submitTotal   = totalWeight(len(submitServers), submitWeight)
	deviceNames   = []string{"SCANNER-3F", "printer.local", "localhost", "NPI8C2F1E", "KM-C458", "ups-monitor", "nas01"}
	hostWords     = []string{"mail", "smtp", "mx", "out", "relay", "mta", "web", "app", "srv", "mailer"}
	desktopLetter = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)
