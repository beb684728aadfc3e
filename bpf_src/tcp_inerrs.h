/* tcp_inerrs: the event shared by the BPF program and the frontend. */
#ifndef TCP_INERRS_H
#define TCP_INERRS_H

#include "tcp_badseg.h"

#define TIE_COMM_LEN 16
#define TIE_MAX_REASONS BADSEG_MAX_REASONS
#define TIE_STATE_UNKNOWN 0  /* no socket known when the segment was dropped */

/* Where the receiving socket comes from (-DSOCK_FROM=): */
#define TIE_SOCK_FROM_NONE 0      /* nowhere: the state is always unknown */
#define TIE_SOCK_FROM_RX_SK 1     /* skb:kfree_skb's rx_sk field (Linux 6.8+) */
#define TIE_SOCK_FROM_TCP_PROBE 2 /* tcp:tcp_probe(sk, skb), remembered until the drop */

/* One dropped TCP segment. Addresses are the segment's own, turned round to
 * local (laddr/lport: the receiving end) and remote (raddr/rport: the sender);
 * family 4 or 6; IPv4 in the first 4 bytes; ports in host order. */
struct tie_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u64 laddr[2];
	__u64 raddr[2];
	__u32 pid; /* tgid of the interrupted task (softirq) */
	__u32 tid;
	__u32 reason; /* enum skb_drop_reason value */
	__u16 lport;
	__u16 rport;
	__u8 family;
	__u8 state; /* sk_state of the receiving socket, TIE_STATE_UNKNOWN if none */
	__u8 pad[2];
	char comm[TIE_COMM_LEN];
	__u32 netns; /* inode of the receiving network namespace (socket's, else device's) */
	__u32 pad2;
};

/* Slots of the counters array. */
enum tie_counter {
	TIE_BAD_CSUM_TRACED,  /* tcp:tcp_bad_csum hits that passed the filters */
	TIE_COUNTERS,
};

#endif
