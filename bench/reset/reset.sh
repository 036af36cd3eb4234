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
# Blockers: tcpkill (dsniff), as the baseline, and softips (`softips run`
# on the mirror, `softips block add` per run). Everything runs in a private copy of scripts/lab.sh
# whose namespaces are named sipb-* (not the shared sips-*), removed by
# name at the end. Traffic stays between the lab's namespaces.
#
# Usage: bench/reset/reset.sh ROWS.json   (as root; RESET_KEEP=1 keeps the captures)
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
	if [[ -n ${RESET_KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
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
	for ((i = 0; i < $3 * 100; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
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
	bg ip netns exec "$ns" timeout 20 tcpdump -i "$dev" -Q "$dir" -s 96 -B 16384 -U -n --immediate-mode \
		-w "$file" "tcp port $port" 2>"$file.err"
	wait_for "$file.err" "listening on" 3 || log "tcpdump on $ns/$dev did not start"
}

start_tcpkill() {
	local port=$1 dir=$2
	bg ip netns exec "$NS_M" timeout 15 tcpkill -i mon0 -9 host "$CLIENT" and port "$port" \
		2>"$dir/blocker.err"
	wait_for "$dir/blocker.err" "listening on" 5
}

# start_softips blocks the run's connection through the daemon's control
# socket; the daemon (softips_up) is already watching mon0.
start_softips() {
	local port=$1 dir=$2
	"$WORK/softips" block add "$CLIENT/32 0 $SERVER/32 $port" --socket "$WORK/softips.sock" \
		>"$dir/blocker.err" 2>&1
}

# softips_up starts one daemon for all softips runs, inside the sensor
# namespace with a bpffs of its own mount namespace, and waits until its
# control socket answers.
softips_up() {
	ip -n "$NS_M" addr del "$TCPKILL_MON_ADDR" dev mon0 2>/dev/null || true
	bg ip netns exec "$NS_M" sh -c \
		'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$0" "$@"' \
		"$WORK/softips" run --monitor mon0 --inject mgmt0 --state-dir "$WORK/state" \
		--listen "unix://$WORK/softips.sock" >"$WORK/softips.log" 2>&1
	SOFTIPS_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if "$WORK/softips" block list --socket "$WORK/softips.sock" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SOFTIPS_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "softips daemon did not come up: $(tail -c 400 "$WORK/softips.log")"
	SKIPS+=("softips=the daemon did not start: $(tail -n 1 "$WORK/softips.log" | tr -d '"')")
	return 1
}

softips_down() {
	kill "$SOFTIPS_PID" 2>/dev/null || true
	wait "$SOFTIPS_PID" 2>/dev/null || true
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
	# The block is issued now; the run's clock starts at the first packet
	# after this moment, so a blocker's start-up counts against it.
	local block_ns ready_ns
	block_ns=$(date +%s%N)
	if ! "start_$tool" "$port" "$dir"; then
		log "$tool run $n ($mode): the blocker did not start: $(head -c 300 "$dir/blocker.err")"
	fi
	ready_ns=$(date +%s%N)
	local i=0
	while ((i < 60)) && alive "$cpid" "$spid"; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	if [[ $tool == softips ]]; then
		"$WORK/softips" block del "$CLIENT/32 0 $SERVER/32 $port" \
			--socket "$WORK/softips.sock" >/dev/null 2>&1 || log "block del failed"
	fi
	local p
	for p in "${PIDS[@]:start_pids}"; do kill "$p" 2>/dev/null || true; done
	wait "${PIDS[@]:start_pids}" 2>/dev/null || true
	PIDS=("${PIDS[@]:0:start_pids}")
	"$WORK/analyze" run -tool "$tool" -mode "$mode" -block-ns "$block_ns" \
		-ready-ns "$ready_ns" -client "$CLIENT" \
		-server "$SERVER:$port" -ccap "$dir/c.pcap" -scap "$dir/s.pcap" -mcap "$dir/m.pcap" \
		-cend "$dir/c.json" -send "$dir/s.json" | tee -a "$WORK/runs.jsonl" >&2
	[[ -n ${RESET_KEEP:-} ]] || rm -rf "$dir"
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
	(cd "$ROOT" && go build -o "$WORK/" ./cmd/softips)
}

# runs TOOL runs both modes RUNS times.
runs() {
	local mode n
	for mode in interactive bulk; do
		for ((n = 1; n <= RUNS; n++)); do one_run "$1" "$mode" "$n"; done
	done
}

main() {
	[[ $(id -u) -eq 0 ]] || { log "needs root"; exit 1; }
	build
	RUN_NO=0
	: >"$WORK/runs.jsonl"
	if lab_up; then
		if command -v tcpkill >/dev/null; then
			runs tcpkill
		else
			SKIPS+=("tcpkill=tcpkill not installed (Debian package dsniff)")
		fi
		if softips_ready && softips_up; then
			runs softips
			softips_down
		fi
	fi
	summarize
}

main "$@"
