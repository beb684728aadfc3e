/*
 * tun_ring_monitor: at net:net_dev_start_xmit for TUN/TAP devices, read the
 * queue's ptr_ring (skb->dev -> netdev_priv = tun_struct -> tfiles[queue] ->
 * tx_ring) and apply the kernel's __ptr_ring_full() test, queue[producer] !=
 * NULL. Every offset is a -D number from BTF; filters are -D numbers too.
 */
#include "bccnet.bpf.h"
#include "tun_ring_monitor.h"

#ifndef TUN_XMIT_ADDR
#define TUN_XMIT_ADDR 0 /* address of tun_net_xmit: identifies TUN/TAP devices */
#endif
#ifndef FILTER_DEV
#define FILTER_DEV 0
#define FILTER_DEV_W0 0
#define FILTER_DEV_W1 0
#endif
#ifndef FILTER_NETNS
#define FILTER_NETNS 0 /* inode of the only network namespace watched; 0: every one */
#endif
#ifndef FILTER_SRC_FAMILY
#define FILTER_SRC_FAMILY 0
#define FILTER_SRC_W0 0
#define FILTER_SRC_W1 0
#endif
#ifndef FILTER_DST_FAMILY
#define FILTER_DST_FAMILY 0
#define FILTER_DST_W0 0
#define FILTER_DST_W1 0
#endif
#ifndef FILTER_SPORT
#define FILTER_SPORT 0
#endif
#ifndef FILTER_DPORT
#define FILTER_DPORT 0
#endif
#ifndef FILTER_PROTO
#define FILTER_PROTO 0
#endif
#ifndef SHOW_ALL
#define SHOW_ALL 0
#endif
#define FILTER_TUPLE                                                                   \
	(FILTER_SRC_FAMILY || FILTER_DST_FAMILY || FILTER_SPORT || FILTER_DPORT ||       \
	 FILTER_PROTO)

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86DD
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

BPF_RINGBUF_OUTPUT(events, 256);
BPF_HASH(queue_stats, struct trm_queue_key, struct trm_queue_stats, 4096);

static __always_inline bool is_tun_device(void *dev)
{
	void *ops, *xmit;

	READ_AT(ops, dev, OFF_DEV_NETDEV_OPS);
	if (!ops)
		return false;
	READ_AT(xmit, ops, OFF_OPS_START_XMIT);
	return (u64)xmit == TUN_XMIT_ADDR;
}

static __always_inline u32 dev_netns(void *dev)
{
	void *net;
	u32 inum;

	READ_AT(net, dev, OFF_DEV_ND_NET);
	READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum;
}

/* --device (by name) and --netns (the device's namespace), each when given: the
 * constant -D numbers leave nothing of this function when neither is. */
static __always_inline bool device_matches(void *dev)
{
	u64 name[2];

	if (FILTER_DEV) {
		READ_AT(name, dev, OFF_DEV_NAME);
		if (name[0] != FILTER_DEV_W0 || name[1] != FILTER_DEV_W1)
			return false;
	}
	return !FILTER_NETNS || dev_netns(dev) == FILTER_NETNS;
}

static __always_inline void read_ports(struct trm_tuple *t, unsigned char *l4)
{
	u16 ports[2];

	if (t->protocol != PROTO_TCP && t->protocol != PROTO_UDP)
		return;
	READ_AT(ports, l4, 0);
	t->sport = bpf_ntohs(ports[0]);
	t->dport = bpf_ntohs(ports[1]);
}

/* IPv4 wire header: version/ihl at 0, frag_off at 6, protocol at 9, addresses at 12. */
static __always_inline void parse_ipv4(struct trm_tuple *t, unsigned char *nh,
				       unsigned char *l4)
{
	unsigned char hdr[20];
	u16 frag;

	READ_AT(hdr, nh, 0);
	if ((hdr[0] >> 4) != 4 || (hdr[0] & 0xf) < 5)
		return;
	t->family = 4;
	t->protocol = hdr[9];
	__builtin_memcpy(&t->saddr[0], &hdr[12], 4);
	__builtin_memcpy(&t->daddr[0], &hdr[16], 4);
	frag = ((u16)hdr[6] << 8 | hdr[7]) & 0x1fff;
	if (frag == 0) /* later fragments carry no ports */
		read_ports(t, l4 ? l4 : nh + (hdr[0] & 0xf) * 4);
}

/* IPv6 wire header: next header at 6, addresses at 8 and 24. */
static __always_inline void parse_ipv6(struct trm_tuple *t, unsigned char *nh,
				       unsigned char *l4)
{
	unsigned char hdr[40];

	READ_AT(hdr, nh, 0);
	if ((hdr[0] >> 4) != 6)
		return;
	t->family = 6;
	t->protocol = hdr[6];
	__builtin_memcpy(t->saddr, &hdr[8], 16);
	__builtin_memcpy(t->daddr, &hdr[24], 16);
	read_ports(t, l4 ? l4 : nh + 40);
}

static __always_inline bool tuple_matches(const struct trm_tuple *t)
{
	if (FILTER_SRC_FAMILY && (t->family != FILTER_SRC_FAMILY || t->saddr[0] != FILTER_SRC_W0 ||
				  t->saddr[1] != FILTER_SRC_W1))
		return false;
	if (FILTER_DST_FAMILY && (t->family != FILTER_DST_FAMILY || t->daddr[0] != FILTER_DST_W0 ||
				  t->daddr[1] != FILTER_DST_W1))
		return false;
	if (FILTER_PROTO && t->protocol != FILTER_PROTO)
		return false;
	if (FILTER_SPORT && t->sport != FILTER_SPORT)
		return false;
	if (FILTER_DPORT && t->dport != FILTER_DPORT)
		return false;
	return true;
}

static __always_inline void read_ring(void *dev, u32 queue, struct trm_ring *r)
{
	unsigned char *tun = (unsigned char *)dev + OFF_DEV_PRIV;
	unsigned char *ring, *slots;

	r->tun = (u64)tun;
	READ_AT(r->numqueues, tun, OFF_TUN_NUMQUEUES);
	if (queue >= r->numqueues || queue >= TUN_TFILES_LEN)
		return;
	READ_AT(r->tfile, tun, OFF_TUN_TFILES + (u64)queue * sizeof(void *));
	if (!r->tfile)
		return;
	READ_AT(r->tfile_queue_index, (void *)r->tfile, OFF_TFILE_QUEUE_INDEX);
	ring = (unsigned char *)r->tfile + OFF_TFILE_TX_RING;
	READ_AT(r->producer, ring, OFF_RING_PRODUCER);
	READ_AT(r->consumer_head, ring, OFF_RING_CONSUMER_HEAD);
	READ_AT(r->consumer_tail, ring, OFF_RING_CONSUMER_TAIL);
	READ_AT(r->size, ring, OFF_RING_SIZE);
	READ_AT(slots, ring, OFF_RING_QUEUE);
	if (!slots || r->size == 0 || r->producer >= r->size)
		return;
	r->found = 1;
	READ_AT(r->slot, slots, (u64)r->producer * sizeof(void *));
	r->full = r->slot != 0;
}

static __always_inline void count_packet(void *dev, u32 queue, u32 netns, bool full)
{
	struct trm_queue_key key = { .queue = queue, .netns = netns };
	struct trm_queue_stats zero = {}, *s;

	READ_AT(key.dev, dev, OFF_DEV_NAME);
	s = queue_stats.lookup_or_try_init(&key, &zero);
	if (!s) {
		bccnet_count_lost(); /* map full: the summary would miss this packet */
		return;
	}
	__sync_fetch_and_add(&s->packets, 1);
	if (full)
		__sync_fetch_and_add(&s->ring_full, 1);
}

TRACEPOINT_PROBE(net, net_dev_start_xmit)
{
	unsigned char *skb = (unsigned char *)args->skbaddr;
	unsigned char *data, *l4 = NULL;
	struct trm_tuple tuple = {};
	struct trm_ring ring = {};
	struct trm_event *e;
	void *dev;
	u32 netns;

	READ_AT(dev, skb, OFF_SKB_DEV);
	if (!dev || !device_matches(dev) || !is_tun_device(dev))
		return 0;

	READ_AT(data, skb, OFF_SKB_DATA);
	if (args->transport_offset_valid)
		l4 = data + args->transport_offset;
	if (args->protocol == ETH_P_IPV4)
		parse_ipv4(&tuple, data + args->network_offset, l4);
	else if (args->protocol == ETH_P_IPV6)
		parse_ipv6(&tuple, data + args->network_offset, l4);
	if (FILTER_TUPLE && !tuple_matches(&tuple))
		return 0;

	read_ring(dev, args->queue_mapping, &ring);
	netns = dev_netns(dev);
	count_packet(dev, args->queue_mapping, netns, ring.full);
	if (!SHOW_ALL && !ring.full)
		return 0;

	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->skb = (u64)skb;
	e->tuple = tuple;
	e->ring = ring;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tid = (u32)bpf_get_current_pid_tgid();
	e->queue = args->queue_mapping;
	e->netns = netns;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	READ_AT(e->dev, dev, OFF_DEV_NAME);
	events.ringbuf_submit(e, bccnet_submit_flags());
	return 0;
}
