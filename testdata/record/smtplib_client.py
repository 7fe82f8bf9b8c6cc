#!/usr/bin/python3
"""Python smtplib clients used by record.sh (Debian 12 /usr/bin/python3).

  smtplib_client.py helo-plain HOST PORT   HELO (not EHLO), one message, QUIT
  smtplib_client.py bdat       HOST PORT   EHLO, MAIL, RCPT, BDAT chunks, QUIT
  smtplib_client.py rset-multi HOST PORT   aborted transaction, RSET, then a
                                           completed one with a 550 recipient
Each exits non-zero if the server does not answer as expected.
"""
import smtplib
import sys

HELO_NAME = "client.smtpscope.test"
SENDER = "alice@smtpscope.test"


def message(subject, to):
    return (
        "From: Alice <alice@smtpscope.test>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n"
        f"Message-ID: <{subject.split()[-1]}@client.smtpscope.test>\r\n"
        "\r\n"
        f"Hello, this is the smtpscope {subject.split()[-1]} test message.\r\n"
        "It has two lines of body text.\r\n"
    )


def expect(reply, code):
    if reply[0] != code:
        raise SystemExit(f"expected {code}, got {reply!r}")
    return reply


def helo_plain(host, port):
    s = smtplib.SMTP(host, port, local_hostname=HELO_NAME)
    expect(s.helo(), 250)
    # helo_resp is set, so sendmail() will not send EHLO.
    refused = s.sendmail(SENDER, ["bob@smtpscope.test"],
                         message("smtpscope test helo-plain", "bob@smtpscope.test"))
    if refused:
        raise SystemExit(f"refused: {refused}")
    expect(s.quit(), 221)


def bdat(host, port):
    s = smtplib.SMTP(host, port, local_hostname=HELO_NAME)
    expect(s.ehlo(), 250)
    if not s.has_extn("chunking"):
        raise SystemExit("server does not offer CHUNKING")
    expect(s.mail(SENDER), 250)
    expect(s.rcpt("bob@smtpscope.test"), 250)
    data = message("smtpscope test bdat", "bob@smtpscope.test").encode()
    cut = data.index(b"\r\n\r\n") + 4          # headers in chunk 1, body in chunk 2
    chunks = [data[:cut], data[cut:]]
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        cmd = f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode()
        s.send(cmd + chunk)                    # command line and chunk data
        expect(s.getreply(), 250)
    expect(s.quit(), 221)


def rset_multi(host, port):
    s = smtplib.SMTP(host, port, local_hostname=HELO_NAME)
    expect(s.ehlo(), 250)
    # Transaction 1, aborted with RSET.
    expect(s.mail(SENDER), 250)
    expect(s.rcpt("bob@smtpscope.test"), 250)
    expect(s.rset(), 250)
    # Transaction 2, completed; one recipient is refused with 550.
    expect(s.mail(SENDER), 250)
    expect(s.rcpt("carol@smtpscope.test"), 250)
    expect(s.rcpt("nobody@smtpscope.test"), 550)
    expect(s.rcpt("dave@smtpscope.test"), 250)
    expect(s.data(message("smtpscope test rset-multi",
                          "carol@smtpscope.test, dave@smtpscope.test")), 250)
    expect(s.quit(), 221)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"helo-plain": helo_plain, "bdat": bdat, "rset-multi": rset_multi}[mode](host, port)


if __name__ == "__main__":
    main()
