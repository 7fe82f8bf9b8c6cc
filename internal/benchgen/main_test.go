package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// generate runs benchgen with args and returns the capture.
func generate(t *testing.T, args ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := benchgen(args, &buf); err != nil {
		t.Fatalf("benchgen %v: %v", args, err)
	}
	return buf.Bytes()
}

// decode runs a capture through the pipeline, messages parsed.
func decode(t *testing.T, pcap []byte) []*smtpdecode.Session {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(pcap), "bench.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var sessions []*smtpdecode.Session
	st, err := pipeline.Run(context.Background(), r, pipeline.Options{Messages: pipeline.Messages{Parse: true}},
		func(s *smtpdecode.Session) { sessions = append(sessions, s) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Malformed != 0 || st.Other != 0 {
		t.Errorf("%d packets malformed, %d not SMTP", st.Malformed, st.Other)
	}
	return sessions
}

func TestDeterministic(t *testing.T) {
	args := []string{"-n", "300", "-seed", "7"}
	a := sha256.Sum256(generate(t, args...))
	b := sha256.Sum256(generate(t, args...))
	if a != b {
		t.Errorf("same flags, different output")
	}
	c := sha256.Sum256(generate(t, "-n", "300", "-seed", "8"))
	if a == c {
		t.Errorf("different seeds, same output")
	}
	o1 := sha256.Sum256(generate(t, "-open", "200", "-seed", "7"))
	o2 := sha256.Sum256(generate(t, "-open", "200", "-seed", "7"))
	if o1 != o2 {
		t.Errorf("-open: same flags, different output")
	}
}

// TestCapture checks that the capture reads back whole, its times never go
// back, and every IPv4 header and TCP checksum is right.
func TestCapture(t *testing.T) {
	pcap := generate(t, "-n", "300", "-seed", "3")
	r, err := capture.NewReader(bytes.NewReader(pcap), "bench.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	n := 0
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		n++
		if p.Time.Before(last) {
			t.Fatalf("packet %d at %v, before %v", n, p.Time, last)
		}
		last = p.Time
		if msg := checkSums(p.Data); msg != "" {
			t.Fatalf("packet %d: %s", n, msg)
		}
	}
	if n < 300*10 {
		t.Errorf("only %d packets", n)
	}
}

// checkSums verifies the checksums of an Ethernet frame carrying TCP.
func checkSums(f []byte) string {
	if len(f) < 14 {
		return "short frame"
	}
	ip := f[14:]
	var pseudo uint32
	var tcp []byte
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		if ones(ip[:20], 0) != 0xffff {
			return "bad IPv4 header checksum"
		}
		tcp = ip[20:binary.BigEndian.Uint16(ip[2:])]
		pseudo = sum16(ip[12:20]) + 6 + uint32(len(tcp))
	case 0x86dd:
		tcp = ip[40 : 40+int(binary.BigEndian.Uint16(ip[4:]))]
		pseudo = sum16(ip[8:40]) + 6 + uint32(len(tcp))
	default:
		return "not IP"
	}
	if ones(tcp, pseudo) != 0xffff {
		return "bad TCP checksum"
	}
	return ""
}

func sum16(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func ones(b []byte, acc uint32) uint16 {
	s := uint64(acc) + uint64(sum16(b))
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// mix counts what a set of sessions holds.
type mix struct {
	sessions, auth, authFailed, rejected, noData, multiTx, rset, spam, bdat int
	gaps, pipelined, helo, ipv6, port587, rst, parts, multipart, attach     int
	encodedNames, problems, anomalies, sizeMismatch                         int
	sizes                                                                   []int64
	anomalyIDs                                                              map[smtpdecode.AnomalyID]int
}

func count(sessions []*smtpdecode.Session) mix {
	m := mix{sessions: len(sessions), anomalyIDs: map[smtpdecode.AnomalyID]int{}}
	for _, s := range sessions {
		if s.Auth != nil {
			m.auth++
			if !s.Auth.Success {
				m.authFailed++
			}
		}
		if len(s.Gaps) > 0 {
			m.gaps++
		}
		if s.Helo != nil && s.Helo.Verb == "HELO" {
			m.helo++
		}
		if s.Client.Addr().Is6() {
			m.ipv6++
		}
		if s.Server.Port() == 587 {
			m.port587++
		}
		if s.Closed == smtpdecode.ClosedRST {
			m.rst++
		}
		if len(s.Transactions) > 1 {
			m.multiTx++
		}
		for i, c := range s.Commands {
			switch c.Verb {
			case "RSET":
				m.rset++
			case "BDAT":
				m.bdat++
			case "RCPT", "DATA":
				// A command sent before the previous one's reply: pipelining.
				if i > 0 && s.Commands[i-1].Reply != nil && s.Commands[i-1].Reply.Time.After(c.Time) {
					m.pipelined++
				}
			}
		}
		for _, tx := range s.Transactions {
			for _, r := range tx.Rcpts {
				if r.Code >= 400 {
					m.rejected++
				}
			}
			if tx.Message == nil {
				m.noData++
			}
			if tx.FinalCode == 554 {
				m.spam++
			}
			if tx.Message == nil || len(s.Gaps) > 0 {
				continue
			}
			m.sizes = append(m.sizes, tx.MessageBytes)
			for _, p := range tx.MailParams {
				// SIZE is what was written: the decoder must see as much
				// once DATA is unstuffed.
				if strings.EqualFold(p.Name, "SIZE") && p.Value != strconv.FormatInt(tx.MessageBytes, 10) {
					m.sizeMismatch++
				}
			}
			pm, ok := tx.Message.Parsed.(*message.Message)
			if !ok {
				continue
			}
			m.parts += len(pm.Parts)
			if len(pm.Problems) > 0 {
				m.problems++
			}
			if strings.HasPrefix(pm.Parts[0].ContentType, "multipart/") {
				m.multipart++
			}
			for _, p := range pm.Parts {
				if p.Attachment {
					m.attach++
					for _, r := range p.Filename {
						if r > 127 {
							m.encodedNames++
							break
						}
					}
				}
			}
		}
		if len(s.Gaps) == 0 {
			for _, a := range s.Anomalies {
				m.anomalyIDs[a.ID]++
				m.anomalies++
			}
		}
	}
	return m
}

func TestMix(t *testing.T) {
	const n = 1000
	sessions := decode(t, generate(t, "-n", "1000", "-seed", "11"))
	m := count(sessions)
	sizes := m.sizes
	m.sizes = nil
	t.Logf("%+v", m)
	m.sizes = sizes
	if m.sessions != n {
		t.Fatalf("%d sessions, want %d", m.sessions, n)
	}
	for _, c := range []struct {
		what    string
		got     int
		min     int
		maxFrac float64
	}{
		{"authenticated", m.auth, n * 15 / 100, 0.3},
		{"failed AUTH", m.authFailed, n / 100, 0.06},
		{"rejected recipients", m.rejected, n / 50, 0.2},
		{"transactions without a message", m.noData, n / 100, 0.15},
		{"sessions with several transactions", m.multiTx, n / 100, 0.1},
		{"RSET", m.rset, n / 100, 0.15},
		{"554 after the message", m.spam, 3, 0.05},
		{"BDAT", m.bdat, 10, 0.2},
		{"sessions with a gap", m.gaps, 3, 0.03},
		{"pipelined commands", m.pipelined, n / 10, 10},
		{"HELO clients", m.helo, n / 50, 0.12},
		{"IPv6 clients", m.ipv6, n / 20, 0.2},
		{"port 587", m.port587, n / 10, 0.4},
		{"ended by RST", m.rst, n / 100, 0.08},
		{"multipart messages", m.multipart, n / 5, 1},
		{"attachments", m.attach, n / 10, 10},
		{"attachments with encoded names", m.encodedNames, n / 50, 10},
	} {
		if c.got < c.min || float64(c.got) > c.maxFrac*n {
			t.Errorf("%d %s, want %d to %.0f", c.got, c.what, c.min, c.maxFrac*n)
		}
	}
	slices.Sort(m.sizes)
	k := len(m.sizes)
	t.Logf("%d messages: smallest %d bytes, median %d, 90%% %d, 99%% %d, largest %d", k, m.sizes[0], m.sizes[k/2], m.sizes[k*9/10], m.sizes[k*99/100], m.sizes[k-1])
	if med := m.sizes[k/2]; med < 2000 || med > 8000 {
		t.Errorf("median message of %d bytes", med)
	}
	if m.sizeMismatch != 0 {
		t.Errorf("%d messages of another size than MAIL FROM's SIZE said", m.sizeMismatch)
	}
	if m.problems != 0 {
		t.Errorf("%d messages without a gap have MIME problems", m.problems)
	}
	// Without TCP trouble, the only anomalies are the ones the mix means:
	// paths with a space after the colon, and resets before QUIT.
	for id, k := range m.anomalyIDs {
		if id != smtpdecode.AnomalyMalformedAddress && id != smtpdecode.AnomalyConnectionReset {
			t.Errorf("%d anomalies %s in sessions without a gap", k, id)
		}
	}
}

// TestOpen checks that -open gives sessions that are all open at once.
func TestOpen(t *testing.T) {
	const n = 1000
	sessions := decode(t, generate(t, "-open", "1000", "-seed", "5"))
	if len(sessions) != n {
		t.Fatalf("%d sessions, want %d", len(sessions), n)
	}
	var lastStart, firstEnd time.Time
	for i, s := range sessions {
		if i == 0 || s.Start.After(lastStart) {
			lastStart = s.Start
		}
		if i == 0 || s.End.Before(firstEnd) {
			firstEnd = s.End
		}
		if s.Closed != smtpdecode.ClosedFIN || len(s.Transactions) != 1 || s.Transactions[0].Outcome != smtpdecode.OutcomeAccepted {
			t.Fatalf("session %d: closed %v, transactions %+v", s.ID, s.Closed, s.Transactions)
		}
		if b := s.Transactions[0].MessageBytes; b < 500 || b > 2500 {
			t.Errorf("session %d: message of %d bytes", s.ID, b)
		}
		if len(s.Anomalies) > 0 && s.Anomalies[0].ID != smtpdecode.AnomalyMalformedAddress {
			t.Errorf("session %d: anomaly %+v", s.ID, s.Anomalies[0])
		}
	}
	if !lastStart.Before(firstEnd) {
		t.Errorf("last session starts at %v, after the first end at %v", lastStart, firstEnd)
	}
}

func TestBytes(t *testing.T) {
	const want = 5 << 20
	n := len(generate(t, "-bytes", "5M", "-seed", "2"))
	if n < want || n > want*102/100 {
		t.Errorf("-bytes 5M wrote %d bytes, want %d to 2%% more", n, want)
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{
		"100": 100, "64K": 64 << 10, "100M": 100 << 20, "1G": 1 << 30, "10G": 10 << 30,
		"1.5G": 3 << 29, "2MiB": 2 << 20, "3GB": 3 << 30, "1t": 1 << 40,
	} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "G", "-1M", "1X", "lots", "NaN", "Inf"} {
		if _, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) did not fail", s)
		}
	}
}
