// Command floor reads a capture with gopacket's pcapgo reader and decodes each
// packet's Ethernet, IP and TCP headers with a DecodingLayerParser, and does
// nothing else: the fastest a Go program can walk the capture's packets. The
// benchmark harness (bench/run.sh) compares smtpscope against it.
//
// It reads with ZeroCopyReadPacketData (no copy, no allocation per packet). With -copy it
// reads with ReadPacketData, the reader's ordinary call, which copies each packet into a new
// slice: what most programs built on pcapgo do, and the floor bench/run.sh prints second.
//
//	go run ./bench/floor big.pcap
//	go run ./bench/floor -copy big.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	copying := flag.Bool("copy", false, "read with ReadPacketData (a new slice per packet) instead of ZeroCopyReadPacketData")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, "usage: floor [-copy] FILE.pcap (- for stdin)") }
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *copying); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(name string, copying bool) error {
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
	read := r.ZeroCopyReadPacketData
	if copying {
		read = r.ReadPacketData
	}
	for {
		data, _, err := read()
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
