// Command benchgen writes a deterministic capture of many SMTP sessions for
// benchmarks: go run ./internal/benchgen -n 20000 > big.pcap, or piped
// straight into smtpscope -r - so that gigabytes never touch the disk.
//
// Sessions come in batches that overlap in time; within a batch packets are
// merged by time, so memory stays bounded by the batch, not the output.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

func main() {
	n := flag.Int("n", 10000, "number of sessions")
	batch := flag.Int("concurrent", 100, "sessions open at the same time")
	maxMsg := flag.Int("max-message", 256<<10, "largest message in bytes (sizes from 1 KiB up, doubling)")
	seed := flag.Uint64("seed", 1, "seed of the generator")
	flag.Parse()
	if err := write(os.Stdout, *n, *batch, *maxMsg, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}

func write(w *os.File, n, batch, maxMsg int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed))
	server := netip.MustParseAddrPort("10.0.0.25:25")
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	sizes := 1
	for 1024<<sizes <= maxMsg {
		sizes++
	}
	var buf bytes.Buffer
	for first := 0; first < n; first += batch {
		var pkts []pcapgen.Packet
		for i := first; i < min(first+batch, n); i++ {
			client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)}), uint16(1024+i%60000))
			c := pcapgen.NewConn(client, server, t.Add(time.Duration(rng.IntN(int(time.Second)))))
			c.Step = time.Duration(50+rng.IntN(500)) * time.Microsecond
			segs := pcapgen.SMTPSession(c, rng, pcapgen.SMTPOptions{
				Recipients:   1 + rng.IntN(4),
				MessageBytes: 1024 << rng.IntN(sizes),
				Handshake:    true,
			})
			pkts = append(pkts, pcapgen.Packets(link, segs...)...)
		}
		slices.SortStableFunc(pkts, func(a, b pcapgen.Packet) int { return a.Time.Compare(b.Time) })
		t = pkts[len(pkts)-1].Time
		buf.Reset()
		if err := pcapgen.WritePcap(&buf, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pkts); err != nil {
			return err
		}
		out := buf.Bytes()
		if first > 0 {
			out = out[24:] // the file header is written once
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}
