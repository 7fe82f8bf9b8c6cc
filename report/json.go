package report

import (
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// JSON writes one JSON object per session, one per line. The fields are
// documented in README.md.
//
// The JSON is written by hand, one member at a time, in the order and with
// the spelling encoding/json gave it when it marshalled structs (and then
// escapeInvisible went over it): json_old_test.go keeps that code and checks
// the two agree byte for byte. An optional member (omitempty) is left out
// when its value is "", 0, false, nil or empty.
type JSON struct {
	w   io.Writer
	o   Options
	buf []byte // the line being written, reused from session to session
}

// NewJSON returns a JSON writer on w.
func NewJSON(w io.Writer, o Options) *JSON {
	return &JSON{w: w, o: o}
}

// masked stands for a secret in JSON output.
const masked = "********"

// Session writes one session as a line of JSON.
func (j *JSON) Session(s *smtpdecode.Session) error {
	e := &jsonEnc{b: j.buf[:0]}
	e.open("", '{')
	e.num("id", s.ID)
	if s.File != "" {
		e.str("file", s.File)
	}
	e.str("client", s.Client.String())
	e.str("server", s.Server.String())
	e.time("start", s.Start)
	e.time("end", s.End)
	e.num("packets", int64(s.Packets))
	e.num("bytes_client", s.Bytes[0])
	e.num("bytes_server", s.Bytes[1])
	e.num("missing_bytes", s.Missing[0]+s.Missing[1])
	e.str("close", s.Closed.String())
	e.str("sides", s.Sides)
	if g := s.Greeting; g != nil {
		e.open("greeting", '{')
		e.num("code", int64(g.Code))
		e.str("text", strings.Join(g.Lines, "\n"))
		e.time("time", g.Time)
		e.close('}')
	} else {
		e.null("greeting")
	}
	e.open("commands", '[')
	for i := range s.Commands {
		j.command(e, &s.Commands[i])
	}
	e.close(']')
	if len(s.Gaps) > 0 {
		e.open("gaps", '[')
		for _, g := range s.Gaps {
			e.open("", '{')
			e.time("time", g.Time)
			e.str("from", fromJSON(g.Dir))
			e.num("bytes", int64(g.Bytes))
			e.close('}')
		}
		e.close(']')
	}
	if s.TLS {
		ti := &s.TLSInfo
		e.open("tls", '{')
		e.bool("starttls", !s.ImplicitTLS)
		e.str("version", ti.Version)
		e.str("sni", ti.SNI)
		e.str("cipher", ti.Cipher)
		if len(ti.ALPN) > 0 {
			e.strs("alpn", ti.ALPN)
		}
		if len(ti.ClientVersions) > 0 {
			e.strs("client_versions", ti.ClientVersions)
		}
		e.num("bytes_client", s.TLSBytes[0])
		e.num("bytes_server", s.TLSBytes[1])
		e.close('}')
	}
	e.count("dropped_commands", int64(s.DroppedCommands))
	e.count("dropped_anomalies", int64(s.DroppedAnomalies))
	e.count("dropped_transactions", int64(s.DroppedTransactions))
	e.count("dropped_gaps", int64(s.DroppedGaps))
	if h := s.Helo; h != nil {
		e.open("helo", '{')
		e.str("verb", h.Verb)
		e.str("name", h.Name)
		e.close('}')
	} else {
		e.null("helo")
	}
	e.open("extensions", '[')
	for _, x := range s.Extensions {
		e.open("", '{')
		e.str("name", x.Name)
		e.strs("params", x.Params)
		e.close('}')
	}
	e.close(']')
	if a := s.Auth; a != nil {
		j.auth(e, a)
	} else {
		e.null("auth")
	}
	e.open("transactions", '[')
	for i := range s.Transactions {
		transactionJSON(e, &s.Transactions[i])
	}
	e.close(']')
	e.open("anomalies", '[')
	for _, a := range s.Anomalies {
		e.open("", '{')
		e.str("id", string(a.ID))
		e.str("from", fromJSON(a.Dir))
		e.str("detail", a.Detail)
		if a.Command >= 0 && a.Command < len(s.Commands) {
			c := &s.Commands[a.Command]
			switch c.Kind {
			case smtpdecode.KindMessage:
				e.str("command", "<message>")
			case smtpdecode.KindUnmatched:
				e.str("command", "<reply>")
			default:
				e.str("command", MaskedLine(c, j.o.ShowSecrets))
			}
		} else {
			e.null("command")
		}
		e.num("count", int64(a.Count))
		e.close('}')
	}
	e.close(']')
	e.str("outcome", Outcome(s))
	e.close('}')
	e.b = append(e.b, '\n')
	j.buf = e.b
	_, err := j.w.Write(e.b)
	return err
}

// command writes one turn and its reply.
func (j *JSON) command(e *jsonEnc, c *smtpdecode.Command) {
	e.open("", '{')
	e.str("kind", c.Kind.String())
	switch c.Kind {
	case smtpdecode.KindCommand:
		if c.Verb != "" {
			e.str("verb", c.Verb)
		}
		if !smtpdecode.KnownVerb(c.Verb) {
			e.bool("unknown", true)
		}
		arg := c.Arg
		if c.Secret && !j.o.ShowSecrets {
			_, arg, _ = strings.Cut(MaskedLine(c, false), " ")
		}
		if arg != "" {
			e.str("argument", arg)
		}
	case smtpdecode.KindAuthResponse:
		if line := MaskedLine(c, j.o.ShowSecrets); line != "" {
			e.str("line", line)
		}
	}
	e.time("time", c.Time)
	if m := c.Message; m != nil {
		e.open("message", '{')
		e.num("bytes", m.Bytes)
		e.num("lines", m.Lines)
		e.bool("terminated", m.Terminated)
		e.count("missing_bytes", m.Missing)
		e.close('}')
	}
	if r := c.Reply; r != nil {
		e.open("reply", '{')
		e.num("code", int64(r.Code))
		first := firstLine(r)
		if ec, _, ok := smtpdecode.ParseEnhancedCode(first); ok {
			e.key("enhanced")
			e.b = append(e.b, '"')
			e.b = strconv.AppendInt(e.b, int64(ec[0]), 10)
			e.b = append(e.b, '.')
			e.b = strconv.AppendInt(e.b, int64(ec[1]), 10)
			e.b = append(e.b, '.')
			e.b = strconv.AppendInt(e.b, int64(ec[2]), 10)
			e.b = append(e.b, '"')
		}
		if m := smtpdecode.Meaning(r.Code, first); m != "" {
			e.str("meaning", m)
		}
		e.strs("lines", r.Lines)
		if r.Decoded != "" {
			e.str("decoded", r.Decoded)
		}
		e.time("time", r.Time)
		e.close('}')
	} else {
		e.null("reply")
	}
	if c.Reply != nil && c.Kind != smtpdecode.KindUnmatched {
		e.float("latency_ms", float64(c.Latency())/float64(time.Millisecond))
	} else {
		e.null("latency_ms")
	}
	if c.LostReply {
		e.bool("reply_lost", true)
	}
	e.close('}')
}

// auth writes the AUTH exchange.
func (j *JSON) auth(e *jsonEnc, a *smtpdecode.AuthResult) {
	e.open("auth", '{')
	e.str("mechanism", a.Mechanism)
	e.str("username", a.Username)
	if a.Authzid != "" {
		e.str("authzid", a.Authzid)
	}
	switch {
	case a.Password == "":
		e.null("password")
	case j.o.ShowSecrets:
		e.str("password", a.Password)
	default:
		e.str("password", masked)
	}
	e.open("steps", '[')
	for _, st := range a.Steps {
		from := "client"
		if st.FromServer {
			from = "server"
		}
		e.open("", '{')
		e.str("from", from)
		raw, decoded := st.Raw, st.Decoded
		if st.Secret && !j.o.ShowSecrets {
			raw, decoded = masked, ""
		}
		e.str("raw", raw)
		if decoded != "" {
			e.str("decoded", decoded)
		}
		if st.Secret {
			e.bool("secret", true)
		}
		if st.Undecodable {
			e.bool("undecodable", true)
		}
		e.close('}')
	}
	e.close(']')
	e.num("code", int64(a.Code))
	e.bool("success", a.Success)
	e.bool("decoded", a.Decoded)
	if a.Cancelled {
		e.bool("cancelled", true)
	}
	e.close('}')
}

// transactionJSON writes one mail transaction.
func transactionJSON(e *jsonEnc, t *smtpdecode.Transaction) {
	e.open("", '{')
	e.str("mail_from", t.MailFrom)
	paramsJSON(e, "mail_params", t.MailParams)
	e.num("mail_code", int64(t.MailCode))
	e.open("rcpt_to", '[')
	for _, r := range t.Rcpts {
		e.open("", '{')
		e.str("address", r.Address)
		e.num("code", int64(r.Code))
		paramsJSON(e, "params", r.Params)
		e.close('}')
	}
	e.close(']')
	e.num("data_code", int64(t.DataCode))
	e.num("final_code", int64(t.FinalCode))
	e.str("queue_id", t.QueueID)
	e.str("outcome", string(t.Outcome))
	e.num("message_bytes", t.MessageBytes)
	if pm := parsedMessage(t.Message); pm != nil {
		messageJSON(e, pm)
	}
	e.close('}')
}

// paramsJSON writes ESMTP parameters as a list of name and value.
func paramsJSON(e *jsonEnc, key string, ps []smtpdecode.Param) {
	e.open(key, '[')
	for _, p := range ps {
		e.open("", '{')
		e.str("name", p.Name)
		e.str("value", p.Value)
		e.close('}')
	}
	e.close(']')
}

// fromJSON is the "from" of a gap or an anomaly.
func fromJSON(d smtpdecode.Direction) string {
	if d == smtpdecode.FromServer {
		return "server"
	}
	return "client"
}

// jsonEnc appends JSON text to b. Each method writes a member of the object
// being written, key and value, or with an empty key an element of the array
// being written; the commas between them go in by themselves.
type jsonEnc struct{ b []byte }

// key starts a member (or, with k empty, an element): a comma unless it is
// the first in its object or array, then the key and a colon. Keys need no
// escaping.
func (e *jsonEnc) key(k string) {
	if n := len(e.b); n > 0 && e.b[n-1] != '{' && e.b[n-1] != '[' {
		e.b = append(e.b, ',')
	}
	if k != "" {
		e.b = append(e.b, '"')
		e.b = append(e.b, k...)
		e.b = append(e.b, '"', ':')
	}
}

// open starts an object ('{') or array ('['); close ends it.
func (e *jsonEnc) open(k string, c byte) { e.key(k); e.b = append(e.b, c) }
func (e *jsonEnc) close(c byte)          { e.b = append(e.b, c) }

func (e *jsonEnc) str(k, v string)       { e.key(k); e.b = appendJSONString(e.b, v) }
func (e *jsonEnc) num(k string, v int64) { e.key(k); e.b = strconv.AppendInt(e.b, v, 10) }
func (e *jsonEnc) bool(k string, v bool) { e.key(k); e.b = strconv.AppendBool(e.b, v) }
func (e *jsonEnc) null(k string)         { e.key(k); e.b = append(e.b, "null"...) }
func (e *jsonEnc) strs(k string, v []string) {
	e.open(k, '[')
	for _, s := range v {
		e.str("", s)
	}
	e.close(']')
}

// count writes an optional number: left out when it is 0.
func (e *jsonEnc) count(k string, n int64) {
	if n != 0 {
		e.num(k, n)
	}
}

// float writes f as encoding/json writes a float64, as JavaScript does:
// without an exponent from 1e-6 to 1e21, and the exponent otherwise not
// padded (1e-7, not 1e-07). f must be finite.
func (e *jsonEnc) float(k string, f float64) {
	e.key(k)
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if n := len(e.b); format == 'e' && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
		e.b[n-2] = e.b[n-1]
		e.b = e.b[:n-1]
	}
}

// time writes t in UTC as RFC 3339 with as many decimals as it needs. No
// character of it needs escaping.
func (e *jsonEnc) time(k string, t time.Time) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = t.UTC().AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}
