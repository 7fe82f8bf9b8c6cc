//go:build libpcap

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/pcap"
)

// Live reads packets from a network interface through libpcap, in the build
// with -tags libpcap (cgo). Packets keep the link header of the interface:
// their LinkType is the one libpcap reports (Ethernet, Linux cooked capture
// for "any", BSD loopback on macOS's lo0, ...), as tcpdump -w would write it.
type Live struct {
	h      *pcap.Handle
	name   string
	link   LinkType
	buf    []byte
	closed atomic.Bool
	// mu guards h against Close: Next and Stats use it under the read lock,
	// Close closes it under the write lock and sets h to nil.
	mu sync.RWMutex
	// final holds libpcap's counts taken by Close, for Stats after it.
	final *pcap.Stats
	// statsMu guards the counts of the last Stats call.
	statsMu            sync.Mutex
	lastRecv, lastDrop uint32
}

// pollInterval is libpcap's read timeout: how long Next waits before it
// looks whether Close was called, and how long Close may wait for a read in
// progress.
const pollInterval = 200 * time.Millisecond

// OpenLive opens a live capture through libpcap. The kernel filter is
// Filter, a tcpdump expression, when set; else it passes the TCP segments of
// Ports (and IPv4 fragments), or every IP packet when there are no Ports.
// Errors say what a person can do about them: a missing interface lists the
// ones there are; a refused capture explains the privileges needed.
func OpenLive(o LiveOptions) (*Live, error) {
	if o.Snaplen <= 0 {
		o.Snaplen = 262144
	}
	filter := o.Filter
	if filter == "" {
		filter = portExpression(o.Ports)
	}
	if err := checkInterface(o.Interface); err != nil {
		return nil, err
	}
	in, err := pcap.NewInactiveHandle(o.Interface)
	if err != nil {
		return nil, fmt.Errorf("capture: opening %s: %w", o.Interface, err)
	}
	defer in.CleanUp() // after Activate succeeds it has nothing left to free
	for _, set := range []struct {
		what string
		err  error
	}{
		{"snap length", in.SetSnapLen(o.Snaplen)},
		{"promiscuous mode", in.SetPromisc(o.Promiscuous && o.Interface != "any")},
		{"read timeout", in.SetTimeout(pollInterval)},
		// Packets are delivered as they come, not when a buffer fills.
		{"immediate mode", in.SetImmediateMode(true)},
		{"buffer size", in.SetBufferSize(bufferSize(o.Snaplen))},
	} {
		if set.err != nil {
			return nil, fmt.Errorf("capture: %s on %s: %w", set.what, o.Interface, set.err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activationError(o.Interface, err, in.Error())
	}
	if err := h.SetBPFFilter(filter); err != nil {
		h.Close()
		if o.Filter != "" {
			return nil, fmt.Errorf("capture: filter expression %q: %w", o.Filter, err)
		}
		return nil, fmt.Errorf("capture: BPF filter %q on %s: %w", filter, o.Interface, err)
	}
	return &Live{h: h, name: o.Interface, link: linkTypeOf(int(h.LinkType())), buf: make([]byte, 0, o.Snaplen)}, nil
}

// ringSlots is how many packets of the snap length the kernel's buffer
// should hold. In immediate mode libpcap on Linux gives every packet a slot
// of the snap length (on "any", or with segmentation offloads), so its
// default 2 MB buffer holds 8 packets of 262144 bytes and drops most of a
// burst of 20 before the reader wakes.
const ringSlots = 128

// bufferSize is the kernel buffer for a snap length: ringSlots packets,
// between libpcap's default of 2 MB and 32 MB.
func bufferSize(snaplen int) int {
	return min(max(ringSlots*snaplen, 2<<20), 32<<20)
}

// portExpression is the tcpdump expression of LiveOptions.Ports: TCP
// segments from or to one of ports, and IPv4 fragments after the first,
// whose ports cannot be seen (as in the pure-Go build); every IPv4 and IPv6
// packet when ports is empty.
func portExpression(ports []uint16) string {
	if len(ports) == 0 {
		return "ip or ip6"
	}
	alts := make([]string, len(ports))
	for i, p := range ports {
		alts[i] = "port " + strconv.Itoa(int(p))
	}
	return "(tcp and (" + strings.Join(alts, " or ") + ")) or (ip and ip[6:2] & 0x1fff != 0)"
}

// linkTypeOf turns libpcap's DLT_ value into the LINKTYPE_ value a capture
// file would carry. They are the same number but for DLT_RAW and, on
// OpenBSD, DLT_LOOP, whose values differ between systems.
func linkTypeOf(dlt int) LinkType {
	switch {
	case dlt == 12 && runtime.GOOS == "openbsd":
		return LinkLoop
	case dlt == 12, dlt == 14 && runtime.GOOS == "openbsd":
		return LinkRaw
	}
	return LinkType(dlt)
}

// checkInterface reports an interface that is neither among libpcap's
// devices nor the system's, and one the system says is down, before libpcap
// is asked: without privileges libpcap refuses the capture before it looks
// at the interface.
func checkInterface(name string) error {
	ifi, err := net.InterfaceByName(name)
	if err == nil {
		if ifi.Flags&net.FlagUp == 0 {
			return downError(name)
		}
		return nil
	}
	names, err := Interfaces()
	if err != nil || slices.Contains(names, name) {
		return nil // libpcap will say
	}
	return noInterfaceError(name, names)
}

func noInterfaceError(name string, names []string) error {
	list := "none found"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return fmt.Errorf("capture: no interface %q (there are: %s)", name, list)
}

func downError(name string) error {
	how := "ifconfig " + name + " up"
	if runtime.GOOS == "linux" {
		how = "ip link set " + name + " up"
	}
	return fmt.Errorf("capture: interface %q is down (%s)", name, how)
}

// activationError explains why libpcap refused to start the capture. err is
// gopacket's activation error, known by its text only; detail is libpcap's
// message for it, when there is one.
func activationError(name string, err, detail error) error {
	if detail != nil && detail.Error() != "" && !strings.Contains(err.Error(), detail.Error()) {
		err = fmt.Errorf("%w: %s", err, detail.Error())
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.HasPrefix(msg, "no such device"):
		names, _ := Interfaces()
		return fmt.Errorf("%w: %w", noInterfaceError(name, names), err)
	case strings.HasPrefix(msg, "interface not up"):
		return fmt.Errorf("%w: %w", downError(name), err)
	case strings.HasPrefix(msg, "permission denied"), strings.Contains(msg, "not permitted"),
		strings.Contains(msg, "activated error: -11"): // PCAP_ERROR_PROMISC_PERM_DENIED
		switch runtime.GOOS {
		case "linux":
			return fmt.Errorf("capture: live capture needs root or the CAP_NET_RAW capability "+
				"(sudo, or: sudo setcap cap_net_raw+ep %s): %w", executablePath(), err)
		case "windows":
			return fmt.Errorf("capture: live capture needs Npcap and, unless it was installed for all "+
				"users, Administrator rights: %w", err)
		}
		return fmt.Errorf("capture: live capture needs root or read access to the /dev/bpf* devices "+
			"(sudo, or on macOS Wireshark's ChmodBPF): %w", err)
	}
	return fmt.Errorf("capture: opening %s: %w", name, err)
}

// Next waits for the next packet. Its Data is valid until the next call.
// After Close it returns ErrClosed.
func (l *Live) Next() (Packet, error) {
	for {
		p, again, err := l.read()
		if !again {
			return p, err
		}
	}
}

// read makes one attempt at a packet; again when the read timed out.
func (l *Live) read() (_ Packet, again bool, _ error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return Packet{}, false, ErrClosed
	}
	data, ci, err := l.h.ZeroCopyReadPacketData()
	switch {
	case errors.Is(err, pcap.NextErrorTimeoutExpired):
		return Packet{}, true, nil
	case err != nil:
		if l.closed.Load() {
			return Packet{}, false, ErrClosed
		}
		return Packet{}, false, fmt.Errorf("capture: reading %s: %w", l.name, err)
	}
	// data is libpcap's buffer, which Close frees: copy it while Close waits.
	l.buf = append(l.buf[:0], data...)
	return Packet{Data: l.buf, Length: ci.Length, Time: ci.Timestamp.UTC(), LinkType: l.link}, false, nil
}

// Stats returns how many packets the kernel passed the filter and how many
// it dropped for want of room, since the last call. After Close it returns
// the counts up to the Close.
func (l *Live) Stats() (received, dropped uint64, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := l.final
	if l.h != nil {
		if st, err = l.h.Stats(); err != nil {
			return 0, 0, fmt.Errorf("capture: statistics of %s: %w", l.name, err)
		}
	} else if st == nil {
		return 0, 0, fmt.Errorf("capture: statistics of %s: %w", l.name, ErrClosed)
	}
	// libpcap counts from the start, in 32 bits.
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	recv, drop := uint32(st.PacketsReceived), uint32(st.PacketsDropped)
	received, dropped = uint64(recv-l.lastRecv), uint64(drop-l.lastDrop)
	l.lastRecv, l.lastDrop = recv, drop
	return received, dropped, nil
}

// Close stops the capture. It waits for a Next reading in another goroutine,
// at most pollInterval, which then returns ErrClosed.
func (l *Live) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, err := l.h.Stats(); err == nil {
		l.final = st
	}
	l.h.Close()
	l.h = nil
	return nil
}

// Interfaces lists the devices libpcap can capture on.
func Interfaces() ([]string, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.Name
	}
	return names, nil
}

func executablePath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "smtpscope"
}
