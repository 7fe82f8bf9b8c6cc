#!/usr/bin/python3
"""Small aiosmtpd SMTP server used by record.sh (Debian 12 python3-aiosmtpd 1.4).

Listens on 127.0.0.1:<port>, answers as mail.smtpscope.test, advertises
AUTH without TLS (auth_require_tls=False) and accepts exactly one account:
user "whb", password "s3cret-pass".  With --cram-md5 it also offers
AUTH CRAM-MD5 (RFC 2195) through a handler method.  Messages are accepted
(250) and thrown away.  Runs until SIGTERM/SIGINT.
"""
import argparse
import base64
import hashlib
import hmac
import signal
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword, auth_mechanism

USER = b"whb"
PASSWORD = b"s3cret-pass"
# Fixed challenge so the recording is reproducible byte for byte.
CRAM_CHALLENGE = b"<1896.697170952@mail.smtpscope.test>"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        ok = auth_data.login == USER and auth_data.password == PASSWORD
        return AuthResult(success=ok, handled=False)
    return AuthResult(success=False, handled=False)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: queued"


class CramHandler(Handler):
    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server, args):
        if len(args) != 1:
            await server.push("501 5.5.4 Syntax: AUTH CRAM-MD5")
            return AuthResult(success=False, handled=True)
        resp = await server.challenge_auth(CRAM_CHALLENGE)
        if not isinstance(resp, bytes):
            return AuthResult(success=False, handled=True)
        try:
            user, digest = resp.split(b" ", 1)
        except ValueError:
            return AuthResult(success=False)
        want = hmac.new(PASSWORD, CRAM_CHALLENGE, hashlib.md5).hexdigest().encode()
        ok = user == USER and hmac.compare_digest(digest.strip().lower(), want)
        return AuthResult(success=ok, auth_data=user)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cram-md5", action="store_true")
    a = ap.parse_args()
    handler = CramHandler() if a.cram_md5 else Handler()
    ctl = Controller(
        handler,
        hostname="127.0.0.1",
        port=a.port,
        server_hostname="mail.smtpscope.test",
        authenticator=authenticator,
        auth_require_tls=False,
    )
    ctl.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
