/* tcp_bytes: the per-connection counters shared by the BPF program and the frontend. */
#ifndef TCP_BYTES_H
#define TCP_BYTES_H

#define TCPB_COMM_LEN 16
#define TCPB_MAX_CONNS 10240 /* default size of the connection map */

/* One connection as one process sees it: local (saddr/sport) and remote
 * (daddr/dport) ends, ports in host order, family 2 (AF_INET) or 10
 * (AF_INET6); IPv4 uses the first 4 bytes of each address. Padding is
 * explicit and zeroed so equal connections hash equally. */
struct tcpb_key {
	__u64 saddr[2];
	__u64 daddr[2];
	__u32 pid; /* tgid */
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
	__u32 netns; /* inode of the socket's network namespace */
};

/* Bytes the application sent and received since user space last took the entry. */
struct tcpb_value {
	__u64 rx_bytes;
	__u64 tx_bytes;
	char comm[TCPB_COMM_LEN]; /* the thread that last moved bytes */
};

#endif
