package capture

import "errors"

// LiveOptions choose what a live capture reads.
//
// Live capture comes in two builds. The default one is pure Go and reads
// through a Linux AF_PACKET socket (live_linux.go); it filters only by Ports
// and rejects a Filter expression. Built with -tags libpcap (cgo and the
// libpcap headers needed), it reads through libpcap on any system libpcap
// runs on and takes any tcpdump filter expression (live_pcap.go). Without
// either (another system, no tag) OpenLive returns an error saying so.
type LiveOptions struct {
	// Interface is the network interface to read, or "any" for all of them
	// (with libpcap: where libpcap knows "any", as on Linux).
	Interface string
	// Snaplen is how many bytes of each packet are kept; default 262144.
	Snaplen int
	// Promiscuous also reads packets not addressed to this host (not with
	// "any").
	Promiscuous bool
	// Ports, when set, makes the kernel pass only TCP segments from or to
	// these ports (and IPv4 fragments, whose ports cannot be seen), so
	// unrelated traffic never reaches user space. Empty: all IP packets.
	// Ignored when Filter is set.
	Ports []uint16
	// Filter is a tcpdump filter expression ("tcp port 25 and host
	// 192.0.2.1"); only with -tags libpcap. The pure-Go build rejects a
	// non-empty Filter with an error saying it needs that build.
	Filter string
}

// ErrClosed is returned by Live.Next after Close, and by a Reader that was
// closed while it read ahead.
var ErrClosed = errors.New("capture: closed")
