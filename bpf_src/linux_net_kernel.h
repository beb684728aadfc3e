/* linux_net_kernel: records shared by the BPF program and the frontend. */
#ifndef LINUX_NET_KERNEL_H
#define LINUX_NET_KERNEL_H

/* Stages, in path order: receive, then (--tx) transmit. The frontend's stage
 * table follows this order. */
enum lnk_stage {
	LNK_NETIF_RECEIVE_SKB,
	LNK_IP_RCV_FINISH,
	LNK_TCP_V4_DO_RCV,
	LNK_TCP_V6_DO_RCV,
	LNK_TCP_RCV_ESTABLISHED,
	LNK_TCP_QUEUE_RCV,
	LNK_SOCK_DEF_READABLE,
	LNK_SKB_COPY_DATAGRAM_IOVEC,
	LNK_KFREE_SKB,
	LNK_TCP_SENDMSG_LOCKED,
	LNK_TCP_TRANSMIT_SKB,
	LNK_NET_DEV_QUEUE,
	LNK_QDISC_DEQUEUE,
	LNK_NET_DEV_START_XMIT,
	LNK_NET_DEV_XMIT,
	LNK_STAGES,
};

/* Slots of the per-CPU counters array after the per-stage counts. */
enum lnk_counter {
	LNK_RATE_LIMITED = LNK_STAGES, /* matched, not copied: over the per-CPU budget */
	LNK_SUBMITTED,                 /* copied to the ring buffer */
	LNK_COUNTERS,
};

/*
 * Latency from the previous stage of the same packet, per stage: a
 * log-linear histogram of nanoseconds. Values below 32 have their own
 * bucket; above, each power of two is split into 32 buckets (3 % wide).
 */
#define LNK_SUB_BITS 5
#define LNK_SUB (1 << LNK_SUB_BITS)
#define LNK_MAX_LOG2 40 /* ~1100 s; longer latencies share the last bucket */
#define LNK_BUCKETS (LNK_SUB * (LNK_MAX_LOG2 - LNK_SUB_BITS + 2))
#define LNK_LATENCY_SLOTS (LNK_STAGES * LNK_BUCKETS)

/* What identifies a segment at every stage: its TCP/IP header fields.
 * Family 4 or 6; IPv4 addresses in the first 4 bytes; ports host order. */
struct lnk_pkt_key {
	__u64 saddr[2];
	__u64 daddr[2];
	__u32 seq; /* host order */
	__u32 ack_seq;
	__u32 len; /* TCP payload bytes */
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 pad[7];
};

/* First and latest sighting of a segment. */
struct lnk_pkt_seen {
	__u64 first_ns;
	__u64 last_ns;
	__u32 last_stage;
	__u32 pad;
};

#define LNK_NO_STAGE 0xff
#define LNK_IFNAME_LEN 16

/* One segment at one stage. */
struct lnk_event {
	struct lnk_pkt_key pkt;
	__u64 ts_ns; /* bpf_ktime_get_ns() at the stage */
	__u64 skb;   /* kernel address of the sk_buff (0: none at this stage) */
	__u64 since_first_ns;
	__u64 since_prev_ns;
	__u32 netns;  /* inode of the network namespace */
	__u32 aux;    /* kfree_skb: enum skb_drop_reason; skb_copy_datagram_iovec: bytes copied */
	__u8 stage;
	__u8 prev_stage; /* LNK_NO_STAGE when this is the first sighting */
	__u8 tcp_flags;
	__u8 pad[5];
	char ifname[LNK_IFNAME_LEN];
};

#endif
