package replay

import (
	"fmt"
	"strings"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// kind is what a turn of the plan sends. The names match the constants of
// the send program's runtime (tmpl/send.go.tmpl).
type kind uint8

const (
	kindCommand        kind = iota // a command line, as captured
	kindStartTLS                   // STARTTLS: TLS follows its 220
	kindMessage                    // message content after DATA's 354
	kindChunk                      // a BDAT command and its chunk
	kindAuthUser                   // an AUTH LOGIN user name
	kindAuthPass                   // an AUTH LOGIN password
	kindAuthPlain                  // AUTH PLAIN credentials
	kindAuthCRAM                   // a CRAM-MD5 response to the live challenge
	kindAuthOther                  // a response that cannot be computed again
	kindUnknown                    // the capture does not show the rest
	kindUnknownMessage             // the capture does not hold the message whole
)

var kindNames = [...]string{
	kindCommand:        "command",
	kindStartTLS:       "startTLS",
	kindMessage:        "message",
	kindChunk:          "chunk",
	kindAuthUser:       "authUser",
	kindAuthPass:       "authPass",
	kindAuthPlain:      "authPlain",
	kindAuthCRAM:       "authCRAM",
	kindAuthOther:      "authOther",
	kindUnknown:        "unknown",
	kindUnknownMessage: "unknownMessage",
}

func (k kind) String() string { return kindNames[k] }

// Reply expectations besides a captured code (see the runtime's constants).
const (
	wantNone = 0  // no reply was captured and none follows: none is awaited
	wantAny  = -1 // the reply was lost from the capture
	// 1 to 5: any reply of that class, for a turn the capture does not show
)

// turn is one thing the client sends, with the reply the capture shows.
type turn struct {
	kind  kind
	cmd   *smtpdecode.Command // the captured turn; nil for one the capture does not show
	line  string              // the command line; for AUTH kinds the text before the credentials
	tail  string              // AUTH kinds: the text after the credentials
	data  []byte              // message content or BDAT chunk
	batch bool                // pipelined with the turn before
	after int                 // 334 or 354: the intermediate reply it answers
	want  int                 // the captured reply code (or wantNone, wantAny, a class)
	reply *smtpdecode.Reply   // the captured reply; nil when none was captured
	why   string              // unknown kinds: what the capture does not show

	auth *exchange // AUTH kinds, and the AUTH command and literal responses of an exchange
	step int       // AUTH: the index of this client step in auth.steps
}

// exchange is one AUTH exchange: the command, the challenges and responses.
type exchange struct {
	mech       string
	decoded    smtpdecode.Auth
	command    string   // the AUTH command line, credentials cut out
	initial    bool     // the command carried an initial response
	challenges []string // the 334 texts, in order
	steps      []kind   // for each client step (initial response first): how it is sent
	raw        []string // for each client step: the text as captured
	final      *smtpdecode.Reply
	challenge  string // CRAM-MD5: the challenge the response answered
	cancelled  bool
}

// plan is the client side of a session, ready to be written out.
type plan struct {
	s        *smtpdecode.Session
	greeting *smtpdecode.Reply
	turns    []turn
	helo     string // the HELO/EHLO name, for the EHLO said again after TLS
	// lastReply indexes the last captured turn with a reply: the turns
	// after it await none.
	lastReply int
	// notes are what the header comment says the capture lacks; generated
	// text, never captured bytes.
	notes []string
}

// newPlan reads a session into a plan.
func newPlan(s *smtpdecode.Session) *plan {
	p := &plan{s: s, greeting: s.Greeting, helo: "localhost", lastReply: -1}
	if s.Helo != nil && s.Helo.Name != "" {
		p.helo = s.Helo.Name
	}
	cmds := s.Commands
	for i := range cmds {
		if cmds[i].Reply != nil {
			p.lastReply = i
		}
	}
	var prev *smtpdecode.Command // the last client turn kept
	broken := false              // a reply nothing asked for came since prev
	for i := 0; i < len(cmds); i++ {
		c := &cmds[i]
		if c.Kind == smtpdecode.KindUnmatched {
			broken = true
			continue
		}
		t := turn{cmd: c, line: c.Line, reply: c.Reply}
		switch {
		case c.Reply != nil:
			t.want = c.Reply.Code
			if t.want <= 0 {
				t.want = wantAny
			}
		case i < p.lastReply || c.LostReply:
			t.want = wantAny
		}
		t.batch = prev != nil && !broken && c.Time.Equal(prev.Time) &&
			(prev.Reply == nil || !prev.Reply.Time.Before(c.Time))
		prev, broken = c, false
		switch {
		case c.Kind == smtpdecode.KindMessage:
			t.kind, t.after, t.line = kindMessage, 354, ""
			if m := c.Message; !wholeMessage(m) {
				t.kind = kindUnknownMessage
				t.why = partialWhy(m)
			} else {
				t.data = m.Data
			}
		case c.Kind == smtpdecode.KindCommand && c.Verb == "BDAT" && c.Message != nil:
			t.kind = kindChunk
			if m := c.Message; wholeMessage(m) {
				t.data = m.Data
			} else {
				t.kind, t.why = kindUnknownMessage, "the capture does not hold this BDAT chunk whole"
			}
		case c.Kind == smtpdecode.KindCommand && c.Verb == "STARTTLS":
			t.kind = kindStartTLS
		case c.Kind == smtpdecode.KindCommand && c.Verb == "AUTH":
			i += p.auth(cmds, i, t)
			prev = &cmds[i]
			continue
		case c.Kind == smtpdecode.KindAuthResponse:
			// A response without its AUTH command (the capture began
			// after it): it cannot be told what it holds.
			t.kind, t.after = kindAuthOther, 334
			t.auth = &exchange{mech: "(unknown)", steps: []kind{kindAuthOther}, raw: []string{c.Line}}
			if !c.Secret {
				t.kind, t.auth.steps[0] = kindCommand, kindCommand
			} else {
				t.line = ""
			}
		}
		p.turns = append(p.turns, t)
	}
	p.addNotes()
	if s.TLS {
		p.afterTLS()
	} else if s.DroppedCommands > 0 {
		p.turns = append(p.turns, turn{kind: kindUnknown,
			why: fmt.Sprintf("the capture kept %d turns of this session, not the %d after them", len(cmds), s.DroppedCommands)})
	}
	return p
}

// afterTLS ends the plan of a session that turned to TLS: EHLO again, then
// what the capture cannot show.
func (p *plan) afterTLS() {
	why := "the capture is encrypted after STARTTLS: what the client sent inside TLS cannot be read"
	if p.s.ImplicitTLS {
		why = "the session is encrypted from the start (implicit TLS): what the client sent cannot be read"
	}
	p.turns = append(p.turns,
		turn{kind: kindCommand, line: "EHLO " + p.helo, want: 2},
		turn{kind: kindUnknown, why: why})
}

func (p *plan) addNotes() {
	s := p.s
	if s.Greeting == nil && !s.ImplicitTLS {
		p.notes = append(p.notes, "the capture holds no greeting: any 2xx greeting is taken")
	}
	if s.Missing[0] > 0 || s.Missing[1] > 0 {
		p.notes = append(p.notes, fmt.Sprintf("the capture lost %d bytes from the client and %d from the server: what was lost is not replayed", s.Missing[0], s.Missing[1]))
	}
	if s.Sides != "" && s.Sides != "syn" {
		p.notes = append(p.notes, "the capture did not see the connection open: its start may be missing")
	}
	for _, a := range s.Anomalies {
		if a.ID == smtpdecode.AnomalyBareLF && a.Dir == smtpdecode.FromClient {
			p.notes = append(p.notes, "the client ended some lines with LF alone: command lines are sent with CRLF, message content as captured")
			break
		}
	}
}

// wholeMessage reports whether the capture holds all of a message's content.
func wholeMessage(m *smtpdecode.Message) bool {
	return m != nil && m.Terminated && m.Missing == 0 && int64(len(m.Data)) == m.Bytes
}

func partialWhy(m *smtpdecode.Message) string {
	switch {
	case m == nil:
		return "the capture holds no content for this message"
	case m.Missing > 0:
		return fmt.Sprintf("the capture lost %d bytes of this message", m.Missing)
	case !m.Terminated:
		return "the capture ends before this message does"
	}
	return fmt.Sprintf("the capture kept %d of this message's %d bytes (decode it with a larger MaxData)", len(m.Data), m.Bytes)
}

// auth plans an AUTH exchange starting at cmds[i], whose first turn is t,
// and returns how many response turns after cmds[i] it took.
func (p *plan) auth(cmds []smtpdecode.Command, i int, t turn) int {
	c := &cmds[i]
	mech, ir := smtpdecode.SplitAuthArg(c.Arg)
	x := &exchange{mech: mech, initial: ir != ""}
	var turns []smtpdecode.AuthTurn
	last := i
	for j := i; j < len(cmds); j++ {
		if j > i {
			if cmds[j].Kind != smtpdecode.KindAuthResponse {
				break
			}
			turns = append(turns, smtpdecode.AuthTurn{Text: cmds[j].Line})
			last = j
		}
		r := cmds[j].Reply
		if r != nil && r.Code == 334 {
			text := ""
			if len(r.Lines) > 0 {
				text = r.Lines[0]
			}
			x.challenges = append(x.challenges, text)
			turns = append(turns, smtpdecode.AuthTurn{FromServer: true, Text: text})
		} else if r != nil {
			x.final = r
		}
	}
	x.decoded = smtpdecode.DecodeAuth(c.Arg, turns)
	x.cancelled = x.decoded.Cancelled
	// The client steps: the initial response, then each response line.
	var steps []smtpdecode.AuthStep
	for _, st := range x.decoded.Steps {
		if !st.FromServer {
			steps = append(steps, st)
		}
	}
	x.steps = make([]kind, len(steps))
	x.raw = make([]string, len(steps))
	seen := struct{ user, pass, creds bool }{}
	for k, st := range steps {
		x.raw[k] = st.Raw
		x.steps[k] = x.classify(st, k, &seen.user, &seen.pass, &seen.creds)
	}
	// The AUTH command.
	t.auth = x
	if ir != "" {
		at := strings.LastIndex(c.Line, ir)
		t.line, t.tail = c.Line[:at], c.Line[at+len(ir):]
		x.command = strings.TrimRight(t.line, " \t")
		t.kind = kindCommand
		if len(x.steps) > 0 {
			t.kind = x.steps[0]
		}
		t.step = 0
		if t.kind == kindCommand {
			t.line, t.tail = c.Line, ""
		}
	} else {
		t.kind = kindCommand
		x.command = c.Line
		t.step = -1
	}
	p.turns = append(p.turns, t)
	// The responses.
	k := 0
	if ir != "" {
		k = 1
	}
	for j := i + 1; j <= last; j, k = j+1, k+1 {
		r := &cmds[j]
		rt := turn{cmd: r, auth: x, step: k, after: 334, reply: r.Reply}
		switch {
		case r.Reply != nil:
			rt.want = r.Reply.Code
			if rt.want <= 0 {
				rt.want = wantAny
			}
		case r.LostReply || j < p.lastReply:
			rt.want = wantAny
		}
		rt.batch = r.Time.Equal(cmds[j-1].Time) && (cmds[j-1].Reply == nil || !cmds[j-1].Reply.Time.Before(r.Time))
		if k < len(x.steps) {
			rt.kind = x.steps[k]
		} else {
			rt.kind = kindAuthOther
		}
		if rt.kind == kindCommand {
			rt.line = r.Line
		}
		if rt.kind == kindAuthCRAM {
			rt.batch = false // it answers the live challenge
			x.challenge = lastChallenge(cmds[j-1].Reply)
		}
		p.turns = append(p.turns, rt)
	}
	return last - i
}

func lastChallenge(r *smtpdecode.Reply) string {
	if r == nil || r.Code != 334 || len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}

// classify says how client step k of an exchange is sent again.
func (x *exchange) classify(st smtpdecode.AuthStep, k int, user, pass, creds *bool) kind {
	text := strings.Trim(st.Raw, " \t\r\n")
	if text == "*" || text == "" || text == "=" {
		return kindCommand // cancels or is empty: sent as captured
	}
	a := &x.decoded
	switch x.mech {
	case "LOGIN":
		switch {
		case !st.Secret && !*user && !st.Undecodable && st.Decoded == a.Username:
			*user = true
			return kindAuthUser
		case st.Secret && !*pass && !st.Undecodable && st.Decoded == a.Password:
			*pass = true
			return kindAuthPass
		}
	case "PLAIN":
		if st.Secret && !*creds && !st.Undecodable && strings.Count(st.Decoded, "\x00") == 2 {
			*creds = true
			return kindAuthPlain
		}
	case "CRAM-MD5":
		// The response answers a challenge: never an initial response.
		if st.Secret && !*creds && !st.Undecodable && !(x.initial && k == 0) {
			*creds = true
			return kindAuthCRAM
		}
	}
	if !st.Secret {
		return kindCommand // nothing secret: sent as captured
	}
	return kindAuthOther
}

// secretFor is the captured credential material of an AUTH turn, for
// EmbedSecrets: the response as sent and the password.
func (t *turn) secretFor() (raw, password string) {
	x := t.auth
	if x == nil || t.step < 0 || t.step >= len(x.raw) {
		return "", ""
	}
	raw = x.raw[t.step]
	switch t.kind {
	case kindAuthPass, kindAuthPlain:
		password = x.decoded.Password
	}
	return raw, password
}
