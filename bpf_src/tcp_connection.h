/* tcp_connection: records shared by the BPF program and the frontend. */
#ifndef TCP_CONNECTION_H
#define TCP_CONNECTION_H

#include "sock_tuple.h"

#define TCPCONN_COMM_LEN 16
#define TCPCONN_MAX_PORTS 64
#define TCPCONN_MAX_PENDING 16384 /* default entries of each pending map */

/* Index of the `untracked` counters: connections whose pending entry could
 * not be stored because the map was full (they get no row). */
#define TCPCONN_UNTRACKED_CONNECT 0
#define TCPCONN_UNTRACKED_ACCEPT 1
#define TCPCONN_UNTRACKED_KINDS 2

/* Direction values; also the values of -DFILTER_DIRECTION (0: both). */
#define TCPCONN_ACCEPT 1
#define TCPCONN_CONNECT 2

/* The process that called connect(), remembered from CLOSE -> SYN_SENT. */
struct tcpconn_owner {
	__u32 pid; /* tgid */
	__u32 tid;
	char comm[TCPCONN_COMM_LEN];
};

/* One established connection, seen from one side. */
struct tcpconn_event {
	struct sock_tuple tuple; /* saddr/sport: local end; daddr/dport: remote end */
	__u64 ts_ns;             /* bpf_ktime_get_ns() when reported */
	struct tcpconn_owner owner;
	__u8 direction; /* TCPCONN_ACCEPT or TCPCONN_CONNECT */
	__u8 pad[3];
	__u32 netns; /* inode of the socket's network namespace */
};

#endif
