package replay

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// writeFixtureData writes the fixture's data: the greeting, the EHLO reply
// for the part after TLS, and the captured steps.
func writeFixtureData(b *bytes.Buffer, p *plan, o Options) {
	s := p.s
	q := strconv.Quote
	b.WriteString("\nconst (\n")
	fmt.Fprintf(b, "\tcsImplicitTLS = %v // TLS from the start\n", s.ImplicitTLS)
	fmt.Fprintf(b, "\tcsSNI = %s // the TLS server name the captured client sent, also in the certificate\n", q(s.TLSInfo.SNI))
	b.WriteString(")\n\n")

	b.WriteString("// csGreeting is the captured server's greeting.\nvar csGreeting = ")
	if p.greeting != nil && !s.ImplicitTLS {
		writeStrings(b, replyLines(p.greeting))
	} else {
		b.WriteString("[]string{\"220 localhost ESMTP\"} // not in the capture")
	}
	b.WriteString("\n\n")

	b.WriteString("// csEhlo answers EHLO where the capture cannot show the session (after TLS).\nvar csEhlo = ")
	writeStrings(b, ehloAfterTLS(s))
	b.WriteString("\n\n")

	b.WriteString("// csSteps are the captured client turns and the server's replies, in order.\nvar csSteps = []csStep{\n")
	var contents [][]byte
	for i := 0; i < len(p.turns); i++ {
		t := &p.turns[i]
		var f []string
		add := func(k, v string) { f = append(f, k+": "+v) }
		data := func(d []byte) {
			name := fmt.Sprintf("csContent%d", len(contents)+1)
			contents = append(contents, d)
			add("data", name)
		}
		reply := func(r *smtpdecode.Reply, verb string) {
			if r != nil {
				var rb bytes.Buffer
				writeStrings(&rb, replyLines(r))
				add("reply", rb.String())
				return
			}
			add("reply", fmt.Sprintf("[]string{%s} /* not in the capture */", q(defaultReply(verb))))
		}
		switch {
		case t.cmd == nil && t.kind == kindCommand:
			continue // said again after TLS: anySMTP answers it
		case t.kind == kindUnknown:
			add("kind", "csUnknown")
		case t.auth != nil && t.cmd != nil && t.cmd.Kind == smtpdecode.KindCommand && t.cmd.Verb == "AUTH":
			n := fixtureAuth(t, p.turns[i+1:], o, add)
			i += n
			last := t
			if n > 0 {
				last = &p.turns[i]
			}
			reply(last.reply, "AUTH")
		case t.kind == kindMessage || t.kind == kindUnknownMessage && t.cmd != nil && t.cmd.Kind == smtpdecode.KindMessage:
			add("kind", "csMessage")
			if t.kind == kindMessage {
				data(t.data)
			} else {
				add("partial", "true")
			}
			reply(t.reply, "")
		case t.kind == kindChunk || t.kind == kindUnknownMessage:
			add("kind", "csChunk")
			add("line", q(t.line))
			if t.kind == kindChunk {
				data(t.data)
			} else {
				add("partial", "true")
			}
			reply(t.reply, "BDAT")
		default:
			verb := ""
			if t.cmd != nil {
				verb = t.cmd.Verb
			}
			if t.kind == kindStartTLS {
				add("kind", "csStartTLS")
			}
			if t.kind == kindCommand {
				add("line", q(t.line))
			} else if t.kind != kindStartTLS {
				add("anyLine", "true") // a response that cannot be told
			} else {
				add("line", q(t.line))
			}
			reply(t.reply, verb)
		}
		b.WriteString("\t{" + strings.Join(f, ", ") + "},\n")
	}
	b.WriteString("}\n")
	for i, c := range contents {
		fmt.Fprintf(b, "\n// csContent%d is message content as captured (%d bytes), line by line.\nvar csContent%d = ", i+1, len(c), i+1)
		writeLines(b, c)
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// fixtureAuth writes the fields of an AUTH exchange whose command is t and
// whose responses follow in rest, and returns how many of rest it took.
func fixtureAuth(t *turn, rest []turn, o Options, add func(k, v string)) int {
	x := t.auth
	q := strconv.Quote
	add("kind", "csAuth")
	add("line", q(x.command))
	add("mech", q(x.mech))
	if x.initial {
		add("initial", "true")
	}
	if len(x.challenges) > 0 {
		var b bytes.Buffer
		writeStrings(&b, x.challenges)
		add("challenges", b.String())
	}
	switch x.mech {
	case "PLAIN", "LOGIN", "CRAM-MD5": // the mechanisms the fixture decodes
		if x.decoded.Username != "" {
			add("user", q(x.decoded.Username))
		}
	}
	if x.decoded.Authzid != "" && x.mech == "PLAIN" {
		add("authzid", q(x.decoded.Authzid))
	}
	if x.cancelled {
		add("cancelled", "true")
	}
	switch x.mech {
	case "PLAIN", "LOGIN":
		if o.EmbedSecrets && x.decoded.Password != "" {
			add("password", q(x.decoded.Password))
		}
	case "CRAM-MD5":
		if o.EmbedSecrets && x.decoded.Password != "" {
			add("digest", q(x.decoded.Password))
		}
	default:
		// Other mechanisms are compared response by response: the steps
		// that hold no secret, and the others only when embedded.
		resp := make([]string, len(x.raw))
		for k, st := range x.steps {
			if st == kindCommand || o.EmbedSecrets {
				resp[k] = x.raw[k]
			}
		}
		var b bytes.Buffer
		writeStrings(&b, resp)
		add("responses", b.String())
	}
	n := 0
	for n < len(rest) && rest[n].auth == x {
		n++
	}
	return n
}

// ehloAfterTLS is the EHLO reply for the part the capture cannot show: the
// captured one without STARTTLS, or a plain one.
func ehloAfterTLS(s *smtpdecode.Session) []string {
	for i := len(s.Commands) - 1; i >= 0; i-- {
		c := &s.Commands[i]
		if c.Verb != "EHLO" || c.Reply == nil || c.Reply.Code != 250 {
			continue
		}
		var lines []string
		for k, l := range c.Reply.Lines {
			if k > 0 && strings.EqualFold(strings.TrimSpace(l), "STARTTLS") {
				continue
			}
			lines = append(lines, l)
		}
		out := make([]string, len(lines))
		for k, l := range lines {
			sep := "-"
			if k == len(lines)-1 {
				sep = " "
			}
			out[k] = "250" + sep + l
		}
		return out
	}
	return []string{"250-localhost", "250-PIPELINING", "250-8BITMIME", "250 AUTH PLAIN LOGIN"}
}

// defaultReply is the reply the fixture sends where the capture shows none.
func defaultReply(verb string) string {
	switch verb {
	case "QUIT":
		return "221 2.0.0 Bye"
	case "DATA":
		return "354 End data with <CR><LF>.<CR><LF>"
	case "AUTH":
		return "235 2.7.0 Authentication successful"
	case "STARTTLS":
		return "220 2.0.0 Ready to start TLS"
	}
	return "250 2.0.0 Ok"
}
