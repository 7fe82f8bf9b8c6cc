package reassembly

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/smtpscope/smtpscope/capture"
)

// linkDecoder decodes link, network and TCP headers in place, without
// allocating per packet. One DecodingLayerParser exists per first layer; all
// of them share the same layer values.
type linkDecoder struct {
	eth      layers.Ethernet
	dot1q    layers.Dot1Q
	sll      layers.LinuxSLL
	sll2     layers.LinuxSLL2
	loopback layers.Loopback
	ip4      layers.IPv4
	ip6      layers.IPv6
	tcp      layers.TCP

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newLinkDecoder() *linkDecoder {
	d := &linkDecoder{parsers: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)}
	for _, first := range []gopacket.LayerType{
		layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6,
	} {
		p := gopacket.NewDecodingLayerParser(first,
			&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loopback, &d.ip4, &d.ip6, &d.tcp)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	d.decoded = make([]gopacket.LayerType, 0, 8)
	return d
}

// firstLayer names the layer a frame of the link type starts with, or
// LayerTypeZero for link types this package does not decode.
func firstLayer(link capture.LinkType, data []byte) gopacket.LayerType {
	switch link {
	case capture.LinkEthernet:
		return layers.LayerTypeEthernet
	case capture.LinkLinuxSLL:
		return layers.LayerTypeLinuxSLL
	case capture.LinkLinuxSLL2:
		return layers.LayerTypeLinuxSLL2
	case capture.LinkNull, capture.LinkLoop:
		return layers.LayerTypeLoopback
	case capture.LinkIPv4:
		return layers.LayerTypeIPv4
	case capture.LinkIPv6:
		return layers.LayerTypeIPv6
	case capture.LinkRaw:
		if len(data) > 0 {
			switch data[0] >> 4 {
			case 4:
				return layers.LayerTypeIPv4
			case 6:
				return layers.LayerTypeIPv6
			}
		}
	}
	return gopacket.LayerTypeZero
}

// result of decoding one frame.
type decodeResult uint8

const (
	decodedTCP      decodeResult = iota // d.tcp and one of d.ip4, d.ip6 hold the packet
	decodedFragment                     // d.ip4 holds an IPv4 fragment
	decodedOther                        // a well-formed packet that is not TCP over IP
	decodedBad                          // a malformed packet
)

// decode decodes one frame. lastIP tells which network layer was decoded.
func (d *linkDecoder) decode(link capture.LinkType, data []byte) (decodeResult, gopacket.LayerType) {
	first := firstLayer(link, data)
	p := d.parsers[first]
	if p == nil {
		if link == capture.LinkRaw {
			return decodedBad, gopacket.LayerTypeZero // neither IPv4 nor IPv6
		}
		return decodedOther, gopacket.LayerTypeZero
	}
	err := p.DecodeLayers(data, &d.decoded)
	var ip gopacket.LayerType
	tcp := false
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			ip = t
		case layers.LayerTypeTCP:
			tcp = true
		}
	}
	// gopacket does not check the version field: an IPv6 header taken
	// for IPv4 (or the reverse) would decode as nonsense.
	if ip == layers.LayerTypeIPv4 && d.ip4.Version != 4 || ip == layers.LayerTypeIPv6 && d.ip6.Version != 6 {
		return decodedBad, ip
	}
	switch {
	case tcp && ip != gopacket.LayerTypeZero:
		// Whatever follows the TCP header is payload to us, so an error
		// after it does not make the segment unusable.
		return decodedTCP, ip
	case ip == layers.LayerTypeIPv4 && isFragment(&d.ip4):
		if d.ip4.Protocol != layers.IPProtocolTCP {
			return decodedOther, ip
		}
		return decodedFragment, ip
	case err != nil:
		return decodedBad, ip
	case ip == layers.LayerTypeIPv4 && d.ip4.Protocol == layers.IPProtocolTCP,
		ip == layers.LayerTypeIPv6 && d.ip6.NextHeader == layers.IPProtocolTCP:
		// TCP was announced but did not decode.
		return decodedBad, ip
	}
	return decodedOther, ip
}

// missingPayload returns how many bytes of the TCP payload the IP header
// announces beyond what was captured (a packet cut by the snap length).
func (d *linkDecoder) missingPayload(ip gopacket.LayerType, tcp *layers.TCP) int {
	var claimed int
	switch ip {
	case layers.LayerTypeIPv4:
		claimed = int(d.ip4.Length) - int(d.ip4.IHL)*4 - int(tcp.DataOffset)*4
	case layers.LayerTypeIPv6:
		if d.ip6.Length == 0 {
			return 0 // jumbogram: the length is in the hop-by-hop header
		}
		claimed = int(d.ip6.Length) - int(tcp.DataOffset)*4
		if d.ip6.HopByHop != nil {
			claimed -= len(d.ip6.HopByHop.Contents)
		}
	}
	if n := claimed - len(tcp.Payload); n > 0 {
		return n
	}
	return 0
}
