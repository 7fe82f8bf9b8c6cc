package smtpdecode

import (
	"crypto/tls"

	"golang.org/x/crypto/cryptobyte"
)

// TLSInfo is what the plaintext part of a TLS handshake shows.
type TLSInfo struct {
	// Version is the version the ServerHello chose: "TLS 1.3" when its
	// supported_versions extension says so, else its legacy version
	// ("TLS 1.2", "TLS 1.0"...). "" if no ServerHello was seen.
	Version string
	// SNI is the server_name the ClientHello asked for; "" if none.
	SNI string
	// Cipher is the name of the cipher suite the ServerHello chose, as
	// crypto/tls.CipherSuiteName gives it (e.g. "TLS_AES_256_GCM_SHA384");
	// "" if no ServerHello was seen.
	Cipher string
	// ALPN lists the application protocols the client offered, in its order.
	ALPN []string
	// ClientVersions lists the versions the client offered: its
	// supported_versions extension without GREASE values, else its legacy
	// version. Empty if no ClientHello was seen.
	ClientVersions []string
}

// TLSMaxHello is how many bytes of each direction a TLSHandshake keeps at
// most, and so the largest hello message (header included) it can read.
const TLSMaxHello = 16 << 10

// tlsMaxScan is how many bytes of each direction a TLSHandshake reads in all
// before it gives up on finding the hello; it leaves room for record headers
// and for records that are not handshake ones.
const tlsMaxScan = 4 * TLSMaxHello

// tlsMaxRecord is the largest record body the record layer allows
// (TLSCiphertext: 2^14 + 2048).
const tlsMaxRecord = 1<<14 + 2048

// Record content types and handshake message types.
const (
	tlsRecordChangeCipherSpec = 20
	tlsRecordHeartbeat        = 24
	tlsRecordHandshake        = 22
	tlsTypeClientHello        = 1
	tlsTypeServerHello        = 2
)

// Extension numbers.
const (
	tlsExtServerName        = 0
	tlsExtALPN              = 16
	tlsExtSupportedVersions = 43
)

// TLSHandshake watches the first bytes of each direction of a TLS connection
// and parses the ClientHello and ServerHello out of them. The zero value is
// ready to use.
type TLSHandshake struct {
	client, server tlsStream

	clientSeen bool
	sni        string
	alpn       []string
	versions   []uint16

	serverSeen bool
	version    uint16
	cipher     uint16
}

// tlsStream is the state of one direction: the record being read and the
// handshake message being gathered from record bodies.
type tlsStream struct {
	done  bool    // the hello was parsed, or the stream cannot hold one
	read  int     // stream bytes read so far
	hdr   [5]byte // record header being gathered
	hdrN  int     // bytes of hdr filled
	rtype byte    // content type of the current record
	left  int     // body bytes of the current record still to come
	msg   []byte  // handshake message being gathered, header included; at most TLSMaxHello
}

// Feed gives it the next bytes one side sent (fromClient tells which). It
// keeps at most TLSMaxHello bytes per direction (hellos can span several
// records and TCP segments) and ignores everything after the hello it is
// looking for, and everything once the bytes are seen not to be TLS.
func (h *TLSHandshake) Feed(fromClient bool, p []byte) {
	s, want := &h.server, byte(tlsTypeServerHello)
	if fromClient {
		s, want = &h.client, tlsTypeClientHello
	}
	for len(p) > 0 && !s.done {
		if s.read >= tlsMaxScan {
			s.giveUp()
			return
		}
		if s.hdrN < len(s.hdr) {
			n := copy(s.hdr[s.hdrN:], p)
			s.hdrN += n
			s.read += n
			p = p[n:]
			if s.hdrN < len(s.hdr) {
				return
			}
			s.rtype = s.hdr[0]
			s.left = int(s.hdr[3])<<8 | int(s.hdr[4])
			if s.rtype < tlsRecordChangeCipherSpec || s.rtype > tlsRecordHeartbeat ||
				s.hdr[1] != 3 || s.left > tlsMaxRecord {
				s.giveUp()
				return
			}
			if s.left == 0 {
				s.hdrN = 0
			}
			continue
		}
		n := min(s.left, len(p))
		body := p[:n]
		s.left -= n
		s.read += n
		p = p[n:]
		if s.left == 0 {
			s.hdrN = 0
		}
		if s.rtype == tlsRecordHandshake {
			h.handshakeBytes(s, want, body)
		}
	}
}

// handshakeBytes gathers handshake messages from one record body's bytes and
// parses the hello wanted when it is whole.
func (h *TLSHandshake) handshakeBytes(s *tlsStream, want byte, p []byte) {
	for len(p) > 0 {
		if len(s.msg) < 4 {
			n := min(4-len(s.msg), len(p))
			s.msg = tlsAppend(s.msg, p[:n])
			p = p[n:]
			if len(s.msg) < 4 {
				return
			}
			if 4+s.msgLen() > TLSMaxHello {
				s.giveUp()
				return
			}
		}
		need := 4 + s.msgLen()
		n := min(need-len(s.msg), len(p))
		s.msg = tlsAppend(s.msg, p[:n])
		p = p[n:]
		if len(s.msg) < need {
			return
		}
		if s.msg[0] == want {
			h.hello(want, s.msg[4:])
			s.giveUp()
			return
		}
		s.msg = s.msg[:0] // another message before the hello: skip it
	}
}

// msgLen is the body length the gathered handshake header declares.
func (s *tlsStream) msgLen() int {
	return int(s.msg[1])<<16 | int(s.msg[2])<<8 | int(s.msg[3])
}

// hello records what a whole hello message says.
func (h *TLSHandshake) hello(typ byte, body []byte) {
	if typ == tlsTypeClientHello {
		sni, alpn, versions, ok := ParseClientHello(body)
		if ok {
			h.clientSeen, h.sni, h.alpn, h.versions = true, sni, alpn, versions
		}
		return
	}
	version, cipher, ok := ParseServerHello(body)
	if ok {
		h.serverSeen, h.version, h.cipher = true, version, cipher
	}
}

// giveUp stops reading the stream and frees what it held.
func (s *tlsStream) giveUp() {
	s.done = true
	s.msg = nil
}

// tlsAppend appends p to b, growing b to at most TLSMaxHello bytes of
// capacity (callers never need more).
func tlsAppend(b, p []byte) []byte {
	if len(b)+len(p) <= cap(b) {
		return append(b, p...)
	}
	c := min(max(2*cap(b), len(b)+len(p), 256), TLSMaxHello)
	nb := make([]byte, len(b), max(c, len(b)+len(p)))
	copy(nb, b)
	return append(nb, p...)
}

// Info returns what was parsed so far.
func (h *TLSHandshake) Info() TLSInfo {
	var info TLSInfo
	if h.clientSeen {
		info.SNI = h.sni
		if len(h.alpn) > 0 {
			info.ALPN = append([]string(nil), h.alpn...)
		}
		for _, v := range h.versions {
			if !tlsIsGREASE(v) {
				info.ClientVersions = append(info.ClientVersions, tls.VersionName(v))
			}
		}
	}
	if h.serverSeen {
		info.Version = tls.VersionName(h.version)
		info.Cipher = tls.CipherSuiteName(h.cipher)
	}
	return info
}

// tlsIsGREASE tells whether v is one of the reserved GREASE values
// (RFC 8701), which clients offer only to keep servers tolerant.
func tlsIsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// ParseClientHello parses the body of a ClientHello message (what follows the
// 4-byte handshake header). It returns the first host_name of the server_name
// extension, the protocols of the ALPN extension, and the versions of the
// supported_versions extension (GREASE values included) or, without that
// extension, the legacy version. ok is false, and the rest zero, when msg is
// not a well-formed ClientHello.
func ParseClientHello(msg []byte) (sni string, alpn []string, versions []uint16, ok bool) {
	s := cryptobyte.String(msg)
	var legacy uint16
	var sessionID, suites, compression, exts cryptobyte.String
	if !s.ReadUint16(&legacy) || legacy>>8 != 3 || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites) < 2 || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed(&compression) || len(compression) < 1 {
		return "", nil, nil, false
	}
	if s.Empty() {
		return "", nil, []uint16{legacy}, true
	}
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return "", nil, nil, false
	}
	var haveVersions bool
	seen := map[uint16]bool{}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) || seen[typ] {
			return "", nil, nil, false
		}
		seen[typ] = true
		switch typ {
		case tlsExtServerName:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || list.Empty() || !data.Empty() {
				return "", nil, nil, false
			}
			for !list.Empty() {
				var nameType uint8
				var name cryptobyte.String
				if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) || name.Empty() {
					return "", nil, nil, false
				}
				if nameType == 0 && sni == "" {
					sni = string(name)
				}
			}
		case tlsExtALPN:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || list.Empty() || !data.Empty() {
				return "", nil, nil, false
			}
			for !list.Empty() {
				var proto cryptobyte.String
				if !list.ReadUint8LengthPrefixed(&proto) || proto.Empty() {
					return "", nil, nil, false
				}
				alpn = append(alpn, string(proto))
			}
		case tlsExtSupportedVersions:
			var list cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&list) || len(list) < 2 || len(list)%2 != 0 || !data.Empty() {
				return "", nil, nil, false
			}
			for !list.Empty() {
				var v uint16
				list.ReadUint16(&v)
				versions = append(versions, v)
			}
			haveVersions = true
		}
	}
	if !haveVersions {
		versions = []uint16{legacy}
	}
	return sni, alpn, versions, true
}

// ParseServerHello parses the body of a ServerHello message (what follows the
// 4-byte handshake header), a HelloRetryRequest included. It returns the
// version the server chose (from supported_versions, else the legacy version)
// and its cipher suite. ok is false, and the rest zero, when msg is not a
// well-formed ServerHello.
func ParseServerHello(msg []byte) (version uint16, cipher uint16, ok bool) {
	s := cryptobyte.String(msg)
	var legacy uint16
	var compression uint8
	var sessionID, exts cryptobyte.String
	if !s.ReadUint16(&legacy) || legacy>>8 != 3 || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16(&cipher) || !s.ReadUint8(&compression) {
		return 0, 0, false
	}
	version = legacy
	if s.Empty() {
		return version, cipher, true
	}
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return 0, 0, false
	}
	seen := map[uint16]bool{}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) || seen[typ] {
			return 0, 0, false
		}
		seen[typ] = true
		if typ == tlsExtSupportedVersions {
			if !data.ReadUint16(&version) || !data.Empty() {
				return 0, 0, false
			}
		}
	}
	return version, cipher, true
}
