package smtpdecode

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// authB64 is base64 as clients and servers send it.
func authB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// authS and authC build turns.
func authS(text string) AuthTurn { return AuthTurn{FromServer: true, Text: text} }
func authC(text string) AuthTurn { return AuthTurn{Text: text} }

// Steps as expected: server challenge, client response (not secret), client
// secret, undecodable.
func authSrv(raw, dec string) AuthStep { return AuthStep{FromServer: true, Raw: raw, Decoded: dec} }
func authCli(raw, dec string) AuthStep { return AuthStep{Raw: raw, Decoded: dec} }
func authSec(raw, dec string) AuthStep { return AuthStep{Raw: raw, Decoded: dec, Secret: true} }

const (
	// testdata/auth-cram-md5 (swaks against aiosmtpd, whb / s3cret-pass)
	authCRAMChallenge = "PDE4OTYuNjk3MTcwOTUyQG1haWwuc210cHNjb3BlLnRlc3Q+"
	authCRAMResponse  = "d2hiIDA5ZTI5ZGE3NzlmYzNmNWU2N2E5OTJkNzI2ZWYwOTVi"

	// RFC 7677's SCRAM-SHA-256 example (user "user", password "pencil")
	authSCRAMClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
	authSCRAMServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	authSCRAMClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	authSCRAMServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

	// Google's XOAUTH2 error challenge
	authXOAUTH2Error = `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`
	// RFC 7628 section 3.2.2's error challenge
	authOAuthBearerError = `{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}`
)

var authTests = []struct {
	name  string
	arg   string
	turns []AuthTurn
	want  Auth
}{
	{
		name: "login aiosmtpd (auth-login-nc)",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("VXNlciBOYW1lAA=="), authC("d2hi"),
			authS("UGFzc3dvcmQA"), authC("czNjcmV0LXBhc3M="),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authSrv("VXNlciBOYW1lAA==", "User Name\x00"), authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQA", "Password\x00"), authSec("czNjcmV0LXBhc3M=", "s3cret-pass"),
			},
		},
	},
	{
		name: "login wrong password (auth-failed)",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("VXNlciBOYW1lAA=="), authC("d2hi"),
			authS("UGFzc3dvcmQA"), authC("d3JvbmctcGFzcw=="),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "wrong-pass", Decoded: true,
			Steps: []AuthStep{
				authSrv("VXNlciBOYW1lAA==", "User Name\x00"), authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQA", "Password\x00"), authSec("d3JvbmctcGFzcw==", "wrong-pass"),
			},
		},
	},
	{
		name: "login classic prompts",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("VXNlcm5hbWU6"), authC(authB64("alice@example.com")),
			authS("UGFzc3dvcmQ6"), authC(authB64("hunter2")),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "alice@example.com", Password: "hunter2", Decoded: true,
			Steps: []AuthStep{
				authSrv("VXNlcm5hbWU6", "Username:"), authCli(authB64("alice@example.com"), "alice@example.com"),
				authSrv("UGFzc3dvcmQ6", "Password:"), authSec(authB64("hunter2"), "hunter2"),
			},
		},
	},
	{
		name:  "login lowercase with initial response",
		arg:   "login d2hi",
		turns: []AuthTurn{authS("UGFzc3dvcmQ6"), authC("czNjcmV0LXBhc3M=")},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQ6", "Password:"), authSec("czNjcmV0LXBhc3M=", "s3cret-pass"),
			},
		},
	},
	{
		name: "login unknown prompts go by order",
		arg:  "Login",
		turns: []AuthTurn{
			authS(authB64("Benutzername:")), authC("d2hi"),
			authS(authB64("Passwort:")), authC("czNjcmV0LXBhc3M="),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authSrv(authB64("Benutzername:"), "Benutzername:"), authCli("d2hi", "whb"),
				authSrv(authB64("Passwort:"), "Passwort:"), authSec("czNjcmV0LXBhc3M=", "s3cret-pass"),
			},
		},
	},
	{
		name: "login cancelled at the password",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("VXNlcm5hbWU6"), authC("d2hi"),
			authS("UGFzc3dvcmQ6"), authC("*"),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Decoded: true, Cancelled: true,
			Steps: []AuthStep{
				authSrv("VXNlcm5hbWU6", "Username:"), authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQ6", "Password:"), {Raw: "*"},
			},
		},
	},
	{
		name: "login bad base64 password",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("VXNlcm5hbWU6"), authC("d2hi"),
			authS("UGFzc3dvcmQ6"), authC("s3cret pass!"),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Decoded: true, Undecodable: true,
			Steps: []AuthStep{
				authSrv("VXNlcm5hbWU6", "Username:"), authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQ6", "Password:"),
				{Raw: "s3cret pass!", Secret: true, Undecodable: true},
			},
		},
	},
	{
		name: "login bad base64 challenge",
		arg:  "LOGIN",
		turns: []AuthTurn{
			authS("Username:"), authC("d2hi"),
			authS("UGFzc3dvcmQ6"), authC("czNjcmV0LXBhc3M="),
		},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "s3cret-pass", Decoded: true, Undecodable: true,
			Steps: []AuthStep{
				{FromServer: true, Raw: "Username:", Undecodable: true}, authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQ6", "Password:"), authSec("czNjcmV0LXBhc3M=", "s3cret-pass"),
			},
		},
	},
	{
		name:  "login unpadded base64 and stray spaces",
		arg:   "  LOGIN   d2hi ",
		turns: []AuthTurn{authS("UGFzc3dvcmQ6"), authC("czNjcmV0LXBhc3M ")},
		want: Auth{
			Mechanism: "LOGIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authCli("d2hi", "whb"),
				authSrv("UGFzc3dvcmQ6", "Password:"), authSec("czNjcmV0LXBhc3M ", "s3cret-pass"),
			},
		},
	},
	{
		name: "plain initial response (auth-plain)",
		arg:  "PLAIN AHdoYgBzM2NyZXQtcGFzcw==",
		want: Auth{
			Mechanism: "PLAIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{authSec("AHdoYgBzM2NyZXQtcGFzcw==", "\x00whb\x00s3cret-pass")},
		},
	},
	{
		name:  "plain lowercase after empty challenge",
		arg:   "plain",
		turns: []AuthTurn{authS(""), authC("AHdoYgBzM2NyZXQtcGFzcw==")},
		want: Auth{
			Mechanism: "PLAIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authSrv("", ""),
				authSec("AHdoYgBzM2NyZXQtcGFzcw==", "\x00whb\x00s3cret-pass"),
			},
		},
	},
	{
		name: "plain with authzid",
		arg:  "PLAIN " + authB64("admin\x00whb\x00s3cret-pass"),
		want: Auth{
			Mechanism: "PLAIN", Username: "whb", Authzid: "admin", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{authSec(authB64("admin\x00whb\x00s3cret-pass"), "admin\x00whb\x00s3cret-pass")},
		},
	},
	{
		name:  "plain empty initial response",
		arg:   "PLAIN =",
		turns: []AuthTurn{authS(""), authC("AHdoYgBzM2NyZXQtcGFzcw==")},
		want: Auth{
			Mechanism: "PLAIN", Username: "whb", Password: "s3cret-pass", Decoded: true,
			Steps: []AuthStep{
				authCli("=", ""),
				authSrv("", ""),
				authSec("AHdoYgBzM2NyZXQtcGFzcw==", "\x00whb\x00s3cret-pass"),
			},
		},
	},
	{
		name: "plain malformed (one NUL) stays secret, no fields",
		arg:  "PLAIN " + authB64("whb\x00s3cret-pass"),
		want: Auth{
			Mechanism: "PLAIN", Decoded: true,
			Steps: []AuthStep{authSec(authB64("whb\x00s3cret-pass"), "whb\x00s3cret-pass")},
		},
	},
	{
		name:  "plain cancelled",
		arg:   "PLAIN",
		turns: []AuthTurn{authS(""), authC("*")},
		want: Auth{
			Mechanism: "PLAIN", Decoded: true, Cancelled: true,
			Steps: []AuthStep{authSrv("", ""), {Raw: "*"}},
		},
	},
	{
		name: "plain bad base64 initial response",
		arg:  "PLAIN AHdoYgBzM2NyZXQtcGFzcw=!",
		want: Auth{
			Mechanism: "PLAIN", Decoded: true, Undecodable: true,
			Steps: []AuthStep{{Raw: "AHdoYgBzM2NyZXQtcGFzcw=!", Secret: true, Undecodable: true}},
		},
	},
	{
		name:  "cram-md5 (auth-cram-md5)",
		arg:   "CRAM-MD5",
		turns: []AuthTurn{authS(authCRAMChallenge), authC(authCRAMResponse)},
		want: Auth{
			Mechanism: "CRAM-MD5", Username: "whb", Password: "09e29da779fc3f5e67a992d726ef095b", Decoded: true,
			Steps: []AuthStep{
				authSrv(authCRAMChallenge, "<1896.697170952@mail.smtpscope.test>"),
				authSec(authCRAMResponse, "whb 09e29da779fc3f5e67a992d726ef095b"),
			},
		},
	},
	{
		name:  "cram-md5 lowercase, user with a space",
		arg:   "cram-md5",
		turns: []AuthTurn{authS(authCRAMChallenge), authC(authB64("Jane Doe 09e29da779fc3f5e67a992d726ef095b"))},
		want: Auth{
			Mechanism: "CRAM-MD5", Username: "Jane Doe", Password: "09e29da779fc3f5e67a992d726ef095b", Decoded: true,
			Steps: []AuthStep{
				authSrv(authCRAMChallenge, "<1896.697170952@mail.smtpscope.test>"),
				authSec(authB64("Jane Doe 09e29da779fc3f5e67a992d726ef095b"), "Jane Doe 09e29da779fc3f5e67a992d726ef095b"),
			},
		},
	},
	{
		name:  "cram-md5 cancelled",
		arg:   "CRAM-MD5",
		turns: []AuthTurn{authS(authCRAMChallenge), authC("*")},
		want: Auth{
			Mechanism: "CRAM-MD5", Decoded: true, Cancelled: true,
			Steps: []AuthStep{
				authSrv(authCRAMChallenge, "<1896.697170952@mail.smtpscope.test>"),
				{Raw: "*"},
			},
		},
	},
	{
		name: "xoauth2 initial response",
		arg:  "XOAUTH2 " + authB64("user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"),
		want: Auth{
			Mechanism: "XOAUTH2", Username: "someuser@example.com", Password: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", Decoded: true,
			Steps: []AuthStep{authSec(
				authB64("user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"),
				"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01")},
		},
	},
	{
		name: "xoauth2 error challenge then empty response",
		arg:  "xoauth2 " + authB64("user=u@example.com\x01auth=bearer EXPIRED\x01\x01"),
		turns: []AuthTurn{
			authS(authB64(authXOAUTH2Error)), authC(""),
		},
		want: Auth{
			Mechanism: "XOAUTH2", Username: "u@example.com", Password: "EXPIRED", Decoded: true,
			Steps: []AuthStep{
				authSec(authB64("user=u@example.com\x01auth=bearer EXPIRED\x01\x01"), "user=u@example.com\x01auth=bearer EXPIRED\x01\x01"),
				authSrv(authB64(authXOAUTH2Error), authXOAUTH2Error),
				authCli("", ""),
			},
		},
	},
	{
		name: "oauthbearer with host and port",
		arg:  "OAUTHBEARER " + authB64("n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"),
		want: Auth{
			Mechanism: "OAUTHBEARER", Username: "user@example.com", Authzid: "user@example.com",
			Password: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", Decoded: true,
			Steps: []AuthStep{authSec(
				authB64("n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"),
				"n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01")},
		},
	},
	{
		name: "oauthbearer after empty challenge, error, dummy response",
		arg:  "oauthbearer",
		turns: []AuthTurn{
			authS(""),
			authC(authB64("n,a=a=2Cb@example.com,\x01auth=Bearer tok\x01\x01")),
			authS(authB64(authOAuthBearerError)),
			authC("AQ=="),
		},
		want: Auth{
			Mechanism: "OAUTHBEARER", Username: "a,b@example.com", Authzid: "a,b@example.com", Password: "tok", Decoded: true,
			Steps: []AuthStep{
				authSrv("", ""),
				authSec(authB64("n,a=a=2Cb@example.com,\x01auth=Bearer tok\x01\x01"), "n,a=a=2Cb@example.com,\x01auth=Bearer tok\x01\x01"),
				authSrv(authB64(authOAuthBearerError), authOAuthBearerError),
				authCli("AQ==", "\x01"),
			},
		},
	},
	{
		name: "oauthbearer without authzid",
		arg:  "OAUTHBEARER " + authB64("n,,\x01auth=Bearer tok\x01\x01"),
		want: Auth{
			Mechanism: "OAUTHBEARER", Password: "tok", Decoded: true,
			Steps: []AuthStep{authSec(authB64("n,,\x01auth=Bearer tok\x01\x01"), "n,,\x01auth=Bearer tok\x01\x01")},
		},
	},
	{
		name: "scram-sha-256 (RFC 7677 example)",
		arg:  "SCRAM-SHA-256 " + authB64(authSCRAMClientFirst),
		turns: []AuthTurn{
			authS(authB64(authSCRAMServerFirst)), authC(authB64(authSCRAMClientFinal)),
			authS(authB64(authSCRAMServerFinal)), authC(""),
		},
		want: Auth{
			Mechanism: "SCRAM-SHA-256", Username: "user",
			Steps: []AuthStep{
				authCli(authB64(authSCRAMClientFirst), authSCRAMClientFirst),
				{FromServer: true, Raw: authB64(authSCRAMServerFirst)},
				{Raw: authB64(authSCRAMClientFinal), Secret: true},
				{FromServer: true, Raw: authB64(authSCRAMServerFinal)},
				{Raw: ""},
			},
		},
	},
	{
		name: "scram-sha-1-plus lowercase, escaped user and authzid, no initial response",
		arg:  "scram-sha-1-plus",
		turns: []AuthTurn{
			authS(""),
			authC(authB64("p=tls-exporter,a=adm=3Din,n=j=2Cdoe,r=abc")),
			authS(authB64("r=abcdef,s=c2FsdA==,i=4096")),
			authC(authB64("c=cD10bHMtZXhwb3J0ZXIsLA==,r=abcdef,p=cHJvb2Y=")),
		},
		want: Auth{
			Mechanism: "SCRAM-SHA-1-PLUS", Username: "j,doe", Authzid: "adm=in",
			Steps: []AuthStep{
				{FromServer: true, Raw: ""},
				authCli(authB64("p=tls-exporter,a=adm=3Din,n=j=2Cdoe,r=abc"), "p=tls-exporter,a=adm=3Din,n=j=2Cdoe,r=abc"),
				{FromServer: true, Raw: authB64("r=abcdef,s=c2FsdA==,i=4096")},
				{Raw: authB64("c=cD10bHMtZXhwb3J0ZXIsLA==,r=abcdef,p=cHJvb2Y="), Secret: true},
			},
		},
	},
	{
		name: "scram first message not recognised is secret",
		arg:  "SCRAM-SHA-256 " + authB64("c=biws,r=x,p=cHJvb2Y="),
		want: Auth{
			Mechanism: "SCRAM-SHA-256",
			Steps:     []AuthStep{{Raw: authB64("c=biws,r=x,p=cHJvb2Y="), Secret: true}},
		},
	},
	{
		name: "ntlm",
		arg:  "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
		turns: []AuthTurn{
			authS("TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA=="),
			authC("TlRMTVNTUAADAAAAGAAYAGoAAAAYABgAggAAAAwADABAAAAACAAIAEwAAAAWABYAVAAAAAAAAACaAAAAAQIAAA=="),
		},
		want: Auth{
			Mechanism: "NTLM",
			Steps: []AuthStep{
				{Raw: "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==", Secret: true},
				{FromServer: true, Raw: "TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA=="},
				{Raw: "TlRMTVNTUAADAAAAGAAYAGoAAAAYABgAggAAAAwADABAAAAACAAIAEwAAAAWABYAVAAAAAAAAACaAAAAAQIAAA==", Secret: true},
			},
		},
	},
	{
		name:  "gssapi lowercase, bad base64, cancelled",
		arg:   "gssapi",
		turns: []AuthTurn{authS(""), authC("YIIC!!"), authS("oYG"), authC("*")},
		want: Auth{
			Mechanism: "GSSAPI", Undecodable: true, Cancelled: true,
			Steps: []AuthStep{
				{FromServer: true, Raw: ""},
				{Raw: "YIIC!!", Secret: true, Undecodable: true},
				{FromServer: true, Raw: "oYG"},
				{Raw: "*"},
			},
		},
	},
	{
		name:  "unknown mechanism",
		arg:   "X-FANCY " + authB64("whb"),
		turns: []AuthTurn{authS(authB64("more?")), authC(authB64("s3cret"))},
		want: Auth{
			Mechanism: "X-FANCY",
			Steps: []AuthStep{
				{Raw: authB64("whb"), Secret: true},
				{FromServer: true, Raw: authB64("more?")},
				{Raw: authB64("s3cret"), Secret: true},
			},
		},
	},
	{
		name: "no mechanism",
		arg:  "",
		want: Auth{Steps: []AuthStep{}},
	},
}

func TestDecodeAuth(t *testing.T) {
	for _, tc := range authTests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecodeAuth(tc.arg, tc.turns)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodeAuth(%q)\n got  %s\n want %s", tc.arg, authDump(got), authDump(tc.want))
			}
			authCheck(t, tc.arg, tc.turns, got)
		})
	}
}

// TestDecodeAuthCRAMDigest checks that the CRAM-MD5 exchange recorded in
// testdata/auth-cram-md5 is what RFC 2195 says: HMAC-MD5 of the challenge
// keyed with the password.
func TestDecodeAuthCRAMDigest(t *testing.T) {
	a := DecodeAuth("CRAM-MD5", []AuthTurn{authS(authCRAMChallenge), authC(authCRAMResponse)})
	m := hmac.New(md5.New, []byte("s3cret-pass"))
	m.Write([]byte(a.Steps[0].Decoded))
	if want := hex.EncodeToString(m.Sum(nil)); a.Password != want {
		t.Errorf("digest %q, want %q", a.Password, want)
	}
}

// TestDecodeAuthMechanismCase checks that the mechanism name is read
// case-insensitively.
func TestDecodeAuthMechanismCase(t *testing.T) {
	for _, m := range []string{"PLAIN", "plain", "Plain", "pLaIn"} {
		a := DecodeAuth(m+" AHdoYgBzM2NyZXQtcGFzcw==", nil)
		if a.Mechanism != "PLAIN" || !a.Decoded || a.Username != "whb" || a.Password != "s3cret-pass" {
			t.Errorf("%s: %s", m, authDump(a))
		}
	}
}

func authDump(a Auth) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{mech=%q user=%q authzid=%q pass=%q decoded=%v cancelled=%v undecodable=%v",
		a.Mechanism, a.Username, a.Authzid, a.Password, a.Decoded, a.Cancelled, a.Undecodable)
	if a.Steps == nil {
		b.WriteString(" steps=nil")
	}
	for _, s := range a.Steps {
		fmt.Fprintf(&b, "\n    %+v", s)
	}
	b.WriteString("}")
	return b.String()
}

// authCheck checks what must hold for any input.
func authCheck(t *testing.T, arg string, turns []AuthTurn, a Auth) {
	t.Helper()
	if a.Mechanism != authUpper(a.Mechanism) {
		t.Errorf("mechanism %q not upper-cased", a.Mechanism)
	}
	_, ir := authSplitArg(arg)
	n := len(turns)
	if ir != "" {
		n++
	}
	if len(a.Steps) != n {
		t.Fatalf("%d steps for %d turns and initial response %q", len(a.Steps), len(turns), ir)
	}
	undecodable, cancelled := false, false
	for i, s := range a.Steps {
		j := i
		if ir != "" {
			j--
		}
		if j >= 0 && (s.Raw != turns[j].Text || s.FromServer != turns[j].FromServer) {
			t.Errorf("step %d: %+v is not turn %+v", i, s, turns[j])
		}
		if j < 0 && (s.Raw != ir || s.FromServer) {
			t.Errorf("step %d: %+v is not the initial response %q", i, s, ir)
		}
		undecodable = undecodable || s.Undecodable
		cancelled = cancelled || (!s.FromServer && strings.Trim(s.Raw, " \t\r\n") == "*")
		if s.Undecodable && s.Decoded != "" {
			t.Errorf("step %d: undecodable but decoded %q", i, s.Decoded)
		}
		if s.FromServer && s.Secret {
			t.Errorf("step %d: a challenge is secret", i)
		}
		// Every secret step's decoded text is never taken as the user
		// name: when they are equal, the user name must not depend on
		// that step (a LOGIN user whose password is the same text).
		if s.Secret && s.Decoded != "" && s.Decoded == a.Username &&
			authDependsOn(arg, turns, i, func(a Auth) string { return a.Username }) {
			t.Errorf("step %d: secret %q taken as the user name", i, s.Decoded)
		}
		// Nor is a non-secret step taken as the password.
		if !s.Secret && !s.FromServer && s.Decoded != "" && s.Decoded == a.Password &&
			authDependsOn(arg, turns, i, func(a Auth) string { return a.Password }) {
			t.Errorf("step %d: non-secret %q taken as the password", i, s.Decoded)
		}
	}
	if undecodable != a.Undecodable {
		t.Errorf("Undecodable %v, steps say %v", a.Undecodable, undecodable)
	}
	if cancelled != a.Cancelled {
		t.Errorf("Cancelled %v, steps say %v", a.Cancelled, cancelled)
	}
	// The password comes out of a secret step.
	if a.Password != "" {
		found := false
		for _, s := range a.Steps {
			found = found || (s.Secret && strings.Contains(s.Decoded, a.Password))
		}
		if !found {
			t.Errorf("password %q is in no secret step", a.Password)
		}
	}
	if !a.Decoded && a.Password != "" {
		t.Errorf("password %q from a mechanism not decoded", a.Password)
	}
}

// authDependsOn reports whether field of the decoded exchange changes when
// the text of step i (which must decode) is changed.
func authDependsOn(arg string, turns []AuthTurn, i int, field func(Auth) string) bool {
	a := DecodeAuth(arg, turns)
	dec := a.Steps[i].Decoded
	alt := authB64("~" + dec + "~")
	mech, ir := authSplitArg(arg)
	turns = append([]AuthTurn(nil), turns...)
	if ir != "" {
		if i == 0 {
			arg = mech + " " + alt
		}
		i--
	}
	if i >= 0 {
		turns[i].Text = alt
	}
	return field(DecodeAuth(arg, turns)) != field(a)
}

// authFuzzTurns reads turns from lines: "S..." a challenge, else a response
// (the first byte is dropped).
func authFuzzTurns(s string) []AuthTurn {
	var turns []AuthTurn
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			continue
		}
		turns = append(turns, AuthTurn{FromServer: line[0] == 'S', Text: line[1:]})
	}
	return turns
}

func FuzzDecodeAuth(f *testing.F) {
	for _, tc := range authTests {
		var b strings.Builder
		for _, t := range tc.turns {
			if t.FromServer {
				b.WriteString("S")
			} else {
				b.WriteString("C")
			}
			b.WriteString(t.Text + "\n")
		}
		f.Add(tc.arg, b.String())
	}
	f.Add("LOGIN", "S"+authB64("Username:")+"\nC"+authB64("same")+"\nS"+authB64("Password:")+"\nC"+authB64("same")+"\n")
	f.Add("PLAIN "+authB64("\x00u\x00p"), "S\nC"+authB64("u")+"\n")
	f.Add("OAUTHBEARER", "C"+authB64("y,a=,\x01auth=\x01")+"\n")
	f.Add("XOAUTH2", "C"+authB64("user=\x01auth=Bearer")+"\n")
	f.Add("SCRAM-SHA-1", "C"+authB64("n,,n=,r=")+"\nC"+authB64("n,,n=u,r=x")+"\n")
	f.Add("\tlogin\t=", "C=\nC*\nC\n")
	f.Fuzz(func(t *testing.T, arg, lines string) {
		turns := authFuzzTurns(lines)
		a := DecodeAuth(arg, turns)
		authCheck(t, arg, turns, a)
	})
}
