// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * softips.c: the XDP classifier on the mirror port. It parses every frame
 * (Ethernet, up to two VLAN tags, IPv4 with options, IPv6 with a bounded
 * walk of extension headers, TCP), looks the TCP 4-tuple up in the block
 * table by tuple-space search in both directions, and asks user space to
 * reset matching flows through a ring buffer. It also hands TCP segments
 * to the detection workers: a bounded snapshot on one of several rings,
 * chosen so both directions of a flow share one.
 *
 * It is passive: every frame leaves with XDP_PASS, whatever it holds. It
 * must never drop, rewrite or redirect a frame, and never answer a RST.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/time.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "softips.h"

#define ETH_P_8021AD_ 0x88A8
#define IP_FRAG_OFFSET 0x1FFF
#define IP6_FRAG_OFFSET 0xFFF8

/* Run-time knobs, set by the loader before the program is loaded. */
volatile const __u32 rate_burst = 8;              /* inject requests per flow in a burst */
volatile const __u32 rate_interval_ns = 20000000; /* one token back per interval; 0 = no limit */
volatile const __u32 shard_count = 0;             /* detection shards in use; 0 = mirror off */
volatile const __u32 snap_len = 256;              /* payload bytes kept per snapshot */

/* counters: key = enum softips_counter, value = events on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOFTIPS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/*
 * shapes: key = slot, value = a shape set. User space writes a slot that
 * no packet reads, then points shape_slot at it, so a packet never sees a
 * half-written set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SOFTIPS_SHAPE_SLOTS);
	__type(key, __u32);
	__type(value, struct softips_shape_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shapes SEC(".maps");

/* shape_slot: key = 0, value = the slot of shapes searched for every segment. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shape_slot SEC(".maps");

/* blocks: key = shape and masked tuple of one entry, value = its id and hits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SOFTIPS_MAX_BLOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct softips_block_key);
	__type(value, struct softips_block_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} blocks SEC(".maps");

/*
 * addr_filter: key = bucket of (family, prefix length, masked address),
 * value = the filter bits of the shapes holding such a prefix fixed, per
 * side. User space sets a bit before it inserts the entry that needs it and
 * clears it only after the last such entry is gone, so a packet whose
 * addresses find no shape's bits on the sides it needs skips the block
 * lookups of that shape. Collisions only cost a lookup, never a match.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SOFTIPS_ADDR_BUCKETS);
	__type(key, __u32);
	__type(value, struct softips_addr_bits);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} addr_filter SEC(".maps");

/* inject_buckets: key = canonical flow, value = its inject token bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SOFTIPS_FLOWS_MAX);
	__type(key, struct softips_flow_key);
	__type(value, struct softips_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} inject_buckets SEC(".maps");

/* inject_reqs: records of struct softips_inject_req for the injector. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} inject_reqs SEC(".maps");

/* mirror_ring is the template of one detection ring (sized by the loader). */
struct mirror_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
};

/*
 * mirror_rings: key = shard, value = that shard's ring of snapshots, each a
 * struct softips_mirror_hdr and cap_len bytes of frame.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SOFTIPS_MAX_RINGS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mirror_ring);
} mirror_rings SEC(".maps");

/* mirror_drops: key = shard, value = snapshots lost to a full ring on this CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOFTIPS_MAX_RINGS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mirror_drops SEC(".maps");

/* mirror_bypass: key = canonical flow, value = when user space bypassed it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SOFTIPS_FLOWS_MAX);
	__type(key, struct softips_flow_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mirror_bypass SEC(".maps");

/* snapshot is one record being assembled before it is copied to a ring. */
struct snapshot {
	struct softips_mirror_hdr hdr;
	__u8 data[SOFTIPS_SNAP_MAX];
};

/* mirror_scratch: key = 0, value = this CPU's snapshot buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snapshot);
} mirror_scratch SEC(".maps");

/* Never read: they only put these types into BTF for the Go generator. */
const enum softips_counter *unused_counter __attribute__((unused));
const struct softips_inject_req *unused_inject_req __attribute__((unused));
const struct softips_mirror_hdr *unused_mirror_hdr __attribute__((unused));

/* cursor walks a frame; every take() checks the bounds before moving. */
struct cursor {
	void *pos;
	void *end;
};

/*
 * packet is what the parser keeps of one TCP segment: scalars only, so the
 * matcher and the mirror (global functions, verified once) never see a
 * packet pointer and the verifier does not explore them per parse path.
 */
struct packet {
	__u32 src[4]; /* network order words; IPv4 in src[0] */
	__u32 dst[4];
	__u32 seq;
	__u32 ack;
	__u16 sport; /* host order */
	__u16 dport;
	__u16 window;
	__u16 payload_len;
	__u16 vlans[SOFTIPS_MAX_VLANS];
	__u8 nvlans;
	__u8 family;
	__u8 flags;
	__u8 ttl;
	__u32 payload_off; /* frame offset of the TCP payload */
	__u8 src_mac[ETH_ALEN];
	__u8 dst_mac[ETH_ALEN];
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct ipv6_ext {
	__u8 nexthdr;
	__u8 len;
};

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline void *take(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

/* parse_eth walks Ethernet and up to two VLAN tags; returns the EtherType. */
static __always_inline int parse_eth(struct cursor *c, struct packet *p, __u16 *proto)
{
	struct vlan_hdr *vh;
	struct ethhdr *eth;
	__u16 type;
	int i;

	eth = take(c, sizeof(*eth));
	if (!eth)
		return SOFTIPS_CNT_TRUNCATED;
	__builtin_memcpy(p->src_mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(p->dst_mac, eth->h_dest, ETH_ALEN);
	type = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (i = 0; i < SOFTIPS_MAX_VLANS; i++) {
		if (type != ETH_P_8021Q && type != ETH_P_8021AD_)
			break;
		vh = take(c, sizeof(*vh));
		if (!vh)
			return SOFTIPS_CNT_TRUNCATED;
		p->vlans[i] = bpf_ntohs(vh->tci) & 0x0fff;
		p->nvlans = i + 1;
		type = bpf_ntohs(vh->proto);
	}
	if (type == ETH_P_8021Q || type == ETH_P_8021AD_)
		return SOFTIPS_CNT_VLAN_DEPTH;
	*proto = type;
	return 0;
}

/* parse_ipv4 reads an IPv4 header with options; returns 0 for TCP. */
static __always_inline int parse_ipv4(struct cursor *c, struct packet *p, __u16 *l4_len)
{
	struct iphdr *ip = take(c, sizeof(*ip));
	__u32 hlen, tot;

	if (!ip)
		return SOFTIPS_CNT_TRUNCATED;
	hlen = (__u32)ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (hlen < sizeof(*ip) || tot < hlen)
		return SOFTIPS_CNT_MALFORMED;
	if (!take(c, hlen - sizeof(*ip)))
		return SOFTIPS_CNT_TRUNCATED;
	if (ip->protocol != IPPROTO_TCP)
		return SOFTIPS_CNT_NON_TCP;
	if (ip->frag_off & bpf_htons(IP_FRAG_OFFSET))
		return SOFTIPS_CNT_FRAGMENT;

	p->family = SOFTIPS_FAMILY_V4;
	p->src[0] = ip->saddr;
	p->dst[0] = ip->daddr;
	p->ttl = ip->ttl;
	*l4_len = tot - hlen;
	return 0;
}

/*
 * The IPv6 extension walk and TCP read through bpf_xdp_load_bytes at a
 * scalar offset: a packet pointer whose range differs on every path would
 * make the verifier explore each chain of headers separately.
 */

/* ipv6_skip_ext moves *off past one extension header; 0 = go on walking. */
static __always_inline int ipv6_skip_ext(struct xdp_md *ctx, __u32 *off, __u8 *next,
					 __u32 *ext)
{
	struct ipv6_frag h; /* every extension header is at least 8 bytes */
	__u32 len;

	if (bpf_xdp_load_bytes(ctx, *off, &h, sizeof(h)))
		return SOFTIPS_CNT_TRUNCATED;
	if (*next == IPPROTO_FRAGMENT) {
		if (h.frag_off & bpf_htons(IP6_FRAG_OFFSET))
			return SOFTIPS_CNT_FRAGMENT;
		len = sizeof(h);
	} else if (*next == IPPROTO_AH) {
		len = ((__u32)h.reserved + 2) * 4; /* second byte: payload length */
	} else {
		len = ((__u32)h.reserved + 1) * 8; /* second byte: header length */
	}
	*next = h.nexthdr;
	*off += len;
	*ext += len;
	return 0;
}

static __always_inline int is_ipv6_ext(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	       next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT ||
	       next == IPPROTO_AH;
}

/* parse_ipv6 reads IPv6 and a bounded chain of extension headers. */
static __always_inline int parse_ipv6(struct xdp_md *ctx, struct cursor *c, struct packet *p,
				      __u32 *off, __u16 *l4_len)
{
	struct ipv6hdr *ip6 = take(c, sizeof(*ip6));
	__u32 ext = 0, plen;
	__u8 next;
	int i, ret;

	if (!ip6)
		return SOFTIPS_CNT_TRUNCATED;
	*off = c->pos - (void *)(long)ctx->data;
	next = ip6->nexthdr;
	for (i = 0; i < SOFTIPS_MAX_EXTHDRS; i++) {
		if (!is_ipv6_ext(next))
			break;
		ret = ipv6_skip_ext(ctx, off, &next, &ext);
		if (ret)
			return ret;
	}
	if (is_ipv6_ext(next))
		return SOFTIPS_CNT_EXTHDR_GIVEUP;
	if (next != IPPROTO_TCP)
		return SOFTIPS_CNT_NON_TCP;

	plen = bpf_ntohs(ip6->payload_len);
	if (plen < ext)
		return SOFTIPS_CNT_MALFORMED;
	p->family = SOFTIPS_FAMILY_V6;
	__builtin_memcpy(p->src, &ip6->saddr, sizeof(p->src));
	__builtin_memcpy(p->dst, &ip6->daddr, sizeof(p->dst));
	p->ttl = ip6->hop_limit;
	*l4_len = plen - ext;
	return 0;
}

/* parse_tcp reads the TCP header at off and checks its options are there. */
static __always_inline int parse_tcp(struct xdp_md *ctx, __u32 off, struct packet *p,
				     __u16 l4_len)
{
	__u32 frame = bpf_xdp_get_buff_len(ctx);
	struct tcphdr th;
	__u32 hlen;

	if (bpf_xdp_load_bytes(ctx, off, &th, sizeof(th)))
		return SOFTIPS_CNT_TRUNCATED;
	hlen = (__u32)th.doff * 4;
	if (hlen < sizeof(th) || hlen > l4_len)
		return SOFTIPS_CNT_MALFORMED;
	if (off + hlen > frame)
		return SOFTIPS_CNT_TRUNCATED;

	p->sport = bpf_ntohs(th.source);
	p->dport = bpf_ntohs(th.dest);
	p->seq = bpf_ntohl(th.seq);
	p->ack = bpf_ntohl(th.ack_seq);
	p->window = bpf_ntohs(th.window);
	p->flags = ((__u8 *)&th)[13];
	p->payload_len = l4_len - hlen;
	p->payload_off = off + hlen;
	return 0;
}

/* parse_frame fills p from a whole frame; SOFTIPS_CNT_TCP when it is TCP. */
static __always_inline int parse_frame(struct xdp_md *ctx, struct packet *p)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	__u16 proto = 0, l4_len = 0;
	__u32 off = 0;
	int ret;

	ret = parse_eth(&c, p, &proto);
	if (ret)
		return ret;
	if (proto == ETH_P_IP) {
		ret = parse_ipv4(&c, p, &l4_len);
		off = c.pos - (void *)(long)ctx->data;
	} else if (proto == ETH_P_IPV6) {
		ret = parse_ipv6(ctx, &c, p, &off, &l4_len);
	} else {
		return SOFTIPS_CNT_NON_IP;
	}
	if (ret)
		return ret;
	ret = parse_tcp(ctx, off, p, l4_len);
	return ret ? ret : SOFTIPS_CNT_TCP;
}

/* make_key masks the tuple (a:ap -> b:bp) to shape s with its masks mk. */
static __always_inline void make_key(struct softips_block_key *k, struct softips_shape s,
				     const struct softips_shape_masks *mk,
				     const __u32 *a, __u16 ap, const __u32 *b, __u16 bp)
{
	__u32 *ks = (__u32 *)k->src, *kd = (__u32 *)k->dst;
	int w;

	k->shape = s;
	k->sport = (s.flags & SOFTIPS_SHAPE_SPORT) ? ap : 0;
	k->dport = (s.flags & SOFTIPS_SHAPE_DPORT) ? bp : 0;
#pragma unroll
	for (w = 0; w < 4; w++) {
		ks[w] = a[w] & mk->src[w];
		kd[w] = b[w] & mk->dst[w];
	}
}

/*
 * addr_bucket hashes a masked address (one word for IPv4, whose other
 * words are zero); pkg/kernel computes the same.
 */
static __always_inline __u32 addr_bucket(__u32 family, __u32 plen, const __u32 *a,
					 const __u32 *mask)
{
	__u32 h = 0x2545f491 ^ (family << 8 | plen);
	int w;

	h ^= a[0] & mask[0];
	h *= 0x9e3779b1;
	h ^= h >> 15;
	if (family == SOFTIPS_FAMILY_V6) {
#pragma unroll
		for (w = 1; w < 4; w++) {
			h ^= a[w] & mask[w];
			h *= 0x9e3779b1;
			h ^= h >> 15;
		}
	}
	h *= 0x85ebca6b;
	h ^= h >> 13;
	return h & (SOFTIPS_ADDR_BUCKETS - 1);
}

/* match_ctx carries one segment's tuple through the shape loop. */
struct match_ctx {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u32 family;
	__u64 now;
	__u64 entry; /* id of the first (most specific) match */
	__u32 matched;
	__u32 slot;  /* shape set read for this whole segment */
	__u32 base;  /* first softips_plen of the packet's family */
	__u32 pad;
	__u64 src_as_src; /* filter bits found for the packet source as a source */
	__u64 src_as_dst; /* ... as a destination */
	__u64 dst_as_src; /* filter bits found for the packet destination as a source */
	__u64 dst_as_dst;
	__u64 fwd;   /* shapes to look up as sent: source against source */
	__u64 rev;   /* shapes to look up reversed */
};

/* credit records a hit on v; the first entry credited is the one reported. */
static __always_inline void credit(struct match_ctx *m, struct softips_block_val *v)
{
	if (!m->now) /* read the clock only for matches: most segments miss */
		m->now = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->hits, 1);
	v->last_hit_ns = m->now;
	if (!m->matched) {
		m->matched = 1;
		m->entry = v->entry_id;
	}
}

/* match_shape looks shape i up in both orientations; 1 ends the loop. */
static long match_shape(__u32 i, struct match_ctx *m)
{
	struct softips_block_val *fwd, *rev;
	struct softips_shape_masks *mk;
	struct softips_shape_set *set;
	struct softips_block_key k;
	struct softips_shape s;
	__u64 idx = i, bit;

	/* One 64-bit register, checked and used: the verifier sees the bound. */
	asm volatile("" : "+r"(idx));
	if (idx >= SOFTIPS_MAX_SHAPES)
		return 1;
	set = bpf_map_lookup_elem(&shapes, &m->slot);
	if (!set || idx >= set->count)
		return 1;
	s = set->shapes[idx];
	if (s.family != m->family)
		return 0;
	mk = &set->masks[idx];

	bit = 1ULL << (set->bits[idx] & 63);
	fwd = NULL;
	if (m->fwd & bit) {
		make_key(&k, s, mk, m->src, m->sport, m->dst, m->dport);
		fwd = bpf_map_lookup_elem(&blocks, &k);
		if (fwd)
			credit(m, fwd);
	}
	if (m->rev & bit) {
		make_key(&k, s, mk, m->dst, m->dport, m->src, m->sport);
		rev = bpf_map_lookup_elem(&blocks, &k);
		if (rev && rev != fwd)
			credit(m, rev);
	}
	return 0;
}

/* probe_plen ORs the filter bits of both packet addresses at prefix length i. */
static long probe_plen(__u32 i, struct match_ctx *m)
{
	struct softips_shape_set *set;
	struct softips_addr_bits *sb, *db;
	struct softips_plen *pl;
	__u64 idx = m->base + i;
	__u32 b;

	/* One 64-bit register, checked and used: the verifier sees the bound. */
	asm volatile("" : "+r"(idx));
	if (idx >= SOFTIPS_MAX_PLENS)
		return 1;
	set = bpf_map_lookup_elem(&shapes, &m->slot);
	if (!set)
		return 1;
	pl = &set->plens[idx];
	b = addr_bucket(pl->family, pl->plen, m->src, pl->mask);
	sb = bpf_map_lookup_elem(&addr_filter, &b);
	b = addr_bucket(pl->family, pl->plen, m->dst, pl->mask);
	db = bpf_map_lookup_elem(&addr_filter, &b);
	if (!sb || !db)
		return 1;
	m->src_as_src |= sb->src;
	m->src_as_dst |= sb->dst;
	m->dst_as_src |= db->src;
	m->dst_as_dst |= db->dst;
	return 0;
}

/*
 * prefilter asks the address filter which shapes can hold the packet, and in
 * which orientation; 0 when none can. A shape needs each fixed side's
 * prefix present on that side; a wildcard side is always present.
 */
static __always_inline __u64 prefilter(struct match_ctx *m)
{
	struct softips_shape_set *set = bpf_map_lookup_elem(&shapes, &m->slot);
	__u32 f, n;
	__u64 as, ad;

	if (!set)
		return 0;
	f = m->family == SOFTIPS_FAMILY_V6;
	as = set->any_src[f];
	ad = set->any_dst[f];
	n = set->plen_count[f];
	m->base = f ? set->plen_count[0] : 0;
	if (n)
		bpf_loop(n, probe_plen, m, 0);
	m->fwd = (m->src_as_src | as) & (m->dst_as_dst | ad);
	m->rev = (m->dst_as_src | as) & (m->src_as_dst | ad);
	return m->fwd | m->rev;
}

/*
 * match_blocks searches every active shape in both orientations, crediting
 * each matching entry; returns 1 on a match with its entry id in *entry.
 */
static __always_inline int match_blocks(const struct packet *p, __u64 *now, __u64 *entry)
{
	struct match_ctx m = {
		.sport = p->sport,
		.dport = p->dport,
		.family = p->family,
	};
	__u32 zero = 0, *slot = bpf_map_lookup_elem(&shape_slot, &zero);

	if (slot)
		m.slot = *slot;
	__builtin_memcpy(m.src, p->src, sizeof(m.src));
	__builtin_memcpy(m.dst, p->dst, sizeof(m.dst));
	if (prefilter(&m))
		bpf_loop(SOFTIPS_MAX_SHAPES, match_shape, &m, 0);
	*entry = m.entry;
	*now = m.now;
	return m.matched;
}

/* addr_cmp orders two addresses by their bytes, as memcmp would. */
static __always_inline int addr_cmp(const __u32 *a, const __u32 *b)
{
	int w;

#pragma unroll
	for (w = 0; w < 4; w++) {
		__u32 x = bpf_ntohl(a[w]), y = bpf_ntohl(b[w]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

/* flow_key fills the canonical key shared by both directions of p's flow;
 * it returns 1 when p goes from the lower endpoint to the higher. */
static __always_inline int flow_key(struct softips_flow_key *fk, const struct packet *p)
{
	int c = addr_cmp(p->src, p->dst);
	int src_low = c < 0 || (c == 0 && p->sport <= p->dport);

	__builtin_memset(fk, 0, sizeof(*fk));
	fk->family = p->family;
	if (src_low) {
		__builtin_memcpy(fk->lo_addr, p->src, 16);
		__builtin_memcpy(fk->hi_addr, p->dst, 16);
		fk->lo_port = p->sport;
		fk->hi_port = p->dport;
	} else {
		__builtin_memcpy(fk->lo_addr, p->dst, 16);
		__builtin_memcpy(fk->hi_addr, p->src, 16);
		fk->lo_port = p->dport;
		fk->hi_port = p->sport;
	}
	return src_low;
}

/* refill adds the tokens earned since the bucket was last refilled. */
static __always_inline void refill(struct softips_bucket *b, __u64 now)
{
	__u64 add = (now - b->last_ns) / rate_interval_ns;

	if (add >= rate_burst) {
		b->tokens = rate_burst;
		b->last_ns = now;
	} else if (add) {
		b->tokens += add;
		if (b->tokens > rate_burst)
			b->tokens = rate_burst;
		b->last_ns += add * rate_interval_ns;
	}
}

/* bucket_of returns p's flow bucket, made full when new, and the packet's
 * direction within the flow (0: lower endpoint to higher). */
static __always_inline struct softips_bucket *bucket_of(const struct packet *p, __u64 now,
							int *dir)
{
	struct softips_bucket *b, fresh = {};
	struct softips_flow_key fk;

	*dir = !flow_key(&fk, p);
	b = bpf_map_lookup_elem(&inject_buckets, &fk);
	if (b)
		return b;
	fresh.last_ns = now;
	fresh.tokens = rate_burst;
	bpf_map_update_elem(&inject_buckets, &fk, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&inject_buckets, &fk);
}

/* fill_req writes the inject request of segment p into r. */
static __always_inline void fill_req(struct softips_inject_req *r, const struct packet *p,
				     __u64 entry, __u64 now)
{
	r->ts_ns = now;
	r->entry_id = entry;
	__builtin_memcpy(r->src, p->src, 16);
	__builtin_memcpy(r->dst, p->dst, 16);
	r->seq = p->seq;
	r->ack = p->ack;
	r->sport = p->sport;
	r->dport = p->dport;
	r->window = p->window;
	r->payload_len = p->payload_len;
	r->vlans[0] = p->vlans[0];
	r->vlans[1] = p->vlans[1];
	__builtin_memcpy(r->src_mac, p->src_mac, ETH_ALEN);
	__builtin_memcpy(r->dst_mac, p->dst_mac, ETH_ALEN);
	r->family = p->family;
	r->tcp_flags = p->flags;
	r->ttl = p->ttl;
	r->nvlans = p->nvlans;
}

/* queue_inject pushes one request to the injector and wakes it at once. */
static __always_inline int queue_inject(const struct packet *p, __u64 entry, __u64 now)
{
	struct softips_inject_req *r;

	r = bpf_ringbuf_reserve(&inject_reqs, sizeof(*r), 0);
	if (!r)
		return SOFTIPS_CNT_INJECT_FULL;
	fill_req(r, p, entry, now);
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	return SOFTIPS_CNT_INJECT_QUEUED;
}

/* send_deferred pushes a waiting request of direction dir, if a token allows. */
static __always_inline void send_deferred(struct softips_bucket *b, int dir)
{
	struct softips_inject_req *r;
	__u32 bit = dir ? SOFTIPS_HELD_DIR1 : SOFTIPS_HELD_DIR0;

	if (!(b->held & bit) || !b->tokens)
		return;
	r = bpf_ringbuf_reserve(&inject_reqs, sizeof(*r), 0);
	if (!r) {
		count(SOFTIPS_CNT_INJECT_FULL);
		return;
	}
	__builtin_memcpy(r, &b->deferred[dir ? 1 : 0], sizeof(*r));
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
	b->tokens -= 1;
	b->held &= ~bit;
	count(SOFTIPS_CNT_INJECT_DEFERRED);
}

/* flush_deferred is the bucket timer: it sends what waits, re-arming while
 * requests still wait for tokens. */
static int flush_deferred(void *map, struct softips_flow_key *key, struct softips_bucket *b)
{
	b->held &= ~SOFTIPS_HELD_ARMED;
	refill(b, bpf_ktime_get_ns());
	send_deferred(b, 0);
	send_deferred(b, 1);
	if (b->held & (SOFTIPS_HELD_DIR0 | SOFTIPS_HELD_DIR1)) {
		b->held |= SOFTIPS_HELD_ARMED;
		bpf_timer_start(&b->timer, rate_interval_ns, 0);
	}
	return 0;
}

/* defer_inject keeps p as its direction's newest waiting request and arms
 * the flow's timer for when the next token is due. */
static __always_inline void defer_inject(struct softips_bucket *b, const struct packet *p,
					 __u64 entry, __u64 now, int dir)
{
	fill_req(&b->deferred[dir ? 1 : 0], p, entry, now);
	b->held |= dir ? SOFTIPS_HELD_DIR1 : SOFTIPS_HELD_DIR0;
	if (b->held & SOFTIPS_HELD_ARMED)
		return;
	bpf_timer_init(&b->timer, &inject_buckets, CLOCK_MONOTONIC); /* -EBUSY once set up */
	bpf_timer_set_callback(&b->timer, flush_deferred);
	b->held |= SOFTIPS_HELD_ARMED;
	bpf_timer_start(&b->timer, b->last_ns + rate_interval_ns - now, 0);
}

/* rate_limit sends p's request now if its flow has a token, else defers it. */
static __always_inline int rate_limit(const struct packet *p, __u64 entry, __u64 now)
{
	struct softips_bucket *b;
	int dir;

	if (!rate_interval_ns)
		return queue_inject(p, entry, now);
	b = bucket_of(p, now, &dir);
	if (!b)
		return queue_inject(p, entry, now);
	refill(b, now);
	if (b->tokens) {
		b->tokens -= 1;
		b->held &= dir ? ~SOFTIPS_HELD_DIR1 : ~SOFTIPS_HELD_DIR0; /* superseded */
		return queue_inject(p, entry, now);
	}
	defer_inject(b, p, entry, now, dir);
	return SOFTIPS_CNT_RATE_LIMITED;
}

/*
 * softips_classify matches a parsed segment; returns what became of it,
 * 0 = no match. A global function: the verifier checks it once.
 */
__noinline int softips_classify(const struct packet *p)
{
	__u64 entry = 0, now = 0;

	if (!p)
		return 0;
	if (!match_blocks(p, &now, &entry))
		return 0;
	count(SOFTIPS_CNT_MATCHED);
	if (p->flags & SOFTIPS_TCP_RST)
		return SOFTIPS_CNT_RST_IGNORED;
	return rate_limit(p, entry, now);
}

/* flow_hash mixes a canonical flow key: both directions get one value. */
static __always_inline __u32 flow_hash(const struct softips_flow_key *fk)
{
	const __u32 *w = (const __u32 *)fk;
	__u32 h = 0x811c9dc5;
	int i;

#pragma unroll
	for (i = 0; i < sizeof(*fk) / 4; i++) {
		h ^= w[i];
		h *= 0x9e3779b1;
		h ^= h >> 16;
	}
	return h;
}

/* snap_bytes is how much of the frame one snapshot keeps. */
static __always_inline __u32 snap_bytes(struct xdp_md *ctx, const struct packet *p)
{
	__u32 frame = bpf_xdp_get_buff_len(ctx);
	__u32 want = p->payload_off + snap_len;

	return want < frame ? want : frame;
}

/* copy_out sends a snapshot to the flow's ring; counts drops per ring. */
static __always_inline int copy_out(struct xdp_md *ctx, const struct packet *p, __u32 shard)
{
	struct snapshot *snap;
	__u64 cap = snap_bytes(ctx, p);
	__u32 zero = 0;
	void *ring;

	ring = bpf_map_lookup_elem(&mirror_rings, &shard);
	snap = bpf_map_lookup_elem(&mirror_scratch, &zero);
	if (!ring || !snap)
		return SOFTIPS_CNT_MIRROR_FULL;
	/* One register, checked and used: the verifier sees the bound. */
	asm volatile("" : "+r"(cap));
	if (cap > SOFTIPS_SNAP_MAX)
		cap = SOFTIPS_SNAP_MAX;
	if (cap == 0)
		return SOFTIPS_CNT_MIRROR_SKIPPED;
	if (bpf_xdp_load_bytes(ctx, 0, snap->data, cap))
		return SOFTIPS_CNT_TRUNCATED;
	snap->hdr.ts_ns = bpf_ktime_get_ns();
	snap->hdr.orig_len = bpf_xdp_get_buff_len(ctx);
	snap->hdr.cap_len = cap;
	if (bpf_ringbuf_output(ring, snap, sizeof(snap->hdr) + cap, 0)) {
		__u64 *d = bpf_map_lookup_elem(&mirror_drops, &shard);

		if (d)
			*d += 1;
		return SOFTIPS_CNT_MIRROR_FULL;
	}
	return SOFTIPS_CNT_MIRROR_QUEUED;
}

/*
 * softips_mirror hands the segment to detection: payload, or any of SYN/FIN/RST,
 * on the ring of its flow's shard, unless user space bypassed its payload.
 */
__noinline int softips_mirror(struct xdp_md *ctx, const struct packet *p)
{
	struct softips_flow_key fk;
	__u32 shard;
	__u8 ctl;

	if (!shard_count || !p)
		return 0;
	ctl = p->flags & (SOFTIPS_TCP_SYN | SOFTIPS_TCP_FIN | SOFTIPS_TCP_RST);
	if (!ctl && !p->payload_len)
		return SOFTIPS_CNT_MIRROR_SKIPPED;
	flow_key(&fk, p);
	if (!ctl && bpf_map_lookup_elem(&mirror_bypass, &fk))
		return SOFTIPS_CNT_MIRROR_BYPASSED;
	shard = flow_hash(&fk) % shard_count;
	return copy_out(ctx, p, shard);
}

/* xdp.frags: jumbo frames on a mirror port arrive in several buffers. */
SEC("xdp.frags")
int softips_xdp(struct xdp_md *ctx)
{
	struct packet p = {};
	int verdict, mirrored = 0;

	count(SOFTIPS_CNT_PACKETS);
	verdict = parse_frame(ctx, &p);
	if (verdict == SOFTIPS_CNT_TCP) {
		count(SOFTIPS_CNT_TCP);
		verdict = softips_classify(&p);
		mirrored = softips_mirror(ctx, &p);
	}
	if (verdict)
		count(verdict);
	if (mirrored)
		count(mirrored);
	return XDP_PASS;
}

/* softips_empty does nothing; benchmarks measure the classifier against it. */
SEC("xdp")
int softips_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
