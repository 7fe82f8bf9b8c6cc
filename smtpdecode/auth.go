package smtpdecode

import (
	"encoding/base64"
	"strings"
)

// AuthTurn is one step of an AUTH exchange after the AUTH command: a 334
// challenge from the server (its text after "334 ") or a response line from
// the client.
type AuthTurn struct {
	FromServer bool
	Text       string
}

// AuthStep is one decoded step.
type AuthStep struct {
	FromServer bool
	Raw        string // as sent (base64)
	// Decoded is the decoded text (printable or not: the report escapes
	// it); "" when not decoded (and for an empty challenge or response).
	Decoded string
	// Secret is set when the step holds a password, digest or token, or
	// may hold one: reports mask it unless asked.
	Secret      bool
	Undecodable bool // not valid base64
}

// Auth is what an AUTH exchange (RFC 4954) said.
type Auth struct {
	Mechanism string // upper-cased (clients send "login" too)
	// Username is the authentication identity, when the mechanism shows
	// it: the LOGIN user name, the PLAIN authcid, the CRAM-MD5 user, the
	// XOAUTH2 user=, the OAUTHBEARER a= (which is also its Authzid), the
	// SCRAM n=.
	Username string
	// Authzid is the authorization identity, if any: PLAIN's first field,
	// the a= of the GS2 header of OAUTHBEARER and SCRAM.
	Authzid string
	// Password is the secret: the PLAIN or LOGIN password, the XOAUTH2 or
	// OAUTHBEARER bearer token, the CRAM-MD5 hex digest.
	Password string
	// Steps are the initial response (if any) first, then each turn.
	Steps []AuthStep
	// Decoded is false for mechanisms shown but not decoded: NTLM, GSSAPI,
	// SCRAM-*, GS2-*, and any other.
	Decoded     bool
	Cancelled   bool // the client answered "*"
	Undecodable bool // some step was not valid base64
}

// authKind is a mechanism DecodeAuth knows.
type authKind uint8

const (
	authKindOther authKind = iota // not decoded; every client step secret
	authKindLogin
	authKindPlain
	authKindCRAM
	authKindXOAUTH2
	authKindOAuthBearer
	authKindSCRAM // not decoded, but the client-first message shows the user
)

// authWant is what the next LOGIN response holds.
type authWant uint8

const (
	authWantUser  authWant = iota
	authWantPass           // the password
	authWantOther          // anything after the password: cannot tell, secret
)

// authDecoder holds the state of one DecodeAuth call.
type authDecoder struct {
	kind  authKind
	a     *Auth
	want  authWant // LOGIN: what the next response holds
	creds bool     // the credentials message (or SCRAM client-first) was seen
	user  bool     // LOGIN: the user name was seen
	pass  bool     // LOGIN: the password was seen
}

// DecodeAuth decodes an AUTH exchange: arg is the AUTH command's argument
// ("LOGIN", "PLAIN AHdoYgBzM2Nz...", "login d2hi"), turns the 334 challenges
// and client responses that followed, in order. It never fails: what it
// cannot read is kept raw and flagged.
func DecodeAuth(arg string, turns []AuthTurn) Auth {
	mech, ir := authSplitArg(arg)
	a := Auth{Mechanism: mech}
	d := authDecoder{kind: authKindOf(mech), a: &a}
	switch d.kind {
	case authKindLogin, authKindPlain, authKindCRAM, authKindXOAUTH2, authKindOAuthBearer:
		a.Decoded = true
	}
	n := len(turns)
	if ir != "" {
		n++
	}
	a.Steps = make([]AuthStep, 0, n)
	if ir != "" {
		d.step(false, ir)
	}
	for _, t := range turns {
		d.step(t.FromServer, t.Text)
	}
	return a
}

// SplitAuthArg splits an AUTH command's argument into the upper-cased
// mechanism and the initial response ("" when there is none), on spaces or
// tabs. Reports mask everything after the mechanism with it.
func SplitAuthArg(arg string) (mech, initialResponse string) { return authSplitArg(arg) }

// authSplitArg splits the AUTH argument into the upper-cased mechanism and
// the initial response ("" when there is none).
func authSplitArg(arg string) (mech, ir string) {
	arg = strings.Trim(arg, " \t\r\n")
	if i := strings.IndexAny(arg, " \t"); i >= 0 {
		mech, ir = arg[:i], strings.Trim(arg[i:], " \t")
	} else {
		mech = arg
	}
	return authUpper(mech), ir
}

// authUpper upper-cases ASCII letters, keeping every other byte.
func authUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func authKindOf(mech string) authKind {
	switch mech {
	case "LOGIN":
		return authKindLogin
	case "PLAIN":
		return authKindPlain
	case "CRAM-MD5":
		return authKindCRAM
	case "XOAUTH2":
		return authKindXOAUTH2
	case "OAUTHBEARER":
		return authKindOAuthBearer
	}
	if strings.HasPrefix(mech, "SCRAM-") {
		return authKindSCRAM
	}
	return authKindOther
}

// authBase64 decodes a challenge or response. "" and "=" (RFC 4954's empty
// initial response) are empty; padding may be left out.
func authBase64(text string) ([]byte, bool) {
	if text == "" || text == "=" {
		return nil, true
	}
	if b, err := base64.StdEncoding.DecodeString(text); err == nil {
		return b, true
	}
	if !strings.ContainsRune(text, '=') {
		if b, err := base64.RawStdEncoding.DecodeString(text); err == nil {
			return b, true
		}
	}
	return nil, false
}

// step decodes one challenge or response and appends it.
func (d *authDecoder) step(fromServer bool, raw string) {
	st := AuthStep{FromServer: fromServer, Raw: raw}
	text := strings.Trim(raw, " \t\r\n")
	if !fromServer && text == "*" {
		d.a.Cancelled = true
		d.a.Steps = append(d.a.Steps, st)
		return
	}
	b, ok := authBase64(text)
	if !ok {
		st.Undecodable = true
		d.a.Undecodable = true
	}
	if fromServer {
		d.server(&st, string(b), ok)
	} else {
		d.client(&st, string(b), ok)
	}
	d.a.Steps = append(d.a.Steps, st)
}

// server handles a 334 challenge: never secret.
func (d *authDecoder) server(st *AuthStep, dec string, ok bool) {
	switch d.kind {
	case authKindOther, authKindSCRAM:
		return // not decoded
	case authKindLogin:
		// "Username:", "Password:"; aiosmtpd sends "User Name\x00" and
		// "Password\x00". Another prompt leaves the order as it is.
		if ok {
			p := strings.ToLower(strings.TrimLeft(strings.TrimRight(dec, "\x00 \t\r\n"), " \t"))
			switch {
			case strings.HasPrefix(p, "user"):
				d.want = authWantUser
			case strings.HasPrefix(p, "pass"):
				d.want = authWantPass
			}
		}
	}
	st.Decoded = dec
}

// client handles a client response.
func (d *authDecoder) client(st *AuthStep, dec string, ok bool) {
	empty := ok && dec == ""
	switch d.kind {
	case authKindOther:
		st.Secret = true // cannot tell
	case authKindLogin:
		st.Decoded = dec
		switch d.want {
		case authWantUser:
			switch {
			case d.user:
				// Asked for a user name again: the server's prompt cannot be
				// trusted to say what the answer holds.
				st.Secret = true
			case ok:
				d.a.Username = dec
				d.user = true
			}
			d.want = authWantPass
		case authWantPass:
			st.Secret = true
			if ok && !d.pass {
				d.a.Password = dec
				d.pass = true
			}
			d.want = authWantOther
		default:
			st.Secret = true
		}
	case authKindPlain, authKindCRAM, authKindXOAUTH2, authKindOAuthBearer:
		st.Decoded = dec
		// An empty response (or OAUTHBEARER's "\x01" after an error
		// challenge) holds nothing; anything else may hold the secret.
		if empty || (ok && d.kind == authKindOAuthBearer && strings.Trim(dec, "\x01") == "") {
			return
		}
		st.Secret = true
		if d.creds {
			return
		}
		d.creds = true
		if !ok {
			return
		}
		switch d.kind {
		case authKindPlain:
			d.plain(dec)
		case authKindCRAM:
			d.cram(dec)
		case authKindXOAUTH2:
			d.xoauth2(dec)
		case authKindOAuthBearer:
			d.oauthBearer(dec)
		}
	case authKindSCRAM:
		if empty {
			return
		}
		if !d.creds {
			d.creds = true
			if ok && d.scramFirst(dec) {
				st.Decoded = dec
				return
			}
		}
		st.Secret = true // client-final (p=), or cannot tell
	}
}

// plain reads RFC 4616's authzid NUL authcid NUL passwd.
func (d *authDecoder) plain(dec string) {
	parts := strings.SplitN(dec, "\x00", 3)
	if len(parts) != 3 {
		return // malformed: which part is which cannot be told
	}
	d.a.Authzid, d.a.Username, d.a.Password = parts[0], parts[1], parts[2]
}

// cram reads RFC 2195's "user SP hexdigest"; the user may hold spaces.
func (d *authDecoder) cram(dec string) {
	i := strings.LastIndexByte(dec, ' ')
	if i < 0 {
		d.a.Password = dec
		return
	}
	d.a.Username, d.a.Password = dec[:i], dec[i+1:]
}

// xoauth2 reads Google's "user=U\x01auth=Bearer TOKEN\x01\x01".
func (d *authDecoder) xoauth2(dec string) {
	for kv := range strings.SplitSeq(dec, "\x01") {
		k, v, found := strings.Cut(kv, "=")
		if !found {
			continue
		}
		switch k {
		case "user":
			if d.a.Username == "" {
				d.a.Username = v
			}
		case "auth":
			if d.a.Password == "" {
				d.a.Password = authBearer(v)
			}
		}
	}
}

// oauthBearer reads RFC 7628's gs2-header ("n,a=USER,") followed by
// \x01-separated key=value pairs, one of them auth=Bearer TOKEN.
func (d *authDecoder) oauthBearer(dec string) {
	rest := dec
	if _, authzid, tail, ok := authGS2Header(dec); ok {
		if authzid != "" {
			d.a.Username, d.a.Authzid = authzid, authzid
		}
		rest = tail
	}
	for kv := range strings.SplitSeq(rest, "\x01") {
		if k, v, found := strings.Cut(kv, "="); found && k == "auth" && d.a.Password == "" {
			d.a.Password = authBearer(v)
		}
	}
}

// scramFirst reads RFC 5802's client-first message "n,,n=user,r=nonce" and
// reports whether dec is one (and holds no proof, p=).
func (d *authDecoder) scramFirst(dec string) bool {
	_, authzid, bare, ok := authGS2Header(dec)
	if !ok {
		return false
	}
	var user string
	var hasUser, hasNonce bool
	for attr := range strings.SplitSeq(bare, ",") {
		k, v, found := strings.Cut(attr, "=")
		switch {
		case !found:
			return false
		case k == "p":
			return false
		case k == "n" && !hasUser:
			user, hasUser = authSASLName(v), true
		case k == "r":
			hasNonce = true
		}
	}
	if !hasUser || !hasNonce {
		return false
	}
	d.a.Username, d.a.Authzid = user, authzid
	return true
}

// authGS2Header splits off an RFC 5801 gs2-header: the channel binding flag
// ("n", "y" or "p=..."), the authzid (from "a=...", unescaped; "" when
// absent) and what follows the header's second comma.
func authGS2Header(s string) (cbflag, authzid, rest string, ok bool) {
	cbflag, s, ok = strings.Cut(s, ",")
	if !ok || !(cbflag == "n" || cbflag == "y" || strings.HasPrefix(cbflag, "p=")) {
		return "", "", "", false
	}
	a, rest, ok := strings.Cut(s, ",")
	if !ok {
		return "", "", "", false
	}
	if a != "" {
		v, found := strings.CutPrefix(a, "a=")
		if !found {
			return "", "", "", false
		}
		authzid = authSASLName(v)
	}
	return cbflag, authzid, rest, true
}

// authSASLNameReplacer undoes RFC 5801's saslname escaping.
var authSASLNameReplacer = strings.NewReplacer("=2C", ",", "=3D", "=")

func authSASLName(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return authSASLNameReplacer.Replace(s)
}

// authBearer takes the token from "Bearer TOKEN" (the scheme is
// case-insensitive); another value is kept whole.
func authBearer(v string) string {
	const scheme = "bearer "
	if len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
		return v[len(scheme):]
	}
	return v
}
