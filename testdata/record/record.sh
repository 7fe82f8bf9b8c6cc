#!/usr/bin/env bash
# Records the SMTP test captures testdata/<case>/input.pcap from real clients
# talking to real servers (postfix, aiosmtpd) on loopback.
#
#   sudo bash testdata/record/record.sh            # all cases
#   sudo bash testdata/record/record.sh helo-plain bdat   # only these cases
#
# Debian 12, root.  Installs the packages it needs, configures postfix for
# loopback only (see postfix-main.cf), starts two aiosmtpd servers, and for
# each case runs tcpdump with a port filter around one client run.  Re-runnable:
# every run overwrites the input.pcap files it records.  See README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TESTDATA=$(dirname "$HERE")
PY=/usr/bin/python3          # Debian's python3 (has python3-aiosmtpd)
AIO_PORT=587                 # aiosmtpd: AUTH PLAIN LOGIN without TLS
CRAM_PORT=2525               # aiosmtpd: same, plus AUTH CRAM-MD5
ALL_CASES=(helo-plain auth-login-nc multi-rcpt any-sll2 ipv6-swaks
           auth-plain auth-cram-md5 auth-failed pipelining starttls bdat
           rset-multi lowercase-barelf
           mime-attachments gb2312-subject iso2022jp-subject koi8r-subject
           rfc2231-filename leading-dot hostile-filename)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'record.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (tcpdump, postfix)"

WORK=$(mktemp -d)
SERVER_PIDS=()
TCPDUMP_PID=
POSTFIX_WAS_RUNNING=no

cleanup() {
    local rc=$?
    if [[ -n $TCPDUMP_PID ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
    fi
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $POSTFIX_WAS_RUNNING == no ]]; then
        postfix stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- setup

install_packages() {
    local pkgs=(tcpdump postfix swaks libnet-ssleay-perl msmtp python3-aiosmtpd
                netcat-openbsd openssl iproute2) missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    log "installing ${missing[*]}"
    debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string mail.smtpscope.test
EOF
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# wait_listen ADDR PORT: wait (without connecting) until something listens.
wait_listen() {
    local addr=$1 port=$2
    for _ in $(seq 100); do
        ss -Hltn "sport = :$port" | awk '{print $4}' | grep -qxF "$addr:$port" && return
        sleep 0.1
    done
    die "nothing listens on $addr:$port"
}

configure_postfix() {
    log "configuring postfix"
    local line
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        postconf -e "$line"
    done <"$HERE/postfix-main.cf"
    install -m 644 "$HERE/postfix-recipient-access" /etc/postfix/smtpscope_recipient_access
    postmap /etc/postfix/smtpscope_recipient_access
    # Fresh self-signed certificate for STARTTLS on every run.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
        -subj "/CN=mail.smtpscope.test" \
        -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
    install -m 644 "$WORK/tls.crt" /etc/postfix/smtpscope-tls.crt
    install -m 600 "$WORK/tls.key" /etc/postfix/smtpscope-tls.key
    newaliases
    postfix check
    if postfix status >/dev/null 2>&1; then
        POSTFIX_WAS_RUNNING=yes
        postfix stop >/dev/null 2>&1 || true
        sleep 1
    fi
    postfix start >/dev/null 2>&1 || die "postfix start failed"
    wait_listen 127.0.0.1 25
    wait_listen '[::1]' 25
}

start_aiosmtpd() {
    local port=$1; shift
    if ss -Hltn "sport = :$port" | grep -q .; then
        die "port $port is already in use; stop what listens there first"
    fi
    log "starting aiosmtpd on 127.0.0.1:$port $*"
    "$PY" "$HERE/aiosmtpd_server.py" --port "$port" "$@" >"$WORK/aiosmtpd-$port.log" 2>&1 &
    SERVER_PIDS+=("$!")
    wait_listen 127.0.0.1 "$port"
    kill -0 "$!" 2>/dev/null || die "aiosmtpd on port $port died: $(cat "$WORK/aiosmtpd-$port.log")"
}

# ---------------------------------------------------------------- capture

# capture_start CASE IFACE FILTER [extra tcpdump options...]
capture_start() {
    CASE=$1 IFACE=$2 FILTER=$3; shift 3
    CAPFILE="$WORK/$CASE.pcap"
    : >"$WORK/$CASE.tcpdump.log"
    tcpdump -i "$IFACE" -U -s 0 -n "$@" -w "$CAPFILE" "$FILTER" \
        2>"$WORK/$CASE.tcpdump.log" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do
        grep -q 'listening on' "$WORK/$CASE.tcpdump.log" && break
        sleep 0.1
    done
    grep -q 'listening on' "$WORK/$CASE.tcpdump.log" \
        || die "$CASE: tcpdump did not start: $(cat "$WORK/$CASE.tcpdump.log")"
    sleep 0.5
}

# capture_stop: let tcpdump flush, stop it with SIGINT, install the file.
capture_stop() {
    local name=input.pcap
    sleep 1
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
    [[ -s $CAPFILE ]] || die "$CASE: empty capture"
    mkdir -p "$TESTDATA/$CASE"
    install -m 644 "$CAPFILE" "$TESTDATA/$CASE/$name"
    log "$CASE: $(tcpdump -nn -r "$TESTDATA/$CASE/$name" 2>/dev/null | wc -l) packets -> testdata/$CASE/$name"
}

# expect CASE STRING...: the capture's payload must contain each STRING
# (case-insensitive: smtplib sends lowercase verbs).
expect() {
    local c=$1 s; shift
    tcpdump -nn -A -r "$TESTDATA/$c/input.pcap" 2>/dev/null >"$WORK/$c.txt"
    for s in "$@"; do
        grep -qiF -- "$s" "$WORK/$c.txt" || die "$c: capture lacks '$s'"
    done
}

SWAKS_COMMON=(--ehlo client.smtpscope.test --from alice@smtpscope.test
              --header 'Date: Mon, 01 Jan 2024 12:00:00 +0000'
              --header 'X-Mailer: swaks')

# ---------------------------------------------------------------- cases

case_helo-plain() {
    capture_start helo-plain lo 'tcp port 25'
    "$PY" "$HERE/smtplib_client.py" helo-plain 127.0.0.1 25
    capture_stop
    expect helo-plain 'HELO client.smtpscope.test' 'MAIL FROM:<alice@smtpscope.test>' \
        '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
}

case_auth-login-nc() {
    capture_start auth-login-nc lo "tcp port $AIO_PORT"
    "$HERE/nc_auth_login.sh" 127.0.0.1 "$AIO_PORT" s3cret-pass >"$WORK/auth-login-nc.out"
    capture_stop
    expect auth-login-nc 'AUTH LOGIN' '235 2.7.0 Authentication successful' \
        '250 2.0.0 Ok: queued' '221 Bye'
}

case_multi-rcpt() {
    capture_start multi-rcpt lo 'tcp port 25' --time-stamp-precision=nano
    swaks --server 127.0.0.1 --port 25 "${SWAKS_COMMON[@]}" \
        --to bob@smtpscope.test,carol@smtpscope.test,dave@smtpscope.test \
        --header 'Subject: smtpscope test multi-rcpt' \
        --header 'Message-Id: <multi-rcpt@client.smtpscope.test>' \
        --body 'One message to three recipients.' >"$WORK/multi-rcpt.out"
    capture_stop
    expect multi-rcpt 'RCPT TO:<dave@smtpscope.test>' '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
}

case_any-sll2() {
    install -m 600 "$HERE/msmtprc" "$WORK/msmtprc"
    cat >"$WORK/any-sll2.eml" <<'EOF'
From: Alice <alice@smtpscope.test>
To: bob@smtpscope.test
Subject: smtpscope test any-sll2
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <any-sll2@client.smtpscope.test>

Sent by msmtp, captured with tcpdump -i any.
EOF
    capture_start any-sll2 any 'tcp port 25'
    msmtp -C "$WORK/msmtprc" bob@smtpscope.test <"$WORK/any-sll2.eml" >"$WORK/any-sll2.out"
    capture_stop
    [[ $(tcpdump -r "$TESTDATA/any-sll2/input.pcap" -c 1 2>&1 >/dev/null) == *LINUX_SLL2* ]] \
        || die "any-sll2: link type is not LINUX_SLL2"
    expect any-sll2 'EHLO client.smtpscope.test' '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
}

case_ipv6-swaks() {
    capture_start ipv6-swaks lo 'tcp port 25'
    swaks --server ::1 --port 25 "${SWAKS_COMMON[@]}" --to bob@smtpscope.test \
        --header 'Subject: smtpscope test ipv6-swaks' \
        --header 'Message-Id: <ipv6-swaks@client.smtpscope.test>' \
        --body 'Sent over IPv6 loopback.' >"$WORK/ipv6-swaks.out"
    capture_stop
    expect ipv6-swaks '::1.25' '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
}

case_auth-plain() {
    capture_start auth-plain lo "tcp port $AIO_PORT"
    swaks --server 127.0.0.1 --port "$AIO_PORT" "${SWAKS_COMMON[@]}" --to bob@smtpscope.test \
        --auth PLAIN --auth-user whb --auth-password s3cret-pass \
        --header 'Subject: smtpscope test auth-plain' \
        --header 'Message-Id: <auth-plain@client.smtpscope.test>' \
        --body 'Sent after AUTH PLAIN.' >"$WORK/auth-plain.out"
    capture_stop
    expect auth-plain 'AUTH PLAIN' '235 2.7.0 Authentication successful' \
        '250 2.0.0 Ok: queued' '221 Bye'
}

case_auth-cram-md5() {
    capture_start auth-cram-md5 lo "tcp port $CRAM_PORT"
    swaks --server 127.0.0.1 --port "$CRAM_PORT" "${SWAKS_COMMON[@]}" --to bob@smtpscope.test \
        --auth CRAM-MD5 --auth-user whb --auth-password s3cret-pass \
        --header 'Subject: smtpscope test auth-cram-md5' \
        --header 'Message-Id: <auth-cram-md5@client.smtpscope.test>' \
        --body 'Sent after AUTH CRAM-MD5.' >"$WORK/auth-cram-md5.out"
    capture_stop
    expect auth-cram-md5 'AUTH CRAM-MD5' '235 2.7.0 Authentication successful' \
        '250 2.0.0 Ok: queued' '221 Bye'
}

case_auth-failed() {
    capture_start auth-failed lo "tcp port $AIO_PORT"
    # swaks exits non-zero when authentication fails; that is the point.
    if swaks --server 127.0.0.1 --port "$AIO_PORT" "${SWAKS_COMMON[@]}" --to bob@smtpscope.test \
        --auth LOGIN --auth-user whb --auth-password wrong-pass \
        --header 'Subject: smtpscope test auth-failed' \
        --body 'Never sent.' >"$WORK/auth-failed.out" 2>&1; then
        die "auth-failed: swaks succeeded"
    fi
    capture_stop
    expect auth-failed 'AUTH LOGIN' '535 5.7.8 Authentication credentials invalid' 'QUIT' '221 Bye'
}

case_pipelining() {
    capture_start pipelining lo 'tcp port 25'
    swaks --server 127.0.0.1 --port 25 "${SWAKS_COMMON[@]}" --pipeline \
        --to bob@smtpscope.test,carol@smtpscope.test \
        --header 'Subject: smtpscope test pipelining' \
        --header 'Message-Id: <pipelining@client.smtpscope.test>' \
        --body 'MAIL, RCPT, RCPT and DATA sent in one go.' >"$WORK/pipelining.out"
    capture_stop
    expect pipelining 'PIPELINING' 'RCPT TO:<carol@smtpscope.test>' '250 2.0.0 Ok: queued' \
        '221 2.0.0 Bye'
}

case_starttls() {
    capture_start starttls lo 'tcp port 25'
    swaks --server 127.0.0.1 --port 25 "${SWAKS_COMMON[@]}" --tls \
        --to bob@smtpscope.test \
        --header 'Subject: smtpscope test starttls' \
        --header 'Message-Id: <starttls@client.smtpscope.test>' \
        --body 'Sent inside TLS after STARTTLS.' >"$WORK/starttls.out"
    capture_stop
    grep -q '<~  250 2.0.0 Ok: queued' "$WORK/starttls.out" || die "starttls: message not accepted"
    expect starttls 'STARTTLS' '220 2.0.0 Ready to start TLS'
}

case_bdat() {
    capture_start bdat lo 'tcp port 25'
    "$PY" "$HERE/smtplib_client.py" bdat 127.0.0.1 25
    capture_stop
    expect bdat 'CHUNKING' 'LAST' 'bytes queued as' '221 2.0.0 Bye'
}

case_rset-multi() {
    capture_start rset-multi lo 'tcp port 25'
    "$PY" "$HERE/smtplib_client.py" rset-multi 127.0.0.1 25
    capture_stop
    expect rset-multi 'RSET' '550 5.1.1' '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
}

case_lowercase-barelf() {
    capture_start lowercase-barelf lo "tcp port $AIO_PORT"
    "$HERE/nc_lowercase_barelf.sh" 127.0.0.1 "$AIO_PORT" >"$WORK/lowercase-barelf.out"
    capture_stop
    expect lowercase-barelf 'mail from:<alice@smtpscope.test>' '250 2.0.0 Ok: queued' '221 Bye'
}

# ------------------------------------------------- message-decoding cases
# Each sends one MIME message to postfix; check_mime.py then reassembles it
# from the capture and compares it with message.eml and the files in sent/.

case_mime-attachments() {
    local dir=$TESTDATA/mime-attachments
    "$PY" "$HERE/mime_client.py" files mime-attachments "$dir"
    capture_start mime-attachments lo 'tcp port 25'
    swaks --server 127.0.0.1 --port 25 "${SWAKS_COMMON[@]}" --to bob@smtpscope.test \
        --header 'Subject: smtpscope test mime-attachments' \
        --header 'Message-Id: <mime-attachments@client.smtpscope.test>' \
        --body 'A text body and two attachments: picture.png and notes.txt.' \
        --attach-type image/png --attach-name picture.png --attach "@$dir/sent/picture.png" \
        --attach-type text/plain --attach-name notes.txt --attach "@$dir/sent/notes.txt" \
        >"$WORK/mime-attachments.out"
    capture_stop
    expect mime-attachments 'multipart/mixed' 'Content-Type: image/png; name="picture.png"' \
        'filename="notes.txt"' 'Content-Transfer-Encoding: BASE64' \
        '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
    "$PY" "$HERE/check_mime.py" "$dir" | sed "s/^/   /" >&2
}

# mime_case CASE STRING...: mime_client.py sends CASE's message to postfix;
# the capture must show each STRING.
mime_case() {
    local c=$1; shift
    capture_start "$c" lo 'tcp port 25'
    "$PY" "$HERE/mime_client.py" "$c" 127.0.0.1 25 "$TESTDATA/$c"
    capture_stop
    expect "$c" "$@" '250 2.0.0 Ok: queued' '221 2.0.0 Bye'
    "$PY" "$HERE/check_mime.py" "$TESTDATA/$c" | sed "s/^/   /" >&2
}

case_gb2312-subject() {
    mime_case gb2312-subject 'Subject: =?gb2312?b?suLK1NPKvP6jusTjusM=?=' \
        'Content-Transfer-Encoding: quoted-printable' '=D3=' '=C3=D3=DA'
}

case_iso2022jp-subject() {
    mime_case iso2022jp-subject 'Subject: =?iso-2022-jp?b?GyRCJUYlOSVIJWEhPCVrGyhC?=' \
        'charset="iso-2022-jp"' 'Content-Transfer-Encoding: 7bit'
}

case_koi8r-subject() {
    mime_case koi8r-subject 'BODY=8BITMIME' \
        'Subject: =?koi8-r?q?=F4=C5=D3=D4=CF=D7=CF=C5_=D0=C9=D3=D8=CD=CF?=' \
        'Content-Transfer-Encoding: 8bit'
}

case_rfc2231-filename() {
    mime_case rfc2231-filename "filename*=utf-8''%E6%8A%A5%E5%91%8A%E2%82%AC.txt" \
        "filename*0*=utf-8''%E8%BF%99" 'filename*4*=' "filename*0*=us-ascii''" \
        'filename*1*=eader-line'
}

case_leading-dot() {
    mime_case leading-dot '..The first body line starts with a dot.' '..one leading dot' \
        '...two leading dots'
    # The lone "." and "..." lines go out as ".." and "....".
    grep -qx '\.\.' "$WORK/leading-dot.txt" && grep -qx '\.\.\.\.' "$WORK/leading-dot.txt" \
        || die "leading-dot: capture lacks the stuffed '..' and '....' lines"
}

case_hostile-filename() {
    mime_case hostile-filename 'filename="../../etc/passwd"' 'filename="con.txt"' \
        'filename=".[31mred.txt"'
}

# ---------------------------------------------------------------- main

cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=("${ALL_CASES[@]}")
for c in "${cases[@]}"; do
    declare -F "case_$c" >/dev/null || die "unknown case: $c (known: ${ALL_CASES[*]})"
done

install_packages
configure_postfix
start_aiosmtpd "$AIO_PORT"
start_aiosmtpd "$CRAM_PORT" --cram-md5

for c in "${cases[@]}"; do
    log "case $c"
    "case_$c"
done
log "done: ${cases[*]}"
