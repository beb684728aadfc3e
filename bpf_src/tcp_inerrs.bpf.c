/*
 * tcp_inerrs: one event per TCP segment the kernel refused. skb:kfree_skb is
 * the only place that reports (so a segment is reported once); its reason
 * must be one of the TCP reasons user space put in badseg_reasons (values and
 * names come from the running kernel's BTF). tcp:tcp_bad_csum marks the skb
 * it saw, so that segment is reported as a checksum error whatever reason
 * it is freed with, and counts checksum errors for the summary. The detection
 * lives in tcp_badseg.bpf.h, shared with netwatch -e. Addresses
 * come from the segment's own headers; the state from the receiving socket
 * when the kernel had found one: kfree_skb's rx_sk where the kernel has that
 * field, else the socket tcp:tcp_probe named for the same skb (SOCK_FROM).
 */
#include "bccnet.bpf.h"
#include "tcp_inerrs.h"
#include "sock_tuple.bpf.h"
#include "tcp_badseg.bpf.h"

/* The kfree_skb format names this enum, which the installed headers lack;
 * its values are -D numbers from BTF. */
enum skb_drop_reason { SKB_DROP_REASON_PLACEHOLDER_ };

#ifndef FILTER_PID
#define FILTER_PID 0
#endif
#ifndef FILTER_FAMILY
#define FILTER_FAMILY 0 /* 4 or 6 */
#endif
#ifndef REASON_TCP_CSUM
#define REASON_TCP_CSUM 0
#endif
#ifndef SOCK_FROM
#define SOCK_FROM TIE_SOCK_FROM_NONE
#endif

#define SA_FAMILY_INET6 10

BPF_RINGBUF_OUTPUT(events, 256);
BPF_ARRAY(counters, u64, TIE_COUNTERS);

static __always_inline bool pid_matches(void)
{
	return !FILTER_PID || (bpf_get_current_pid_tgid() >> 32) == FILTER_PID;
}

static __always_inline bool family_matches(u8 family)
{
	return !FILTER_FAMILY || family == FILTER_FAMILY;
}

/* The segment's addresses and ports, turned round: local = its receiver. */
static __always_inline bool parse_segment(struct tie_event *e, const void *skb, u16 protocol)
{
	struct tcp_seg s = {};

	if (!tcp_seg_of_skb(&s, skb, protocol))
		return false;
	e->family = s.family;
	__builtin_memcpy(e->laddr, s.daddr, sizeof(e->laddr));
	__builtin_memcpy(e->raddr, s.saddr, sizeof(e->raddr));
	e->lport = s.dport;
	e->rport = s.sport;
	return true;
}

/* The namespace that received the segment: the socket's, else the device's (skb->dev;
 * once TCP has taken the skb over, that field can be gone: then its route's device). */
static __always_inline u32 segment_netns(const void *skb, const void *sk)
{
	void *dev, *net;
	unsigned long dst;
	u32 inum;

	if (sk)
		return bccnet_sock_netns(sk);
	READ_AT(dev, skb, OFF_SKB_DEV);
	if (!dev) {
		READ_AT(dst, skb, OFF_SKB_REFDST);
		dst &= ~1UL; /* SKB_DST_NOREF */
		if (!dst)
			return 0;
		READ_AT(dev, dst, OFF_DST_DEV);
	}
	READ_AT(net, dev, OFF_DEV_ND_NET);
	READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum;
}

static __always_inline void submit(struct tie_event *draft)
{
	struct tie_event *e = events.ringbuf_reserve(sizeof(*e));

	if (!e) {
		bccnet_count_lost();
		return;
	}
	__builtin_memcpy(e, draft, sizeof(*e));
	events.ringbuf_submit(e, bccnet_submit_flags());
}

#if SOCK_FROM == TIE_SOCK_FROM_TCP_PROBE
/* Kernels without rx_sk: the socket tcp:tcp_probe named (tcp_badseg.bpf.h). */
RAW_TRACEPOINT_PROBE(tcp_probe)
{
	badseg_remember_sock(ctx->args[0], ctx->args[1]);
	return 0;
}

RAW_TRACEPOINT_PROBE(netif_receive_skb)
{
	badseg_forget_skb(ctx->args[0]);
	return 0;
}

static __always_inline void *receiving_sock(void *skb, void *rx_sk)
{
	return (void *)badseg_probed_sock((u64)skb);
}
#define RX_SK(args) NULL
#elif SOCK_FROM == TIE_SOCK_FROM_RX_SK
static __always_inline void *receiving_sock(void *skb, void *rx_sk) { return rx_sk; }
#define RX_SK(args) (args)->rx_sk
#else
static __always_inline void *receiving_sock(void *skb, void *rx_sk) { return NULL; }
#define RX_SK(args) NULL
#endif

TRACEPOINT_PROBE(skb, kfree_skb)
{
	struct tie_event e = {};
	int reason = badseg_verdict(args->skbaddr, args->reason, REASON_TCP_CSUM);
	void *sk = receiving_sock(args->skbaddr, RX_SK(args));
	u64 id;

	if (reason < 0)
		return 0;
	if (!pid_matches())
		return 0;
	e.netns = segment_netns(args->skbaddr, sk);
	if (FILTER_NETNS && e.netns != FILTER_NETNS)
		return 0;
	if (!parse_segment(&e, args->skbaddr, args->protocol) || !family_matches(e.family))
		return 0;
	if (sk)
		READ_AT(e.state, sk, OFF_SKC_STATE);
	id = bpf_get_current_pid_tgid();
	e.ts_ns = bpf_ktime_get_ns();
	e.pid = id >> 32;
	e.tid = (u32)id;
	e.reason = reason;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	submit(&e);
	return 0;
}

/* saddr/daddr are a sockaddr_in or sockaddr_in6: sa_family first. */
TRACEPOINT_PROBE(tcp, tcp_bad_csum)
{
	int slot = TIE_BAD_CSUM_TRACED;
	u64 *count;
	u16 sa_family;

	badseg_mark_csum(args->skbaddr);
	__builtin_memcpy(&sa_family, args->saddr, sizeof(sa_family));
	if (!pid_matches() || !family_matches(sa_family == SA_FAMILY_INET6 ? 6 : 4))
		return 0;
	if (FILTER_NETNS && segment_netns(args->skbaddr, NULL) != FILTER_NETNS)
		return 0;
	count = counters.lookup(&slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
