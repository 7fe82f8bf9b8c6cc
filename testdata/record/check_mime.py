#!/usr/bin/python3
"""Checks a message-decoding capture after record.sh recorded it
(Debian 12 /usr/bin/python3, only the standard library).

  check_mime.py CASE_DIR

Reads CASE_DIR/input.pcap (pcap, EN10MB, IPv4 or IPv6, one SMTP session to
port 25), reassembles what the client sent, takes the DATA section up to the
terminating <CRLF>.<CRLF>, removes the dot-stuffing and then checks that
  - the message equals CASE_DIR/message.eml, if that file exists;
  - the attachments, decoded by Python's email package, are exactly the files
    in CASE_DIR/sent/ (same bytes, compared as a multiset of contents).
Prints the MIME tree with each part's file name, size and SHA-256 (for the
README) and exits non-zero on any mismatch.
"""
import email
import email.policy
import hashlib
import os
import re
import struct
import sys


def client_stream(path, port=25):
    """Bytes the client sent to PORT, in sequence order, without repeats."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, want EN10MB (1)")
    segs = {}
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ethertype = struct.unpack(">H", pkt[12:14])[0]
        ip = pkt[14:]
        if ethertype == 0x0800:
            if ip[9] != 6:
                continue
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:total]
        elif ethertype == 0x86DD:
            if ip[6] != 6:
                continue
            tcp = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
        else:
            continue
        dport = struct.unpack(">H", tcp[2:4])[0]
        seq = struct.unpack(">I", tcp[4:8])[0]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if dport == port and payload:
            segs.setdefault(seq, payload)
    if not segs:
        raise SystemExit(f"{path}: no client data to port {port}")
    out = bytearray()
    first = min(segs)
    for seq in sorted(segs, key=lambda s: (s - first) & 0xFFFFFFFF):
        rel = (seq - first) & 0xFFFFFFFF
        if rel > len(out):
            raise SystemExit(f"{path}: gap in the client stream at {rel}")
        out += segs[seq][len(out) - rel:]
    return bytes(out)


def data_section(stream):
    """The message after DATA, dot-stuffing removed (RFC 5321 4.5.2)."""
    m = re.search(rb"(?im)^data\r\n", stream)
    if not m:
        raise SystemExit("no DATA command in the client stream")
    end = stream.find(b"\r\n.\r\n", m.end() - 2)
    if end < 0:
        raise SystemExit("no <CRLF>.<CRLF> after DATA")
    body = stream[m.end():end + 2]
    return re.sub(rb"(?m)^\.", b"", body)


def main():
    case_dir = sys.argv[1]
    stream = client_stream(os.path.join(case_dir, "input.pcap"))
    msg_bytes = data_section(stream)
    eml = os.path.join(case_dir, "message.eml")
    if os.path.exists(eml):
        with open(eml, "rb") as f:
            if f.read() != msg_bytes:
                raise SystemExit(f"{case_dir}: message on the wire != message.eml")
        print("message on the wire (unstuffed) == message.eml")

    msg = email.message_from_bytes(msg_bytes, policy=email.policy.default)
    print(f"Subject: {msg['Subject']}")
    got = []

    def walk(part, depth):
        info = part.get_content_type()
        cs = part.get_content_charset()
        if cs:
            info += f"; charset={cs}"
        cte = part.get("Content-Transfer-Encoding")
        if cte:
            info += f" ({cte})"
        name = part.get_filename()
        if part.is_multipart():
            print("  " * depth + info)
            for p in part.iter_parts():
                walk(p, depth + 1)
            return
        payload = part.get_payload(decode=True)
        if name is not None or part.get_content_disposition() == "attachment":
            got.append(payload)
            info += (f" attachment filename={name!r} size={len(payload)}"
                     f" sha256={hashlib.sha256(payload).hexdigest()}")
        else:
            info += f" {len(payload)} bytes: {part.get_content()!r}"
        print("  " * depth + info)

    walk(msg, 0)
    sent_dir = os.path.join(case_dir, "sent")
    want = []
    if os.path.isdir(sent_dir):
        for name in sorted(os.listdir(sent_dir)):
            with open(os.path.join(sent_dir, name), "rb") as f:
                want.append(f.read())
    if sorted(got) != sorted(want):
        raise SystemExit(f"{case_dir}: decoded attachments != the files in sent/")
    print(f"{len(got)} attachment(s) == the files in sent/")


if __name__ == "__main__":
    main()
