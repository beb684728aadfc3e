/* tcp-insight: the event record and per-socket state shared by the BPF program and the frontend. */
#ifndef TCP_INSIGHT_H
#define TCP_INSIGHT_H

#include "sock_tuple.h"

#define TCPI_COMM_LEN 16
#define TCPI_MAX_SACK 4
#define TCPI_MAX_CONNS 65536 /* sockets tracked at once; more are counted and reported */

/* Event types: the README's bit values (-e MASK). */
#define TCPI_CONNECT 0x1
#define TCPI_ACCEPT 0x2
#define TCPI_SEND 0x4
#define TCPI_RECEIVE 0x8
#define TCPI_RETRANSMIT 0x10
#define TCPI_CLOSE 0x20
#define TCPI_RESET 0x40
#define TCPI_CWND_CHANGE 0x80
#define TCPI_RTT_UPDATE 0x100
#define TCPI_SLOW_START 0x200
#define TCPI_CONG_AVOID 0x400
#define TCPI_FAST_RECOVERY 0x800
#define TCPI_WINDOW_UPDATE 0x1000
#define TCPI_SACK 0x2000
#define TCPI_TIMEOUT 0x4000
#define TCPI_ALL 0x7fff
#define TCPI_NTYPES 15

/* Counters the BPF side keeps besides the events (tcpi_counters map). */
#define TCPI_CNT_CONNS_FULL 0 /* a socket could not be tracked: the map was full */
#define TCPI_NCOUNTERS 1

/* struct tcpi_conn.flags */
#define TCPI_CONN_OWNER 0x1    /* owner is the process of connect()/accept()/first send or recv */
#define TCPI_CONN_SKIP 0x2     /* fixed tuple/owner filters reject it: no events, no work */
#define TCPI_CONN_ACCEPTED 0x4 /* accept() has returned it */
#define TCPI_CONN_CC_SEEN 0x8  /* cwnd/ssthresh/srtt hold values seen (not before the first ACK) */
#define TCPI_CONN_WIN_SEEN 0x10 /* rcvbuf/window_clamp hold values seen (not before the first read) */

/* Congestion phase (cwnd against ssthresh) last seen at tcp:tcp_probe. */
#define TCPI_PHASE_UNKNOWN 0
#define TCPI_PHASE_SLOW_START 1
#define TCPI_PHASE_CONG_AVOID 2

struct tcpi_owner {
	__u32 pid; /* tgid */
	__u32 tid;
	char comm[TCPI_COMM_LEN];
};

/* One socket being traced (BPF hash keyed by the struct sock address; removed at
 * tcp:tcp_destroy_sock). Values named "last" are what the previous event saw. */
struct tcpi_conn {
	__u64 start_ns; /* connect() call, passive open, or first sight */
	__u64 tx_bytes; /* bytes the application sent (sock_send_length) since then */
	__u64 rx_bytes;
	__u64 bytes_retrans; /* tcp_sock.bytes_retrans at the last retransmission */
	struct tcpi_owner owner;
	__u32 total_retrans; /* tcp_sock.total_retrans at the last retransmission */
	__u32 cwnd, ssthresh, srtt_us;
	__u32 rcvbuf, window_clamp;
	__u8 flags;
	__u8 phase;
	__u8 pad[2];
};

/* Details of each event type (the DETAILS column). */
struct tcpi_state_change {
	__u32 oldstate, newstate;
};

struct tcpi_retrans {
	__u32 seq;  /* first sequence number of the retransmitted segment(s) */
	__u32 segs; /* segments the kernel counted (TcpRetransSegs) */
	__s32 err;
	__u8 synack; /* a SYN-ACK of a request socket */
	__u8 pad[3];
};

struct tcpi_reset {
	__u8 sent; /* 1: we sent it (tcp_send_reset), 0: we received it */
	__u8 has_reason;
	__u8 pad[2];
	__u32 reason; /* enum sk_rst_reason (Linux 6.10+) */
};

struct tcpi_cwnd {
	__u32 old_cwnd, cwnd, ssthresh;
};

struct tcpi_rtt {
	__u32 old_srtt_us, srtt_us, mdev_us;
};

struct tcpi_ca {
	__u8 old_ca, ca; /* TCP_CA_Open 0 ... TCP_CA_Loss 4 */
	__u8 pad[2];
	__u32 ssthresh;
	__u32 retransmits; /* icsk_retransmits: RTOs in a row before this one */
};

struct tcpi_window {
	__u32 old_rcvbuf, rcvbuf, old_clamp, clamp, rcv_wnd;
};

struct tcpi_sack {
	__u32 snd_una, snd_nxt, nblocks;
	__u32 start[TCPI_MAX_SACK], end[TCPI_MAX_SACK];
};

union tcpi_details {
	struct tcpi_state_change state;
	struct tcpi_retrans retrans;
	struct tcpi_reset reset;
	struct tcpi_cwnd cwnd;
	struct tcpi_rtt rtt;
	struct tcpi_ca ca;
	struct tcpi_window win;
	struct tcpi_sack sack;
};

struct tcpi_event {
	struct sock_tuple tuple; /* saddr/sport: local end; state: the STATE column */
	__u64 ts_ns;
	__u64 sk;
	__u64 start_ns; /* of the connection; 0: not known (age unknown) */
	__u64 bytes;    /* the event's bytes (SEND/RECEIVE/RETRANSMIT) */
	__u64 conn_tx, conn_rx;
	struct tcpi_owner who; /* pid 0: not known (softirq, socket opened before tracing) */
	__u32 type;            /* one TCPI_* bit */
	__u32 netns;
	__u32 cwnd, srtt_us, ssthresh; /* valid when has_tcp */
	__u8 has_tcp;
	__u8 known; /* the socket is tracked: start_ns, conn_tx/rx are meaningful */
	__u8 pad[6];
	union tcpi_details d;
};

#endif
