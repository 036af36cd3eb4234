#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lab.sh builds, inspects and removes the softips lab: four network
# namespaces on one machine (DESIGN.md §10).
#
#   sips-client  net0  198.51.100.7/25 198.51.100.8/25   2001:db8:1::7/64
#   sips-router  cli0  198.51.100.1/25                    2001:db8:1::1/64
#                srv0  203.0.113.1/25                     2001:db8:2::1/64
#                mgt0  203.0.113.225/28                   2001:db8:ff::1/64
#                br0   hub (ageing 0, no learning): hub-r (peer of srv0),
#                      hub-s (to the server), hub-m (to the sensor's mon0)
#   sips-server  net0  203.0.113.10/25 203.0.113.11/25   2001:db8:2::10/64
#   sips-sensor  mon0  mirror, no address, frames sent into it are dropped
#                mgmt0 203.0.113.226/28                   2001:db8:ff::2/64
#
# The router's own leg on the server net (srv0) is a veth into the hub
# rather than an address on br0: a bridge delivers frames addressed to its
# own MAC locally and never floods them, so the mirror would miss every
# server->router frame.
#
# It must never touch the root namespace: every veth is created inside a
# lab namespace with its peer placed in another one, and `down` deletes
# only the lab's namespaces, by name.
#
# Usage: lab.sh up|down|status
set -euo pipefail

readonly NS_CLIENT=sips-client
readonly NS_SERVER=sips-server
readonly NS_ROUTER=sips-router
readonly NS_SENSOR=sips-sensor
readonly LAB_NAMESPACES=("$NS_CLIENT" "$NS_SERVER" "$NS_ROUTER" "$NS_SENSOR")

# Fixed, locally administered MACs so captures and tests read the same way
# on every run.
readonly MAC_CLIENT=02:5e:00:01:00:07
readonly MAC_ROUTER_CLI=02:5e:00:01:00:01
readonly MAC_SERVER=02:5e:00:02:00:10
readonly MAC_ROUTER_SRV=02:5e:00:02:00:01
readonly MAC_HUB_R=02:5e:00:02:00:f1
readonly MAC_HUB_S=02:5e:00:02:00:f2
readonly MAC_HUB_M=02:5e:00:02:00:f3
readonly MAC_MON=02:5e:00:fe:00:02
readonly MAC_ROUTER_MGT=02:5e:00:ff:00:01
readonly MAC_SENSOR_MGT=02:5e:00:ff:00:02

# A classic BPF program of one instruction, "ret #2": run by cls_bpf in
# direct-action mode it returns TC_ACT_SHOT, dropping every frame. It needs
# neither act_gact nor an object file.
readonly DROP_ALL_CBPF='1,6 0 0 2'

log() { printf 'lab: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

link_exists() { ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

ensure_ns() {
	local ns=$1
	ns_exists "$ns" || ip netns add "$ns"
	ip -n "$ns" link set lo up
	# Links made from now on inherit "default": their IPv6 addresses, the
	# link-local one included, are usable at once instead of after DAD.
	sysctl_ns "$ns" net.ipv6.conf.default.accept_dad 0
	sysctl_ns "$ns" net.ipv6.conf.all.accept_dad 0
}

# ensure_veth NS1 DEV1 MAC1 NS2 DEV2 MAC2 creates the pair inside NS1 and
# moves DEV2 straight into NS2, so no end ever lives in the root namespace.
# A half pair left by an interrupted run is removed and built again.
ensure_veth() {
	local ns1=$1 dev1=$2 mac1=$3 ns2=$4 dev2=$5 mac2=$6
	if link_exists "$ns1" "$dev1" && link_exists "$ns2" "$dev2"; then
		return 0
	fi
	if link_exists "$ns1" "$dev1"; then ip -n "$ns1" link del "$dev1"; fi
	if link_exists "$ns2" "$dev2"; then ip -n "$ns2" link del "$dev2"; fi
	ip -n "$ns1" link add "$dev1" address "$mac1" type veth \
		peer name "$dev2" address "$mac2" netns "$ns2"
}

# no_offload switches off segmentation, GRO and TX checksum offload so the
# mirror sees wire-sized frames whose checksums are already filled in.
no_offload() {
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 ||
		die "ethtool -K $2 in $1: cannot switch offloads off"
}

sysctl_ns() { ip netns exec "$1" sysctl -q -w "$2=$3" >/dev/null; }

# no_ipv6 keeps an interface silent at layer 3: no link-local address, no
# router or multicast-listener chatter.
no_ipv6() { sysctl_ns "$1" "net.ipv6.conf.$2.disable_ipv6" 1; }

addr() { ip -n "$1" addr replace "$3" dev "$2"; }
addr6() { ip -n "$1" -6 addr replace "$3" dev "$2" nodad; }

build_links() {
	ensure_veth "$NS_CLIENT" net0 "$MAC_CLIENT" "$NS_ROUTER" cli0 "$MAC_ROUTER_CLI"
	ensure_veth "$NS_ROUTER" srv0 "$MAC_ROUTER_SRV" "$NS_ROUTER" hub-r "$MAC_HUB_R"
	ensure_veth "$NS_SERVER" net0 "$MAC_SERVER" "$NS_ROUTER" hub-s "$MAC_HUB_S"
	ensure_veth "$NS_SENSOR" mon0 "$MAC_MON" "$NS_ROUTER" hub-m "$MAC_HUB_M"
	ensure_veth "$NS_SENSOR" mgmt0 "$MAC_SENSOR_MGT" "$NS_ROUTER" mgt0 "$MAC_ROUTER_MGT"
}

# build_hub makes br0 a hub: with learning off on every port and ageing 0
# the bridge knows no address, so every frame floods to all other ports,
# including hub-m, the mirror.
build_hub() {
	if ! link_exists "$NS_ROUTER" br0; then
		ip -n "$NS_ROUTER" link add br0 type bridge
	fi
	ip -n "$NS_ROUTER" link set br0 type bridge ageing_time 0 stp_state 0 mcast_snooping 0
	no_ipv6 "$NS_ROUTER" br0
	local port
	for port in hub-r hub-s hub-m; do
		ip -n "$NS_ROUTER" link set "$port" master br0
		ip -n "$NS_ROUTER" link set "$port" type bridge_slave learning off flood on
		no_ipv6 "$NS_ROUTER" "$port"
		ip -n "$NS_ROUTER" link set "$port" up
	done
	ip -n "$NS_ROUTER" link set br0 up
	span_drop
}

# span_drop drops every frame the sensor sends into its mirror port, as a
# real SPAN port does.
span_drop() {
	local tcns=(ip netns exec "$NS_ROUTER" tc)
	"${tcns[@]}" qdisc replace dev hub-m clsact
	"${tcns[@]}" filter del dev hub-m ingress 2>/dev/null || true
	"${tcns[@]}" filter add dev hub-m ingress bpf da bytecode "$DROP_ALL_CBPF"
}

# configure_host NS ADDR4 ADDR4_ALT ADDR6 GW4 GW6 gives an end host its two
# IPv4 addresses, its IPv6 address and default routes through the router.
configure_host() {
	local ns=$1
	addr "$ns" net0 "$2"
	addr "$ns" net0 "$3"
	addr6 "$ns" net0 "$4"
	ip -n "$ns" link set net0 up
	ip -n "$ns" route replace default via "$5" dev net0
	ip -n "$ns" -6 route replace default via "$6" dev net0
}

configure_client() {
	configure_host "$NS_CLIENT" 198.51.100.7/25 198.51.100.8/25 2001:db8:1::7/64 \
		198.51.100.1 2001:db8:1::1
}

configure_server() {
	configure_host "$NS_SERVER" 203.0.113.10/25 203.0.113.11/25 2001:db8:2::10/64 \
		203.0.113.1 2001:db8:2::1
}

configure_sensor() {
	local ns=$NS_SENSOR
	no_ipv6 "$ns" mon0
	ip -n "$ns" link set mon0 promisc on
	ip -n "$ns" link set mon0 up
	addr "$ns" mgmt0 203.0.113.226/28
	addr6 "$ns" mgmt0 2001:db8:ff::2/64
	ip -n "$ns" link set mgmt0 up
	ip -n "$ns" route replace default via 203.0.113.225 dev mgmt0
	ip -n "$ns" -6 route replace default via 2001:db8:ff::1 dev mgmt0
}

configure_router() {
	local ns=$NS_ROUTER
	addr "$ns" cli0 198.51.100.1/25
	addr6 "$ns" cli0 2001:db8:1::1/64
	addr "$ns" srv0 203.0.113.1/25
	addr6 "$ns" srv0 2001:db8:2::1/64
	addr "$ns" mgt0 203.0.113.225/28
	addr6 "$ns" mgt0 2001:db8:ff::1/64
	local dev
	for dev in cli0 srv0 mgt0; do ip -n "$ns" link set "$dev" up; done
	sysctl_ns "$ns" net.ipv4.ip_forward 1
	sysctl_ns "$ns" net.ipv6.conf.all.forwarding 1
	# Spoofed RSTs from the sensor enter here with client and server sources.
	sysctl_ns "$ns" net.ipv4.conf.all.rp_filter 0
	sysctl_ns "$ns" net.ipv4.conf.default.rp_filter 0
	sysctl_ns "$ns" net.ipv4.conf.mgt0.rp_filter 0
	sysctl_ns "$ns" net.ipv4.conf.all.send_redirects 0
}

offloads_off() {
	local pair
	for pair in "$NS_CLIENT net0" "$NS_SERVER net0" "$NS_SENSOR mon0" \
		"$NS_SENSOR mgmt0" "$NS_ROUTER cli0" "$NS_ROUTER srv0" "$NS_ROUTER mgt0" \
		"$NS_ROUTER hub-r" "$NS_ROUTER hub-s" "$NS_ROUTER hub-m"; do
		# shellcheck disable=SC2086 # split "ns dev" on purpose
		no_offload $pair
	done
}

cmd_up() {
	local ns
	for ns in "${LAB_NAMESPACES[@]}"; do ensure_ns "$ns"; done
	build_links
	build_hub
	configure_client
	configure_server
	configure_sensor
	configure_router
	offloads_off
	wait_ready || die "lab built but client -> server does not answer (v4 and v6)"
	log "up: ${LAB_NAMESPACES[*]}"
}

quiet_ping() { ip netns exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }

# wait_ready gives neighbour discovery a bounded moment (at most ~5 s).
wait_ready() {
	local i
	for ((i = 0; i < 20; i++)); do
		if quiet_ping "$NS_CLIENT" 203.0.113.10 &&
			quiet_ping "$NS_CLIENT" 2001:db8:2::10; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

cmd_down() {
	local ns pids
	for ns in "${LAB_NAMESPACES[@]}"; do
		ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		if [[ -n $pids ]]; then
			log "warning: $ns still holds pids $pids; the namespace outlives its name"
		fi
		ip netns del "$ns"
	done
	log "down"
}

# probe NS DST LABEL pings once with a one-second bound and prints the result.
probe() {
	local ns=$1 dst=$2 label=$3 src=${4:-}
	local args=(-n -c 1 -W 1 -q)
	if [[ -n $src ]]; then args+=(-I "$src"); fi
	if ip netns exec "$ns" ping "${args[@]}" "$dst" >/dev/null 2>&1; then
		printf '  ok    %s\n' "$label"
		return 0
	fi
	printf '  FAIL  %s\n' "$label"
	return 1
}

cmd_status() {
	local ns missing=0 failed=0
	for ns in "${LAB_NAMESPACES[@]}"; do
		if ! ns_exists "$ns"; then
			printf '%s: absent\n' "$ns"
			missing=1
			continue
		fi
		printf '%s:\n' "$ns"
		ip -n "$ns" -br addr show | sed 's/^/  /'
	done
	if ((missing)); then return 1; fi
	printf 'reachability:\n'
	probe "$NS_CLIENT" 203.0.113.10 'client .7 -> server .10' || failed=1
	probe "$NS_CLIENT" 203.0.113.11 'client .8 -> server .11' 198.51.100.8 || failed=1
	probe "$NS_CLIENT" 2001:db8:2::10 'client -> server (v6)' || failed=1
	probe "$NS_SENSOR" 198.51.100.7 'sensor mgmt -> client' || failed=1
	probe "$NS_SENSOR" 203.0.113.10 'sensor mgmt -> server' || failed=1
	probe "$NS_SENSOR" 2001:db8:1::7 'sensor mgmt -> client (v6)' || failed=1
	probe "$NS_SENSOR" 2001:db8:2::10 'sensor mgmt -> server (v6)' || failed=1
	return "$failed"
}

main() {
	[[ $# -eq 1 ]] || die "usage: $0 up|down|status"
	[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
	local tool
	for tool in ip tc ethtool ping; do
		command -v "$tool" >/dev/null || die "$tool not found in PATH"
	done
	case $1 in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	*) die "unknown command \"$1\" (want up, down or status)" ;;
	esac
}

main "$@"
