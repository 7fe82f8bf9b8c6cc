package smtpdecode

import "strconv"

// EnhancedCode is an RFC 3463 enhanced status code such as 5.7.8 (class, subject, detail).
type EnhancedCode [3]int

// String returns the code in its dotted form, such as "5.7.8".
func (c EnhancedCode) String() string {
	b := make([]byte, 0, 11)
	b = strconv.AppendInt(b, int64(c[0]), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(c[1]), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(c[2]), 10)
	return string(b)
}

// ParseEnhancedCode reads an enhanced status code at the start of a reply
// line's text ("5.7.8 Authentication ..."), returning it and the rest of the
// text after the following space. ok is false when the text does not start
// with one (class 2, 4 or 5; subject 0-999; detail 0-999; followed by a space
// or the end); rest is then the whole text.
func ParseEnhancedCode(text string) (code EnhancedCode, rest string, ok bool) {
	if len(text) < 5 || text[1] != '.' {
		return EnhancedCode{}, text, false
	}
	switch text[0] {
	case '2', '4', '5':
		code[0] = int(text[0] - '0')
	default:
		return EnhancedCode{}, text, false
	}
	i := 2
	var n int
	if code[1], n = meaningDigits(text[i:]); n == 0 || i+n >= len(text) || text[i+n] != '.' {
		return EnhancedCode{}, text, false
	}
	i += n + 1
	if code[2], n = meaningDigits(text[i:]); n == 0 {
		return EnhancedCode{}, text, false
	}
	i += n
	switch {
	case i == len(text):
		return code, "", true
	case text[i] == ' ':
		return code, text[i+1:], true
	}
	return EnhancedCode{}, text, false
}

// meaningDigits reads the one to three decimal digits RFC 3463 allows for a
// subject or detail at the start of s. n is 0 when s does not start with a
// digit or starts with more than three.
func meaningDigits(s string) (v, n int) {
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		if n == 3 {
			return 0, 0
		}
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

// CodeValid reports whether a reply code is one SMTP allows (first digit 2-5,
// second 0-5, third 0-9).
func CodeValid(code int) bool {
	return code >= 200 && code <= 599 && code/10%10 <= 5
}

// ReplyMeaning is a short lowercase meaning of a basic reply code from
// RFC 5321 and its extensions (211, 214, 220, 221, 235, 250, 251, 252, 334,
// 354, 421, 432, 450, 451, 452, 454, 455, 500, 501, 502, 503, 504, 521, 523,
// 530, 534, 535, 538, 550, 551, 552, 553, 554, 555, 556), or "" for an
// unknown code.
func ReplyMeaning(code int) string {
	return meaningReply[code]
}

// EnhancedMeaning is a short lowercase meaning of an enhanced code from the
// IANA registry (all X.0.0 .. X.7.x subject/detail pairs the registry lists,
// e.g. X.1.1 "bad destination mailbox address", X.7.8 "authentication
// credentials invalid"), or "" if unknown. The class (2/4/5) does not change
// the detail meaning; a code of any other class is unknown.
func EnhancedMeaning(c EnhancedCode) string {
	switch c[0] {
	case 2, 4, 5:
		return meaningEnhanced[[2]int{c[1], c[2]}]
	}
	return ""
}

// Meaning is the best short meaning of a reply with the given code and first
// line text: the meaning of the enhanced code that starts the text, when that
// code is known, has the reply's class and names a specific condition;
// otherwise the basic code's meaning; otherwise the meaning of a known
// "other or undefined" (X.Y.0) enhanced code; otherwise "".
func Meaning(code int, firstLineText string) string {
	var generic string
	if c, _, ok := ParseEnhancedCode(firstLineText); ok && CodeValid(code) && c[0] == code/100 {
		m := EnhancedMeaning(c)
		if m != "" && c[2] != 0 {
			return m
		}
		generic = m
	}
	if m := ReplyMeaning(code); m != "" {
		return m
	}
	return generic
}

// meaningReply holds the basic reply codes: RFC 5321 section 4.2.2/4.2.3,
// RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 5248 (523) and RFC 7504 (521, 556).
var meaningReply = map[int]string{
	211: "system status",
	214: "help message",
	220: "service ready",
	221: "service closing connection",
	235: "authentication succeeded",
	250: "requested action completed",
	251: "user not local, will forward",
	252: "cannot verify user, will try delivery",
	334: "server challenge",
	354: "start mail input",
	421: "service not available, closing connection",
	432: "password transition needed",
	450: "mailbox temporarily unavailable",
	451: "requested action aborted: local error",
	452: "insufficient system storage",
	454: "temporary authentication or tls failure",
	455: "cannot accommodate parameters",
	500: "syntax error, command unrecognized",
	501: "syntax error in arguments",
	502: "command not implemented",
	503: "bad sequence of commands",
	504: "command parameter not implemented",
	521: "host does not accept mail",
	523: "encryption needed",
	530: "authentication or starttls required",
	534: "authentication mechanism too weak",
	535: "authentication credentials invalid",
	538: "encryption required for authentication mechanism",
	550: "mailbox unavailable",
	551: "user not local",
	552: "exceeded storage allocation",
	553: "mailbox name not allowed",
	554: "transaction failed",
	555: "mail from/rcpt to parameters unrecognized",
	556: "domain does not accept mail",
}

// meaningEnhanced holds the subject.detail pairs of the IANA "SMTP Enhanced
// Status Codes" registry (RFC 3463, RFC 3886, RFC 4468, RFC 4954, RFC 5248,
// RFC 6531, RFC 6710, RFC 7293, RFC 7372, RFC 7505, RFC 8617, RFC 8689...).
var meaningEnhanced = map[[2]int]string{
	{0, 0}: "other undefined status",

	{1, 0}:  "other address status",
	{1, 1}:  "bad destination mailbox address",
	{1, 2}:  "bad destination system address",
	{1, 3}:  "bad destination mailbox address syntax",
	{1, 4}:  "destination mailbox address ambiguous",
	{1, 5}:  "destination address valid",
	{1, 6}:  "destination mailbox has moved",
	{1, 7}:  "bad sender's mailbox address syntax",
	{1, 8}:  "bad sender's system address",
	{1, 9}:  "relayed to non-compliant mailer",
	{1, 10}: "recipient address has null mx",

	{2, 0}: "other or undefined mailbox status",
	{2, 1}: "mailbox disabled, not accepting messages",
	{2, 2}: "mailbox full",
	{2, 3}: "message length exceeds administrative limit",
	{2, 4}: "mailing list expansion problem",

	{3, 0}: "other or undefined mail system status",
	{3, 1}: "mail system full",
	{3, 2}: "system not accepting network messages",
	{3, 3}: "system not capable of selected features",
	{3, 4}: "message too big for system",
	{3, 5}: "system incorrectly configured",
	{3, 6}: "requested priority was changed",

	{4, 0}: "other network or routing status",
	{4, 1}: "no answer from host",
	{4, 2}: "bad connection",
	{4, 3}: "directory server failure",
	{4, 4}: "unable to route",
	{4, 5}: "mail system congestion",
	{4, 6}: "routing loop detected",
	{4, 7}: "delivery time expired",

	{5, 0}: "other or undefined protocol status",
	{5, 1}: "invalid command",
	{5, 2}: "syntax error",
	{5, 3}: "too many recipients",
	{5, 4}: "invalid command arguments",
	{5, 5}: "wrong protocol version",
	{5, 6}: "authentication exchange line too long",

	{6, 0}: "other or undefined media error",
	{6, 1}: "media not supported",
	{6, 2}: "conversion required and prohibited",
	{6, 3}: "conversion required but not supported",
	{6, 4}: "conversion with loss performed",
	{6, 5}: "conversion failed",
	{6, 6}: "message content not available",
	{6, 7}: "non-ascii addresses not permitted",
	{6, 8}: "utf-8 reply not permitted by client",
	{6, 9}: "utf-8 header cannot be transferred",
	// X.6.10 is registered as a deprecated duplicate of X.6.8.
	{6, 10}: "utf-8 reply not permitted by client",

	{7, 0}:  "other or undefined security status",
	{7, 1}:  "delivery not authorized, message refused",
	{7, 2}:  "mailing list expansion prohibited",
	{7, 3}:  "security conversion required but not possible",
	{7, 4}:  "security features not supported",
	{7, 5}:  "cryptographic failure",
	{7, 6}:  "cryptographic algorithm not supported",
	{7, 7}:  "message integrity failure",
	{7, 8}:  "authentication credentials invalid",
	{7, 9}:  "authentication mechanism is too weak",
	{7, 10}: "encryption needed",
	{7, 11}: "encryption required for authentication mechanism",
	{7, 12}: "password transition needed",
	{7, 13}: "user account disabled",
	{7, 14}: "trust relationship required",
	{7, 15}: "priority level is too low",
	{7, 16}: "message too big for priority",
	{7, 17}: "mailbox owner has changed",
	{7, 18}: "domain owner has changed",
	{7, 19}: "rrvs test cannot be completed",
	{7, 20}: "no passing dkim signature found",
	{7, 21}: "no acceptable dkim signature found",
	{7, 22}: "no valid author-matched dkim signature",
	{7, 23}: "spf validation failed",
	{7, 24}: "spf validation error",
	{7, 25}: "reverse dns validation failed",
	{7, 26}: "multiple authentication checks failed",
	{7, 27}: "sender address has null mx",
	{7, 28}: "mail flood detected",
	{7, 29}: "arc validation failure",
	{7, 30}: "requiretls support required",
}
