/*
 * TCP segments read from an skb's own headers, and the kernel's verdict on bad
 * incoming ones, shared by tcp_inerrs and netwatch -e (one home for both).
 *
 * A segment is bad when skb:kfree_skb frees it with one of the drop reasons
 * user space put in badseg_reasons (values from the running kernel's BTF), or
 * when tcp:tcp_bad_csum saw that skb just before: the checksum verdict wins
 * whatever reason the skb is then freed with. Needs -DOFF_SKB_HEAD,
 * -DOFF_SKB_NETWORK_HEADER, -DOFF_SKB_TRANSPORT_HEADER (BTF).
 */
#include "tcp_badseg.h"

#define BADSEG_ETH_P_IPV4 0x0800
#define BADSEG_ETH_P_IPV6 0x86DD
#define BADSEG_PROTO_TCP 6

/* A TCP segment as on the wire: s* the sender, d* the receiver; family 4 or 6
 * (IPv4 in the first 4 bytes); ports, seq and ack in host order. */
struct tcp_seg {
	u64 saddr[2];
	u64 daddr[2];
	u32 seq;
	u32 ack;
	u16 sport;
	u16 dport;
	u16 payload; /* bytes after the TCP header, from the IP length */
	u8 family;
	u8 flags; /* TCP flags: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10 */
};

BPF_ARRAY(badseg_reasons, u8, BADSEG_MAX_REASONS); /* 1: this drop reason is a bad segment */
BPF_PERCPU_ARRAY(badseg_csum_skb, u64, 1);         /* skb last seen by tcp_bad_csum */

/* IPv4 header at nh: returns its length (IHL), 0 if not IPv4 TCP. */
static __always_inline u32 tcp_seg_ipv4(struct tcp_seg *s, const unsigned char *nh)
{
	unsigned char hdr[20];
	u16 tot_len;
	u32 ihl;

	READ_AT(hdr, nh, 0);
	if ((hdr[0] >> 4) != 4 || hdr[9] != BADSEG_PROTO_TCP)
		return 0;
	ihl = (hdr[0] & 0xf) * 4;
	__builtin_memcpy(&tot_len, &hdr[2], 2);
	s->family = 4;
	s->payload = bpf_ntohs(tot_len) - ihl; /* TCP header taken off by the caller */
	__builtin_memcpy(&s->saddr[0], &hdr[12], 4);
	__builtin_memcpy(&s->daddr[0], &hdr[16], 4);
	return ihl;
}

/* IPv6 header at nh: 40, or 0 if not IPv6 (TCP is checked at the transport
 * header: extension headers are skipped by the caller's th offset, or refused). */
static __always_inline u32 tcp_seg_ipv6(struct tcp_seg *s, const unsigned char *nh)
{
	unsigned char hdr[40];
	u16 plen;

	READ_AT(hdr, nh, 0);
	if ((hdr[0] >> 4) != 6)
		return 0;
	__builtin_memcpy(&plen, &hdr[4], 2);
	s->family = 6;
	s->payload = bpf_ntohs(plen);
	__builtin_memcpy(s->saddr, &hdr[8], 16);
	__builtin_memcpy(s->daddr, &hdr[24], 16);
	return hdr[6] == BADSEG_PROTO_TCP ? 40 : 0xffff; /* 0xffff: only with a known th */
}

/* The segment whose IP header is at nh and TCP header at th (NULL: right after
 * the IP header). l3proto: the skb's ethertype, host order. */
static __always_inline bool tcp_seg_parse(struct tcp_seg *s, const unsigned char *nh,
					  const unsigned char *th, u16 l3proto)
{
	unsigned char tcp[14];
	u32 iplen = 0, doff;

	if (l3proto == BADSEG_ETH_P_IPV4)
		iplen = tcp_seg_ipv4(s, nh);
	else if (l3proto == BADSEG_ETH_P_IPV6)
		iplen = tcp_seg_ipv6(s, nh);
	if (!iplen || (!th && iplen == 0xffff))
		return false;
	if (!th)
		th = nh + iplen;
	READ_AT(tcp, th, 0);
	s->sport = (tcp[0] << 8) | tcp[1];
	s->dport = (tcp[2] << 8) | tcp[3];
	s->seq = ((u32)tcp[4] << 24) | ((u32)tcp[5] << 16) | ((u32)tcp[6] << 8) | tcp[7];
	s->ack = ((u32)tcp[8] << 24) | ((u32)tcp[9] << 16) | ((u32)tcp[10] << 8) | tcp[11];
	s->flags = tcp[13];
	doff = (tcp[12] >> 4) * 4;
	s->payload = s->payload > doff ? s->payload - doff : 0;
	return true;
}

/* The segment of an skb whose network and transport header offsets are set
 * (receive path after IP, transmit path after TCP). */
static __always_inline bool tcp_seg_of_skb(struct tcp_seg *s, const void *skb, u16 l3proto)
{
	unsigned char *head;
	u16 nh_off, th_off;

	READ_AT(head, skb, OFF_SKB_HEAD);
	READ_AT(nh_off, skb, OFF_SKB_NETWORK_HEADER);
	READ_AT(th_off, skb, OFF_SKB_TRANSPORT_HEADER);
	if (!head || nh_off == (u16)~0U || th_off == (u16)~0U)
		return false;
	return tcp_seg_parse(s, head + nh_off, head + th_off, l3proto);
}

/* tcp:tcp_bad_csum: remember the skb so its kfree_skb reads as a checksum error. */
static __always_inline void badseg_mark_csum(const void *skb)
{
	int zero = 0;
	u64 *mark = badseg_csum_skb.lookup(&zero);

	if (mark)
		*mark = (u64)skb;
}

/* Was this skb seen by tcp_bad_csum on this CPU? Forgets it either way. */
static __always_inline bool badseg_take_csum_mark(const void *skb)
{
	int zero = 0;
	u64 *mark = badseg_csum_skb.lookup(&zero);

	if (!mark || *mark != (u64)skb)
		return false;
	*mark = 0;
	return true;
}

/* skb:kfree_skb: the reason to report (csum_reason for a checksum error the
 * tracepoint saw), or -1 when the freed skb is not a bad segment. */
static __always_inline int badseg_verdict(const void *skb, u32 reason, u32 csum_reason)
{
	u8 *wanted;

	if (badseg_take_csum_mark(skb))
		return csum_reason;
	wanted = badseg_reasons.lookup(&reason);
	return wanted && *wanted ? (int)reason : -1;
}

/*
 * The receiving socket on kernels whose skb:kfree_skb has no rx_sk (before 6.8):
 * tcp:tcp_probe(sk, skb) starts tcp_rcv_established, where an established socket
 * checks a segment, and the drop follows on the same CPU. The socket is remembered
 * for that skb until the drop, or until a new skb enters the stack at the same
 * address (net:netif_receive_skb: skbs are recycled).
 */
struct badseg_skb_sock {
	u64 skb;
	u64 sk;
};
BPF_PERCPU_ARRAY(badseg_rx_sock, struct badseg_skb_sock, 1);

/* tcp:tcp_probe(sk, skb) */
static __always_inline void badseg_remember_sock(u64 sk, u64 skb)
{
	int zero = 0;
	struct badseg_skb_sock *s = badseg_rx_sock.lookup(&zero);

	if (s) {
		s->sk = sk;
		s->skb = skb;
	}
}

/* net:netif_receive_skb(skb) */
static __always_inline void badseg_forget_skb(u64 skb)
{
	int zero = 0;
	struct badseg_skb_sock *s = badseg_rx_sock.lookup(&zero);

	if (s && s->skb == skb)
		s->skb = 0;
}

/* skb:kfree_skb: the socket tcp_probe named for this skb, or 0; forgets it either way. */
static __always_inline u64 badseg_probed_sock(u64 skb)
{
	int zero = 0;
	struct badseg_skb_sock *s = badseg_rx_sock.lookup(&zero);
	u64 sk;

	if (!s || s->skb != skb)
		return 0;
	sk = s->sk;
	s->skb = 0;
	return sk;
}
