#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo.sh shows softips ending a live connection (used by `make demo`, as
# root): it builds softips and the lab's traffic app, brings the lab up,
# starts the daemon in sips-sensor, opens a long connection from the client
# (a write every 100 ms), blocks it from the CLI, and shows both ends'
# reset, the daemon's log lines for it and `block list`. Then it tears
# everything down.
#
# It kills only the processes it started, by pid, and removes only the
# lab's namespaces. Every wait is bounded; the whole run takes ~20 s after
# the build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly SPEC='198.51.100.7/32 0 203.0.113.10/32 80'
WORK=$(mktemp -d /tmp/softips-demo.XXXXXX)
readonly WORK
readonly SOCK=$WORK/softips.sock
readonly DAEMON_LOG=$WORK/softips.log
# shellcheck disable=SC2016 # expanded by the inner shell
readonly WITH_BPFFS='mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$0" "$@"'
PIDS=()

# One lab at a time: the end-to-end tests take the same lock.
exec 9>"${TMPDIR:-/tmp}/softips-lab.lock"
flock -w 180 9 || { echo "demo: the lab is busy (lock held for 180 s)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# stop_pid PID sends SIGTERM, waits up to 5 s, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	set +e
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	"$ROOT/scripts/lab.sh" down
	rm -rf "${WORK:?}/state" "${WORK:?}/bin"
	if [[ -s $DAEMON_LOG ]]; then
		printf 'demo: daemon log kept in %s\n' "$DAEMON_LOG"
	else
		rm -rf "$WORK"
	fi
}

softips() { "$WORK/bin/softips" "$@" --socket "$SOCK"; }

build() {
	say "build"
	[[ -d $ROOT/cmd/softips ]] || die "cmd/softips is not in this tree yet"
	mkdir -p "$WORK/bin"
	(cd "$ROOT" && go build -o "$WORK/bin/softips" ./cmd/softips &&
		go build -o "$WORK/bin/labapp" ./test/e2e/labapp)
}

start_daemon() {
	say "daemon: softips run --monitor mon0 --inject mgmt0 (in sips-sensor)"
	# `ip netns exec` gives the daemon a private /sys without a bpffs: mount
	# one there, as a booted host has, and exec in place so $! is the daemon.
	ip netns exec sips-sensor sh -c "$WITH_BPFFS" "$WORK/bin/softips" run \
		--monitor mon0 --inject mgmt0 --state-dir "$WORK/state" \
		--listen "unix://$SOCK" >"$DAEMON_LOG" 2>&1 &
	PIDS+=("$!")
	printf 'daemon pid %s, log %s\n' "$!" "$DAEMON_LOG"
	local i
	for ((i = 0; i < 50; i++)); do
		if softips block list >/dev/null 2>&1; then return 0; fi
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.2
	done
	cat "$DAEMON_LOG" >&2
	die "daemon did not answer on $SOCK within 10 s"
}

main() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, XDP)"
	trap cleanup EXIT
	build
	say "lab up"
	"$ROOT/scripts/lab.sh" up
	start_daemon

	say "a long connection: 198.51.100.7 -> 203.0.113.10:80, a write every 100 ms"
	"$WORK/bin/labapp" -local 198.51.100.7 -listen 203.0.113.10:80 -duration 12s &
	PIDS+=("$!")
	local app=$!
	sleep 3

	say "softips block add \"$SPEC\""
	softips block add "$SPEC" --comment demo
	local rc=0
	wait "$app" || rc=$?

	say "daemon log lines for the flow"
	grep -E '198\.51\.100\.7|203\.0\.113\.10' "$DAEMON_LOG" | tail -n 20 || true
	say "softips block list"
	softips block list
	if ((rc == 0)); then
		say "both ends were reset"
	else
		say "the connection was NOT reset on both ends (labapp exit $rc)"
	fi
	return "$rc"
}

main "$@"
