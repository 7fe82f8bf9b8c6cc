package smtpdecode

import "bytes"

// IsGreeting reports whether p starts like a server's greeting: "220 " or "220-".
func IsGreeting(p []byte) bool {
	return len(p) >= 4 && bytes.HasPrefix(p, []byte("220")) && (p[3] == ' ' || p[3] == '-')
}

// StartsLikeCommand reports whether p starts with an SMTP command verb
// followed by a space or a line ending.
func StartsLikeCommand(p []byte) bool { return looksLikeCommand(p) }

// Detect decides from the first bytes of each side whether a connection
// speaks SMTP: a greeting from the server, then HELO or EHLO from the client.
// decided is false while too few bytes have arrived to tell.
func Detect(client, server []byte) (smtp, decided bool) {
	if len(server) >= 4 && !IsGreeting(server) {
		return false, true
	}
	if len(client) >= 5 {
		verb := upperASCII(client[:4])
		if (verb != "HELO" && verb != "EHLO") || (client[4] != ' ' && client[4] != '\r' && client[4] != '\n') {
			return false, true
		}
	}
	if len(server) >= 4 && len(client) >= 5 {
		return true, true
	}
	return false, false
}
