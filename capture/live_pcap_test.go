//go:build libpcap

package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// lpLoopback is the name of this host's loopback interface ("lo", "lo0").
func lpLoopback(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 && ifi.Flags&net.FlagUp != 0 {
			return ifi.Name
		}
	}
	t.Skip("no loopback interface is up")
	return ""
}

// lpIP strips the link header of a captured packet and returns its IP
// packet, or nil when it carries none.
func lpIP(t *testing.T, p Packet) []byte {
	t.Helper()
	d := p.Data
	switch p.LinkType {
	case LinkRaw, LinkIPv4, LinkIPv6:
		return d
	case LinkEthernet:
		if len(d) >= 14 && (binary.BigEndian.Uint16(d[12:]) == 0x0800 || binary.BigEndian.Uint16(d[12:]) == 0x86dd) {
			return d[14:]
		}
	case LinkLinuxSLL:
		if len(d) >= 16 && (binary.BigEndian.Uint16(d[14:]) == 0x0800 || binary.BigEndian.Uint16(d[14:]) == 0x86dd) {
			return d[16:]
		}
	case LinkLinuxSLL2:
		if len(d) >= 20 && (binary.BigEndian.Uint16(d[0:]) == 0x0800 || binary.BigEndian.Uint16(d[0:]) == 0x86dd) {
			return d[20:]
		}
	case LinkNull, LinkLoop:
		if len(d) >= 4 {
			return d[4:]
		}
	default:
		t.Fatalf("link type %v not handled by this test", p.LinkType)
	}
	return nil
}

// TestLivePcapLoopback captures TCP exchanges on the loopback interface
// through libpcap, with a tcpdump filter expression, with the port filter
// built from Ports, and (on Linux) on "any", and checks that an exchange on
// another port never reaches user space and that packets carry the link
// type the handle reports. It needs root (CI runs as root).
func TestLivePcapLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root or CAP_NET_RAW: skipped (CI runs it as root)")
	}
	lo := lpLoopback(t)
	t.Run("filter", func(t *testing.T) {
		lpCapture(t, lo, func(ports []uint16) LiveOptions {
			var alts []string
			for _, p := range ports {
				alts = append(alts, fmt.Sprintf("tcp port %d", p))
			}
			return LiveOptions{Interface: lo, Filter: strings.Join(alts, " or ")}
		})
	})
	t.Run("ports", func(t *testing.T) {
		lpCapture(t, lo, func(ports []uint16) LiveOptions { return LiveOptions{Interface: lo, Ports: ports} })
	})
	if runtime.GOOS == "linux" {
		t.Run("any", func(t *testing.T) {
			lpCapture(t, "any", func(ports []uint16) LiveOptions { return LiveOptions{Interface: "any", Ports: ports} })
		})
	}
}

func lpCapture(t *testing.T, iface string, options func(ports []uint16) LiveOptions) {
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
	ports := []uint16{uint16(ln.Addr().(*net.TCPAddr).Port)}
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err == nil {
		defer ln6.Close()
		ports = append(ports, uint16(ln6.Addr().(*net.TCPAddr).Port))
	}
	live, err := OpenLive(options(ports))
	if err != nil {
		if strings.Contains(err.Error(), "CAP_NET_RAW") || strings.Contains(err.Error(), "/dev/bpf") {
			t.Skipf("live capture not permitted here: %v", err)
		}
		t.Fatal(err)
	}
	defer live.Close()
	if want := linkTypeOf(int(live.h.LinkType())); live.link != want {
		t.Errorf("link type %v, the handle reports %v", live.link, want)
	}
	switch {
	case runtime.GOOS == "linux" && iface == "lo" && live.link != LinkEthernet:
		t.Errorf("link type on lo is %v, want EN10MB", live.link)
	case iface == "any" && live.link != LinkLinuxSLL && live.link != LinkLinuxSLL2:
		t.Errorf("link type on any is %v, want LINUX_SLL or LINUX_SLL2", live.link)
	}

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
		if p.LinkType != live.link {
			t.Fatalf("packet of link type %v from a handle of %v", p.LinkType, live.link)
		}
		if p.Length < len(p.Data) {
			t.Errorf("length %d shorter than the %d bytes captured", p.Length, len(p.Data))
		}
		ip := lpIP(t, p)
		var tcp []byte
		switch {
		case len(ip) >= 24 && ip[0]>>4 == 4 && ip[9] == 6:
			tcp = ip[int(ip[0]&0xf)*4:]
		case len(ip) >= 44 && ip[0]>>4 == 6 && ip[6] == 6:
			tcp = ip[40:]
		default:
			t.Fatalf("not a TCP packet over IP: %x", p.Data)
		}
		src, dst := binary.BigEndian.Uint16(tcp), binary.BigEndian.Uint16(tcp[2:])
		if !slices.Contains(ports, src) && !slices.Contains(ports, dst) {
			t.Errorf("the filter let through ports %d -> %d", src, dst)
		}
		if bytes.Contains(p.Data, []byte("noise")) {
			t.Error("traffic on another port reached user space")
		}
		if time.Since(p.Time) > time.Minute || time.Until(p.Time) > time.Minute || p.Time.Location() != time.UTC {
			t.Errorf("packet time %v is not now in UTC", p.Time)
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
	if _, _, err := live.Stats(); err != nil {
		t.Errorf("Stats after Close: %v; want the counts up to the Close", err)
	}
}

// TestLivePcapCloseWakesNext checks that Close ends a Next waiting on an
// idle capture.
func TestLivePcapCloseWakesNext(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root or CAP_NET_RAW: skipped (CI runs it as root)")
	}
	live, err := OpenLive(LiveOptions{Interface: lpLoopback(t), Filter: "tcp port 9 and tcp port 7"}) // matches nothing
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := live.Next(); done <- err }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	live.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next during Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next still waiting 2s after Close")
	}
	if d := time.Since(start); d > 3*pollInterval {
		t.Errorf("Close and Next took %v", d)
	}
	live.Close() // a second Close does nothing
	if received, _, err := live.Stats(); err != nil || received != 0 {
		t.Errorf("Stats after Close of an idle capture: %d received, %v", received, err)
	}
}

func TestLivePcapErrors(t *testing.T) {
	lo := lpLoopback(t)
	_, err := OpenLive(LiveOptions{Interface: "nosuch0"})
	if err == nil || !strings.Contains(err.Error(), `no interface "nosuch0"`) || !strings.Contains(err.Error(), lo) {
		t.Errorf("missing interface: %v", err)
	}
	if os.Geteuid() != 0 {
		_, err := OpenLive(LiveOptions{Interface: lo})
		if runtime.GOOS == "linux" && (err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") || !strings.Contains(err.Error(), "setcap")) {
			t.Errorf("without privileges: %v", err)
		}
		return
	}
	_, err = OpenLive(LiveOptions{Interface: lo, Filter: "tcp port smtp and"})
	if err == nil || !strings.Contains(err.Error(), `filter expression "tcp port smtp and"`) {
		t.Errorf("bad filter: %v", err)
	}
}

func TestInterfacesPcap(t *testing.T) {
	lo := lpLoopback(t)
	names, err := Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, lo) {
		t.Errorf("Interfaces() = %q, without %q", names, lo)
	}
}

// TestPortExpression runs the expression built from Ports on hand-made
// Ethernet frames through libpcap's compiler and filter machine.
func TestPortExpression(t *testing.T) {
	tcp := func(src, dst uint16) []byte {
		b := binary.BigEndian.AppendUint16(nil, src)
		b = binary.BigEndian.AppendUint16(b, dst)
		return append(b, make([]byte, 16)...)
	}
	ip4 := func(proto byte, frag uint16, payload []byte) []byte {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		binary.BigEndian.PutUint16(h[6:], frag)
		h[8], h[9] = 64, proto
		copy(h[12:], []byte{127, 0, 0, 1, 127, 0, 0, 1})
		return append(h, payload...)
	}
	ip6 := func(next byte, payload []byte) []byte {
		h := make([]byte, 40)
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
		h[6], h[7] = next, 64
		h[23], h[39] = 1, 1
		return append(h, payload...)
	}
	eth := func(typ uint16, payload []byte) []byte {
		b := make([]byte, 12, 14+len(payload))
		b = binary.BigEndian.AppendUint16(b, typ)
		return append(b, payload...)
	}
	frames := map[string][]byte{
		"v4 tcp 25":         eth(0x0800, ip4(6, 0, tcp(40000, 25))),
		"v4 tcp 587 reply":  eth(0x0800, ip4(6, 0, tcp(587, 40000))),
		"v4 tcp 80":         eth(0x0800, ip4(6, 0, tcp(40000, 80))),
		"v4 udp 25":         eth(0x0800, ip4(17, 0, tcp(40000, 25))),
		"v4 later fragment": eth(0x0800, ip4(6, 185, make([]byte, 20))),
		"v6 tcp 587":        eth(0x86dd, ip6(6, tcp(40000, 587))),
		"v6 tcp 80":         eth(0x86dd, ip6(6, tcp(40000, 80))),
		"v6 udp":            eth(0x86dd, ip6(17, tcp(40000, 25))),
		"arp":               eth(0x0806, make([]byte, 28)),
	}
	for _, c := range []struct {
		ports []uint16
		pass  []string
	}{
		{[]uint16{25, 587}, []string{"v4 tcp 25", "v4 tcp 587 reply", "v4 later fragment", "v6 tcp 587"}},
		{nil, []string{"v4 tcp 25", "v4 tcp 587 reply", "v4 tcp 80", "v4 udp 25", "v4 later fragment", "v6 tcp 587", "v6 tcp 80", "v6 udp"}},
	} {
		expr := portExpression(c.ports)
		bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, 262144, expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		for name, f := range frames {
			ci := gopacket.CaptureInfo{CaptureLength: len(f), Length: len(f)}
			if got, want := bpf.Matches(ci, f), slices.Contains(c.pass, name); got != want {
				t.Errorf("%q on %s: passes %v, want %v", expr, name, got, want)
			}
		}
	}
}

func TestLinkTypeOf(t *testing.T) {
	want := map[int]LinkType{0: LinkNull, 1: LinkEthernet, 113: LinkLinuxSLL, 276: LinkLinuxSLL2, 228: LinkIPv4, 147: 147}
	if runtime.GOOS == "openbsd" {
		want[12], want[14] = LinkLoop, LinkRaw
	} else {
		want[12] = LinkRaw
	}
	for dlt, lt := range want {
		if got := linkTypeOf(dlt); got != lt {
			t.Errorf("DLT %d: %v, want %v", dlt, got, lt)
		}
	}
}
