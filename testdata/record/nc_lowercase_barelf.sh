#!/usr/bin/env bash
# "Shell mailer" with lowercase commands and bare LF line ends (\n only),
# piped into netcat-openbsd.  aiosmtpd reads command lines up to LF, so it
# accepts them; inside DATA it only ends the message at CRLF "." CRLF, so the
# body lines are bare LF but the last body line and the final dot use CRLF.
# Usage: nc_lowercase_barelf.sh HOST PORT
set -euo pipefail
host=$1 port=$2
step() { printf '%s\n' "$@"; sleep 0.2; }
{
  sleep 0.2
  step "helo client.smtpscope.test"
  step "mail from:<alice@smtpscope.test>"
  step "rcpt to:<bob@smtpscope.test>"
  step "data"
  printf '%s\n' "From: alice@smtpscope.test" \
                "To: bob@smtpscope.test" \
                "Subject: smtpscope test lowercase-barelf" \
                "" \
                "Body lines end with a bare LF."
  printf '%s\r\n' "Last body line ends with CRLF, then the dot." "."
  sleep 0.2
  step "quit"
  sleep 0.3
} | nc "$host" "$port"
