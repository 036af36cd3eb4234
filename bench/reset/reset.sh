#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# reset.sh measures how fast a blocker ends a live TCP connection in the
# lab, and at what cost: for an interactive connection (16 bytes every
# 100 ms, echoed) and a bulk transfer, RESET_RUNS runs each (default 5), it
# records the time from the first packet after the block until both
# endpoints' sockets report the reset, the RSTs the sensor sent, the
# payload that still got through and the challenge ACKs the RSTs provoked.
#
# Blockers: tcpkill (dsniff), as the baseline, and softips once its daemon
# is on this branch. Everything runs in a private copy of scripts/lab.sh
# whose namespaces are named sipb-* (not the shared sips-*), removed by
# name at the end. Traffic stays between the lab's namespaces.
#
# Usage: bench/reset/reset.sh ROWS.json   (as root)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
readonly HERE ROOT
readonly RUNS=${RESET_RUNS:-5}
readonly CLIENT=198.51.100.7 SERVER=203.0.113.10
readonly NS_C=sipb-client NS_S=sipb-server NS_M=sipb-sensor
# tcpkill refuses an interface without an IPv4 address (pcap_lookupnet);
# this /32 on the mirror port of the private lab gives it one.
readonly TCPKILL_MON_ADDR=203.0.113.254/32

log() { printf 'reset: %s\n' "$*" >&2; }

OUT=${1:?usage: reset.sh ROWS.json}
WORK=$(mktemp -d /tmp/softips-reset.XXXXXX)
PIDS=()
SKIPS=()
LAB_UP=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if ((LAB_UP)); then bash "$WORK/lab.sh" down >/dev/null 2>&1 || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# summarize writes the rows from the runs so far and the skip reasons.
summarize() {
	local args=(summarize -runs "$WORK/runs.jsonl" -out "$OUT") s
	for s in "${SKIPS[@]}"; do args+=(-skip "$s"); done
	"$WORK/analyze" "${args[@]}"
}

# wait_for FILE TEXT SECONDS waits until FILE contains TEXT.
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# alive PID... succeeds while any of the processes runs.
alive() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

bg() { "$@" & PIDS+=($!); }

# capture NS IF FILE PORT [DIR] starts tcpdump and waits until it listens.
capture() {
	local ns=$1 dev=$2 file=$3 port=$4 dir=${5:-inout}
	bg ip netns exec "$ns" timeout 20 tcpdump -i "$dev" -Q "$dir" -s 96 -B 16384 -U -n \
		-w "$file" "tcp port $port" 2>"$file.err"
	wait_for "$file.err" "listening on" 3 || log "tcpdump on $ns/$dev did not start"
}

start_tcpkill() {
	local port=$1 dir=$2
	bg ip netns exec "$NS_M" timeout 15 tcpkill -i mon0 -9 host "$CLIENT" and port "$port" \
		2>"$dir/blocker.err"
	wait_for "$dir/blocker.err" "listening on" 5
}

start_softips() {
	local port=$1 dir=$2
	"$SOFTIPS_BLOCK" "$port" "$dir"
}

# one_run TOOL MODE N: one connection, blocked one second after it starts.
one_run() {
	local tool=$1 mode=$2 n=$3 port=$((8100 + RUN_NO)) dir=$WORK/run$RUN_NO
	RUN_NO=$((RUN_NO + 1))
	mkdir -p "$dir"
	local start_pids=${#PIDS[@]}
	capture "$NS_C" net0 "$dir/c.pcap" "$port"
	capture "$NS_S" net0 "$dir/s.pcap" "$port"
	capture "$NS_M" mgmt0 "$dir/m.pcap" "$port" out
	bg ip netns exec "$NS_S" timeout 10 "$WORK/endpoint" server "$SERVER:$port" -max 8s \
		>"$dir/s.json" 2>"$dir/s.err"
	local spid=$!
	wait_for "$dir/s.err" listening 3 || log "server did not listen"
	bg ip netns exec "$NS_C" timeout 10 "$WORK/endpoint" client "$SERVER:$port" "$mode" \
		-max 6s >"$dir/c.json" 2>"$dir/c.err"
	local cpid=$!
	sleep 1
	if ! "start_$tool" "$port" "$dir"; then
		log "$tool run $n ($mode): the blocker did not start: $(head -c 300 "$dir/blocker.err")"
	fi
	local block_ns
	block_ns=$(date +%s%N)
	local i=0
	while ((i < 60)) && alive "$cpid" "$spid"; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	local p
	for p in "${PIDS[@]:start_pids}"; do kill "$p" 2>/dev/null || true; done
	wait "${PIDS[@]:start_pids}" 2>/dev/null || true
	PIDS=("${PIDS[@]:0:start_pids}")
	"$WORK/analyze" run -tool "$tool" -mode "$mode" -block-ns "$block_ns" -client "$CLIENT" \
		-server "$SERVER:$port" -ccap "$dir/c.pcap" -scap "$dir/s.pcap" -mcap "$dir/m.pcap" \
		-cend "$dir/c.json" -send "$dir/s.json" | tee -a "$WORK/runs.jsonl" >&2
	rm -rf "$dir"
}

build() {
	(cd "$ROOT" && go build -o "$WORK/" ./bench/reset/endpoint ./bench/reset/analyze)
}

lab_up() {
	local src=$ROOT/scripts/lab.sh
	if [[ ! -f $src ]]; then
		SKIPS+=("tcpkill=not yet available: scripts/lab.sh is not on this branch"
			"softips=not yet available: scripts/lab.sh is not on this branch")
		return 1
	fi
	sed 's/sips-/sipb-/g' "$src" >"$WORK/lab.sh"
	if grep -q 'sips-' "$WORK/lab.sh"; then
		log "the private lab copy still names shared namespaces; not running"
		return 1
	fi
	LAB_UP=1
	bash "$WORK/lab.sh" up
	ip -n "$NS_M" addr replace "$TCPKILL_MON_ADDR" dev mon0
}

softips_ready() {
	if [[ ! -d $ROOT/cmd/softips ]]; then
		SKIPS+=("softips=not yet available: cmd/softips (the daemon) is not on this branch")
		return 1
	fi
	if [[ ! -x $HERE/softips-block.sh ]]; then
		SKIPS+=("softips=not yet available: bench/reset/softips-block.sh not written yet")
		return 1
	fi
	SOFTIPS_BLOCK=$HERE/softips-block.sh
}

main() {
	[[ $(id -u) -eq 0 ]] || { log "needs root"; exit 1; }
	build
	RUN_NO=0
	: >"$WORK/runs.jsonl"
	if lab_up; then
		local tools=(tcpkill) tool mode n
		command -v tcpkill >/dev/null || { tools=(); SKIPS+=("tcpkill=tcpkill not installed (dsniff)"); }
		softips_ready && tools+=(softips)
		for tool in "${tools[@]}"; do
			for mode in interactive bulk; do
				for ((n = 1; n <= RUNS; n++)); do one_run "$tool" "$mode" "$n"; done
			done
		done
	fi
	summarize
}

main "$@"
