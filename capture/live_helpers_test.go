//go:build linux || libpcap

package capture

import (
	"net"
	"testing"
	"time"
)

// loopbackExchange has a client and the server behind l swap one greeting
// and one command, so a live capture has known payloads to find.
func loopbackExchange(t *testing.T, l net.Listener, greeting, command string) {
	t.Helper()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(greeting))
		buf := make([]byte, 64)
		c.Read(buf)
		c.Close()
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Error(err)
		return
	}
	buf := make([]byte, 64)
	c.Read(buf)
	c.Write([]byte(command))
	time.Sleep(20 * time.Millisecond)
	c.Close()
}
