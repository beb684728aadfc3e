/* tun_ring_monitor: records shared by the BPF program and the frontend. */
#ifndef TUN_RING_MONITOR_H
#define TUN_RING_MONITOR_H

#define TRM_NAME_LEN 16

/* Packet addresses: family 4 or 6 (0: not parsed); IPv4 in the first 4 bytes. */
struct trm_tuple {
	__u64 saddr[2];
	__u64 daddr[2];
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 protocol;
	__u8 pad[2];
};

struct trm_ring {
	__u64 tun;        /* netdev_priv(dev): the tun_struct */
	__u64 tfile;      /* tun->tfiles[queue] */
	__u64 slot;       /* queue[producer]: non-NULL means the ring is full */
	__u32 numqueues;
	__u32 size;
	__u32 producer;
	__u32 consumer_head;
	__u32 consumer_tail;
	__u16 tfile_queue_index;
	__u8 found;       /* tfile and its ring were readable */
	__u8 full;
};

struct trm_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u64 skb;
	struct trm_tuple tuple;
	struct trm_ring ring;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 queue;
	__u32 netns;
	char comm[TRM_NAME_LEN];
	char dev[TRM_NAME_LEN];
};

/* Per device and queue counters, kept in the kernel (exact even when events are lost). */
struct trm_queue_key {
	char dev[TRM_NAME_LEN];
	__u32 queue;
	__u32 netns;
};

struct trm_queue_stats {
	__u64 packets;
	__u64 ring_full;
};

#endif
