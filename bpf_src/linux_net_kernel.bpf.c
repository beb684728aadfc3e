/*
 * linux_net_kernel: a TCP segment at each stage of the kernel's receive
 * (and, with --tx, transmit) path.
 *
 * Every stage reads the segment's own TCP/IP headers (skb->head plus the
 * header offsets; at netif_receive_skb skb->data, where the IP header starts
 * before the stack has set the offsets), so a segment has the same identity
 * (addresses, ports, SEQ, ACK, payload length) at every stage. A LRU map
 * keyed by that identity remembers when the segment was first and last
 * seen: the latency from the previous stage and since the first.
 *
 * Order of work, so that rejected traffic costs least: parse, filters (-i,
 * -p, --netns), per-stage count and latency, then (not with -s) the
 * per-CPU rate-limit budget, and only then the ring buffer. Everything the
 * budget refuses is counted.
 *
 * Raw tracepoints carry the arguments of TP_PROTO (the frontend checks them
 * in BTF); kprobes serve the stages without a tracepoint, where the kernel
 * has kprobes and the function is not inlined.
 */
#include <uapi/linux/ptrace.h> /* struct pt_regs for the kprobe stages: a stable ABI */

#include "bccnet.bpf.h"
#include "sock_tuple.bpf.h"
#include "linux_net_kernel.h"

#ifndef FILTER_FAMILY
#define FILTER_FAMILY 0 /* -i: 4 or 6, with FILTER_ADDR0/1 */
#endif
#ifndef FILTER_ADDR0
#define FILTER_ADDR0 0
#endif
#ifndef FILTER_ADDR1
#define FILTER_ADDR1 0
#endif
#ifndef FILTER_PORT
#define FILTER_PORT 0
#endif
#ifndef STATS_ONLY
#define STATS_ONLY 0
#endif
#ifndef RATE_LIMIT_PER_CPU
#define RATE_LIMIT_PER_CPU 0 /* events per second per CPU; 0: no limit */
#endif
#ifndef KFREE_HAS_REASON
#define KFREE_HAS_REASON 0
#endif

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86DD
#define PROTO_TCP 6
#define HDR_UNSET 0xffff /* the kernel's "offset not set" */
#define NS_PER_S 1000000000ULL

BPF_RINGBUF_OUTPUT(events, 256);
BPF_TABLE("lru_hash", struct lnk_pkt_key, struct lnk_pkt_seen, packets, 32768);
/* The socket's latest segment: sock:sk_data_ready names only the socket. */
BPF_TABLE("lru_hash", u64, struct lnk_pkt_key, sock_last, 16384);
/* Segments between net_dev_start_xmit and net_dev_xmit (the skb may be gone by then). */
BPF_TABLE("lru_hash", u64, struct lnk_pkt_key, xmit_pending, 4096);
BPF_PERCPU_ARRAY(counters, u64, LNK_COUNTERS);
BPF_PERCPU_ARRAY(latency, u64, LNK_LATENCY_SLOTS);
BPF_PERCPU_ARRAY(latency_max, u64, LNK_STAGES);

struct budget {
	u64 window_ns;
	u64 used;
};
BPF_PERCPU_ARRAY(rate_budget, struct budget, 1);

/* Where a stage saw the segment: what the netns, interface and event need. */
struct where {
	const void *skb;
	const void *sk;  /* the socket, when the stage knows it */
	const void *dev; /* the device, when the stage knows it */
	u32 aux; /* kfree_skb: drop reason; skb_copy_datagram_iovec: bytes copied */
	u8 stage;
	u8 tcp_flags;
};

/* ---- headers ---- */

/* How a stage finds the IP header. */
#define NH_FROM_DATA 1   /* skb->data (netif_receive_skb: offsets not set yet) */
#define NH_FROM_OFFSET 2 /* skb->head + network_header, else skb->data */

static __always_inline bool parse_tcp(const unsigned char *tcp, u32 l3_len, u32 total,
				      struct lnk_pkt_key *k, u8 *flags)
{
	u32 doff = (tcp[12] >> 4) * 4;

	k->sport = (tcp[0] << 8) | tcp[1];
	k->dport = (tcp[2] << 8) | tcp[3];
	k->seq = ((u32)tcp[4] << 24) | ((u32)tcp[5] << 16) | ((u32)tcp[6] << 8) | tcp[7];
	k->ack_seq = ((u32)tcp[8] << 24) | ((u32)tcp[9] << 16) | ((u32)tcp[10] << 8) | tcp[11];
	*flags = tcp[13];
	k->len = total > l3_len + doff ? total - l3_len - doff : 0;
	return true;
}

/* IP header and the first 20 bytes of TCP in one read (IPv4 without options,
 * IPv6 without extension headers: the common case); else a second read. */
static __always_inline bool parse_ip(const unsigned char *nh, u16 proto, struct lnk_pkt_key *k,
				     u8 *flags)
{
	unsigned char h[60], tcp[20];
	u32 l3_len;

	READ_AT(h, nh, 0);
	if (proto == ETH_P_IPV4) {
		if ((h[0] >> 4) != 4 || h[9] != PROTO_TCP)
			return false;
		k->family = 4;
		__builtin_memcpy(&k->saddr[0], &h[12], 4);
		__builtin_memcpy(&k->daddr[0], &h[16], 4);
		l3_len = (h[0] & 15) * 4;
		if (l3_len == 20)
			return parse_tcp(&h[20], 20, (h[2] << 8) | h[3], k, flags);
		READ_AT(tcp, nh, l3_len & 63);
		return parse_tcp(tcp, l3_len, (h[2] << 8) | h[3], k, flags);
	}
	if (proto == ETH_P_IPV6) {
		if ((h[0] >> 4) != 6 || h[6] != PROTO_TCP)
			return false; /* extension headers are not followed */
		k->family = 6;
		__builtin_memcpy(k->saddr, &h[8], 16);
		__builtin_memcpy(k->daddr, &h[24], 16);
		return parse_tcp(&h[40], 40, 40 + ((h[4] << 8) | h[5]), k, flags);
	}
	return false;
}

/*
 * The sk_buff fields every stage needs (protocol, network_header, head,
 * data) sit within a few bytes of each other: one read of their span
 * instead of four (each bpf_probe_read_kernel costs ~35 ns here).
 */
#define LNK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LNK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SKB_SPAN_START                                                              \
	LNK_MIN(LNK_MIN(OFF_SKB_PROTOCOL, OFF_SKB_NETWORK_HEADER), LNK_MIN(OFF_SKB_HEAD, OFF_SKB_DATA))
#define SKB_SPAN_END                                                                \
	LNK_MAX(LNK_MAX(OFF_SKB_PROTOCOL + 2, OFF_SKB_NETWORK_HEADER + 2),              \
		LNK_MAX(OFF_SKB_HEAD + 8, OFF_SKB_DATA + 8))
#if SKB_SPAN_END - SKB_SPAN_START > 64
#error "sk_buff: protocol, network_header, head and data are not within 64 bytes"
#endif
#define SKB_SPAN_LEN (SKB_SPAN_END - SKB_SPAN_START)
#define SKB_FIELD(dst, span, off) __builtin_memcpy(&(dst), (span) + (off) - SKB_SPAN_START, sizeof(dst))

static __always_inline bool parse_skb(const void *skb, int nh_from, struct lnk_pkt_key *k,
				      u8 *flags)
{
	unsigned char span[SKB_SPAN_LEN];
	unsigned char *head, *data;
	u16 proto_be, nh_off;

	READ_AT(span, skb, SKB_SPAN_START);
	SKB_FIELD(proto_be, span, OFF_SKB_PROTOCOL);
	if (proto_be != bpf_htons(ETH_P_IPV4) && proto_be != bpf_htons(ETH_P_IPV6))
		return false;
	SKB_FIELD(data, span, OFF_SKB_DATA);
	if (nh_from == NH_FROM_OFFSET) {
		SKB_FIELD(head, span, OFF_SKB_HEAD);
		SKB_FIELD(nh_off, span, OFF_SKB_NETWORK_HEADER);
		if (head && nh_off && nh_off != HDR_UNSET)
			data = head + nh_off;
	}
	if (!data)
		return false;
	return parse_ip(data, bpf_ntohs(proto_be), k, flags);
}

/* ---- filters ---- */

static __always_inline bool key_matches(const struct lnk_pkt_key *k)
{
	if (FILTER_PORT && k->sport != FILTER_PORT && k->dport != FILTER_PORT)
		return false;
	if (!FILTER_FAMILY)
		return true;
	if (k->family != FILTER_FAMILY)
		return false;
	return (k->saddr[0] == FILTER_ADDR0 && k->saddr[1] == FILTER_ADDR1) ||
	       (k->daddr[0] == FILTER_ADDR0 && k->daddr[1] == FILTER_ADDR1);
}

/*
 * Where the stage knows the socket, -p and -i look at the socket's own
 * endpoints first (they are the segment's, turned round or not): its
 * remote and local IPv4 addresses and ports in one read (or the IPv6
 * addresses in a second), before any sk_buff or map is touched. Only a
 * quick "no": what passes is checked again on the segment.
 */
#define SKC_SPAN_START LNK_MIN(OFF_SKC_DADDR, OFF_SKC_RCV_SADDR)
#define SKC_SPAN_END (LNK_MAX(OFF_SKC_DPORT, OFF_SKC_NUM) + 2)
#define SKC_SPAN_LEN (SKC_SPAN_END - SKC_SPAN_START)
#define SKC_SPAN_OK (SKC_SPAN_LEN > 0 && SKC_SPAN_LEN <= 32)
#define SKC_FIELD(dst, span, off) __builtin_memcpy(&(dst), (span) + (off) - SKC_SPAN_START, sizeof(dst))

static __always_inline bool sock_v6_matches(const void *sk)
{
	u64 addrs[2][2];

	if (OFF_SKC_V6_RCV_SADDR != OFF_SKC_V6_DADDR + 16)
		return true;
	READ_AT(addrs, sk, OFF_SKC_V6_DADDR);
	return (addrs[0][0] == FILTER_ADDR0 && addrs[0][1] == FILTER_ADDR1) ||
	       (addrs[1][0] == FILTER_ADDR0 && addrs[1][1] == FILTER_ADDR1);
}

static __always_inline bool sock_may_match(const void *sk)
{
	unsigned char span[SKC_SPAN_OK ? SKC_SPAN_LEN : 1];
	u32 daddr, saddr;
	u16 dport_be, num;

	if ((!FILTER_PORT && !FILTER_FAMILY) || !SKC_SPAN_OK)
		return true; /* no filter, or fields far apart on this kernel: the full check follows */
	READ_AT(span, sk, SKC_SPAN_START);
	SKC_FIELD(dport_be, span, OFF_SKC_DPORT);
	SKC_FIELD(num, span, OFF_SKC_NUM);
	if (FILTER_PORT && bpf_ntohs(dport_be) != FILTER_PORT && num != FILTER_PORT)
		return false;
	if (FILTER_FAMILY == 6)
		return sock_v6_matches(sk);
	SKC_FIELD(daddr, span, OFF_SKC_DADDR);
	SKC_FIELD(saddr, span, OFF_SKC_RCV_SADDR);
	return FILTER_FAMILY != 4 || daddr == (u32)FILTER_ADDR0 || saddr == (u32)FILTER_ADDR0;
}

/* The namespace of the socket when the stage knows it, else of the device. */
static __always_inline u32 where_netns(const struct where *w)
{
	void *net = NULL;
	u32 inum = 0;

	if (w->sk)
		return bccnet_sock_netns(w->sk);
	if (w->dev)
		READ_AT(net, w->dev, OFF_DEV_ND_NET);
	if (net)
		READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum;
}

/* ---- counts, latency, budget ---- */

static __always_inline void count(u32 slot)
{
	u64 *n = counters.lookup(&slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline u32 log2_u64(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* Log-linear bucket (see LNK_SUB_BITS in the header). */
static __always_inline u32 latency_bucket(u64 ns)
{
	u32 log;

	if (ns < LNK_SUB)
		return ns;
	log = log2_u64(ns);
	if (log > LNK_MAX_LOG2)
		return LNK_BUCKETS - 1;
	return (log - LNK_SUB_BITS + 1) * LNK_SUB + ((ns >> (log - LNK_SUB_BITS)) & (LNK_SUB - 1));
}

static __always_inline void record_latency(u32 stage, u64 ns)
{
	u32 slot = stage * LNK_BUCKETS + latency_bucket(ns);
	u64 *n = latency.lookup(&slot), *max = latency_max.lookup(&stage);

	if (n)
		__sync_fetch_and_add(n, 1);
	if (max && ns > *max)
		*max = ns;
}

/* First and previous sighting of the segment; remembers this one. */
static __always_inline void remember(struct lnk_pkt_key *k, u8 stage, u64 now,
				     struct lnk_event *t)
{
	struct lnk_pkt_seen *s = packets.lookup(k);
	struct lnk_pkt_seen fresh = { .first_ns = now, .last_ns = now, .last_stage = stage };

	t->prev_stage = LNK_NO_STAGE;
	t->since_first_ns = t->since_prev_ns = 0;
	if (!s) {
		packets.update(k, &fresh);
		return;
	}
	t->since_first_ns = now - s->first_ns;
	t->since_prev_ns = now - s->last_ns;
	t->prev_stage = s->last_stage;
	s->last_ns = now;
	s->last_stage = stage;
}

static __always_inline bool within_budget(u64 now)
{
	int zero = 0;
	struct budget *b;

	if (!RATE_LIMIT_PER_CPU)
		return true;
	b = rate_budget.lookup(&zero);
	if (!b)
		return false;
	if (now - b->window_ns >= NS_PER_S) {
		b->window_ns = now;
		b->used = 0;
	}
	if (b->used >= RATE_LIMIT_PER_CPU)
		return false;
	b->used++;
	return true;
}

/* ---- the report ---- */

static __always_inline void submit(const struct lnk_pkt_key *k, const struct where *w,
				   const struct lnk_event *timing, u64 now, u32 netns)
{
	struct lnk_event *e = events.ringbuf_reserve(sizeof(*e));

	if (!e) {
		bccnet_count_lost();
		return;
	}
	__builtin_memcpy(&e->pkt, k, sizeof(*k));
	e->ts_ns = now;
	e->skb = (u64)w->skb;
	e->since_first_ns = timing->since_first_ns;
	e->since_prev_ns = timing->since_prev_ns;
	e->prev_stage = timing->prev_stage;
	e->netns = netns ? netns : where_netns(w);
	e->aux = w->aux;
	e->stage = w->stage;
	e->tcp_flags = w->tcp_flags;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->ifname, 0, sizeof(e->ifname));
	if (w->dev)
		bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname),
					  (const char *)w->dev + OFF_DEV_NAME);
	events.ringbuf_submit(e, bccnet_submit_flags());
	count(LNK_SUBMITTED);
}

/* Filters, counts and latency, then the event within the budget. True when
 * the segment passed the filters. */
static __always_inline bool report(struct lnk_pkt_key *k, const struct where *w)
{
	struct lnk_event timing;
	u32 netns = 0;
	u64 now;

	if (!key_matches(k))
		return false;
	if (FILTER_NETNS) {
		netns = where_netns(w);
		if (netns != FILTER_NETNS)
			return false;
	}
	now = bpf_ktime_get_ns();
	count(w->stage);
	remember(k, w->stage, now, &timing);
	if (timing.prev_stage != LNK_NO_STAGE)
		record_latency(w->stage, timing.since_prev_ns);
	if (STATS_ONLY)
		return true;
	if (!within_budget(now)) {
		count(LNK_RATE_LIMITED);
		return true;
	}
	submit(k, w, &timing, now, netns);
	return true;
}

/* A stage with an skb whose headers are complete. */
static __always_inline bool on_skb(u8 stage, const void *skb, const void *sk, int nh_from,
				   bool with_dev, struct lnk_pkt_key *k)
{
	struct where w = { .skb = skb, .sk = sk, .stage = stage };

	if (!skb || !parse_skb(skb, nh_from, k, &w.tcp_flags))
		return false;
	if (with_dev)
		READ_AT(w.dev, skb, OFF_SKB_DEV);
	return report(k, &w);
}

/* A receive stage that knows the socket: sock_def_readable will find this segment. */
static __always_inline int on_sock_skb(u8 stage, const void *sk, const void *skb)
{
	struct lnk_pkt_key k = {};
	u64 key = (u64)sk;

	if (!sock_may_match(sk))
		return 0;
	if (on_skb(stage, skb, sk, NH_FROM_OFFSET, true, &k))
		sock_last.update(&key, &k);
	return 0;
}

/* ---- receive stages ---- */

RAW_TRACEPOINT_PROBE(netif_receive_skb)
{
	struct lnk_pkt_key k = {};

	on_skb(LNK_NETIF_RECEIVE_SKB, (const void *)ctx->args[0], NULL, NH_FROM_DATA, true, &k);
	return 0;
}

/* ip_rcv_finish(struct net *net, struct sock *sk, struct sk_buff *skb) */
int kp_ip_rcv_finish(struct pt_regs *ctx)
{
	struct lnk_pkt_key k = {};

	on_skb(LNK_IP_RCV_FINISH, (const void *)PT_REGS_PARM3(ctx), NULL, NH_FROM_OFFSET, true, &k);
	return 0;
}

/* Kprobe stages whose function takes (struct sock *sk, struct sk_buff *skb, ...). */
#define KPROBE_SOCK_SKB(func, stage)                                                 \
	int kp_##func(struct pt_regs *ctx)                                           \
	{                                                                            \
		return on_sock_skb(stage, (const void *)PT_REGS_PARM1(ctx),          \
				   (const void *)PT_REGS_PARM2(ctx));                \
	}

KPROBE_SOCK_SKB(tcp_v4_do_rcv, LNK_TCP_V4_DO_RCV)
KPROBE_SOCK_SKB(tcp_v6_do_rcv, LNK_TCP_V6_DO_RCV)
KPROBE_SOCK_SKB(tcp_rcv_established, LNK_TCP_RCV_ESTABLISHED)
KPROBE_SOCK_SKB(tcp_queue_rcv, LNK_TCP_QUEUE_RCV)

/* tcp:tcp_probe sits at the top of tcp_rcv_established(sk, skb). */
RAW_TRACEPOINT_PROBE(tcp_probe)
{
	return on_sock_skb(LNK_TCP_RCV_ESTABLISHED, (const void *)ctx->args[0],
			   (const void *)ctx->args[1]);
}

/* A segment's addresses from its socket: incoming (remote -> local) or
 * outgoing. False for sockets that are not IPv4/IPv6. */
static __always_inline bool key_from_sock(const void *sk, bool incoming, struct lnk_pkt_key *k)
{
	struct sock_tuple t = {};

	read_sock_tuple(sk, &t);
	if (t.family != BCCNET_AF_INET && t.family != BCCNET_AF_INET6)
		return false;
	k->family = t.family == BCCNET_AF_INET ? 4 : 6;
	__builtin_memcpy(k->saddr, incoming ? t.daddr : t.saddr, sizeof(k->saddr));
	__builtin_memcpy(k->daddr, incoming ? t.saddr : t.daddr, sizeof(k->daddr));
	k->sport = incoming ? t.dport : t.sport;
	k->dport = incoming ? t.sport : t.dport;
	return true;
}

/* The segment this socket received last, taken from sock_last: only if it
 * was addressed to this socket's port (a freed socket's address is reused). */
static __always_inline bool take_last_segment(const void *sk, struct lnk_pkt_key *k)
{
	u64 key = (u64)sk;
	struct lnk_pkt_key *last = sock_last.lookup(&key);
	u16 local_port;

	if (!last)
		return false;
	__builtin_memcpy(k, last, sizeof(*k));
	sock_last.delete(&key);
	READ_AT(local_port, sk, OFF_SKC_NUM);
	return k->dport == local_port;
}

/* The socket's latest segment, or (none seen: a listener woken for accept)
 * the socket's endpoints turned round to the direction of its incoming
 * segments, without SEQ/ACK. Only TCP sockets. */
static __always_inline int on_data_ready(const void *sk)
{
	struct lnk_pkt_key k = {};
	struct where w = { .sk = sk, .stage = LNK_SOCK_DEF_READABLE };
	u16 protocol;

	if (!sock_may_match(sk))
		return 0;
	if (take_last_segment(sk, &k)) {
		report(&k, &w);
		return 0;
	}
	__builtin_memset(&k, 0, sizeof(k));
	READ_AT(protocol, sk, OFF_SK_PROTOCOL);
	if (protocol != PROTO_TCP)
		return 0;
	if (key_from_sock(sk, true, &k))
		report(&k, &w);
	return 0;
}

RAW_TRACEPOINT_PROBE(sk_data_ready)
{
	return on_data_ready((const void *)ctx->args[0]);
}

int kp_sock_def_readable(struct pt_regs *ctx)
{
	return on_data_ready((const void *)PT_REGS_PARM1(ctx));
}

/* skb_copy_datagram_iovec(skb, len): the application's copy; skb->sk is the reader. */
RAW_TRACEPOINT_PROBE(skb_copy_datagram_iovec)
{
	const void *skb = (const void *)ctx->args[0];
	struct lnk_pkt_key k = {};
	struct where w = { .skb = skb, .stage = LNK_SKB_COPY_DATAGRAM_IOVEC,
			   .aux = (u32)ctx->args[1] };

	if (!parse_skb(skb, NH_FROM_OFFSET, &k, &w.tcp_flags) || !key_matches(&k))
		return 0;
	READ_AT(w.sk, skb, OFF_SKB_SK);
	report(&k, &w);
	return 0;
}

/* kfree_skb(skb, location, reason[, rx_sk]) */
RAW_TRACEPOINT_PROBE(kfree_skb)
{
	const void *skb = (const void *)ctx->args[0];
	struct where w = { .skb = skb, .stage = LNK_KFREE_SKB };
	struct lnk_pkt_key k = {};

	if (!parse_skb(skb, NH_FROM_OFFSET, &k, &w.tcp_flags))
		return 0;
	if (!key_matches(&k))
		return 0;
	if (KFREE_HAS_REASON)
		w.aux = (u32)ctx->args[2];
	READ_AT(w.sk, skb, OFF_SKB_SK);
	READ_AT(w.dev, skb, OFF_SKB_DEV);
	report(&k, &w);
	return 0;
}

/* ---- transmit stages (--tx) ---- */

/* Before the TCP header exists: the socket's endpoints and what the caller
 * knows of the segment to be. */
static __always_inline int on_tcp_send(const struct where *w, u32 seq, u32 ack, u32 len)
{
	struct lnk_pkt_key k = {};

	if (!sock_may_match(w->sk) || !key_from_sock(w->sk, false, &k))
		return 0;
	k.seq = seq;
	k.ack_seq = ack;
	k.len = len;
	report(&k, w);
	return 0;
}

/* tcp_sendmsg_locked(sk, msg, skb, size_goal), once per send-queue skb the
 * data goes into (skb: the queue's tail before it, often NULL). The data
 * left to queue starts at write_seq; it will carry ACK rcv_nxt. */
RAW_TRACEPOINT_PROBE(tcp_sendmsg_locked)
{
	const void *sk = (const void *)ctx->args[0];
	struct where w = { .skb = (const void *)ctx->args[2], .sk = sk,
			   .stage = LNK_TCP_SENDMSG_LOCKED };
	u32 write_seq, rcv_nxt;
	u64 left;

	READ_AT(write_seq, sk, OFF_TCP_SOCK_WRITE_SEQ);
	READ_AT(rcv_nxt, sk, OFF_TCP_SOCK_RCV_NXT);
	READ_AT(left, (const void *)ctx->args[1], OFF_MSGHDR_ITER_COUNT);
	return on_tcp_send(&w, write_seq, rcv_nxt, (u32)left);
}

/* __tcp_transmit_skb(sk, skb, clone_it, gfp_mask, rcv_nxt): the segment
 * before its header is pushed: TCP_SKB_CB(skb)->seq, skb->len of payload. */
int kp_tcp_transmit_skb(struct pt_regs *ctx)
{
	const void *skb = (const void *)PT_REGS_PARM2(ctx);
	struct where w = { .skb = skb, .sk = (const void *)PT_REGS_PARM1(ctx),
			   .stage = LNK_TCP_TRANSMIT_SKB };
	u32 seq, len;

	READ_AT(seq, skb, OFF_SKB_CB + OFF_TCB_SEQ);
	READ_AT(len, skb, OFF_SKB_LEN);
	READ_AT(w.tcp_flags, skb, OFF_SKB_CB + OFF_TCB_TCP_FLAGS);
	return on_tcp_send(&w, seq, (u32)PT_REGS_PARM5(ctx), len);
}

RAW_TRACEPOINT_PROBE(net_dev_queue)
{
	struct lnk_pkt_key k = {};

	on_skb(LNK_NET_DEV_QUEUE, (const void *)ctx->args[0], NULL, NH_FROM_OFFSET, true, &k);
	return 0;
}

/* qdisc_dequeue(qdisc, txq, packets, skb): skb is NULL when nothing left. */
RAW_TRACEPOINT_PROBE(qdisc_dequeue)
{
	struct lnk_pkt_key k = {};

	on_skb(LNK_QDISC_DEQUEUE, (const void *)ctx->args[3], NULL, NH_FROM_OFFSET, true, &k);
	return 0;
}

/* net_dev_start_xmit(skb, dev) */
RAW_TRACEPOINT_PROBE(net_dev_start_xmit)
{
	u64 skb = ctx->args[0];
	struct lnk_pkt_key k = {};

	if (on_skb(LNK_NET_DEV_START_XMIT, (const void *)skb, NULL, NH_FROM_OFFSET, true, &k))
		xmit_pending.update(&skb, &k);
	return 0;
}

/* net_dev_xmit(skb, rc, dev, skb_len): the driver may have freed or passed
 * on the skb; its segment is the one net_dev_start_xmit saw. */
RAW_TRACEPOINT_PROBE(net_dev_xmit)
{
	u64 skb = ctx->args[0];
	struct lnk_pkt_key *pending = xmit_pending.lookup(&skb);
	struct where w = { .skb = (const void *)skb, .dev = (const void *)ctx->args[2],
			   .stage = LNK_NET_DEV_XMIT };
	struct lnk_pkt_key k;

	if (!pending)
		return 0;
	__builtin_memcpy(&k, pending, sizeof(k));
	xmit_pending.delete(&skb);
	report(&k, &w);
	return 0;
}
