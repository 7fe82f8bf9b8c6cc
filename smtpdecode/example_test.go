package smtpdecode_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

func Example() {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	d := smtpdecode.New(smtpdecode.Conn{
		Client: netip.MustParseAddrPort("192.0.2.10:40000"),
		Server: netip.MustParseAddrPort("198.51.100.25:25"),
		Start:  t0,
	}, smtpdecode.Options{})

	// Bytes arrive in whatever pieces TCP made of them.
	d.Feed(smtpdecode.FromServer, []byte("220 mx.example.com ESMTP\r\n"), t0)
	d.Feed(smtpdecode.FromClient, []byte("EHLO client.exa"), t0.Add(10*time.Millisecond))
	d.Feed(smtpdecode.FromClient, []byte("mple.org\r\nQUIT\r\n"), t0.Add(11*time.Millisecond))
	d.Feed(smtpdecode.FromServer, []byte("250-mx.example.com\r\n250 PIPELINING\r\n221 Bye\r\n"), t0.Add(15*time.Millisecond))
	s := d.Close(t0.Add(16*time.Millisecond), smtpdecode.ClosedFIN)

	fmt.Println("greeting:", s.Greeting.Code, s.Greeting.Lines[0])
	for _, c := range s.Commands {
		fmt.Printf("%s %q -> %d %q after %v\n", c.Verb, c.Arg, c.Reply.Code, c.Reply.Lines, c.Latency())
	}
	// Output:
	// greeting: 220 mx.example.com ESMTP
	// EHLO "client.example.org" -> 250 ["mx.example.com" "PIPELINING"] after 4ms
	// QUIT "" -> 221 ["Bye"] after 4ms
}
