package smtpdecode

import (
	"regexp"
	"slices"
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

// maxExtensionParams is how many words of one extension are kept (AUTH's
// mechanisms included).
const maxExtensionParams = 64

// ParseExtensions reads the extensions from the lines of an EHLO reply after
// the first (which holds the server's name). Each line is split into its
// keyword, upper-cased, and its words, kept as sent. AUTH may come twice:
// in its own form ("AUTH LOGIN PLAIN") and in the old one ("AUTH=LOGIN
// PLAIN", for clients that predate RFC 4954); both are read as one AUTH
// extension holding every mechanism once. Blank lines are skipped; at most
// 64 extensions of at most 64 words each are kept.
func ParseExtensions(lines []string) []Extension {
	var exts []Extension
	auth := -1 // index of AUTH in exts
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		// Keywords are ASCII: upper-case only ASCII letters, so that the
		// words after "AUTH=" keep their place in f[0].
		name := upperASCII([]byte(f[0]))
		params := f[1:]
		if strings.HasPrefix(name, "AUTH=") {
			name = "AUTH"
			if m := f[0][len("AUTH="):]; m != "" {
				params = append([]string{m}, params...)
			}
		}
		params = params[:min(len(params), maxExtensionParams)]
		if name == "AUTH" && auth >= 0 {
			e := &exts[auth]
			for _, m := range params {
				if len(e.Params) < maxExtensionParams && !slices.ContainsFunc(e.Params, func(p string) bool { return strings.EqualFold(p, m) }) {
					e.Params = append(e.Params, m)
				}
			}
			continue
		}
		if len(exts) == maxExtensions {
			continue
		}
		if name == "AUTH" {
			auth = len(exts)
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

// SizeLimit returns the SIZE extension's limit, or 0 when none was given
// (RFC 1870: "SIZE" alone, or "SIZE 0") or it is not a number.
func (s *Session) SizeLimit() int64 {
	for _, e := range s.Extensions {
		if e.Name == "SIZE" && len(e.Params) > 0 {
			n, err := strconv.ParseInt(e.Params[0], 10, 64)
			if err != nil || n < 0 {
				return 0
			}
			return n
		}
	}
	return 0
}

// queueIDPatterns find the queue id in the reply to the end of a message, in
// the forms common MTAs use.
var queueIDPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bqueued as ([A-Za-z0-9.\-_]+)`),                      // Postfix: "2.0.0 Ok: queued as 4ABC12DEF"
	regexp.MustCompile(`(?i)\bid=([A-Za-z0-9.\-_]+)`),                             // Exim: "OK id=1vXyZa-000Abc-1x"
	regexp.MustCompile(`(?i)\bInternalId=([0-9]+)`),                               // Exchange: "2.6.0 <id@host> [InternalId=12345, ...]"
	regexp.MustCompile(`^(?:\d\.\d+\.\d+ )?([A-Za-z0-9]{8,20}) Message accepted`), // Sendmail: "2.0.0 4AMCa1b2003456 Message accepted for delivery"
	regexp.MustCompile(`(?i)\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp`),                      // Gmail: "2.0.0 OK  1700000000 a1-...si123.456 - gsmtp"
	// Replies that end with "queued" and an id: "Message Queued
	// (5F3C1234-...)" (Haraka), "queued (id 5F3C1234)". The id must hold a
	// digit (see QueueID): "Message queued successfully" has none.
	regexp.MustCompile(`(?i)\bqueued (?:mail )?(?:for delivery )?\(?(?:id )?<?([A-Za-z0-9.\-_@]{6,})>?\)?$`),
}

// queueIDWords holds, lower-cased, a word each of queueIDPatterns needs.
var queueIDWords = []string{"queued as", "id=", "internalid=", " message accepted", "gsmtp", "queued"}

// catchAllPattern is the index of the last, least specific pattern.
const catchAllPattern = 5

// QueueID extracts the queue id a server gave in its reply to the end of a
// message ("250 2.0.0 Ok: queued as 4ABC123"), or "".
func QueueID(text string) string {
	lower := strings.ToLower(text)
	for i, re := range queueIDPatterns {
		// A word each pattern needs spares running the others (regexp
		// costs microseconds a reply; a capture holds millions of them).
		if !strings.Contains(lower, queueIDWords[i]) {
			continue
		}
		if m := re.FindStringSubmatch(text); m != nil {
			if i == catchAllPattern && !strings.ContainsAny(m[1], "0123456789") {
				continue
			}
			return m[1]
		}
	}
	return ""
}
