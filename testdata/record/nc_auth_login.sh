#!/usr/bin/env bash
# "Shell mailer": printf lines (CRLF) into netcat-openbsd, sleeping between
# steps so the server answers each one.  Usage: nc_auth_login.sh HOST PORT PASSWORD
set -euo pipefail
host=$1 port=$2 pass=$3
user_b64=$(printf '%s' whb | base64)
pass_b64=$(printf '%s' "$pass" | base64)
step() { printf '%s\r\n' "$@"; sleep 0.2; }
{
  sleep 0.2
  step "EHLO client.smtpscope.test"
  step "AUTH LOGIN"
  step "$user_b64"
  step "$pass_b64"
  if [ "$pass" = "s3cret-pass" ]; then
    step "MAIL FROM:<alice@smtpscope.test>"
    step "RCPT TO:<bob@smtpscope.test>"
    step "DATA"
    step "From: alice@smtpscope.test" \
         "To: bob@smtpscope.test" \
         "Subject: smtpscope test auth-login-nc" \
         "" \
         "Sent by a shell script through nc after AUTH LOGIN." \
         "."
  fi
  step "QUIT"
  sleep 0.3
} | nc "$host" "$port"
