/* netwatch: the connection table and the events shared by the BPF program and the frontend. */
#ifndef NETWATCH_H
#define NETWATCH_H

#include "sock_tuple.h"

#define NW_COMM_LEN 16
#define NW_MAX_CONNS 10240 /* default --max-conns: entries of the connection table */
#define NW_HTTP_CAP 128    /* bytes of each read/write looked at for an HTTP/1.x line */

enum nw_role { NW_ROLE_UNKNOWN, NW_ROLE_CLIENT, NW_ROLE_SERVER };

enum nw_event_type {
	NW_EV_OPEN = 1, /* a connection is tracked from now on */
	NW_EV_OWNER,    /* accept() handed it to a process */
	NW_EV_CLOSE,    /* TCP_CLOSE: the final values, then the entry is gone */
	NW_EV_PACKET,
	NW_EV_ERROR,
	NW_EV_DATA, /* -i: the start of a read or write on a tracked connection */
	NW_EV_COPY, /* -t: received data up to end_seq reached the application */
};

enum nw_error { NW_ERR_SEQ = 1, NW_ERR_CSUM = 2 };

/* -t: when a segment passed each hook (bpf_ktime_get_ns), indexed by direction:
 * received: netif_receive_skb, tcp_probe, skb_copy_datagram_iovec;
 * sent: net_dev_queue, net_dev_start_xmit, net_dev_xmit. */
#define NW_STAMPS 3
#define NW_AWAITS_COPY 0x100 /* in `stamped`: a received data segment; its copy comes later */

/* tcp_sock / sock fields (-x), read from BTF offsets at each event of the connection.
 * The byte counts are data only: the kernel's also count SYN and FIN. */
struct nw_extra {
	__u64 bytes_acked;    /* tcp_sock.bytes_acked less our SYN (client) and FIN */
	__u64 bytes_received; /* tcp_sock.bytes_received less the peer's FIN */
	__u32 snd_cwnd;
	__u32 rcv_wnd;
	__u32 snd_ssthresh;
	__u32 sndbuf;
	__u32 wmem_queued;
	__u32 total_retrans;
	__u32 srtt_us; /* tcp_sock.srtt_us >> 3: the kernel keeps 8 x the smoothed RTT */
	__u32 backlog;
	__u32 max_backlog;
	__u32 pad;
};

/* Counters the BPF side keeps per connection. */
struct nw_counts {
	__u64 rx_packets;
	__u64 tx_packets;
	__u64 fast_retrans;    /* entered Recovery (tcp:tcp_cong_state_set) */
	__u64 timeout_retrans; /* entered Loss: RTO */
	__u64 retrans_segs;    /* tcp_sock.total_retrans since tracking began, at tcp:tcp_retransmit_skb */
	__u64 bad_seq;
	__u64 bad_csum;
};

/* One tracked connection (the `conns` map value, keyed by struct sock address). */
struct nw_conn {
	struct sock_tuple tuple; /* saddr/sport: local end; daddr/dport: remote end */
	__u64 sk;
	__u64 start_ns; /* bpf_ktime_get_ns() when tracking began */
	__u64 end_ns;   /* TCP_CLOSE, 0 while open */
	__u64 snap_ns;  /* when the extra fields were last read */
	__u32 pid;      /* tgid of the process that called connect() or accept(); 0 unknown */
	__u32 tid;
	char comm[NW_COMM_LEN];
	__u32 netns; /* inode of the socket's network namespace */
	__u8 role;   /* enum nw_role */
	__u8 fin_acked; /* the peer acknowledged our FIN */
	__u8 pad[2];
	__u32 retrans_base; /* tcp_sock.total_retrans when tracking began */
	__u32 pad2;
	struct nw_counts counts;
	struct nw_extra extra;
};

/* The key of `conn_by_tuple`: a received segment finds its socket by its own headers. */
struct nw_tuple_key {
	__u64 laddr[2];
	__u64 raddr[2];
	__u32 netns;
	__u16 lport;
	__u16 rport;
	__u8 family; /* 4 or 6; IPv4-mapped IPv6 sockets are keyed as 4 */
	__u8 pad[7];
};

struct nw_conn_event {
	__u32 type; /* NW_EV_OPEN, NW_EV_OWNER, NW_EV_CLOSE */
	__u32 pad;
	__u64 ts_ns;
	struct nw_conn conn;
};

struct nw_packet_event {
	__u32 type; /* NW_EV_PACKET */
	__u8 rx;
	__u8 flags; /* TCP flags */
	__u16 payload;
	__u64 ts_ns;
	__u64 sk;
	__u32 seq; /* host order */
	__u32 ack;
	__u32 netns;
	__u32 stamped; /* -t: bit i set when stamp[i] is known */
	__u64 stamp[NW_STAMPS];
};

struct nw_copy_event {
	__u32 type; /* NW_EV_COPY */
	__u32 end_seq; /* TCP_SKB_CB(skb)->end_seq of the skb being copied */
	__u64 ts_ns;
	__u64 sk;
};

struct nw_error_event {
	__u32 type; /* NW_EV_ERROR */
	__u32 error; /* enum nw_error */
	__u64 ts_ns;
	__u64 sk;
	__u32 seq;
	__u32 ack;
	__u32 netns;
	__u32 pad;
};

struct nw_data_event {
	__u32 type; /* NW_EV_DATA */
	__u8 rx;    /* 1: read by the application, 0: written */
	__u8 role;  /* the connection's enum nw_role */
	__u16 len;  /* bytes in data (at most NW_HTTP_CAP) */
	__u64 ts_ns;
	__u64 sk;
	__u64 total; /* bytes the call moved */
	__u32 netns;
	__u16 lport; /* the connection's local and remote ports */
	__u16 rport;
	char data[NW_HTTP_CAP];
};

/* Slots of the `totals` per-CPU array. */
enum nw_total {
	NW_TOT_RX_PACKETS,
	NW_TOT_TX_PACKETS,
	NW_TOT_BAD_SEQ,
	NW_TOT_BAD_CSUM,
	NW_TOT_NOT_TRACKED, /* connections refused: --max-conns entries in use */
	NW_TOT_CLOSED,      /* connections untracked at TCP_CLOSE (NW_EV_CLOSE sent) */
	NW_TOTALS,
};

#endif
