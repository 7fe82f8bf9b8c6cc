package message

import (
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzOptions keeps limits small so that fuzzing reaches them, or (odd seeds) the defaults.
func fuzzOptions(seed int64, offered *offers) Options {
	if seed&1 == 1 {
		return Options{Part: offered.part}
	}
	return Options{MaxParts: 8, MaxDepth: 4, MaxHeaderBytes: 256, PreviewRunes: 40, Part: offered.part}
}

// offers checks that every writer the Part callback returned is closed exactly once.
type offers struct {
	mu     sync.Mutex
	opened map[string]int
	closed map[string]int
}

func (o *offers) part(p *Part) io.WriteCloser {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opened[p.Path]++
	return offerWriter{o, p.Path}
}

type offerWriter struct {
	o    *offers
	path string
}

func (w offerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w offerWriter) Close() error {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	w.o.closed[w.path]++
	return nil
}

// FuzzParser feeds arbitrary bytes, whole and at random splits: the parse must neither panic nor
// deadlock, must give the same Message however the input was cut, must respect its limits, and
// must leave no goroutine behind.
func FuzzParser(f *testing.F) {
	for i, c := range cases {
		f.Add(c.msg, int64(i))
	}
	for _, s := range []string{
		"",
		"\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a\r\n--a--",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n--a--",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nx",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a  \t\r\n\r\n--a-x\r\n--a--x",
		"Content-Transfer-Encoding: base64\r\n\r\n====QUJD",
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n=\r=\n= \r\n=4",
		"Subject: =?utf-8?q??= =?=?q?x?=?= =?utf-8?b?=?=\r\n",
	} {
		f.Add([]byte(s), int64(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed int64) {
		base := liveGoroutines()
		watchdog := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("parse of %d bytes deadlocked:\n%s", len(data), buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()

		wholeOffers := &offers{opened: map[string]int{}, closed: map[string]int{}}
		o := fuzzOptions(seed, wholeOffers)
		whole := parse(o, [][]byte{data})
		checkInvariants(t, data, whole, o.withDefaults())
		if fmt.Sprint(wholeOffers.opened) != fmt.Sprint(wholeOffers.closed) {
			t.Errorf("writers opened %v, closed %v", wholeOffers.opened, wholeOffers.closed)
		}

		splitOffers := &offers{opened: map[string]int{}, closed: map[string]int{}}
		r := rand.New(rand.NewSource(seed))
		split := parse(fuzzOptions(seed, splitOffers), pieces(data, func(int) int { return 1 + r.Intn(1+r.Intn(64)) }))
		if w, s := dump(whole), dump(split); w != s {
			t.Errorf("split parse differs:\n%s\nwhole:\n%s", s, w)
		}
		waitGoroutines(t, base)
	})
}

// FuzzDecodeHeader checks the decoding of header values: encoded words, address lists and
// parameters must never panic, text without encoded words must come back unchanged, valid
// UTF-8 must stay valid, and the output must stay proportionate to the input.
func FuzzDecodeHeader(f *testing.F) {
	for _, s := range []string{
		"plain",
		"=?UTF-8?B?R3LDvMOfZSwg5LiW55WM?=",
		"=?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiU5JUgbKEI=?=",
		"=?KOI8-R?Q?=F0=D2=C9=D7=C5=D4_=CD=C9=D2?=",
		"=?utf-8?q?a?= =?utf-8?q?b?= c =?x-unknown?q?d?=",
		"=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=",
		"=?utf-16?b?AEEAQgBD?=",
		"\"Doe, Jane\" <jane@example.com>, bob@example.com (Bob), Group: a@b, <c@d>;",
		"=?utf-8?q?J=C3=B6rg?= <j@example.com>",
		"attachment; filename*0*=utf-8''%E2%82%AC; filename*1=\".pdf\"",
		"a; b*=x-unknown''%ZZ; c=\"unterminated",
		"raw \xff\xfe 8-bit",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, probs := decodeHeader(s)
		if !strings.Contains(s, "=?") && (out != s || len(probs) > 0) {
			t.Errorf("decodeHeader(%q) = %q %q, want it unchanged", s, out, probs)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Errorf("decodeHeader(%q) = %q: not UTF-8", s, out)
		}
		if len(out) > 4*len(s)+4 {
			t.Errorf("decodeHeader(%q) = %d bytes", s, len(out))
		}
		again, _ := decodeHeader(s)
		if again != out {
			t.Errorf("decodeHeader(%q) not deterministic", s)
		}

		list, _ := parseAddressList(s)
		for _, a := range list {
			if a == "" {
				t.Errorf("parseAddressList(%q) gave an empty entry", s)
			}
			if utf8.ValidString(s) && !utf8.ValidString(a) {
				t.Errorf("parseAddressList(%q): %q not UTF-8", s, a)
			}
		}
		parseParams("Content-Disposition", s)
	})
}
