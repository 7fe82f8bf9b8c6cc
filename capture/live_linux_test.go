//go:build linux && !libpcap

package capture

import (
	"bytes"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLiveLoopback captures a TCP exchange on lo through AF_PACKET with the
// kernel filter on its port, and checks that a second exchange on another
// port never reaches user space. It needs root (CI runs as root).
func TestLiveLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root or CAP_NET_RAW: skipped (CI runs it as root)")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	noise, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer noise.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ports := []uint16{port}
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err == nil {
		defer ln6.Close()
		ports = append(ports, uint16(ln6.Addr().(*net.TCPAddr).Port))
	}
	live, err := OpenLive(LiveOptions{Interface: "lo", Ports: ports})
	if err != nil {
		if strings.Contains(err.Error(), "CAP_NET_RAW") {
			t.Skipf("live capture not permitted here: %v", err)
		}
		t.Fatal(err)
	}
	defer live.Close()

	loopbackExchange(t, noise, "220 noise\r\n", "EHLO noise\r\n")
	loopbackExchange(t, ln, "220 live\r\n", "EHLO x\r\n")
	sawSix := ln6 == nil // no IPv6 on this machine: nothing to see
	if ln6 != nil {
		loopbackExchange(t, ln6, "220 six\r\n", "EHLO six\r\n")
	}

	var sawGreeting, sawEHLO bool
	deadline := time.Now().Add(5 * time.Second)
	packets := 0
	stop := time.AfterFunc(time.Until(deadline), func() { live.Close() }) // a Next that waits past the deadline returns
	defer stop.Stop()
	for !(sawGreeting && sawEHLO && sawSix) && time.Now().Before(deadline) {
		p, err := live.Next()
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		packets++
		var tcp []byte
		switch {
		case p.LinkType == LinkRaw && len(p.Data) >= 24 && p.Data[0]>>4 == 4 && p.Data[9] == 6:
			tcp = p.Data[int(p.Data[0]&0xf)*4:]
		case p.LinkType == LinkRaw && len(p.Data) >= 44 && p.Data[0]>>4 == 6 && p.Data[6] == 6:
			tcp = p.Data[40:]
		default:
			t.Fatalf("not a TCP packet over IP: %x", p.Data)
		}
		src, dst := uint16(tcp[0])<<8|uint16(tcp[1]), uint16(tcp[2])<<8|uint16(tcp[3])
		if !slices.Contains(ports, src) && !slices.Contains(ports, dst) {
			t.Errorf("the filter let through ports %d -> %d", src, dst)
		}
		if bytes.Contains(p.Data, []byte("noise")) {
			t.Error("traffic on another port reached user space")
		}
		if time.Since(p.Time) > time.Minute || time.Until(p.Time) > time.Minute {
			t.Errorf("packet time %v is not now", p.Time)
		}
		sawGreeting = sawGreeting || bytes.Contains(p.Data, []byte("220 live\r\n"))
		sawEHLO = sawEHLO || bytes.Contains(p.Data, []byte("EHLO x\r\n"))
		sawSix = sawSix || bytes.Contains(p.Data, []byte("220 six\r\n"))
	}
	if !sawGreeting || !sawEHLO || !sawSix {
		t.Fatalf("after %d packets: greeting seen %v, EHLO seen %v, IPv6 greeting seen %v", packets, sawGreeting, sawEHLO, sawSix)
	}
	if received, _, err := live.Stats(); err != nil || received == 0 {
		t.Errorf("stats: %d received, %v", received, err)
	}
	live.Close()
	if _, err := live.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
}

func TestLiveErrors(t *testing.T) {
	_, err := OpenLive(LiveOptions{Interface: "nosuch0"})
	if err == nil || !strings.Contains(err.Error(), `no interface "nosuch0"`) || !strings.Contains(err.Error(), "lo") {
		t.Errorf("missing interface: %v", err)
	}
	if os.Geteuid() != 0 {
		_, err := OpenLive(LiveOptions{Interface: "lo"})
		if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") || !strings.Contains(err.Error(), "setcap") {
			t.Errorf("without privileges: %v", err)
		}
	}
}
