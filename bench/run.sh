#!/usr/bin/env bash
# bench/run.sh — smtpscope's throughput and memory against the floor program and tshark.
#
#   bench/run.sh                 the table for bench/out/big.pcap (and bench/out/postfix.pcap)
#   RUNS=5 bench/run.sh          best of 5 runs instead of 3
#   SCALING=1 bench/run.sh       also the scaling section (long): bench/run.sh --scaling does the same
#
# Builds smtpscope, bench/floor and benchgen into bench/out/bin, generates bench/out/big.pcap
# (about 1 GB, kept for later runs), and prints for each capture: seconds, MB/s (capture file
# bytes / s, MB = 10^6 bytes), packets/s, peak RSS, smtpscope's speed as a share of the floor's,
# and how many times faster than tshark it is. See bench/README.md.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
out=bench/out
bin=$out/bin
runs=${RUNS:-3}
scaling=${SCALING:-0}
for arg in "$@"; do
	case $arg in
	--scaling) scaling=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run.sh: unknown argument $arg (usage: [RUNS=N] [SCALING=1] bench/run.sh [--scaling])" >&2
		exit 2
		;;
	esac
done

die() {
	echo "run.sh: error: $*" >&2
	exit 1
}
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS=$runs: want a positive number"
command -v go >/dev/null || die "go not found"
if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
	die "/usr/bin/time (GNU time) not found; it measures peak RSS: apt-get install time (Debian/Ubuntu), dnf install time"
fi
tshark=$(command -v tshark || true)
mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the machine ---------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
echo "go:      $(go version)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "runs:    best of $runs (tshark: once)"

# --- build -----------------------------------------------------------------------------------------
go build -o "$bin/" ./cmd/smtpscope ./bench/floor ./internal/benchgen || die "go build failed"
smtpscope=$bin/smtpscope
floor=$bin/floor
benchgen=$bin/benchgen
has_summary=0
"$smtpscope" --help 2>&1 | grep -q -- --summary && has_summary=1

# --- measuring -------------------------------------------------------------------------------------
# timed CMD...: runs CMD with its output to /dev/null under GNU time; sets secs (wall clock) and
# rss (peak RSS in KB); dies when CMD fails.
timed() {
	local start end
	start=$EPOCHREALTIME
	/usr/bin/time -v -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" ||
		{ cat "$tmp/stderr" "$tmp/time" >&2; die "failed: $*"; }
	end=$EPOCHREALTIME
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
	rss=$(awk '/Maximum resident set size/ { print $NF }' "$tmp/time")
}
# best CMD...: timed, $runs times; keeps the fastest time and the largest peak RSS.
best() {
	local b='' r=0
	for _ in $(seq "$runs"); do
		timed "$@"
		if [[ -z $b ]] || awk -v s="$secs" -v b="$b" 'BEGIN { exit !(s < b) }'; then b=$secs; fi
		((rss > r)) && r=$rss
	done
	secs=$b rss=$r
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }

# --- the table ---------------------------------------------------------------------------------
# cols NAME SECONDS MB/S PACKETS/S RSS VS-FLOOR X-TSHARK prints a line of the table.
cols() { printf '  %-20s %8s %9s %11s %12s %9s %9s\n' "$@"; }
# row NAME: prints a row for the last measurement (secs, rss) of a capture of $size bytes and
# $packets packets; remembers floor's and tshark's MB/s for the ratios.
row() {
	local name=$1 speed ratio=- times=
	speed=$(mbps "$size" "$secs")
	case $name in
	floor) floor_speed=$speed ;;
	tshark) tshark_speed=$speed ;;
	esac
	[[ -z $floor_speed ]] || ratio=$(awk -v a="$speed" -v b="$floor_speed" 'BEGIN { printf "%.1f%%", 100 * a / b }')
	if [[ $name == smtpscope* && -n $tshark_speed ]]; then
		times=$(awk -v a="$speed" -v b="$tshark_speed" 'BEGIN { printf "%.1f×", a / b }')
	fi
	cols "$name" "$secs" "$speed" \
		"$(awk -v p="$packets" -v s="$secs" 'BEGIN { printf "%.0f", p / s }')" \
		"$(awk -v k="$rss" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')" "$ratio" "$times"
}

# table FILE: benchmarks the tools on FILE.
table() {
	local file=$1 counts
	size=$(stat -c %s "$file")
	cat "$file" >/dev/null # warm the page cache
	counts=$("$floor" "$file") || die "$floor $file failed"
	packets=${counts%% packets*}
	floor_speed='' tshark_speed=''
	echo
	echo "$file: $(awk -v b="$size" 'BEGIN { printf "%.0f", b / 1e6 }') MB; floor: $counts"
	cols tool seconds MB/s packets/s "peak RSS MB" "vs floor" "× tshark"
	best "$floor" "$file"
	row floor
	best "$floor" -copy "$file"
	row "floor -copy"
	local copy_speed
	copy_speed=$(mbps "$size" "$secs")
	# tshark before smtpscope, so that the smtpscope rows can show × tshark; printed last.
	local tshark_row
	if [[ -n $tshark ]]; then
		timed "$tshark" -n -r "$file" -Y smtp -T fields -e frame.number -e smtp.req.command -e smtp.response.code
		tshark_row=$(row tshark)
		tshark_speed=$(mbps "$size" "$secs") # row ran in a subshell
	fi
	best "$smtpscope" -r "$file" --json
	row "smtpscope --json"
	local json_speed
	json_speed=$(mbps "$size" "$secs")
	if ((has_summary)); then
		best "$smtpscope" -r "$file" --summary
		row "smtpscope --summary"
	else
		printf '  %-20s %s\n' "smtpscope --summary" "n/a (not implemented yet)"
	fi
	best "$smtpscope" -r "$file"
	row smtpscope
	if [[ -n $tshark ]]; then
		echo "$tshark_row"
	else
		printf '  %-20s %s\n' tshark "n/a (tshark not installed)"
	fi
	echo "  smtpscope --json: $(awk -v a="$json_speed" -v b="$copy_speed" 'BEGIN { printf "%.1f%%", 100 * a / b }') of floor -copy"
}

big=$out/big.pcap
if [[ ! -s $big ]]; then
	echo
	echo "generating $big: benchgen -bytes 1G -o $big"
	"$benchgen" -bytes 1G -o "$big.part" || die "benchgen failed"
	mv "$big.part" "$big"
else
	echo
	echo "reusing $big (delete it to generate it again)"
fi
echo
echo "Throughput: best of $runs runs reading the file from the page cache, output to /dev/null."
echo "MB = 10^6 bytes of capture file. vs floor: MB/s as a share of the floor program's (bench/floor)."
echo "floor -copy: the same program reading with pcapgo's ReadPacketData (a new slice per packet) instead of zero-copy."
if [[ -n $tshark ]]; then
	echo "tshark: $("$tshark" --version 2>/dev/null | head -1 | sed 's/ (Git .*//'), once, decoding SMTP with TCP reassembly (its default):"
	echo "  tshark -n -r FILE -Y smtp -T fields -e frame.number -e smtp.req.command -e smtp.response.code > /dev/null"
fi
table "$big"
if [[ -s $out/postfix.pcap ]]; then
	table "$out/postfix.pcap"
else
	echo
	echo "$out/postfix.pcap: not there; record a real Postfix capture with: sudo bench/record-postfix.sh 1G"
fi

((scaling)) || exit 0

# --- scaling -------------------------------------------------------------------------------------
failed=0
# notes prints what smtpscope said on stderr in the last scaling run (such as evicted connections).
notes() { sed 's/^/           /' "$tmp/stderr"; }
echo
echo "Scaling: streamed captures (benchgen | smtpscope -r - --json > /dev/null), one run each."
echo "generator alone: benchgen | wc -c, to show whether it limits the stream. RSS: smtpscope's only."
printf '  %-6s %9s %10s %9s %15s %12s %7s\n' size MB "gen MB/s" seconds "smtpscope MB/s" "peak RSS MB" status
for want in 100M 1G 10G; do
	gen=("$benchgen" -bytes "$want")
	start=$EPOCHREALTIME
	bytes=$("${gen[@]}" | wc -c) || die "${gen[*]} failed"
	end=$EPOCHREALTIME
	gen_speed=$(awk -v b="$bytes" -v a="$start" -v e="$end" 'BEGIN { printf "%.1f", b / 1e6 / (e - a) }')
	status=0
	start=$EPOCHREALTIME
	"${gen[@]}" | /usr/bin/time -v -o "$tmp/time" "$smtpscope" -r - --json >/dev/null 2>"$tmp/stderr" || status=$?
	end=$EPOCHREALTIME
	((status == 0)) || { failed=1 && cat "$tmp/stderr" >&2; }
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	rss=$(awk '/Maximum resident set size/ { print $NF }' "$tmp/time")
	printf '  %-6s %9.0f %10s %9s %15s %12.1f %7s\n' "$want" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" \
		"$gen_speed" "$secs" "$(mbps "$bytes" "$secs")" "$(awk -v k="$rss" 'BEGIN { print k * 1024 / 1e6 }')" "$status"
	notes
done

echo
echo "Open connections: benchgen -open N -o $out/open-N.pcap (kept), then smtpscope -r FILE --json | wc -l, one run each."
echo "per conn: (peak RSS - peak RSS at N=1) / N. 1000000+: with --max-connections 1000000."
printf '  %-8s %9s %9s %9s %12s %12s %10s %7s\n' N MB seconds MB/s "peak RSS MB" "per conn KB" sessions status
rss1=
# The last row lifts the cap on tracked connections (--max-connections, default 100,000) to see
# what a million open connections cost; the one before shows what the cap does.
for n in 1 1000 10000 100000 1000000 1000000+; do
	file=$out/open-${n%+}.pcap
	args=()
	[[ $n == *+ ]] && args=(--max-connections 1000000)
	if [[ ! -s $file ]]; then
		"$benchgen" -open "${n%+}" -o "$file.part" || die "benchgen -open ${n%+} failed"
		mv "$file.part" "$file"
	fi
	size=$(stat -c %s "$file")
	cat "$file" >/dev/null
	status=0
	start=$EPOCHREALTIME
	sessions=$(/usr/bin/time -v -o "$tmp/time" "$smtpscope" -r "$file" --json "${args[@]}" 2>"$tmp/stderr" | wc -l) || status=$?
	end=$EPOCHREALTIME
	((status == 0)) || { failed=1 && cat "$tmp/stderr" >&2; }
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	rss=$(awk '/Maximum resident set size/ { print $NF }' "$tmp/time")
	[[ -n $rss1 ]] || rss1=$rss
	printf '  %-8s %9.0f %9s %9s %12.1f %12.2f %10s %7s\n' "$n" "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')" \
		"$secs" "$(mbps "$size" "$secs")" "$(awk -v k="$rss" 'BEGIN { print k * 1024 / 1e6 }')" \
		"$(awk -v r="$rss" -v r1="$rss1" -v n="${n%+}" 'BEGIN { print (r - r1) * 1024 / 1000 / n }')" "$sessions" "$status"
	notes
done
((failed == 0)) || die "smtpscope failed in the scaling section (status column)"
