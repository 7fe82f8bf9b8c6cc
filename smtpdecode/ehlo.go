package smtpdecode

import (
	"regexp"
	"strconv"
	"strings"
)

// Extension is one service extension a server lists in its EHLO reply.
type Extension struct {
	Name   string   // upper-cased keyword: "SIZE", "PIPELINING", "AUTH"...
	Params []string // the words after it, as sent: "10240000", or AUTH's mechanisms
}

// maxExtensions is how many EHLO extensions a session keeps.
const maxExtensions = 64

// ParseExtensions reads the extensions from the lines of an EHLO reply after
// the first (which holds the server's name). The old "AUTH=LOGIN PLAIN" form
// is read as AUTH with its mechanisms; every other line is kept verbatim,
// split into keyword and words.
func ParseExtensions(lines []string) []Extension {
	var exts []Extension
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || len(exts) == maxExtensions {
			continue
		}
		name := strings.ToUpper(f[0])
		params := f[1:]
		if k, v, ok := strings.Cut(name, "="); ok && k == "AUTH" {
			name = "AUTH"
			params = append([]string{strings.ToUpper(f[0][len("AUTH="):])}, params...)
			_ = v
		}
		exts = append(exts, Extension{Name: name, Params: params})
	}
	return exts
}

// Offers reports whether the session's EHLO reply listed the extension.
func (s *Session) Offers(name string) bool {
	for _, e := range s.Extensions {
		if e.Name == name {
			return true
		}
	}
	return false
}

// SizeLimit returns the SIZE extension's limit, or 0 when none was given.
func (s *Session) SizeLimit() int64 {
	for _, e := range s.Extensions {
		if e.Name == "SIZE" && len(e.Params) > 0 {
			n, _ := strconv.ParseInt(e.Params[0], 10, 64)
			return n
		}
	}
	return 0
}

// queueIDPatterns find the queue id in the reply to the end of a message, in
// the forms common MTAs use.
var queueIDPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bqueued as ([A-Za-z0-9.\-_]+)`),                      // Postfix
	regexp.MustCompile(`(?i)\bid=([A-Za-z0-9.\-_]+)`),                             // Exim
	regexp.MustCompile(`(?i)\bInternalId=([0-9]+)`),                               // Exchange
	regexp.MustCompile(`^(?:\d\.\d+\.\d+ )?([A-Za-z0-9]{8,20}) Message accepted`), // Sendmail
	regexp.MustCompile(`(?i)\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp`),                      // Gmail
	regexp.MustCompile(`(?i)\bqueued (?:mail )?(?:for delivery )?\(?(?:id )?<?([A-Za-z0-9.\-_@]{6,})>?\)?$`),
}

// QueueID extracts the queue id a server gave in its reply to the end of a
// message ("250 2.0.0 Ok: queued as 4ABC123"), or "".
func QueueID(text string) string {
	for _, re := range queueIDPatterns {
		if m := re.FindStringSubmatch(text); m != nil {
			return m[1]
		}
	}
	return ""
}
