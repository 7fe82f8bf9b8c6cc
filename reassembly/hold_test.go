package reassembly_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// TestHoldAnswerBehindHole: the capture lost the middle of what the client
// sent; the server answers after receiving all of it. gopacket holds the
// client's last piece until GapTimeout or the end, so the server's answer
// would come first: it is held back, and handed over after the client's gap
// and last piece, in the order the server saw them.
func TestHoldAnswerBehindHole(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, t0)
	hs := c.Handshake()
	msg := c.Split(c.FromClient([]byte("line one\r\nline two\r\nline three\r\n.\r\n")), 10, 10)
	frames := framesOf(ethernet, segs(hs, msg[0], msg[2], c.FromServer([]byte("250 queued\r\n")),
		c.FromClient([]byte(quit)), c.FromServer([]byte(bye)), c.ClientFIN(), c.ServerFIN())...)
	for _, tc := range []struct {
		name string
		opts reassembly.Options
	}{
		{"resolved at the end", reassembly.Options{Ports: smtpPorts}},
		{"resolved by GapTimeout", reassembly.Options{Ports: smtpPorts, GapTimeout: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(tc.opts, frames)
			var got []string
			for _, e := range r.log[1:] {
				got = append(got, e.what)
			}
			want := []string{"data client 10", "gap client 10", fmt.Sprintf("data client %d", len(msg[2].Payload)),
				"data server 12", "data client 6", "data server 15", "close"}
			if !slices.Equal(got, want) {
				t.Errorf("handler calls\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestHoldAnswerAtGapEnd: the server answered the bytes up to the end of a
// lost piece, before the client's next piece reached it. When the gap and
// that piece are handed over together, the answer goes between them.
func TestHoldAnswerAtGapEnd(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, t0)
	hs := c.Handshake()
	parts := c.Split(c.FromClient([]byte("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")), 10, 7)
	ok := c.FromServer([]byte("250 ok\r\n"))
	ok.Ack -= uint32(len(parts[2].Payload)) // sent before the last piece arrived
	frames := framesOf(ethernet, segs(hs, parts[0], parts[2], ok, c.ClientFIN(), c.ServerFIN())...)
	r, _ := run(reassembly.Options{Ports: smtpPorts}, frames)
	var got []string
	for _, e := range r.log[1:] {
		got = append(got, e.what)
	}
	want := []string{"data client 10", "gap client 7", "data server 8", fmt.Sprintf("data client %d", len(parts[2].Payload)), "close"}
	if !slices.Equal(got, want) {
		t.Errorf("handler calls\n%q\nwant\n%q", got, want)
	}
}
