package smtpdecode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// tlsTestServerName is the name the test client asks for and the test
// certificate is made for.
const tlsTestServerName = "mail.example.test"

// tlsTestCert makes a self-signed ECDSA certificate for tlsTestServerName.
var tlsTestCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tlsTestServerName},
		DNSNames:              []string{tlsTestServerName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

// tlsRecordConn is a net.Conn that keeps a copy of everything written to it.
// Its writes do not wait for the peer to read (as a socket's would not, and
// net.Pipe's do): a goroutine passes them on in order.
type tlsRecordConn struct {
	net.Conn
	mu      sync.Mutex
	written bytes.Buffer
	queue   chan []byte
}

func tlsNewRecordConn(c net.Conn) *tlsRecordConn {
	rc := &tlsRecordConn{Conn: c, queue: make(chan []byte, 256)}
	go func() {
		for p := range rc.queue {
			if _, err := c.Write(p); err != nil {
				for range rc.queue {
				}
			}
		}
		c.Close()
	}()
	return rc
}

func (c *tlsRecordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.written.Write(p)
	c.mu.Unlock()
	c.queue <- bytes.Clone(p)
	return len(p), nil
}

// Close closes the connection once what was written has been passed on.
func (c *tlsRecordConn) Close() error {
	close(c.queue)
	return nil
}

func (c *tlsRecordConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.written.Bytes())
}

// tlsTestRun is one recorded handshake: the bytes each side wrote and what
// crypto/tls says was negotiated.
type tlsTestRun struct {
	client, server []byte
	state          tls.ConnectionState // the client's
	serverName     string              // the SNI as the server saw it
}

// tlsTestHandshake runs a handshake between a crypto/tls client and server
// over net.Pipe and records what each side wrote. The server's Certificates
// and the client's RootCAs are filled in here.
func tlsTestHandshake(tb testing.TB, ccfg, scfg *tls.Config) tlsTestRun {
	tb.Helper()
	cert, err := tlsTestCert()
	if err != nil {
		tb.Fatal(err)
	}
	ccfg, scfg = ccfg.Clone(), scfg.Clone()
	scfg.Certificates = []tls.Certificate{cert}
	scfg.SessionTicketsDisabled = true // no writes after the handshake that nobody reads
	ccfg.RootCAs = x509.NewCertPool()
	ccfg.RootCAs.AddCert(cert.Leaf)

	cp, sp := net.Pipe()
	_ = cp.SetDeadline(time.Now().Add(30 * time.Second))
	_ = sp.SetDeadline(time.Now().Add(30 * time.Second))
	crec, srec := tlsNewRecordConn(cp), tlsNewRecordConn(sp)
	client, server := tls.Client(crec, ccfg), tls.Server(srec, scfg)
	defer client.Close()
	defer server.Close()

	serr := make(chan error, 1)
	go func() { serr <- server.Handshake() }()
	cerr := client.Handshake()
	if cerr != nil {
		sp.Close() // unblock the server
	}
	if err := <-serr; err != nil {
		tb.Fatalf("server handshake: %v (client: %v)", err, cerr)
	}
	if cerr != nil {
		tb.Fatalf("client handshake: %v", cerr)
	}
	run := tlsTestRun{
		client:     crec.bytes(),
		server:     srec.bytes(),
		state:      client.ConnectionState(),
		serverName: server.ConnectionState().ServerName,
	}
	return run
}

// tlsTestCase is a handshake configuration and the versions its client offers.
type tlsTestCase struct {
	name           string
	client, server *tls.Config
	clientVersions []string
	wantVersion    string // checked besides what crypto/tls reports
	wantCipher     string // likewise, when set
	retry          bool   // the server sends a HelloRetryRequest
}

func tlsTestCases() []tlsTestCase {
	protos := []string{"smtp", "x-smtpscope"}
	return []tlsTestCase{
		{
			name:           "TLS 1.3",
			client:         &tls.Config{ServerName: tlsTestServerName, NextProtos: protos, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13},
			server:         &tls.Config{NextProtos: protos, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13},
			clientVersions: []string{"TLS 1.3"},
			wantVersion:    "TLS 1.3",
		},
		{
			name:           "TLS 1.2 AES-128-GCM",
			client:         &tls.Config{ServerName: tlsTestServerName, NextProtos: protos, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			server:         &tls.Config{NextProtos: protos, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			clientVersions: []string{"TLS 1.2"},
			wantVersion:    "TLS 1.2",
			wantCipher:     "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		},
		{
			name:           "TLS 1.2 ChaCha20, no ALPN",
			client:         &tls.Config{ServerName: tlsTestServerName, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			server:         &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			clientVersions: []string{"TLS 1.2"},
			wantVersion:    "TLS 1.2",
			wantCipher:     "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		},
		{
			name:           "client offers 1.2 and 1.3",
			client:         &tls.Config{ServerName: tlsTestServerName, NextProtos: protos, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
			server:         &tls.Config{NextProtos: protos},
			clientVersions: []string{"TLS 1.3", "TLS 1.2"},
			wantVersion:    "TLS 1.3",
		},
		{
			name:           "server caps at 1.2",
			client:         &tls.Config{ServerName: tlsTestServerName, NextProtos: protos, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
			server:         &tls.Config{NextProtos: protos, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
			clientVersions: []string{"TLS 1.3", "TLS 1.2"},
			wantVersion:    "TLS 1.2",
			wantCipher:     "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
		},
		{
			name:           "no SNI",
			client:         &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13},
			server:         &tls.Config{},
			clientVersions: []string{"TLS 1.3"},
			wantVersion:    "TLS 1.3",
		},
		{
			name:           "HelloRetryRequest",
			client:         &tls.Config{ServerName: tlsTestServerName, NextProtos: protos, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}},
			server:         &tls.Config{NextProtos: protos, CurvePreferences: []tls.CurveID{tls.CurveP256}},
			clientVersions: []string{"TLS 1.3"},
			wantVersion:    "TLS 1.3",
			retry:          true,
		},
	}
}

// tlsHRRRandom is the ServerHello random that marks a HelloRetryRequest.
var tlsHRRRandom = func() []byte {
	sum := sha256.Sum256([]byte("HelloRetryRequest"))
	return sum[:]
}()

// tlsTestRuns records every case once.
var tlsTestRuns = sync.OnceValue(func() []tlsTestRun {
	var runs []tlsTestRun
	for _, c := range tlsTestCases() {
		runs = append(runs, tlsTestHandshake(&tlsFatalTB{}, c.client, c.server))
	}
	return runs
})

// tlsFatalTB lets tlsTestHandshake run outside a test; it panics on failure.
type tlsFatalTB struct{ testing.TB }

func (*tlsFatalTB) Helper()                      {}
func (*tlsFatalTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (*tlsFatalTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// tlsFeedWhole feeds each side in one piece, the client first.
func tlsFeedWhole(client, server []byte) *TLSHandshake {
	var h TLSHandshake
	h.Feed(true, client)
	h.Feed(false, server)
	return &h
}

// tlsFeedSplit feeds both sides in pieces of random sizes (up to max bytes),
// interleaving the sides at random.
func tlsFeedSplit(client, server []byte, r *mrand.Rand, maxPiece int) *TLSHandshake {
	var h TLSHandshake
	for len(client) > 0 || len(server) > 0 {
		fromClient := len(server) == 0 || len(client) > 0 && r.IntN(2) == 0
		p := &server
		if fromClient {
			p = &client
		}
		n := min(1+r.IntN(maxPiece), len(*p))
		h.Feed(fromClient, (*p)[:n])
		*p = (*p)[n:]
	}
	return &h
}

func TestTLSHandshakeRecorded(t *testing.T) {
	cases := tlsTestCases()
	runs := tlsTestRuns()
	for i, c := range cases {
		run := runs[i]
		t.Run(c.name, func(t *testing.T) {
			want := TLSInfo{
				Version:        tls.VersionName(run.state.Version),
				SNI:            run.serverName,
				Cipher:         tls.CipherSuiteName(run.state.CipherSuite),
				ALPN:           c.client.NextProtos,
				ClientVersions: c.clientVersions,
			}
			if want.Version != c.wantVersion {
				t.Fatalf("crypto/tls negotiated %s, the case expects %s", want.Version, c.wantVersion)
			}
			if c.wantCipher != "" && want.Cipher != c.wantCipher {
				t.Fatalf("crypto/tls negotiated %s, the case expects %s", want.Cipher, c.wantCipher)
			}
			if c.client.ServerName != "" && want.SNI != c.client.ServerName {
				t.Fatalf("server saw SNI %q, want %q", want.SNI, c.client.ServerName)
			}
			if hrr := bytes.Contains(run.server, tlsHRRRandom); hrr != c.retry {
				t.Fatalf("HelloRetryRequest sent: %v, want %v", hrr, c.retry)
			}

			check := func(how string, h *TLSHandshake) {
				t.Helper()
				if got := h.Info(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: Info() = %#v, want %#v", how, got, want)
				}
				tlsCheckBounded(t, h)
			}
			check("whole", tlsFeedWhole(run.client, run.server))

			var h TLSHandshake
			for i := range max(len(run.client), len(run.server)) {
				if i < len(run.client) {
					h.Feed(true, run.client[i:i+1])
				}
				if i < len(run.server) {
					h.Feed(false, run.server[i:i+1])
				}
				tlsCheckBounded(t, &h)
			}
			check("byte by byte", &h)

			r := mrand.New(mrand.NewPCG(1, uint64(i)))
			for k := range 50 {
				maxPiece := []int{3, 17, 100, 1500}[k%4]
				check("random splits", tlsFeedSplit(run.client, run.server, r, maxPiece))
			}

			// What follows the hellos does not matter.
			h2 := tlsFeedWhole(run.client, run.server)
			h2.Feed(true, []byte("garbage\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"))
			h2.Feed(false, bytes.Repeat([]byte{0xff}, 1000))
			check("garbage after", h2)

			// Only the first bytes of a side are needed.
			h3 := tlsFeedWhole(run.client, nil)
			if got := h3.Info(); got.SNI != want.SNI || !reflect.DeepEqual(got.ALPN, want.ALPN) ||
				!reflect.DeepEqual(got.ClientVersions, want.ClientVersions) || got.Version != "" || got.Cipher != "" {
				t.Errorf("client side only: Info() = %#v", got)
			}
			h4 := tlsFeedWhole(nil, run.server)
			if got := h4.Info(); got.Version != want.Version || got.Cipher != want.Cipher ||
				got.SNI != "" || got.ALPN != nil || got.ClientVersions != nil {
				t.Errorf("server side only: Info() = %#v", got)
			}
		})
	}
}

// tlsCheckBounded fails if h holds more than TLSMaxHello bytes for a side.
func tlsCheckBounded(t *testing.T, h *TLSHandshake) {
	t.Helper()
	for _, s := range []*tlsStream{&h.client, &h.server} {
		if cap(s.msg) > TLSMaxHello {
			t.Fatalf("a side holds %d bytes, more than %d", cap(s.msg), TLSMaxHello)
		}
	}
}

// tlsRecord is one record of a stream.
type tlsRecord struct {
	typ  byte
	body []byte
}

// tlsTestRecords splits a stream into records; it fails on a partial one.
func tlsTestRecords(t testing.TB, stream []byte) []tlsRecord {
	t.Helper()
	var recs []tlsRecord
	s := cryptobyte.String(stream)
	for !s.Empty() {
		var typ uint8
		var body cryptobyte.String
		if !s.ReadUint8(&typ) || !s.Skip(2) || !s.ReadUint16LengthPrefixed(&body) {
			t.Fatalf("partial record at the end of the stream")
		}
		recs = append(recs, tlsRecord{typ, body})
	}
	return recs
}

// tlsTestHello returns the first handshake message of a stream, which must
// fit in its first record, split into type and body.
func tlsTestHello(t testing.TB, stream []byte) (typ byte, body []byte) {
	t.Helper()
	recs := tlsTestRecords(t, stream)
	if len(recs) == 0 || recs[0].typ != tlsRecordHandshake {
		t.Fatalf("stream does not begin with a handshake record")
	}
	s := cryptobyte.String(recs[0].body)
	var msg cryptobyte.String
	if !s.ReadUint8(&typ) || !s.ReadUint24LengthPrefixed(&msg) {
		t.Fatalf("first record does not hold a whole handshake message")
	}
	return typ, msg
}

// tlsRecordBytes builds a record.
func tlsRecordBytes(typ byte, version uint16, body []byte) []byte {
	b := []byte{typ, byte(version >> 8), byte(version), byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

// tlsMessageBytes builds a handshake message.
func tlsMessageBytes(typ byte, body []byte) []byte {
	b := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

// tlsReframe puts a handshake message into records of the given sizes in
// turn, with records of other types and an empty handshake record between.
func tlsReframe(msg []byte, sizes []int) []byte {
	var out []byte
	out = append(out, tlsRecordBytes(21, 0x0301, []byte{1, 0})...) // a warning alert
	for i := 0; len(msg) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(msg))
		out = append(out, tlsRecordBytes(tlsRecordHandshake, 0x0303, msg[:n])...)
		msg = msg[n:]
		switch i % 3 {
		case 0:
			out = append(out, tlsRecordBytes(tlsRecordChangeCipherSpec, 0x0303, []byte{1})...)
		case 1:
			out = append(out, tlsRecordBytes(tlsRecordHandshake, 0x0303, nil)...)
		case 2:
			out = append(out, tlsRecordBytes(23, 0x0303, []byte("not handshake"))...)
		}
	}
	return out
}

func TestTLSHandshakeFragmentedRecords(t *testing.T) {
	cases := tlsTestCases()
	for i, run := range tlsTestRuns() {
		t.Run(cases[i].name, func(t *testing.T) {
			want := tlsFeedWhole(run.client, run.server).Info()
			ctyp, chello := tlsTestHello(t, run.client)
			styp, shello := tlsTestHello(t, run.server)
			if ctyp != tlsTypeClientHello || styp != tlsTypeServerHello {
				t.Fatalf("first messages are types %d and %d", ctyp, styp)
			}
			cmsg, smsg := tlsMessageBytes(ctyp, chello), tlsMessageBytes(styp, shello)
			for _, sizes := range [][]int{{1}, {2, 3}, {4}, {5, 1, 200}, {16384}} {
				// The server may send other handshake messages before its hello.
				sstream := tlsReframe(append(tlsMessageBytes(0, nil), smsg...), sizes)
				cstream := tlsReframe(cmsg, sizes)
				if got := tlsFeedWhole(cstream, sstream).Info(); !reflect.DeepEqual(got, want) {
					t.Errorf("records of %v bytes: Info() = %#v, want %#v", sizes, got, want)
				}
				r := mrand.New(mrand.NewPCG(2, uint64(i)))
				if got := tlsFeedSplit(cstream, sstream, r, 7).Info(); !reflect.DeepEqual(got, want) {
					t.Errorf("records of %v bytes, split: Info() = %#v, want %#v", sizes, got, want)
				}
			}
		})
	}
}

func TestTLSHandshakeNotTLS(t *testing.T) {
	long := bytes.Repeat(tlsRecordBytes(23, 0x0303, make([]byte, 1000)), 100)
	hugeMsg := tlsRecordBytes(tlsRecordHandshake, 0x0301, []byte{1, 0xff, 0xff, 0xff, 1, 2, 3})
	maxMsg := tlsRecordBytes(tlsRecordHandshake, 0x0301, []byte{1, 0, (TLSMaxHello - 4) >> 8, (TLSMaxHello - 4) & 0xff})
	tooBig := tlsRecordBytes(tlsRecordHandshake, 0x0301, []byte{1, 0, (TLSMaxHello - 3) >> 8, (TLSMaxHello - 3) & 0xff})
	tests := []struct {
		name           string
		client, server []byte
		done           bool // both sides have given up
	}{
		{"nothing", nil, nil, false},
		{"SMTP", []byte("EHLO client.example.test\r\n"), []byte("220 mail.example.test ESMTP\r\n"), true},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), true},
		{"SSLv2 hello", []byte{0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15}, nil, false},
		{"bad record type", tlsRecordBytes(25, 0x0303, []byte{1}), tlsRecordBytes(19, 0x0303, []byte{1}), true},
		{"bad record version", tlsRecordBytes(22, 0x0203, []byte{1}), tlsRecordBytes(22, 0x0403, []byte{1}), true},
		{"record too long", []byte{22, 3, 1, 0x48, 0x01}, []byte{22, 3, 3, 0xff, 0xff}, true},
		{"handshake message too long", hugeMsg, hugeMsg, true},
		{"hello one byte too long", tooBig, tooBig, true},
		{"largest hello, cut short", maxMsg, maxMsg, false},
		{"truncated record", []byte{22, 3, 1, 0, 10, 1, 0, 0}, []byte{22, 3}, false},
		{"application data only", long, long, true},
		{"malformed hellos", tlsRecordBytes(22, 0x0301, tlsMessageBytes(1, []byte("short"))), tlsRecordBytes(22, 0x0303, tlsMessageBytes(2, make([]byte, 40))), true},
		{"wrong hello for the side", tlsRecordBytes(22, 0x0301, tlsMessageBytes(2, nil)), tlsRecordBytes(22, 0x0301, tlsMessageBytes(1, nil)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, piece := range []int{1, 3, 1 << 20} {
				var h TLSHandshake
				for _, side := range []struct {
					fromClient bool
					b          []byte
				}{{true, tt.client}, {false, tt.server}} {
					for b := side.b; len(b) > 0; {
						n := min(piece, len(b))
						h.Feed(side.fromClient, b[:n])
						b = b[n:]
						tlsCheckBounded(t, &h)
					}
				}
				if got := h.Info(); !reflect.DeepEqual(got, TLSInfo{}) {
					t.Errorf("pieces of %d: Info() = %#v, want empty", piece, got)
				}
				if done := h.client.done && h.server.done; done != tt.done {
					t.Errorf("pieces of %d: given up: %v, want %v", piece, done, tt.done)
				}
			}
		})
	}
}

func TestTLSHandshakeLargeHello(t *testing.T) {
	// A ClientHello that fills TLSMaxHello exactly, with a padding extension,
	// is read; one byte more is not.
	for _, extra := range []int{0, 1} {
		base := tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt(tlsTestServerName)}})
		pad := TLSMaxHello - 4 - len(base) - 4 + extra
		body := tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt(tlsTestServerName), {21, make([]byte, pad)}}})
		if len(body)+4 != TLSMaxHello+extra {
			t.Fatalf("hello of %d bytes, want %d", len(body)+4, TLSMaxHello+extra)
		}
		stream := tlsReframe(tlsMessageBytes(tlsTypeClientHello, body), []int{1 << 14})
		for _, piece := range []int{1, 1000, len(stream)} {
			var h TLSHandshake
			for b := stream; len(b) > 0; {
				n := min(piece, len(b))
				h.Feed(true, b[:n])
				b = b[n:]
				tlsCheckBounded(t, &h)
			}
			want := ""
			if extra == 0 {
				want = tlsTestServerName
			}
			if got := h.Info().SNI; got != want {
				t.Errorf("hello of %d bytes in pieces of %d: SNI %q, want %q", len(body)+4, piece, got, want)
			}
		}
	}
}

func TestTLSHandshakeHugeLengthAllocatesLittle(t *testing.T) {
	stream := []byte{22, 3, 1, 0x40, 0x00, 1, 0, 0x3f, 0xfc, 3, 3}
	allocs := testing.AllocsPerRun(100, func() {
		var h TLSHandshake
		h.Feed(true, stream)
		if cap(h.client.msg) > 256 {
			t.Fatalf("holds %d bytes for %d that came", cap(h.client.msg), len(stream))
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations per Feed", allocs)
	}
}

func TestTLSInfoCopies(t *testing.T) {
	run := tlsTestRuns()[0]
	h := tlsFeedWhole(run.client, run.server)
	info := h.Info()
	info.ALPN[0] = "changed"
	info.ClientVersions[0] = "changed"
	if again := h.Info(); again.ALPN[0] == "changed" || again.ClientVersions[0] == "changed" {
		t.Errorf("Info shares its slices with the caller: %#v", again)
	}
}

// tlsExt is one extension of a hand-built hello.
type tlsExt struct {
	typ  uint16
	data []byte
}

// tlsHelloOpts describes a hand-built hello; zero fields take usual values.
type tlsHelloOpts struct {
	version     uint16
	sessionID   []byte
	suites      []byte // raw cipher_suites bytes (ClientHello)
	noSuites    bool
	compression []byte // raw compression_methods bytes (ClientHello)
	noComp      bool
	cipher      uint16 // ServerHello
	exts        []tlsExt
	noExts      bool   // leave out the extensions block
	trailer     []byte // bytes after everything
}

func tlsClientHelloBody(o tlsHelloOpts) []byte {
	if o.version == 0 {
		o.version = tls.VersionTLS12
	}
	if o.suites == nil && !o.noSuites {
		o.suites = []byte{0x13, 0x01, 0xc0, 0x2b}
	}
	if o.compression == nil && !o.noComp {
		o.compression = []byte{0}
	}
	var b cryptobyte.Builder
	b.AddUint16(o.version)
	b.AddBytes(make([]byte, 32))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(o.sessionID) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(o.suites) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(o.compression) })
	tlsAddExts(&b, o)
	return b.BytesOrPanic()
}

func tlsServerHelloBody(o tlsHelloOpts) []byte {
	if o.version == 0 {
		o.version = tls.VersionTLS12
	}
	if o.cipher == 0 {
		o.cipher = tls.TLS_AES_256_GCM_SHA384
	}
	var b cryptobyte.Builder
	b.AddUint16(o.version)
	b.AddBytes(make([]byte, 32))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(o.sessionID) })
	b.AddUint16(o.cipher)
	b.AddUint8(0)
	tlsAddExts(&b, o)
	return b.BytesOrPanic()
}

func tlsAddExts(b *cryptobyte.Builder, o tlsHelloOpts) {
	if !o.noExts {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range o.exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
		})
	}
	b.AddBytes(o.trailer)
}

func tlsSNIExt(names ...string) tlsExt {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, n := range names {
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
		}
	})
	return tlsExt{tlsExtServerName, b.BytesOrPanic()}
}

func tlsALPNExt(protos ...string) tlsExt {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range protos {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
		}
	})
	return tlsExt{tlsExtALPN, b.BytesOrPanic()}
}

func tlsVersionsExt(vs ...uint16) tlsExt {
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, v := range vs {
			b.AddUint16(v)
		}
	})
	return tlsExt{tlsExtSupportedVersions, b.BytesOrPanic()}
}

func TestParseClientHello(t *testing.T) {
	full := tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{
		{0xdada, nil}, // GREASE extension
		tlsSNIExt(tlsTestServerName),
		tlsALPNExt("smtp", "h2"),
		tlsVersionsExt(0x7a7a, tls.VersionTLS13, tls.VersionTLS12),
		{10, []byte{0, 2, 0, 29}},
	}})
	tests := []struct {
		name     string
		msg      []byte
		sni      string
		alpn     []string
		versions []uint16
		ok       bool
	}{
		{"full", full, tlsTestServerName, []string{"smtp", "h2"}, []uint16{0x7a7a, tls.VersionTLS13, tls.VersionTLS12}, true},
		{"no extensions block", tlsClientHelloBody(tlsHelloOpts{version: tls.VersionTLS10, noExts: true}), "", nil, []uint16{tls.VersionTLS10}, true},
		{"empty extensions block", tlsClientHelloBody(tlsHelloOpts{}), "", nil, []uint16{tls.VersionTLS12}, true},
		{"session id of 32", tlsClientHelloBody(tlsHelloOpts{sessionID: make([]byte, 32)}), "", nil, []uint16{tls.VersionTLS12}, true},
		{"other name type first", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0, []byte{0, 10, 1, 0, 2, 'x', 'y', 0, 0, 2, 'a', 'b'}}}}), "ab", nil, []uint16{tls.VersionTLS12}, true},
		{"two host names", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt("a.test", "b.test")}}), "a.test", nil, []uint16{tls.VersionTLS12}, true},
		{"unknown extensions", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0xfe0d, []byte{1, 2, 3}}, {21, nil}}}), "", nil, []uint16{tls.VersionTLS12}, true},

		{"nil", nil, "", nil, nil, false},
		{"random only", make([]byte, 34), "", nil, nil, false},
		{"session id of 33", tlsClientHelloBody(tlsHelloOpts{sessionID: make([]byte, 33)}), "", nil, nil, false},
		{"no cipher suites", tlsClientHelloBody(tlsHelloOpts{noSuites: true}), "", nil, nil, false},
		{"odd cipher suites", tlsClientHelloBody(tlsHelloOpts{suites: []byte{0x13, 0x01, 0x13}}), "", nil, nil, false},
		{"no compression methods", tlsClientHelloBody(tlsHelloOpts{noComp: true}), "", nil, nil, false},
		{"trailing byte", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt("a.test")}, trailer: []byte{0}}), "", nil, nil, false},
		{"trailing byte without extensions", tlsClientHelloBody(tlsHelloOpts{noExts: true, trailer: []byte{0}}), "", nil, nil, false},
		{"duplicate extension", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt("a.test"), tlsSNIExt("b.test")}}), "", nil, nil, false},
		{"extension past its block", tlsClientHelloBody(tlsHelloOpts{noExts: true, trailer: []byte{0, 6, 0, 0, 0, 5, 1, 2}}), "", nil, nil, false},
		{"legacy version 2.0", tlsClientHelloBody(tlsHelloOpts{version: 0x0200}), "", nil, nil, false},
		{"empty server_name", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0, nil}}}), "", nil, nil, false},
		{"empty server name list", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0, []byte{0, 0}}}}), "", nil, nil, false},
		{"empty host name", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt("")}}), "", nil, nil, false},
		{"server_name with trailer", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0, append(tlsSNIExt("a").data, 0)}}}), "", nil, nil, false},
		{"host name cut", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{0, []byte{0, 4, 0, 0, 5, 'a'}}}}), "", nil, nil, false},
		{"empty ALPN protocol", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsALPNExt("smtp", "")}}), "", nil, nil, false},
		{"empty ALPN list", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsALPNExt()}}), "", nil, nil, false},
		{"ALPN with trailer", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{16, append(tlsALPNExt("smtp").data, 0)}}}), "", nil, nil, false},
		{"empty supported_versions", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsVersionsExt()}}), "", nil, nil, false},
		{"odd supported_versions", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{43, []byte{3, 3, 4, 3}}}}), "", nil, nil, false},
		{"supported_versions with trailer", tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{{43, []byte{2, 3, 4, 0}}}}), "", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sni, alpn, versions, ok := ParseClientHello(tt.msg)
			if sni != tt.sni || !reflect.DeepEqual(alpn, tt.alpn) || !reflect.DeepEqual(versions, tt.versions) || ok != tt.ok {
				t.Errorf("ParseClientHello = %q, %q, %#04x, %v; want %q, %q, %#04x, %v",
					sni, alpn, versions, ok, tt.sni, tt.alpn, tt.versions, tt.ok)
			}
		})
	}

	// Every prefix of a hello is malformed, but for the one that stops right
	// before the extensions block.
	noExtLen := len(tlsClientHelloBody(tlsHelloOpts{noExts: true}))
	for n := range len(full) {
		_, _, _, ok := ParseClientHello(full[:n])
		if ok != (n == noExtLen) {
			t.Errorf("prefix of %d bytes of %d: ok = %v", n, len(full), ok)
		}
	}
}

func TestParseServerHello(t *testing.T) {
	tls13 := tlsServerHelloBody(tlsHelloOpts{sessionID: make([]byte, 32), exts: []tlsExt{
		{51, make([]byte, 36)}, // key_share
		{43, []byte{3, 4}},
	}})
	tests := []struct {
		name            string
		msg             []byte
		version, cipher uint16
		ok              bool
	}{
		{"TLS 1.3", tls13, tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384, true},
		{"TLS 1.2 without extensions", tlsServerHelloBody(tlsHelloOpts{noExts: true, cipher: 0xc02f}), tls.VersionTLS12, 0xc02f, true},
		{"TLS 1.0 with extensions", tlsServerHelloBody(tlsHelloOpts{version: tls.VersionTLS10, cipher: 0x002f, exts: []tlsExt{{0xff01, []byte{0}}}}), tls.VersionTLS10, 0x002f, true},
		{"SSL 3.0", tlsServerHelloBody(tlsHelloOpts{version: 0x0300, cipher: 0x000a, noExts: true}), 0x0300, 0x000a, true},

		{"nil", nil, 0, 0, false},
		{"random only", make([]byte, 34), 0, 0, false},
		{"session id of 33", tlsServerHelloBody(tlsHelloOpts{sessionID: make([]byte, 33)}), 0, 0, false},
		{"trailing byte", tlsServerHelloBody(tlsHelloOpts{trailer: []byte{0}}), 0, 0, false},
		{"trailing byte without extensions", tlsServerHelloBody(tlsHelloOpts{noExts: true, trailer: []byte{0}}), 0, 0, false},
		{"short supported_versions", tlsServerHelloBody(tlsHelloOpts{exts: []tlsExt{{43, []byte{3}}}}), 0, 0, false},
		{"long supported_versions", tlsServerHelloBody(tlsHelloOpts{exts: []tlsExt{{43, []byte{3, 4, 0}}}}), 0, 0, false},
		{"duplicate extension", tlsServerHelloBody(tlsHelloOpts{exts: []tlsExt{{43, []byte{3, 4}}, {43, []byte{3, 4}}}}), 0, 0, false},
		{"extension past its block", tlsServerHelloBody(tlsHelloOpts{noExts: true, trailer: []byte{0, 6, 0, 43, 0, 5, 3, 4}}), 0, 0, false},
		{"legacy version 2.0", tlsServerHelloBody(tlsHelloOpts{version: 0x0200}), 0, 0, false},
		{"all zeros", make([]byte, 40), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version, cipher, ok := ParseServerHello(tt.msg)
			if version != tt.version || cipher != tt.cipher || ok != tt.ok {
				t.Errorf("ParseServerHello = %#04x, %#04x, %v; want %#04x, %#04x, %v",
					version, cipher, ok, tt.version, tt.cipher, tt.ok)
			}
		})
	}

	noExtLen := len(tlsServerHelloBody(tlsHelloOpts{sessionID: make([]byte, 32), noExts: true}))
	for n := range len(tls13) {
		_, _, ok := ParseServerHello(tls13[:n])
		if ok != (n == noExtLen) {
			t.Errorf("prefix of %d bytes of %d: ok = %v", n, len(tls13), ok)
		}
	}
}

func TestParseHellosRecorded(t *testing.T) {
	cases := tlsTestCases()
	for i, run := range tlsTestRuns() {
		_, chello := tlsTestHello(t, run.client)
		sni, alpn, versions, ok := ParseClientHello(chello)
		if !ok || sni != cases[i].client.ServerName || !reflect.DeepEqual(alpn, cases[i].client.NextProtos) || len(versions) == 0 {
			t.Errorf("%s: ParseClientHello = %q, %q, %#04x, %v", cases[i].name, sni, alpn, versions, ok)
		}
		_, shello := tlsTestHello(t, run.server)
		version, cipher, ok := ParseServerHello(shello)
		if !ok || version != run.state.Version || cipher != run.state.CipherSuite {
			t.Errorf("%s: ParseServerHello = %#04x, %#04x, %v; want %#04x, %#04x",
				cases[i].name, version, cipher, ok, run.state.Version, run.state.CipherSuite)
		}
	}
}

func TestTLSIsGREASE(t *testing.T) {
	var n int
	for v := range 1 << 16 {
		if tlsIsGREASE(uint16(v)) {
			n++
			if b := byte(v); b&0x0f != 0x0a || byte(v>>8) != b {
				t.Errorf("%#04x taken for GREASE", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16", n)
	}
}

func FuzzParseClientHello(f *testing.F) {
	for _, run := range tlsTestRuns() {
		_, body := tlsTestHello(f, run.client)
		f.Add(body)
	}
	f.Add(tlsClientHelloBody(tlsHelloOpts{exts: []tlsExt{tlsSNIExt("a.test", "b.test"), tlsALPNExt("smtp"), tlsVersionsExt(0x0304, 0x0303)}}))
	f.Add(tlsClientHelloBody(tlsHelloOpts{noExts: true}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		sni, alpn, versions, ok := ParseClientHello(msg)
		if !ok {
			if sni != "" || alpn != nil || versions != nil {
				t.Fatalf("not ok, yet returned %q, %q, %v", sni, alpn, versions)
			}
			return
		}
		if len(versions) == 0 {
			t.Fatalf("ok without versions")
		}
		if len(sni) > len(msg) || !strings.Contains(string(msg), sni) {
			t.Fatalf("SNI %q is not in the message", sni)
		}
		for _, p := range alpn {
			if p == "" || !strings.Contains(string(msg), p) {
				t.Fatalf("ALPN protocol %q is not in the message", p)
			}
		}
	})
}

func FuzzParseServerHello(f *testing.F) {
	for _, run := range tlsTestRuns() {
		_, body := tlsTestHello(f, run.server)
		f.Add(body)
	}
	f.Add(tlsServerHelloBody(tlsHelloOpts{noExts: true}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		version, cipher, ok := ParseServerHello(msg)
		if !ok && (version != 0 || cipher != 0) {
			t.Fatalf("not ok, yet returned %#04x, %#04x", version, cipher)
		}
		if ok && len(msg) < 38 {
			t.Fatalf("ok on %d bytes", len(msg))
		}
	})
}

// FuzzTLSHandshake checks that how the bytes are cut into pieces does not
// change what is parsed, and that memory stays bounded.
func FuzzTLSHandshake(f *testing.F) {
	// The first record of each side and a little of what follows: smaller
	// inputs mutate and minimize faster than whole recorded streams.
	head := func(stream []byte) []byte {
		n := 5 + (int(stream[3])<<8 | int(stream[4]))
		return stream[:min(len(stream), n+64)]
	}
	for i, run := range tlsTestRuns() {
		f.Add(head(run.client), head(run.server), uint64(i))
		ctyp, cbody := tlsTestHello(f, run.client)
		styp, sbody := tlsTestHello(f, run.server)
		f.Add(tlsReframe(tlsMessageBytes(ctyp, cbody), []int{3, 50}), tlsReframe(tlsMessageBytes(styp, sbody), []int{7}), uint64(i))
	}
	f.Add([]byte("EHLO x\r\n"), []byte("220 x ESMTP\r\n"), uint64(0))
	f.Fuzz(func(t *testing.T, client, server []byte, seed uint64) {
		want := tlsFeedWhole(client, server)
		tlsCheckBounded(t, want)
		r := mrand.New(mrand.NewPCG(seed, seed>>32))
		h := tlsFeedSplit(client, server, r, 1+int(seed%64))
		tlsCheckBounded(t, h)
		if got, w := h.Info(), want.Info(); !reflect.DeepEqual(got, w) {
			t.Fatalf("in pieces: %#v; whole: %#v", got, w)
		}
	})
}
