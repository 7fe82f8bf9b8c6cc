package report

// The JSON writer as it was when encoding/json wrote it, kept to check that
// the hand-written one (json.go) writes the same bytes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// escapeInvisible rewrites, inside JSON text, the characters encoding/json
// leaves raw but a terminal may act on or hide — DEL, C1 controls and Unicode
// format characters such as bidirectional overrides — as \u escapes. The
// values stay the same; only their spelling changes. (None of them can occur
// outside a string in encoding/json's output.)
func escapeInvisible(b []byte) []byte {
	clean := true
	for _, c := range b {
		if c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || r >= 0x80 && (r <= 0x9f || unicode.Is(unicode.Cf, r)) {
			if r > 0xffff { // a surrogate pair: the one change from the old writer
				hi, lo := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

type jsonSession struct {
	ID                  int64         `json:"id"`
	Client              string        `json:"client"`
	Server              string        `json:"server"`
	Start               string        `json:"start"`
	End                 string        `json:"end"`
	Packets             int           `json:"packets"`
	BytesClient         int64         `json:"bytes_client"`
	BytesServer         int64         `json:"bytes_server"`
	MissingBytes        int64         `json:"missing_bytes"`
	Close               string        `json:"close"`
	Sides               string        `json:"sides"`
	Greeting            *jsonGreeting `json:"greeting"`
	Commands            []jsonCommand `json:"commands"`
	Gaps                []jsonGap     `json:"gaps,omitempty"`
	TLS                 *jsonTLS      `json:"tls,omitempty"`
	DroppedCommands     int           `json:"dropped_commands,omitempty"`
	DroppedAnomalies    int           `json:"dropped_anomalies,omitempty"`
	DroppedTransactions int           `json:"dropped_transactions,omitempty"`
	DroppedGaps         int           `json:"dropped_gaps,omitempty"`
	Helo                *jsonHelo     `json:"helo"`
	Extensions          []jsonExt     `json:"extensions"`
	Auth                *jsonAuth     `json:"auth"`
	Transactions        []jsonTx      `json:"transactions"`
	Anomalies           []jsonAnomaly `json:"anomalies"`
	Outcome             string        `json:"outcome"`
}

type jsonHelo struct {
	Verb string `json:"verb"`
	Name string `json:"name"`
}

type jsonExt struct {
	Name   string   `json:"name"`
	Params []string `json:"params"`
}

type jsonAuth struct {
	Mechanism string         `json:"mechanism"`
	Username  string         `json:"username"`
	Authzid   string         `json:"authzid,omitempty"`
	Password  *string        `json:"password"`
	Steps     []jsonAuthStep `json:"steps"`
	Code      int            `json:"code"`
	Success   bool           `json:"success"`
	Decoded   bool           `json:"decoded"`
	Cancelled bool           `json:"cancelled,omitempty"`
}

type jsonAuthStep struct {
	From        string `json:"from"`
	Raw         string `json:"raw"`
	Decoded     string `json:"decoded,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
	Undecodable bool   `json:"undecodable,omitempty"`
}

type jsonParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type jsonRcpt struct {
	Address string      `json:"address"`
	Code    int         `json:"code"`
	Params  []jsonParam `json:"params"`
}

type jsonTx struct {
	MailFrom     string           `json:"mail_from"`
	MailParams   []jsonParam      `json:"mail_params"`
	MailCode     int              `json:"mail_code"`
	RcptTo       []jsonRcpt       `json:"rcpt_to"`
	DataCode     int              `json:"data_code"`
	FinalCode    int              `json:"final_code"`
	QueueID      string           `json:"queue_id"`
	Outcome      string           `json:"outcome"`
	MessageBytes int64            `json:"message_bytes"`
	Message      *jsonMessageInfo `json:"message,omitempty"`
}

type jsonAnomaly struct {
	ID      string  `json:"id"`
	From    string  `json:"from"`
	Detail  string  `json:"detail"`
	Command *string `json:"command"`
	Count   int     `json:"count"`
}

type jsonGreeting struct {
	Code int    `json:"code"`
	Text string `json:"text"`
	Time string `json:"time"`
}

type jsonCommand struct {
	Kind      string       `json:"kind"`
	Verb      string       `json:"verb,omitempty"`
	Unknown   bool         `json:"unknown,omitempty"`
	Argument  string       `json:"argument,omitempty"`
	Line      string       `json:"line,omitempty"`
	Time      string       `json:"time"`
	Message   *jsonMessage `json:"message,omitempty"`
	Reply     *jsonReply   `json:"reply"`
	LatencyMS *float64     `json:"latency_ms"`
	LostReply bool         `json:"reply_lost,omitempty"`
}

type jsonReply struct {
	Code     int      `json:"code"`
	Enhanced string   `json:"enhanced,omitempty"`
	Meaning  string   `json:"meaning,omitempty"`
	Lines    []string `json:"lines"`
	Decoded  string   `json:"decoded,omitempty"`
	Time     string   `json:"time"`
}

func reply(r *smtpdecode.Reply) *jsonReply {
	jr := &jsonReply{Code: r.Code, Meaning: smtpdecode.Meaning(r.Code, firstLine(r)), Lines: nonNil(r.Lines), Decoded: r.Decoded, Time: jsonTime(r.Time)}
	if e, _, ok := smtpdecode.ParseEnhancedCode(firstLine(r)); ok {
		jr.Enhanced = e.String()
	}
	return jr
}

type jsonMessage struct {
	Bytes      int64 `json:"bytes"`
	Lines      int64 `json:"lines"`
	Terminated bool  `json:"terminated"`
	Missing    int64 `json:"missing_bytes,omitempty"`
}

type jsonGap struct {
	Time  string `json:"time"`
	From  string `json:"from"`
	Bytes int    `json:"bytes"`
}

type jsonTLS struct {
	StartTLS    bool     `json:"starttls"`
	Version     string   `json:"version"`
	SNI         string   `json:"sni"`
	Cipher      string   `json:"cipher"`
	ALPN        []string `json:"alpn,omitempty"`
	Versions    []string `json:"client_versions,omitempty"`
	BytesClient int64    `json:"bytes_client"`
	BytesServer int64    `json:"bytes_server"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func params(ps []smtpdecode.Param) []jsonParam {
	out := make([]jsonParam, 0, len(ps))
	for _, p := range ps {
		out = append(out, jsonParam{Name: p.Name, Value: p.Value})
	}
	return out
}

func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// oldJSON is (*JSON).Session as it was before the JSON was written by
// hand: the session copied into structs, encoding/json with SetEscapeHTML
// (false), then escapeInvisible. It returns the line it would have written.
func oldJSON(s *smtpdecode.Session, o Options) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	j := struct{ o Options }{o} // for the body below, kept as it was
	js := jsonSession{
		ID:                  s.ID,
		Client:              s.Client.String(),
		Server:              s.Server.String(),
		Start:               jsonTime(s.Start),
		End:                 jsonTime(s.End),
		Packets:             s.Packets,
		BytesClient:         s.Bytes[0],
		BytesServer:         s.Bytes[1],
		MissingBytes:        s.Missing[0] + s.Missing[1],
		Close:               s.Closed.String(),
		Sides:               s.Sides,
		Commands:            make([]jsonCommand, 0, len(s.Commands)),
		DroppedCommands:     s.DroppedCommands,
		DroppedAnomalies:    s.DroppedAnomalies,
		DroppedTransactions: s.DroppedTransactions,
		DroppedGaps:         s.DroppedGaps,
	}
	if g := s.Greeting; g != nil {
		js.Greeting = &jsonGreeting{Code: g.Code, Text: strings.Join(g.Lines, "\n"), Time: jsonTime(g.Time)}
	}
	for i := range s.Commands {
		c := &s.Commands[i]
		jc := jsonCommand{Kind: c.Kind.String(), Time: jsonTime(c.Time), LostReply: c.LostReply}
		switch c.Kind {
		case smtpdecode.KindCommand:
			jc.Verb = c.Verb
			jc.Unknown = !smtpdecode.KnownVerb(c.Verb)
			jc.Argument = c.Arg
			if c.Secret && !j.o.ShowSecrets {
				_, jc.Argument, _ = strings.Cut(MaskedLine(c, false), " ")
			}
		case smtpdecode.KindAuthResponse:
			jc.Line = MaskedLine(c, j.o.ShowSecrets)
		}
		if m := c.Message; m != nil {
			jc.Message = &jsonMessage{Bytes: m.Bytes, Lines: m.Lines, Terminated: m.Terminated, Missing: m.Missing}
		}
		if r := c.Reply; r != nil {
			jc.Reply = reply(r)
			if c.Kind != smtpdecode.KindUnmatched {
				ms := float64(c.Latency()) / float64(time.Millisecond)
				jc.LatencyMS = &ms
			}
		}
		js.Commands = append(js.Commands, jc)
	}
	for _, g := range s.Gaps {
		from := "client"
		if g.Dir == smtpdecode.FromServer {
			from = "server"
		}
		js.Gaps = append(js.Gaps, jsonGap{Time: jsonTime(g.Time), From: from, Bytes: g.Bytes})
	}
	if s.TLS {
		ti := &s.TLSInfo
		js.TLS = &jsonTLS{StartTLS: !s.ImplicitTLS, Version: ti.Version, SNI: ti.SNI, Cipher: ti.Cipher,
			ALPN: ti.ALPN, Versions: ti.ClientVersions, BytesClient: s.TLSBytes[0], BytesServer: s.TLSBytes[1]}
	}
	if h := s.Helo; h != nil {
		js.Helo = &jsonHelo{Verb: h.Verb, Name: h.Name}
	}
	js.Extensions = make([]jsonExt, 0, len(s.Extensions))
	for _, e := range s.Extensions {
		js.Extensions = append(js.Extensions, jsonExt{Name: e.Name, Params: nonNil(e.Params)})
	}
	if a := s.Auth; a != nil {
		ja := &jsonAuth{Mechanism: a.Mechanism, Username: a.Username, Authzid: a.Authzid, Code: a.Code,
			Success: a.Success, Decoded: a.Decoded, Cancelled: a.Cancelled, Steps: []jsonAuthStep{}}
		if a.Password != "" {
			pw := a.Password
			if !j.o.ShowSecrets {
				pw = masked
			}
			ja.Password = &pw
		}
		for _, st := range a.Steps {
			js := jsonAuthStep{From: "client", Raw: st.Raw, Decoded: st.Decoded, Secret: st.Secret, Undecodable: st.Undecodable}
			if st.FromServer {
				js.From = "server"
			}
			if st.Secret && !j.o.ShowSecrets {
				js.Raw, js.Decoded = masked, ""
			}
			ja.Steps = append(ja.Steps, js)
		}
		js.Auth = ja
	}
	js.Transactions = make([]jsonTx, 0, len(s.Transactions))
	for _, t := range s.Transactions {
		jt := jsonTx{MailFrom: t.MailFrom, MailParams: params(t.MailParams), MailCode: t.MailCode, RcptTo: []jsonRcpt{},
			DataCode: t.DataCode, FinalCode: t.FinalCode, QueueID: t.QueueID, Outcome: string(t.Outcome), MessageBytes: t.MessageBytes}
		if pm := parsedMessage(t.Message); pm != nil {
			jt.Message = oldMessageJSON(pm)
		}
		for _, r := range t.Rcpts {
			jt.RcptTo = append(jt.RcptTo, jsonRcpt{Address: r.Address, Code: r.Code, Params: params(r.Params)})
		}
		js.Transactions = append(js.Transactions, jt)
	}
	js.Anomalies = make([]jsonAnomaly, 0, len(s.Anomalies))
	for _, a := range s.Anomalies {
		ja := jsonAnomaly{ID: string(a.ID), From: "client", Detail: a.Detail, Count: a.Count}
		if a.Dir == smtpdecode.FromServer {
			ja.From = "server"
		}
		if a.Command >= 0 && a.Command < len(s.Commands) {
			c := &s.Commands[a.Command]
			line := MaskedLine(c, j.o.ShowSecrets)
			if c.Kind == smtpdecode.KindMessage {
				line = "<message>"
			} else if c.Kind == smtpdecode.KindUnmatched {
				line = "<reply>"
			}
			ja.Command = &line
		}
		js.Anomalies = append(js.Anomalies, ja)
	}
	js.Outcome = Outcome(s)
	if err := enc.Encode(js); err != nil {
		return nil, err
	}
	return escapeInvisible(buf.Bytes()), nil
}

type jsonMessageInfo struct {
	From          []string   `json:"from"`
	Sender        []string   `json:"sender,omitempty"`
	ReplyTo       []string   `json:"reply_to,omitempty"`
	To            []string   `json:"to"`
	Cc            []string   `json:"cc"`
	Bcc           []string   `json:"bcc,omitempty"`
	Subject       string     `json:"subject"`
	Date          string     `json:"date"`
	MessageID     string     `json:"message_id"`
	InReplyTo     string     `json:"in_reply_to,omitempty"`
	UserAgent     string     `json:"user_agent"`
	Received      int        `json:"received"`
	FirstReceived string     `json:"first_received,omitempty"`
	LastReceived  string     `json:"last_received,omitempty"`
	ContentType   string     `json:"content_type"`
	Size          int64      `json:"size"`
	SHA256        string     `json:"sha256,omitempty"`
	Parts         []jsonPart `json:"parts"`
	Attachments   []jsonPart `json:"attachments"`
	DroppedParts  int        `json:"dropped_parts,omitempty"`
	Preview       string     `json:"preview"`
	Problems      []string   `json:"problems,omitempty"`
}

type jsonPart struct {
	Path        string   `json:"path"`
	ContentType string   `json:"content_type"`
	Charset     string   `json:"charset"`
	Encoding    string   `json:"encoding"`
	Disposition string   `json:"disposition"`
	Filename    string   `json:"filename"`
	Size        int64    `json:"size"`
	SHA256      string   `json:"sha256"`
	Problems    []string `json:"problems,omitempty"`
}

// oldMessageJSON is the JSON form of a parsed message.
func oldMessageJSON(pm *message.Message) *jsonMessageInfo {
	h := &pm.Header
	j := &jsonMessageInfo{
		From: nonNil(h.From), Sender: h.Sender, ReplyTo: h.ReplyTo, To: nonNil(h.To), Cc: nonNil(h.Cc), Bcc: h.Bcc,
		Subject: h.Subject, Date: h.Date, MessageID: h.MessageID, InReplyTo: h.InReplyTo, UserAgent: h.UserAgent,
		Received: h.Received, FirstReceived: h.FirstReceived, LastReceived: h.LastReceived, ContentType: h.ContentType,
		Size: pm.Size, SHA256: pm.SHA256, Parts: []jsonPart{}, Attachments: []jsonPart{},
		DroppedParts: pm.DroppedParts, Preview: pm.Preview, Problems: pm.Problems,
	}
	for _, p := range pm.Parts {
		jp := jsonPart{Path: p.Path, ContentType: p.ContentType, Charset: p.Charset, Encoding: p.Encoding,
			Disposition: p.Disposition, Filename: p.Filename, Size: p.Size, SHA256: p.SHA256, Problems: p.Problems}
		j.Parts = append(j.Parts, jp)
		if p.Attachment {
			j.Attachments = append(j.Attachments, jp)
		}
	}
	return j
}
