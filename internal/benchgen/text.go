package main

import (
	"encoding/base64"
	"mime"
	"strings"
	"unicode/utf8"
)

// The vocabulary of generated mail: words for text, people, domains, host
// names, subjects and attachment names. Header values that need it are
// encoded once, at start-up, so that sessions only copy them.

// words is the vocabulary of plain ASCII text.
var words = strings.Fields(`
the of and to a in for is on that by this with you it not or be are from at as
your all have new more an was we will can us about if my has but our one other
do no time they he up may what which their out use any there see only so his
when here who also now get some these its like than them should her into two
next would how were been first last after best well where through each very
need many could know way days part must made before did right because those
using within want take even being much today both same own while down three
without since still every another little again never against below less let
above few something hard four given possible might yet soon already able
meeting report budget invoice order account payment project team schedule
review update draft version release server backup network access password
customer service support request ticket issue problem solution question answer
agenda minutes office building room floor desk printer scanner document file
folder attachment copy original signature contract agreement proposal offer
price quote discount delivery shipment package tracking address phone number
monday tuesday wednesday thursday friday weekend morning afternoon evening
january february march april june july august september october november
december week month quarter year deadline reminder notice status result
thanks regards please kindly attached below above following previous latest
sales revenue cost margin forecast target growth market product feature
customer client partner vendor supplier manager director team member staff
colleague department finance legal marketing engineering operations security
system database storage memory disk cluster instance deployment pipeline build
test staging production incident outage alert warning error failure recovery
plan strategy goal milestone progress summary overview detail analysis data
chart table figure slide presentation workshop training session conference
travel hotel flight booking reservation lunch dinner coffee breakfast kitchen
holiday vacation leave sick remote home city street river garden park station
morning quick short long small large early late simple clear final initial
confirm approve reject cancel reschedule postpone discuss share send receive
check verify compare prepare finish start continue follow arrange consider
important urgent optional pending approved rejected completed scheduled shared
internal external public private general specific annual monthly weekly daily
`)

// words8 are non-ASCII words mixed into UTF-8 text.
var words8 = strings.Fields(`café déjà naïve résumé Größe Straße für über mañana año
señor così perché Zürich København façade crème brûlée Ångström jalapeño
smörgåsbord piñata Ελλάδα Москва привет спасибо 東京 日本語 ありがとう 会議
Kraków Łódź Dvořák São Paulo coração ação niño fiancée Besançon Genève`)

// words1 are the words of words8 that ISO-8859-1 can hold.
var words1 = func() []string {
	var out []string
	for _, w := range words8 {
		if _, ok := latin1(w); ok {
			out = append(out, w)
		}
	}
	return out
}()

// latin1 converts s to ISO-8859-1, reporting whether every rune fits.
func latin1(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

// encodeWord encodes s as RFC 2047 encoded words: ASCII as it is, else in
// ISO-8859-1 when latin is set and s fits, else UTF-8; q chooses Q over B
// encoding. Encoded words longer than a header line are folded.
func encodeWord(s string, q, latin bool) string {
	if isASCII(s) {
		return s
	}
	charset, text := "UTF-8", s
	if l, ok := latin1(s); ok && latin {
		charset, text = "ISO-8859-1", l
	}
	var enc string
	if q {
		enc = mime.QEncoding.Encode(charset, text)
	} else {
		enc = mime.BEncoding.Encode(charset, text)
	}
	if charset != "UTF-8" && !strings.HasPrefix(enc, "=?") {
		// mime leaves text alone when it is valid UTF-8 without special
		// characters; Latin-1 text is never that, but be safe.
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// person is someone mail is from or to.
type person struct {
	local   string // local part of the address
	display string // display name as a header holds it (quoted or encoded); "" for none
}

var people = func() []person {
	names := []struct{ local, name string }{
		{"alice.martin", "Alice Martin"}, {"bob", "Bob Smith"}, {"carol.jones", "Carol Jones"},
		{"dave", ""}, {"erin.taylor", "Taylor, Erin"}, {"frank", "Frank Miller"},
		{"grace.hopper", "Grace Hopper"}, {"heidi", "Heidi Klein"}, {"ivan", ""},
		{"judy.wong", "Judy Wong"}, {"mallory", "Mallory"}, {"oscar.diaz", "Oscar Díaz"},
		{"peggy", "Peggy Olson"}, {"trent", ""}, {"victor.hugo", "Victor Hugo"},
		{"walter", "Walter White"}, {"noreply", ""}, {"info", "Info"},
		{"billing", "Billing Department"}, {"support", "Customer Support"},
		{"renee.dupont", "Renée Dupont"}, {"juergen.mueller", "Jürgen Müller"},
		{"jose.garcia", "José García"}, {"soren.k", "Søren Kierkegaard"},
		{"zoe.martin", "Zoë Martin"}, {"lukasz.nowak", "Łukasz Nowak"},
		{"ana.perez", "Ana Lucía Pérez"}, {"bjorn.agren", "Björn Ågren"},
		{"ivan.petrov", "Иван Петров"}, {"tanaka", "田中 太郎"},
		{"francois.lefevre", "François Lefèvre"}, {"helene", "Hélène Brunet"},
		{"newsletter", "The Weekly Digest"}, {"root", "Cron Daemon"},
		{"scanner", "Office Scanner"}, {"jira", "Jira (OPS)"},
	}
	out := make([]person, len(names))
	for i, n := range names {
		d := n.name
		switch {
		case d == "":
		case !isASCII(d):
			d = encodeWord(d, i%3 != 0, i%2 == 0)
		case strings.ContainsAny(d, ",()"):
			d = `"` + d + `"`
		}
		out[i] = person{local: n.local, display: d}
	}
	return out
}()

// domains of senders and recipients.
var domains = []string{
	"example.com", "example.net", "example.org", "acme.example", "globex.example",
	"initech.example", "umbrella.example", "contoso.example", "fabrikam.example",
	"northwind.example", "wonka.example", "hooli.example", "example.co.uk",
	"example.de", "example.fr", "example.jp", "lists.example.org",
}

// subjects are Subject field values, encoded where needed.
var subjects = func() []string {
	plain := []string{
		"Quarterly report", "Re: Meeting tomorrow", "Fwd: Invoice 2026-0147",
		"Your order has shipped", "Password reset request", "Weekly newsletter - January",
		"Re: Re: Budget review", "Server backup completed", "Scan from SCANNER-3F",
		"Cron <root@web01> /usr/local/bin/backup.sh", "[JIRA] (OPS-1234) Disk usage above 90%",
		"Test message", "Lunch on Friday?", "Invitation: Project kickoff @ Mon Jan 12, 2026 10am",
		"Undelivered Mail Returned to Sender", "RE: contract draft v3", "Your statement is ready",
		"[alerts] CRITICAL: db01 replication lag", "Photos from the weekend", "Re: quick question",
		"Out of Office: Re: Quarterly report", "Receipt for your payment", "Minutes of the board meeting",
		"Réunion d'équipe - ordre du jour", "Grüße aus München", "Presupuesto año 2026",
		"Café crème et croissants vendredi ?", "Résumé - François Lefèvre", "Übersicht der Größen",
		"Заказ №4821 подтверждён", "会議の議事録 (1月5日)", "Ελληνικά μαθήματα για αρχάριους",
		"Café ☕ on Friday?", "Re: Angebot für die Straße 12", "Felicitaciones por el nuevo año, señor",
		"Rückfrage zur Rechnung – bitte um Rückmeldung bis Freitag, vielen Dank im Voraus",
	}
	out := make([]string, len(plain))
	for i, s := range plain {
		out[i] = encodeWord(s, i%2 == 0, i%3 == 0)
	}
	return out
}()

// attachment describes an attachment: its media type, its file name as
// the Content-Type name parameter and the Content-Disposition parameters
// give it, and the bytes its content starts with.
type attachment struct {
	ctype       string
	name        string // Content-Type name parameter, quoted
	disposition string // the Content-Disposition parameters after "attachment;"
	magic       string
}

var attachments = func() []attachment {
	pdf := "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\x00\x00\x00\x03\x00\x08\x06\x00\x00\x00"
	zip := "PK\x03\x04\x14\x00\x08\x00\x08\x00"
	jpg := "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
	docx := zip + "[Content_Types].xml"
	files := []struct{ ctype, name, magic string }{
		{"application/pdf", "Invoice_2026-0147.pdf", pdf},
		{"application/pdf", "scan_0001.pdf", pdf},
		{"application/pdf", "report-2026-Q1.pdf", pdf},
		{"application/pdf", "Résumé François.pdf", pdf},
		{"application/pdf", "Übersicht Größen.pdf", pdf},
		{"application/pdf", "Договор поставки.pdf", pdf},
		{"application/pdf", "見積書.pdf", pdf},
		{"image/png", "image001.png", png},
		{"image/png", "screenshot 2026-01-05 at 10.21.33.png", png},
		{"image/png", "Café menu.png", png},
		{"image/jpeg", "IMG_4821.JPG", jpg},
		{"application/zip", "logs.zip", zip},
		{"application/zip", "backup-2026-01-05.zip", zip},
		{"application/zip", "Presentación final.zip", zip},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "contract_signed.docx", docx},
		{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Отчёт о продажах за декабрь 2025 года по регионам.xlsx", docx},
	}
	out := make([]attachment, 0, 2*len(files))
	for i, f := range files {
		if isASCII(f.name) {
			q := `"` + f.name + `"`
			out = append(out, attachment{f.ctype, q, " filename=" + q, f.magic})
			continue
		}
		// Each non-ASCII name twice: once as RFC 2231 (what Thunderbird
		// and Apple Mail write), once as RFC 2047 words in quotes (what
		// Outlook and Gmail write).
		word := `"` + strings.ReplaceAll(encodeWord(f.name, i%2 == 0, false), "\r\n ", " ") + `"`
		out = append(out,
			attachment{f.ctype, word, rfc2231("filename", f.name), f.magic},
			attachment{f.ctype, word, " filename=" + word, f.magic})
	}
	return out
}()

// rfc2231 returns the parameter name with value v in RFC 2231 form, as
// continuations when it is long, each on a folded line of its own.
func rfc2231(name, v string) string {
	const hex = "0123456789ABCDEF"
	var enc strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			enc.WriteByte(c)
		} else {
			enc.WriteByte('%')
			enc.WriteByte(hex[c>>4])
			enc.WriteByte(hex[c&15])
		}
	}
	s := "UTF-8''" + enc.String()
	if len(s) <= 60 {
		return "\r\n " + name + "*=" + s
	}
	var b strings.Builder
	for i := 0; len(s) > 0; i++ {
		n := min(len(s), 60)
		// Do not cut a %XX escape.
		if j := strings.LastIndexByte(s[max(0, n-2):n], '%'); j >= 0 && n < len(s) {
			n = max(0, n-2) + j
		}
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString("\r\n " + name + "*" + itoa(i) + "*=" + s[:n])
		s = s[n:]
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// b64 encodes s in standard base64.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
