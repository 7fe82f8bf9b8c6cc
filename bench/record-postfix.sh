#!/usr/bin/env bash
# bench/record-postfix.sh — record a real capture of Postfix under load, for the benchmark.
#
#   sudo bench/record-postfix.sh [--force] [SIZE]      (SIZE: 50M, 1G, ...; default 1G; K/M/G = 10^3/10^6/10^9)
#
# Starts a private Postfix instance (its own config, queue and log under bench/out/postfix/; the
# machine's /etc/postfix is neither used nor changed) listening on ADDR:PORT (default 127.0.0.25:25),
# which accepts everything from loopback and delivers it to the discard transport. While tcpdump
# records that address and port on lo, smtp-source and swaks send it mail in rounds of varied load
# until the capture reaches SIZE:
#   - bursts of short sessions, one small message each, 10-60 in parallel (smtp-source -s -m)
#   - long sessions sending many messages each (smtp-source -d), 1-5 recipients
#   - large messages (100-400 kB) to up to 20 recipients
#   - MIME messages with base64 attachments (smtp-source -F)
#   - sessions without HELO or message headers (smtp-source -o)
#   - swaks with PIPELINING, attachments, and a rejected recipient (550) beside accepted ones;
#     swaks sending a text message, a probe quitting after EHLO, STARTTLS (when openssl is there)
# The result is bench/out/postfix.pcap. It is big, so it is not committed (bench/out/ is ignored).
#
# During the recording lo gets the MTU of an Ethernet (1500) and no segmentation offload
# (gso_max_segs 1), so the segments are at most 1448 payload bytes as on a real network rather
# than the up-to-64 KB segments of loopback; both are restored on exit.
#
# Environment: ADDR (127.0.0.25), PORT (25), MTU (1500; "keep" leaves lo alone).
# Needs root (tcpdump on lo, a Postfix master, ip link set lo).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=bench/out/postfix.pcap
inst=$root/bench/out/postfix # the private Postfix instance
addr=${ADDR:-127.0.0.25}
port=${PORT:-25}
mtu=${MTU:-1500}
domain=bench.smtpscope.test

say() { echo "record-postfix: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

force=0
target=1G
for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option $arg (usage: bench/record-postfix.sh [--force] [SIZE])" ;;
	*) target=$arg ;;
	esac
done

# bytes SIZE: 50M -> 50000000.
bytes() {
	local n=${1%[kKmMgG]} unit=${1#"${1%[kKmMgG]}"}
	[[ $n =~ ^[0-9]+$ ]] || die "size $1: want a number with an optional K, M or G"
	case $unit in
	k | K) echo $((n * 1000)) ;;
	m | M) echo $((n * 1000 * 1000)) ;;
	g | G) echo $((n * 1000 * 1000 * 1000)) ;;
	*) echo "$n" ;;
	esac
}
target_bytes=$(bytes "$target")

# summary prints where the capture is and what is in it.
summary() {
	local size packets sessions
	size=$(stat -c %s "$out")
	packets=$(tcpdump -nn -r "$out" 2>/dev/null | wc -l)
	sessions=$(tcpdump -nn -r "$out" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | wc -l)
	echo "capture: $out"
	echo "size:    $size bytes ($((size / 1000000)) MB)"
	echo "packets: $packets"
	echo "sessions (SYNs): $sessions"
	echo "check:   go run ./cmd/smtpscope -r $out | tail -1"
}

if [[ -s $out && $force == 0 ]]; then
	say "$out exists; reusing it (--force records a new one)"
	command -v tcpdump >/dev/null || die "tcpdump not found (apt-get install tcpdump)"
	summary
	exit 0
fi

# --- preconditions ---------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || die "must run as root (tcpdump on lo, a private Postfix master, ip link set lo); try: sudo $0 $*"
for tool in tcpdump postfix postconf smtp-source swaks ip base64 stat; do
	command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null ||
		die "$tool not found (on Debian: apt-get install postfix tcpdump swaks iproute2)"
done
export PATH=$PATH:/usr/sbin:/sbin
daemon_dir=$(postconf -dh daemon_directory)
[[ -x $daemon_dir/master ]] || die "Postfix daemons not found in $daemon_dir"
if (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
	die "something already listens on $addr:$port; stop it or choose ADDR=/PORT="
fi

# --- cleanup on exit ---------------------------------------------------------------------------
tcpdump_pid=
load_pids=()
lo_mtu=$(cat /sys/class/net/lo/mtu)
lo_segs=$(ip -d link show lo | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
postfix_started=0
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	if [[ -n $tcpdump_pid ]]; then
		kill "$tcpdump_pid" 2>/dev/null || true
		wait "$tcpdump_pid" 2>/dev/null || true
	fi
	rm -f "$out.part"
	if [[ $postfix_started == 1 ]]; then
		pf stop >/dev/null 2>&1 || pf abort >/dev/null 2>&1 || true
	fi
	if [[ $mtu != keep ]]; then
		ip link set lo mtu "$lo_mtu" || say "warning: could not restore lo mtu $lo_mtu"
		[[ -z $lo_segs ]] || ip link set lo gso_max_segs "$lo_segs" || say "warning: could not restore lo gso_max_segs $lo_segs"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted; cleaning up" && exit 130' INT TERM

# --- the private Postfix instance --------------------------------------------------------------
# pf ARGS runs postfix -c INSTANCE ARGS. Postfix prints its errors only on a terminal (else to
# syslog), so give it one with script(1) when there is.
pf() {
	if command -v script >/dev/null; then
		script -qec "$(printf '%q ' postfix -c "$inst/etc" "$@")" /dev/null
	else
		postfix -c "$inst/etc" "$@"
	fi
}
rm -rf "$inst"
mkdir -p "$inst/etc" "$inst/queue" "$inst/data" "$inst/mime"
cat >"$inst/etc/main.cf" <<EOF
# Private Postfix instance of bench/record-postfix.sh: accepts all mail from loopback on
# $addr:$port and discards it. Written by the script on every run.
compatibility_level = 3.6
config_directory = $inst/etc
queue_directory = $inst/queue
data_directory = $inst/data
daemon_directory = $daemon_dir
meta_directory = $(postconf -dh meta_directory)
shlib_directory = $(postconf -dh shlib_directory)
maillog_file = $inst/postfix.log
maillog_file_prefixes = $inst
myhostname = mx.$domain
mydomain = $domain
myorigin = \$mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP \$mail_name
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access inline:{ {reject.$domain = 550 5.1.1 User unknown} }
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard:bench
relay_transport = discard:bench
local_transport = discard:bench
message_size_limit = 52428800
default_process_limit = 200
biff = no
EOF
cat >"$inst/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$addr:$port inet n       -       n       -       200     smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
chown "$(postconf -dh mail_owner)" "$inst/data"
if command -v openssl >/dev/null; then # for a few STARTTLS sessions
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mx.$domain" \
		-keyout "$inst/etc/tls.key" -out "$inst/etc/tls.crt" 2>/dev/null ||
		die "openssl could not make a certificate"
	printf '%s\n' "smtpd_tls_security_level = may" "smtpd_tls_cert_file = $inst/etc/tls.crt" \
		"smtpd_tls_key_file = $inst/etc/tls.key" >>"$inst/etc/main.cf"
	echo "tlsmgr     unix  -       -       n       1000?   1       tlsmgr" >>"$inst/etc/master.cf"
else
	say "openssl not found: no STARTTLS sessions"
fi
pf check >"$inst/check.log" 2>&1 || { cat "$inst/check.log" >&2; die "postfix check failed for the instance in bench/out/postfix/"; }
pf start >"$inst/start.log" 2>&1 || { cat "$inst/start.log" >&2; die "the private Postfix instance did not start"; }
postfix_started=1
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && break
	sleep 0.1
done
(exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null || die "Postfix does not listen on $addr:$port (see bench/out/postfix/postfix.log)"
say "Postfix $(postconf -h mail_version) listening on $addr:$port (instance in bench/out/postfix/)"

# --- MIME messages with attachments, for smtp-source -F and swaks --attach ---------------------
i=0
for size in 3000 20000 60000 150000 300000 600000; do
	i=$((i + 1))
	head -c "$size" /dev/urandom >"$inst/mime/attachment$i.bin"
	{
		echo "From: Sender $i <sender$i@client.$domain>"
		echo "To: <rcpt$i@$domain>"
		echo "Subject: report $i with an attachment of $size bytes"
		echo "Date: $(date -R)"
		echo "Message-ID: <mime$i.$(date +%s)@client.$domain>"
		echo "MIME-Version: 1.0"
		echo "Content-Type: multipart/mixed; boundary=\"b1_$i\""
		echo
		echo "This is a multi-part message in MIME format."
		echo
		echo "--b1_$i"
		echo "Content-Type: multipart/alternative; boundary=\"b2_$i\""
		echo
		echo "--b2_$i"
		echo "Content-Type: text/plain; charset=utf-8"
		echo "Content-Transfer-Encoding: 8bit"
		echo
		echo "Hello, the report number $i is attached. Grüße."
		echo ".a line starting with a dot, to be dot-stuffed"
		echo
		echo "--b2_$i"
		echo "Content-Type: text/html; charset=utf-8"
		echo "Content-Transfer-Encoding: quoted-printable"
		echo
		echo "<html><body><p>Hello, the report number $i is attached. Gr=C3=BC=C3=9Fe.</p></body></html>"
		echo
		echo "--b2_$i--"
		echo
		echo "--b1_$i"
		echo "Content-Type: application/pdf; name=\"report$i.pdf\""
		echo "Content-Disposition: attachment; filename=\"report$i.pdf\""
		echo "Content-Transfer-Encoding: base64"
		echo
		base64 -w 76 "$inst/mime/attachment$i.bin"
		echo
		echo "--b1_$i--"
	} >"$inst/mime/message$i.eml"
done

# --- lo like an Ethernet -------------------------------------------------------------------------
if [[ $mtu != keep ]]; then
	ip link set lo mtu "$mtu" || die "could not set lo mtu $mtu (MTU=keep records with lo as it is)"
	ip link set lo gso_max_segs 1 || say "warning: could not set lo gso_max_segs 1: segments may be larger than the MTU"
	say "lo: mtu $mtu, gso_max_segs 1 during the recording (was mtu $lo_mtu, gso_max_segs ${lo_segs:-?})"
else
	say "lo: left at mtu $lo_mtu: segments up to 64 KB, unlike a real network"
fi

# --- record ----------------------------------------------------------------------------------
rm -f "$out.part"
: >"$inst/tcpdump.log"
tcpdump -i lo -s 0 -B 262144 -Z root -nn -w "$out.part" "tcp and host $addr and port $port" 2>"$inst/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 100); do
	grep -q "listening on" "$inst/tcpdump.log" && break
	kill -0 "$tcpdump_pid" 2>/dev/null || { cat "$inst/tcpdump.log" >&2; die "tcpdump failed"; }
	sleep 0.1
done
grep -q "listening on" "$inst/tcpdump.log" || die "tcpdump did not start listening"

server=$addr:$port
RANDOM=1 # the same mix of loads on every run
# src runs smtp-source against the instance in the background, logging to smtp-source.log.
src() {
	smtp-source -M "client.$domain" -f "sender@client.$domain" "$@" "$server" >>"$inst/smtp-source.log" 2>&1 &
	load_pids+=($!)
}
# mail runs swaks against the instance in the background; mail -x expects the server to refuse.
mail() {
	local refused=0
	[[ $1 != -x ]] || { refused=1 && shift; }
	(
		status=0
		swaks --server "$addr" --port "$port" --helo "client.$domain" --from "user@client.$domain" \
			--silent 2 "$@" >>"$inst/swaks.log" 2>&1 || status=$?
		((refused ? status != 0 : status == 0))
	) &
	load_pids+=($!)
}
rand() { echo $(($1 + RANDOM % ($2 - $1 + 1))); } # rand LO HI: an integer in [LO, HI]

round=0
failed=0
started=$SECONDS
while (($(stat -c %s "$out.part") < target_bytes)); do
	round=$((round + 1))
	load_pids=()
	# bursts of short sessions: one small message per connection
	src -s "$(rand 10 60)" -m "$(rand 100 400)" -l "$(rand 500 8000)" -r "$(rand 1 3)" -N -t "user@$domain" -S "burst $round"
	# long sessions: many messages over each connection
	src -d -s "$(rand 2 6)" -m "$(rand 20 80)" -l "$(rand 5000 60000)" -r "$(rand 1 5)" -t "list@$domain" -S "batch $round"
	# large messages to many recipients
	src -s "$(rand 1 4)" -m "$(rand 4 12)" -l "$(rand 100000 400000)" -r "$(rand 1 20)" -N -t "team@$domain"
	# MIME messages with attachments, some sessions sending several
	k=$(rand 1 6)
	src -d -s "$(rand 1 3)" -m "$(rand 3 12)" -F "$inst/mime/message$k.eml" -t "rcpt$k@$domain"
	# old clients: no HELO, no message headers
	src -o -s 2 -m "$(rand 2 10)" -l "$(rand 200 3000)" -t "legacy@$domain"
	# PIPELINING, attachments, and a recipient the server rejects beside the accepted ones
	for _ in 1 2 3; do
		k=$(rand 1 6)
		mail --pipeline --to "a$k@$domain,b$k@reject.$domain,c$k@$domain" \
			--header "Subject: pipelined $round" --attach-type application/octet-stream --attach "@$inst/mime/attachment$k.bin"
	done
	mail -x --to "nobody@reject.$domain"
	# plain ESMTP with a larger text body; a monitoring probe that quits after EHLO; STARTTLS
	mail --to "support@$domain" --header "Subject: question $round" --body "@$inst/mime/message$(rand 1 3).eml"
	mail --to "postmaster@$domain" --quit-after EHLO
	[[ ! -s $inst/etc/tls.crt ]] || mail --tls --to "secure@$domain" --attach "@$inst/mime/attachment$(rand 1 4).bin"
	for pid in "${load_pids[@]}"; do
		wait "$pid" || failed=$((failed + 1))
	done
	load_pids=()
	((failed == 0)) || die "$failed load generators failed in round $round (see bench/out/postfix/smtp-source.log, swaks.log)"
	printf 'record-postfix: round %d: %d MB of %d MB, %ds\n' "$round" $(($(stat -c %s "$out.part") / 1000000)) $((target_bytes / 1000000)) $((SECONDS - started)) >&2
done

sleep 1 # the last ACKs and FINs
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
tcpdump_pid=
cat "$inst/tcpdump.log" >&2
dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by \(kernel\|interface\).*/\1/p' "$inst/tcpdump.log" | awk '{s += $1} END {print s + 0}')
((dropped == 0)) || die "tcpdump dropped $dropped packets: the capture is incomplete, not kept"
mv "$out.part" "$out"
say "done in $((SECONDS - started))s, $round rounds"
summary
