/*
 * nic_throughput: packets and bytes per TX and RX queue of one device, counted
 * in per-CPU arrays (no per-packet events to user space).
 *
 * TX: raw tracepoint net:net_dev_start_xmit gives the skb the stack hands the
 * driver (queue = skb->queue_mapping, bytes = skb->len, link-layer header
 * included); net:net_dev_xmit right after it gives the driver's verdict. Only
 * NETDEV_TX_OK counts, as the driver's own counters do: NETDEV_TX_BUSY means
 * the same skb comes again, anything else is a drop.
 *
 * RX: the raw tracepoints where a driver hands an skb to the stack (before GRO
 * merges and before the backlog queue), queue = the one the skb recorded
 * (skb_get_rx_queue(), 0 when none), bytes = skb->len plus the link-layer
 * header the driver already pulled, so RX bytes are counted like TX bytes.
 *
 * Every kernel layout is a -D number from BTF; the device is -D numbers too.
 */
#include "bccnet.bpf.h"
#include "nic_throughput.h"

#ifndef FILTER_IFINDEX
#define FILTER_IFINDEX 0
#define FILTER_NETNS 0
#endif

#define NETDEV_TX_OK 0
#define NETDEV_TX_BUSY 0x10
#define MAC_HEADER_UNSET 0xffff
#define MAX_L2_HEADER 128 /* longer "headers" mean a moved data pointer, not a header */

BPF_PERCPU_ARRAY(tx_queues, struct nt_counts, NT_QUEUE_SLOTS);
BPF_PERCPU_ARRAY(rx_queues, struct nt_counts, NT_QUEUE_SLOTS);

/* The skb between net_dev_start_xmit and net_dev_xmit: both run in xmit_one()
 * on one CPU with bottom halves off, so one slot per CPU suffices. */
struct tx_pending {
	u64 skb;
	u64 dev;
	u32 queue;
	u32 len;
};
BPF_PERCPU_ARRAY(tx_pending_skb, struct tx_pending, 1);

static __always_inline bool dev_matches(void *dev)
{
	void *net;
	u32 inum;
	int ifindex;

	READ_AT(ifindex, dev, OFF_DEV_IFINDEX);
	if (ifindex != FILTER_IFINDEX)
		return false;
	READ_AT(net, dev, OFF_DEV_ND_NET);
	READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum == FILTER_NETNS;
}

static __always_inline u32 queue_slot(u32 queue)
{
	return queue < NT_MAX_QUEUES ? queue : NT_MAX_QUEUES;
}

RAW_TRACEPOINT_PROBE(net_dev_start_xmit)
{
	void *skb = (void *)ctx->args[0], *dev = (void *)ctx->args[1];
	struct tx_pending *p;
	u16 queue;
	int zero = 0;

	if (!dev_matches(dev))
		return 0;
	p = tx_pending_skb.lookup(&zero);
	if (!p)
		return 0;
	READ_AT(queue, skb, OFF_SKB_QUEUE_MAPPING);
	READ_AT(p->len, skb, OFF_SKB_LEN);
	p->queue = queue;
	p->dev = (u64)dev;
	p->skb = (u64)skb;
	return 0;
}

RAW_TRACEPOINT_PROBE(net_dev_xmit)
{
	int rc = (int)ctx->args[1], zero = 0;
	struct tx_pending *p = tx_pending_skb.lookup(&zero);
	struct nt_counts *c;
	u32 slot;

	/* The device too: a bridge or tunnel passes the same skb on to its lower device. */
	if (!p || !p->skb || p->skb != ctx->args[0] || p->dev != ctx->args[2])
		return 0;
	p->skb = 0;
	if (rc == NETDEV_TX_BUSY)
		return 0; /* requeued: counted when the driver takes it */
	slot = queue_slot(p->queue);
	c = tx_queues.lookup(&slot);
	if (!c)
		return 0;
	/* Atomic even per CPU: another program on this CPU may interrupt the update. */
	if (rc == NETDEV_TX_OK) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, p->len);
	} else {
		__sync_fetch_and_add(&c->dropped, 1);
	}
	return 0;
}

static __always_inline int count_rx(void *skb)
{
	unsigned char *head, *data;
	struct nt_counts *c;
	u16 queue, mac;
	u32 len, slot;
	long l2;
	void *dev;

	READ_AT(dev, skb, OFF_SKB_DEV);
	if (!dev || !dev_matches(dev))
		return 0;
	READ_AT(queue, skb, OFF_SKB_QUEUE_MAPPING);
	READ_AT(len, skb, OFF_SKB_LEN);
	READ_AT(mac, skb, OFF_SKB_MAC_HEADER);
	READ_AT(head, skb, OFF_SKB_HEAD);
	READ_AT(data, skb, OFF_SKB_DATA);
	/* The link-layer header the driver pulled (eth_type_trans: 14 bytes). */
	l2 = mac == MAC_HEADER_UNSET ? 0 : (long)(data - (head + mac));
	if (l2 > 0 && l2 <= MAX_L2_HEADER)
		len += l2;
	/* skb_record_rx_queue() stores queue + 1; 0 means no queue was recorded. */
	slot = queue_slot(queue ? queue - 1 : 0);
	c = rx_queues.lookup(&slot);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, len);
	return 0;
}

/* Each skb a driver passes up goes through exactly one of these. */
RAW_TRACEPOINT_PROBE(netif_receive_skb_entry) { return count_rx((void *)ctx->args[0]); }
RAW_TRACEPOINT_PROBE(netif_receive_skb_list_entry) { return count_rx((void *)ctx->args[0]); }
RAW_TRACEPOINT_PROBE(napi_gro_receive_entry) { return count_rx((void *)ctx->args[0]); }
RAW_TRACEPOINT_PROBE(napi_gro_frags_entry) { return count_rx((void *)ctx->args[0]); }
RAW_TRACEPOINT_PROBE(netif_rx_entry) { return count_rx((void *)ctx->args[0]); }
