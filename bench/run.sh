#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh runs every softips benchmark stage within a fixed time budget and
# writes bench/results/<date>-<commit>.{md,json} and latest.{md,json}, then
# copies the latest table into bench/README.md.
#
#   stage       needs   what
#   pcapfilter  -       libpcap as a block-table matcher (compile, memory, ns/pkt)
#   xdpbench    root    the XDP classifier on pcapfilter's tables and frames
#   gobench     (root)  the benchmarks beside the code; pkg/kernel's need root
#   reset       root    time to reset a connection in the lab: tcpkill, softips
#   memflood    -       memory under a flood of flows and block signals
#
# Each stage runs under `timeout`; a stage that fails or runs out of time
# leaves rows saying so and the run goes on. Lab stages are skipped, with
# the reason printed, when not root.
#
# Usage: bench/run.sh [stage...]   (default: all stages; only a run of all
# of them updates latest.{md,json} and the README)
# Environment: BENCH_BUDGET (seconds, default 840), BENCH_QUICK=1 (small sizes)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
readonly BENCH_DIR ROOT
readonly BUDGET=${BENCH_BUDGET:-840}
readonly START=$SECONDS
readonly ALL_STAGES=(pcapfilter xdpbench gobench reset memflood)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# remaining prints the seconds left of the run's budget.
remaining() { echo $((BUDGET - (SECONDS - START))); }

# stage_timeout CAP prints the smaller of CAP and what is left of the budget.
stage_timeout() {
	local left
	left=$(remaining)
	if ((left < $1)); then echo "$left"; else echo "$1"; fi
}

# skip_rows STAGE KEY WHY writes a one-row file saying why a stage did not run.
skip_rows() {
	printf '[{"stage":"%s","key":"%s","label":"%s","value":0,"unit":"",' "$1" "$2" "$1 stage" \
		>"$ROWS/$1.json"
	printf '"status":"skipped","note":"%s"}]\n' "$3" >>"$ROWS/$1.json"
	log "$1: skipped: $3"
}

# run_stage NAME CAP CMD... runs one stage under timeout; a failure is
# recorded as a row and does not stop the run.
run_stage() {
	local name=$1 cap=$2 t rc=0
	shift 2
	t=$(stage_timeout "$cap")
	if ((t < 10)); then
		skip_rows "$name" "$name:budget" "not run: the run's ${BUDGET} s budget was used up"
		return
	fi
	log "$name: running (cap ${t} s, $(remaining) s left of the budget)"
	timeout --kill-after=10 "$t" "$@" || rc=$?
	if ((rc != 0)) && [[ ! -s $ROWS/$name.json ]]; then
		local why="exit status $rc"
		((rc == 124)) && why="did not finish in ${t} s"
		skip_rows "$name" "$name:error" "stage failed: $why (see the run's log)"
	fi
	log "$name: done (status $rc) after $((SECONDS - START)) s"
}

build() {
	log "building the stage programs"
	(cd "$ROOT" && go build -o "$WORK/bin/" ./bench/pcapfilter ./bench/xdpbench \
		./bench/gobench ./bench/report)
	if [[ -d $BENCH_DIR/memflood ]]; then
		(cd "$ROOT" && go build -o "$WORK/bin/" ./bench/memflood) || true
	fi
}

stage_pcapfilter() {
	local sizes=10,100,1000,10000,100000
	[[ ${BENCH_QUICK:-} == 1 ]] && sizes=10,100
	run_stage pcapfilter 270 "$WORK/bin/pcapfilter" -out "$ROWS/pcapfilter.json" \
		-sizes "$sizes" -budget 250s -cap 120s
}

# stage_xdpbench runs in a private mount namespace with a bpffs of its own,
# so its pinned maps never appear in the machine's /sys/fs/bpf.
stage_xdpbench() {
	if [[ $(id -u) -ne 0 ]]; then
		skip_rows xdpbench xdpbench:root "not run: BPF_PROG_TEST_RUN needs root"
		return
	fi
	local repeat=50000
	[[ ${BENCH_QUICK:-} == 1 ]] && repeat=5000
	run_stage xdpbench 150 unshare --mount --propagation private sh -c \
		'mount -t bpf bpf /sys/fs/bpf && exec "$0" "$@"' \
		"$WORK/bin/xdpbench" -pin /sys/fs/bpf -out "$ROWS/xdpbench.json" -repeat "$repeat"
}

stage_gobench() {
	local bt=1s
	[[ ${BENCH_QUICK:-} == 1 ]] && bt=100ms
	if [[ $(id -u) -ne 0 ]]; then
		log "gobench: not root: pkg/kernel benchmarks (BPF_PROG_TEST_RUN) will skip"
	fi
	run_stage gobench 300 "$WORK/bin/gobench" -out "$ROWS/gobench.json" -root "$ROOT" \
		-budget 280s -benchtime "$bt"
}

stage_reset() {
	if [[ $(id -u) -ne 0 ]]; then
		skip_rows reset reset:root "not run: the lab needs root (network namespaces)"
		return
	fi
	run_stage reset 200 "$BENCH_DIR/reset/reset.sh" "$ROWS/reset.json"
}

stage_memflood() {
	if [[ ! -x $WORK/bin/memflood ]]; then
		skip_rows memflood memflood:missing \
			"not yet available: needs pkg/pipeline and pkg/invariant on this branch"
		return
	fi
	run_stage memflood 90 "$WORK/bin/memflood" -out "$ROWS/memflood.json"
}

# splice_readme replaces the text between the latest-results markers of
# bench/README.md with the latest report, its headings two levels down.
splice_readme() {
	local readme=$BENCH_DIR/README.md md=$1
	grep -q '^<!-- latest:begin -->$' "$readme" || return 0
	awk -v md="$md" '
		/^<!-- latest:begin -->$/ {
			print
			while ((getline l < md) > 0) { if (l ~ /^#/) l = "##" l; print l }
			skip = 1
			next
		}
		/^<!-- latest:end -->$/ { skip = 0 }
		!skip { print }' "$readme" >"$readme.tmp"
	mv "$readme.tmp" "$readme"
}

report() {
	local commit date out capture
	commit=$(git -C "$ROOT" rev-parse --short HEAD)
	date=$(date -u +%Y%m%d-%H%M%S)
	out=$BENCH_DIR/results/$date-$commit
	mkdir -p "$BENCH_DIR/results"
	capture=$ROOT/../shared/corpus/pcaps/zeek-ssh-sshguess.pcap
	local args=(-rows "$ROWS" -out "$out" -root "$ROOT" -elapsed "$((SECONDS - START))s")
	[[ -f $capture ]] && args+=(-capture "$capture")
	"$WORK/bin/report" "${args[@]}"
	if ((!FULL)); then
		log "wrote $out.{md,json} in $((SECONDS - START)) s (some stages only: latest and README untouched)"
		return
	fi
	cp "$out.md" "$BENCH_DIR/results/latest.md"
	cp "$out.json" "$BENCH_DIR/results/latest.json"
	splice_readme "$out.md"
	log "wrote $out.{md,json} and latest.{md,json} in $((SECONDS - START)) s"
}

main() {
	local stages=("$@") s
	FULL=0
	if ((${#stages[@]} == 0)); then
		stages=("${ALL_STAGES[@]}")
		FULL=1
	fi
	for s in "${stages[@]}"; do
		[[ " ${ALL_STAGES[*]} " == *" $s "* ]] || die "unknown stage \"$s\" (want ${ALL_STAGES[*]})"
	done
	command -v go >/dev/null || die "go not found in PATH"
	WORK=$(mktemp -d /tmp/softips-bench.XXXXXX)
	ROWS=$WORK/rows
	mkdir -p "$ROWS" "$WORK/bin"
	trap 'rm -rf "$WORK"' EXIT
	build
	for s in "${stages[@]}"; do "stage_$s"; done
	report
}

main "$@"
