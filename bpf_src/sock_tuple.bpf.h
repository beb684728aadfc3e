/*
 * Reads a struct sock's endpoints through struct sock_common offsets from
 * BTF (-DOFF_SKC_* from cflags_sock_common()); no header layout is trusted.
 */
#include "sock_tuple.h"

#ifndef FILTER_NETNS
#define FILTER_NETNS 0
#endif

#define BCCNET_AF_INET 2
#define BCCNET_AF_INET6 10

static __always_inline void read_sock_tuple(const void *sk, struct sock_tuple *t)
{
	u16 dport_be, sport_be;

	READ_AT(t->family, sk, OFF_SKC_FAMILY);
	READ_AT(t->state, sk, OFF_SKC_STATE);
	READ_AT(t->sport, sk, OFF_SKC_NUM); /* skc_num: local port, host order */
	if (!t->sport) {
		/* A reset (tcp_done -> inet_put_port) cleared skc_num while the
		 * socket is still open; inet_sock.inet_sport keeps the port. */
		READ_AT(sport_be, sk, OFF_INET_SPORT);
		t->sport = bpf_ntohs(sport_be);
	}
	READ_AT(dport_be, sk, OFF_SKC_DPORT);
	t->dport = bpf_ntohs(dport_be);
	if (t->family == BCCNET_AF_INET) {
		bpf_probe_read_kernel(&t->saddr, 4, (const char *)sk + OFF_SKC_RCV_SADDR);
		bpf_probe_read_kernel(&t->daddr, 4, (const char *)sk + OFF_SKC_DADDR);
	} else if (t->family == BCCNET_AF_INET6) {
		bpf_probe_read_kernel(&t->saddr, 16, (const char *)sk + OFF_SKC_V6_RCV_SADDR);
		bpf_probe_read_kernel(&t->daddr, 16, (const char *)sk + OFF_SKC_V6_DADDR);
	}
}

/* Inode of the socket's network namespace (sk->__sk_common.skc_net.net->ns.inum). */
static __always_inline u32 bccnet_sock_netns(const void *sk)
{
	void *net;
	u32 inum;

	READ_AT(net, sk, OFF_SKC_NET);
	READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum;
}

/* --netns: true when no namespace was asked for or the socket lives in it. */
static __always_inline bool bccnet_netns_ok(const void *sk)
{
	return !FILTER_NETNS || bccnet_sock_netns(sk) == FILTER_NETNS;
}
