package report

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// JSON writes one JSON object per session, one per line. The fields are
// documented in README.md.
type JSON struct {
	enc *json.Encoder
	o   Options
}

// NewJSON returns a JSON writer on w.
func NewJSON(w io.Writer, o Options) *JSON {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSON{enc: enc, o: o}
}

type jsonSession struct {
	ID           int64         `json:"id"`
	Client       string        `json:"client"`
	Server       string        `json:"server"`
	Start        string        `json:"start"`
	End          string        `json:"end"`
	Packets      int           `json:"packets"`
	BytesClient  int64         `json:"bytes_client"`
	BytesServer  int64         `json:"bytes_server"`
	MissingBytes int64         `json:"missing_bytes"`
	Close        string        `json:"close"`
	Sides        string        `json:"sides"`
	Greeting     *jsonGreeting `json:"greeting"`
	Commands     []jsonCommand `json:"commands"`
	Gaps         []jsonGap     `json:"gaps,omitempty"`
	TLS          *jsonTLS      `json:"tls,omitempty"`
	Dropped      int           `json:"dropped_commands,omitempty"`
}

type jsonGreeting struct {
	Code int    `json:"code"`
	Text string `json:"text"`
	Time string `json:"time"`
}

type jsonCommand struct {
	Kind      string       `json:"kind"`
	Verb      string       `json:"verb,omitempty"`
	Argument  string       `json:"argument,omitempty"`
	Line      string       `json:"line,omitempty"`
	Time      string       `json:"time"`
	Message   *jsonMessage `json:"message,omitempty"`
	Reply     *jsonReply   `json:"reply"`
	LatencyMS *float64     `json:"latency_ms"`
	LostReply bool         `json:"reply_lost,omitempty"`
}

type jsonReply struct {
	Code  int      `json:"code"`
	Lines []string `json:"lines"`
	Time  string   `json:"time"`
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
	StartTLS    bool  `json:"starttls"`
	BytesClient int64 `json:"bytes_client"`
	BytesServer int64 `json:"bytes_server"`
}

func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Session writes one session as a line of JSON.
func (j *JSON) Session(s *smtpdecode.Session) error {
	js := jsonSession{
		ID:           s.ID,
		Client:       s.Client.String(),
		Server:       s.Server.String(),
		Start:        jsonTime(s.Start),
		End:          jsonTime(s.End),
		Packets:      s.Packets,
		BytesClient:  s.Bytes[0],
		BytesServer:  s.Bytes[1],
		MissingBytes: s.Missing[0] + s.Missing[1],
		Close:        s.Closed.String(),
		Sides:        s.Sides,
		Commands:     make([]jsonCommand, 0, len(s.Commands)),
		Dropped:      s.DroppedCommands,
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
			jc.Argument = c.Arg
			if c.Secret && !j.o.ShowSecrets {
				_, arg, _ := strings.Cut(maskedLine(c), " ")
				jc.Argument = arg
			}
		case smtpdecode.KindAuthResponse:
			jc.Line = MaskedLine(c, j.o.ShowSecrets)
		}
		if m := c.Message; m != nil {
			jc.Message = &jsonMessage{Bytes: m.Bytes, Lines: m.Lines, Terminated: m.Terminated, Missing: m.Missing}
		}
		if r := c.Reply; r != nil {
			jc.Reply = &jsonReply{Code: r.Code, Lines: r.Lines, Time: jsonTime(r.Time)}
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
		js.TLS = &jsonTLS{StartTLS: !s.ImplicitTLS, BytesClient: s.TLSBytes[0], BytesServer: s.TLSBytes[1]}
	}
	return j.enc.Encode(js)
}
