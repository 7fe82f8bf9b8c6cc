// Command floor reads a capture with gopacket's pcapgo reader and decodes each
// packet's Ethernet, IP and TCP headers with a DecodingLayerParser, and does
// nothing else: the fastest a Go program can walk the capture's packets. The
// benchmark harness (bench/run.sh) compares smtpscope against it.
//
//	go run ./bench/floor big.pcap
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE.pcap (- for stdin)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(name string) error {
	in := os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	r, err := pcapgo.NewReader(bufio.NewReaderSize(in, 1<<20))
	if err != nil {
		return err
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var packets, bytes, segments, payloadBytes int64
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		packets++
		bytes += int64(len(data))
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			continue
		}
		for _, t := range decoded {
			if t == layers.LayerTypeTCP {
				segments++
				payloadBytes += int64(len(tcp.Payload))
			}
		}
	}
	fmt.Printf("%d packets, %d bytes, %d TCP segments, %d payload bytes\n", packets, bytes, segments, payloadBytes)
	return nil
}
