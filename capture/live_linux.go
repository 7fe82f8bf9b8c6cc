//go:build linux && !libpcap

package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Live reads packets from a network interface through a Linux AF_PACKET
// socket, in the default pure-Go build. Packets come without their link
// header (SOCK_DGRAM), as raw IPv4/IPv6 (LinkRaw), whatever the interface.
type Live struct {
	fd       int
	name     string
	loopback map[int]bool // interface indexes of loopback devices, whose packets AF_PACKET shows twice
	buf      []byte
	oob      []byte
	closed   atomic.Bool
	final    atomic.Pointer[[2]uint64] // counts taken at Close, for Stats after it
}

// pollInterval bounds how long Next waits before it looks whether Close was
// called.
const pollInterval = 200 * time.Millisecond

// OpenLive opens a live capture. Errors say what a person can do about them:
// a missing interface lists the ones there are; a refused socket explains
// the privileges needed.
func OpenLive(o LiveOptions) (*Live, error) {
	if o.Filter != "" {
		return nil, fmt.Errorf("capture: filter expression %q: filter expressions need a build with -tags libpcap "+
			"(cgo and libpcap); this pure-Go build filters only by port", o.Filter)
	}
	if o.Snaplen <= 0 {
		o.Snaplen = 262144
	}
	ifindex := 0
	if o.Interface != "any" {
		ifi, err := net.InterfaceByName(o.Interface)
		if err != nil {
			return nil, fmt.Errorf("capture: no interface %q (there are: %s)", o.Interface, interfaceNames())
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("capture: interface %q is down (ip link set %s up)", o.Interface, o.Interface)
		}
		ifindex = ifi.Index
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("capture: live capture needs root or the CAP_NET_RAW capability "+
				"(sudo, or: sudo setcap cap_net_raw+ep %s): %w", executable(), err)
		}
		return nil, fmt.Errorf("capture: AF_PACKET socket: %w", err)
	}
	l := &Live{fd: fd, name: o.Interface, buf: make([]byte, o.Snaplen), oob: make([]byte, 64), loopback: map[int]bool{}}
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			if ifi.Flags&net.FlagLoopback != 0 {
				l.loopback[ifi.Index] = true
			}
		}
	}
	fail := func(what string, err error) (*Live, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: %s on %s: %w", what, o.Interface, err)
	}
	// The filter goes on before the bind, so no unfiltered packet is queued.
	prog, err := bpf.Assemble(portFilter(o.Ports))
	if err != nil {
		return fail("BPF filter", err)
	}
	if err := attachFilter(fd, prog); err != nil {
		return fail("attaching the BPF filter", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return fail("bind", err)
	}
	if o.Promiscuous && ifindex != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("promiscuous mode", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("timestamps", err)
	}
	tv := unix.NsecToTimeval(int64(pollInterval))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail("receive timeout", err)
	}
	return l, nil
}

// Next waits for the next packet. Its Data is valid until the next call.
// After Close it returns ErrClosed.
func (l *Live) Next() (Packet, error) {
	for {
		if l.closed.Load() {
			return Packet{}, ErrClosed
		}
		n, oobn, flags, from, err := unix.Recvmsg(l.fd, l.buf, l.oob, unix.MSG_TRUNC)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			if l.closed.Load() {
				return Packet{}, ErrClosed
			}
			return Packet{}, fmt.Errorf("capture: reading %s: %w", l.name, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING && l.loopback[ll.Ifindex] {
			continue // seen again as it comes in, as tcpdump shows it once
		}
		p := Packet{Length: n, LinkType: LinkRaw, Time: receiveTime(l.oob[:oobn])}
		if flags&unix.MSG_TRUNC != 0 || n > len(l.buf) {
			n = len(l.buf) // cut by the snap length; Length keeps the size on the wire
		}
		p.Data = l.buf[:n:n]
		return p, nil
	}
}

// Stats returns how many packets the kernel passed the filter and how many
// it dropped for want of room, since the last call.
func (l *Live) Stats() (received, dropped uint64, err error) {
	if f := l.final.Load(); f != nil {
		return f[0], f[1], nil
	}
	st, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0, fmt.Errorf("capture: statistics of %s: %w", l.name, err)
	}
	return uint64(st.Packets), uint64(st.Drops), nil
}

// Close stops the capture; a Next waiting in another goroutine returns
// ErrClosed within pollInterval.
func (l *Live) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	if r, d, err := l.Stats(); err == nil {
		l.final.Store(&[2]uint64{r, d})
	}
	time.AfterFunc(2*pollInterval, func() { unix.Close(l.fd) })
	return nil
}

// receiveTime reads the kernel's receive time from the control messages, or
// takes the time now.
func receiveTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(ts.Unix()).UTC()
			}
		}
	}
	return time.Now().UTC()
}

// maxFilterPorts is how many ports the kernel filter checks; past it the
// filter passes all IP packets and the ports are chosen in user space.
const maxFilterPorts = 40

// portFilter is the classic BPF program that passes TCP segments from or to
// one of ports (every IP packet when ports is empty), for packets that
// start at their IP header.
func portFilter(ports []uint16) []bpf.Instruction {
	const accept, drop = 0x40000, 0
	if len(ports) > maxFilterPorts {
		ports = nil // jumps over more checks would not fit in 8 bits: pass all IP
	}
	if len(ports) == 0 {
		return []bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtProto},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipTrue: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipFalse: 1},
			bpf.RetConstant{Val: accept},
			bpf.RetConstant{Val: drop},
		}
	}
	// Each port check is two instructions (source, destination), both
	// jumping to the accept at the end when equal.
	checks := func(load bpf.Instruction, rest int) []bpf.Instruction {
		// rest: instructions between the end of these checks and accept.
		var prog []bpf.Instruction
		prog = append(prog, load)
		for i, p := range ports {
			left := len(ports) - 1 - i
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(p), SkipTrue: uint8(left + rest)})
		}
		return prog
	}
	n := len(ports)
	// Layout:
	//  0 ld proto; 1 jeq IPv4 → v4; 2 jeq IPv6 → v6; 3 ret drop
	//  v4: ldb [9]; jeq 6 else drop4; ldh [6]; jset 0x1fff → accept; ldxb 4*([0]&0xf);
	//      ldh [x+0]; n checks; ldh [x+2]; n checks; drop4: ret drop
	//  v6: ldb [6]; jeq 6 else drop6; ldh [40]; n checks; ldh [42]; n checks; drop6: ret drop
	//  accept: ret accept
	v6Len := 2 + (1 + n) + (1 + n) + 1
	var v4 []bpf.Instruction
	v4 = append(v4,
		bpf.LoadAbsolute{Off: 9, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP, SkipFalse: uint8(3 + 2*(1+n))},
		bpf.LoadAbsolute{Off: 6, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: uint8(1 + 2*(1+n) + 1 + v6Len)},
		bpf.LoadMemShift{Off: 0},
	)
	// After the source checks: the destination load, n checks, drop4, v6.
	v4 = append(v4, checks(bpf.LoadIndirect{Off: 0, Size: 2}, (1+n)+1+v6Len)...)
	v4 = append(v4, checks(bpf.LoadIndirect{Off: 2, Size: 2}, 1+v6Len)...)
	v4 = append(v4, bpf.RetConstant{Val: drop})
	var v6 []bpf.Instruction
	v6 = append(v6,
		bpf.LoadAbsolute{Off: 6, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP, SkipFalse: uint8(2 * (1 + n))},
	)
	v6 = append(v6, checks(bpf.LoadAbsolute{Off: 40, Size: 2}, (1+n)+1)...)
	v6 = append(v6, checks(bpf.LoadAbsolute{Off: 42, Size: 2}, 1)...)
	v6 = append(v6, bpf.RetConstant{Val: drop})
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtProto},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipTrue: uint8(1 + len(v4))},
		bpf.RetConstant{Val: drop},
	}
	prog = append(prog, v4...)
	prog = append(prog, v6...)
	return append(prog, bpf.RetConstant{Val: accept})
}

// attachFilter puts a classic BPF program on the socket.
func attachFilter(fd int, prog []bpf.RawInstruction) error {
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Interfaces lists the names OpenLive accepts: "any" and every network
// interface of this host.
func Interfaces() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("capture: listing interfaces: %w", err)
	}
	names := []string{"any"}
	for _, ifi := range ifs {
		names = append(names, ifi.Name)
	}
	return names, nil
}

// interfaceNames lists the interfaces for an error message.
func interfaceNames() string {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return "none found"
	}
	names := "any"
	for _, ifi := range ifs {
		names += ", " + ifi.Name
	}
	return names
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "smtpscope"
}
