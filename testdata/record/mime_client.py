#!/usr/bin/python3
"""MIME messages for the message-decoding captures, used by record.sh
(Debian 12 /usr/bin/python3, only the standard library).

  mime_client.py files mime-attachments DIR   write the attachment files the
                                              swaks case sends (DIR/sent/)
  mime_client.py CASE HOST PORT DIR           build CASE's message with the
                                              email package, write its
                                              attachments to DIR/sent/ and the
                                              message to DIR/message.eml, and
                                              send it with smtplib
CASE is one of gb2312-subject, iso2022jp-subject, koi8r-subject,
rfc2231-filename, leading-dot, hostile-filename.

Everything is deterministic: fixed Date, Message-ID and MIME boundaries and
generated attachment bytes, so message.eml and the sent/ files are the same on
every run.  message.eml holds the exact bytes handed to smtplib (CRLF line
ends, before smtplib doubles leading dots on the wire).  Exits non-zero if the
server does not answer as expected.
"""
import email.policy
import os
import smtplib
import struct
import sys
import zlib
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText

HELO_NAME = "client.smtpscope.test"
SENDER = "alice@smtpscope.test"
RCPT = "bob@smtpscope.test"
DATE = "Mon, 01 Jan 2024 12:00:00 +0000"
COMPAT_CRLF = email.policy.compat32.clone(linesep="\r\n")


def common_headers(msg, case):
    msg["From"] = "Alice <alice@smtpscope.test>"
    msg["To"] = RCPT
    msg["Date"] = DATE
    msg["Message-ID"] = f"<{case}@client.smtpscope.test>"


# ------------------------------------------------------------ attachments

def png_bytes(width=32, height=32):
    """A valid 32x32 8-bit RGB PNG with a colour gradient.  The IDAT data is
    zlib level 0 (stored blocks), so the bytes do not depend on the zlib
    version."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)                                  # filter type None
        for x in range(width):
            raw += bytes(((x * 8) & 0xFF, (y * 8) & 0xFF, ((x + y) * 4) & 0xFF))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 0)) + chunk(b"IEND", b""))


NOTES_TXT = (
    "smtpscope test attachment: notes.txt\n"
    "\n"
    "These notes are the second attachment of the mime-attachments capture.\n"
    "The first one is picture.png, a 32x32 RGB gradient.\n"
    "Both are sent base64-encoded by swaks.\n"
).encode("ascii")


def write_sent(case_dir, files):
    """Write {name: bytes} into case_dir/sent/ (replacing what was there)."""
    sent = os.path.join(case_dir, "sent")
    os.makedirs(sent, exist_ok=True)
    for name in os.listdir(sent):
        os.remove(os.path.join(sent, name))
    for name, data in files.items():
        with open(os.path.join(sent, name), "wb") as f:
            f.write(data)


def files_mime_attachments(case_dir):
    write_sent(case_dir, {"picture.png": png_bytes(), "notes.txt": NOTES_TXT})


# ------------------------------------------------------------ messages

def msg_gb2312_subject():
    hcs = Charset("gb2312")
    # Python 3.11 labels gb2312 encoded words with its codec name,
    # =?eucgb2312_cn?b?...?=; make it say gb2312 as mailers do.
    hcs.output_codec = "gb2312"
    cs = Charset("gb2312")
    cs.body_encoding = QP                  # Python's default is base64
    body = (
        "你好！这是一封测试邮件，用于检查 smtpscope 对 GB2312 编码的邮件主题和"
        "quoted-printable 正文的解码；这一行很长，所以编码后会出现软换行。\n"
        "第二行：短。\n"
        "ASCII with an equals sign: a=b, and a line that is long enough in plain "
        "ASCII to need a soft line break too.\n"
    )
    msg = MIMEText(body, "plain", cs)
    common_headers(msg, "gb2312-subject")
    msg["Subject"] = Header("测试邮件：你好", hcs)
    return msg.as_bytes(policy=COMPAT_CRLF), {}, []


def msg_iso2022jp_subject():
    body = (
        "こんにちは。\n"
        "これは smtpscope のテストメールです。\n"
        "本文は ISO-2022-JP（7bit）で送られます。\n"
    )
    msg = MIMEText(body, "plain", "iso-2022-jp")
    common_headers(msg, "iso2022jp-subject")
    msg["Subject"] = Header("テストメール", "iso-2022-jp")
    return msg.as_bytes(policy=COMPAT_CRLF), {}, []


def msg_koi8r_subject():
    hcs = Charset("koi8-r")
    hcs.header_encoding = QP               # Q encoded word (default would be B)
    bcs = Charset("koi8-r")
    bcs.body_encoding = None               # raw 8-bit body
    body = (
        "Здравствуйте!\n"
        "Это тестовое письмо для smtpscope в кодировке KOI8-R.\n"
        "Ёлка, щи, съезд.\n"
    )
    msg = MIMEText(body, "plain", bcs)
    common_headers(msg, "koi8r-subject")
    msg["Subject"] = Header("Тестовое письмо", hcs)
    # 8-bit body: announce it (postfix offers 8BITMIME).
    return msg.as_bytes(policy=COMPAT_CRLF), {}, ["BODY=8BITMIME"]


RFC2231_FILES = [
    # (name sent in the message, file under sent/, content)
    ("报告€.txt", "report-euro.txt",
     "Attachment 1 of rfc2231-filename: its name is \u62a5\u544a\u20ac.txt.\n"),
    ("这是一个非常长的附件文件名用于测试参数续行的编码方式是否被正确解码.txt",
     "long-chinese-name.txt",
     "Attachment 2 of rfc2231-filename: a long UTF-8 name split into "
     "filename*0*= ... filename*4*=.\n"),
    ("a-very-long-ascii-file-name-that-does-not-fit-on-one-header-line-at-all-really.txt",
     "long-ascii-name.txt",
     "Attachment 3 of rfc2231-filename: a long ASCII name split into "
     "filename*0*= and filename*1*=.\n"),
]


def msg_rfc2231_filename():
    msg = EmailMessage(policy=email.policy.SMTP)
    common_headers(msg, "rfc2231-filename")
    msg["Subject"] = "smtpscope test rfc2231-filename"
    msg.set_content("Three text attachments whose file names need RFC 2231 "
                    "parameter encoding.\n")
    sent = {}
    for name, file, text in RFC2231_FILES:
        data = text.encode("utf-8")
        msg.add_attachment(data, maintype="text", subtype="plain", filename=name)
        sent[file] = data
    msg.set_boundary("=_smtpscope_rfc2231-filename_0001")
    return msg.as_bytes(), sent, []


def msg_leading_dot():
    body = (
        ".The first body line starts with a dot.\n"
        "Lines below start with dots. The client doubles a leading dot on the\n"
        "wire (RFC 5321 4.5.2) and the server removes it again.\n"
        ".one leading dot\n"
        "..two leading dots\n"
        "...\n"
        ".\n"
        "> .\n"
        " .\n"
        "Above: three dots, a lone dot, a quoted \"> .\" and a space-dot line.\n"
        "The last line of this body is a lone dot.\n"
        ".\n"
    )
    msg = MIMEText(body, "plain", "us-ascii")
    common_headers(msg, "leading-dot")
    msg["Subject"] = "smtpscope test leading-dot"
    return msg.as_bytes(policy=COMPAT_CRLF), {}, []


HOSTILE_FILES = [
    # (name sent in the message, file under sent/, content type, content)
    ("../../etc/passwd", "etc-passwd.txt", ("application", "octet-stream"),
     b"This attachment is named ../../etc/passwd.\n"
     b"An extractor must not write it outside its output directory.\n"),
    ("con.txt", "con-txt.txt", ("text", "plain"),
     b"This attachment is named con.txt, a reserved device name on Windows.\n"),
    ("\x1b[31mred.txt", "esc-red.txt", ("text", "plain"),
     b"This attachment's name starts with ESC [ 3 1 m (an ANSI colour escape).\n"
     b"Printing the name raw would turn a terminal red.\n"),
]


def msg_hostile_filename():
    msg = EmailMessage(policy=email.policy.SMTP)
    common_headers(msg, "hostile-filename")
    msg["Subject"] = "smtpscope test hostile-filename"
    msg.set_content("Three attachments with file names an extractor must not "
                    "use as they are.\n")
    sent = {}
    for name, file, (maintype, subtype), data in HOSTILE_FILES:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        # Also name= on Content-Type, as many mailers do.
        msg.get_payload()[-1].set_param("name", name)
        sent[file] = data
    msg.set_boundary("=_smtpscope_hostile-filename_0001")
    raw = msg.as_bytes()
    for name, *_ in HOSTILE_FILES:   # the names must be on the wire as they are
        if f'filename="{name}"'.encode() not in raw:
            raise SystemExit(f"filename {name!r} not in the raw message")
    return raw, sent, []


MESSAGES = {
    "gb2312-subject": msg_gb2312_subject,
    "iso2022jp-subject": msg_iso2022jp_subject,
    "koi8r-subject": msg_koi8r_subject,
    "rfc2231-filename": msg_rfc2231_filename,
    "leading-dot": msg_leading_dot,
    "hostile-filename": msg_hostile_filename,
}


def expect(reply, code):
    if reply[0] != code:
        raise SystemExit(f"expected {code}, got {reply!r}")
    return reply


def send(case, host, port, case_dir):
    os.makedirs(case_dir, exist_ok=True)
    data, sent, mail_options = MESSAGES[case]()
    if b"\r\n" not in data or b"\n" in data.replace(b"\r\n", b""):
        raise SystemExit(f"{case}: message lines do not all end in CRLF")
    if sent:
        write_sent(case_dir, sent)
    with open(os.path.join(case_dir, "message.eml"), "wb") as f:
        f.write(data)
    s = smtplib.SMTP(host, port, local_hostname=HELO_NAME)
    expect(s.ehlo(), 250)
    expect(s.mail(SENDER, mail_options), 250)
    expect(s.rcpt(RCPT), 250)
    expect(s.data(data), 250)     # smtplib doubles leading dots here
    expect(s.quit(), 221)


def main():
    if sys.argv[1] == "files":
        {"mime-attachments": files_mime_attachments}[sys.argv[2]](sys.argv[3])
        return
    case, host, port, case_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    send(case, host, port, case_dir)


if __name__ == "__main__":
    main()
