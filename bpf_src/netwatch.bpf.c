/*
 * netwatch: TCP connections with the process that opened them, every segment
 * they send and receive, and (options) bad segments, retransmits, HTTP/1.x
 * lines and the time each segment spent between hooks. Tracepoints only.
 *
 * Connections (`conns`, keyed by struct sock address, at most MAX_CONNS):
 *   sock:inet_sock_set_state CLOSE -> SYN_SENT runs inside connect(): the
 *   caller is remembered; SYN_SENT -> ESTABLISHED tracks the socket as a
 *   client with that caller. SYN_RECV -> ESTABLISHED tracks a server socket,
 *   whose process is known when accept() returns it (syscalls:sys_exit_accept*).
 *   A socket that was open before we started is tracked from the first
 *   segment it sends (skb->sk). -> CLOSE reports the final values and forgets it.
 * Segments: sent ones at net:net_dev_queue (skb->sk); received ones at
 *   net:netif_receive_skb, found by their own headers in `conn_by_tuple`.
 * -e: skb:kfree_skb + tcp:tcp_bad_csum through tcp_badseg.bpf.h (as tcp_inerrs).
 * -r: tcp:tcp_retransmit_skb, tcp:tcp_cong_state_set (Recovery, Loss).
 * -i: the first NW_HTTP_CAP bytes of each read/write/send/recv on a tracked
 *   socket (syscall tracepoints); user space finds the HTTP lines.
 * -t: stamps per skb at each hook, the segment reported at the last one
 *   (received data: at tcp_probe, its copy to the application as NW_EV_COPY).
 * Filters and layouts are -D numbers (BTF offsets: OFF_*).
 */
#include "bccnet.bpf.h"
#include "netwatch.h"
#include "sock_tuple.bpf.h"
#include "sock_fd.bpf.h"
#include "tcp_badseg.bpf.h"
#include "tcp_states.bpf.h"

#ifndef FILTER_SPORT
#define FILTER_SPORT 0 /* local port */
#endif
#ifndef FILTER_DPORT
#define FILTER_DPORT 0 /* remote port */
#endif
#ifndef MAX_CONNS
#define MAX_CONNS NW_MAX_CONNS
#endif
#ifndef WANT_TIME
#define WANT_TIME 0
#endif
#ifndef REASON_TCP_CSUM
#define REASON_TCP_CSUM 0
#endif
#ifndef SNAPSHOT_EVERY_NS
#define SNAPSHOT_EVERY_NS 1000000 /* received segments re-read the socket at most this often */
#endif
#ifndef HAVE_RX_SK
#define HAVE_RX_SK 0 /* skb:kfree_skb passes the receiving socket (rx_sk) */
#endif
#ifndef ERR_SOCK_FROM_PROBE
#define ERR_SOCK_FROM_PROBE 0 /* -e without rx_sk: the socket from tcp:tcp_probe */
#endif

#define RCV_SHUTDOWN 1

struct nw_owner {
	u32 pid;
	u32 tid;
	char comm[NW_COMM_LEN];
};

/* A read() in progress on a tracked socket (-i). */
struct nw_read {
	u64 sk;
	u64 buf;
};

BPF_RINGBUF_OUTPUT(events, 1024); /* pages: 4 MiB */
BPF_HASH(conns, u64, struct nw_conn, MAX_CONNS);
BPF_HASH(conn_by_tuple, struct nw_tuple_key, u64, MAX_CONNS);
/* Sockets in connect(): socket -> caller. LRU: a socket freed unseen cannot fill it. */
BPF_TABLE("lru_hash", u64, struct nw_owner, connecting, 4096);
BPF_TABLE("lru_hash", u64, struct nw_read, reading, 4096);       /* tid -> read in progress */
BPF_TABLE("lru_hash", u64, struct nw_packet_event, stamping, 4096); /* -t: skb -> segment */
BPF_PERCPU_ARRAY(totals, u64, NW_TOTALS);
BPF_PERCPU_ARRAY(scratch, struct nw_conn, 1);

static __always_inline void count_total(int slot)
{
	u64 *n = totals.lookup(&slot);

	if (n)
		*n += 1;
}

static __always_inline void current_owner(struct nw_owner *o)
{
	u64 id = bpf_get_current_pid_tgid();

	o->pid = id >> 32;
	o->tid = (u32)id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Data bytes received and acknowledged: the kernel's counters advance by one
 * for a SYN and a FIN too. The peer's FIN is in bytes_received once tcp_fin()
 * set RCV_SHUTDOWN (tcp_done() clears it only after the CLOSE state change). */
static __always_inline void data_bytes(const void *sk, struct nw_conn *c)
{
	u64 acked, received, syn = c->role == NW_ROLE_CLIENT;
	u8 shutdown;

	READ_AT(acked, sk, OFF_TP_BYTES_ACKED);
	READ_AT(received, sk, OFF_TP_BYTES_RECEIVED);
	READ_AT(shutdown, sk, OFF_SK_SHUTDOWN);
	received -= (shutdown & RCV_SHUTDOWN) && received > 0;
	acked -= syn + c->fin_acked <= acked ? syn + c->fin_acked : acked;
	c->extra.bytes_acked = acked;
	c->extra.bytes_received = received;
}

/* -x fields and the byte counters, from the socket now. */
static __always_inline void snapshot(const void *sk, struct nw_conn *c)
{
	struct nw_extra *x = &c->extra;
	u32 srtt8;

	data_bytes(sk, c);
	READ_AT(x->snd_cwnd, sk, OFF_TP_SND_CWND);
	READ_AT(x->rcv_wnd, sk, OFF_TP_RCV_WND);
	READ_AT(x->snd_ssthresh, sk, OFF_TP_SND_SSTHRESH);
	READ_AT(x->total_retrans, sk, OFF_TP_TOTAL_RETRANS);
	READ_AT(srtt8, sk, OFF_TP_SRTT_US);
	x->srtt_us = srtt8 >> 3;
	READ_AT(x->sndbuf, sk, OFF_SK_SNDBUF);
	READ_AT(x->wmem_queued, sk, OFF_SK_WMEM_QUEUED);
	READ_AT(x->backlog, sk, OFF_SK_ACK_BACKLOG);
	READ_AT(x->max_backlog, sk, OFF_SK_MAX_ACK_BACKLOG);
}

/* The tuple key of a connection: local/remote, IPv4-mapped IPv6 as IPv4. */
static __always_inline void conn_key(const struct nw_conn *c, struct nw_tuple_key *k)
{
	const struct sock_tuple *t = &c->tuple;

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = c->netns;
	k->lport = t->sport;
	k->rport = t->dport;
	if (t->family == BCCNET_AF_INET6 && t->saddr[0] == 0 &&
	    (u32)t->saddr[1] == 0xffff0000 /* ::ffff:a.b.c.d, little endian */) {
		k->family = 4;
		k->laddr[0] = t->saddr[1] >> 32;
		k->raddr[0] = t->daddr[1] >> 32;
		return;
	}
	k->family = t->family == BCCNET_AF_INET6 ? 6 : 4;
	__builtin_memcpy(k->laddr, t->saddr, sizeof(k->laddr));
	__builtin_memcpy(k->raddr, t->daddr, sizeof(k->raddr));
}

static __always_inline void emit_conn(u32 type, const struct nw_conn *c)
{
	struct nw_conn_event *e = events.ringbuf_reserve(sizeof(*e));

	if (!e) {
		bccnet_count_lost();
		return;
	}
	e->type = type;
	e->pad = 0;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_probe_read_kernel(&e->conn, sizeof(e->conn), c);
	events.ringbuf_submit(e, bccnet_submit_flags());
}

/* A new entry for sk built in the per-CPU scratch; NULL when filtered out. */
static __always_inline struct nw_conn *draft_conn(u64 sk, u8 role)
{
	int zero = 0;
	struct nw_conn *c = scratch.lookup(&zero);

	if (!c)
		return NULL;
	__builtin_memset(c, 0, sizeof(*c));
	read_sock_tuple((const void *)sk, &c->tuple);
	if (c->tuple.family != BCCNET_AF_INET && c->tuple.family != BCCNET_AF_INET6)
		return NULL;
	if ((FILTER_SPORT && c->tuple.sport != FILTER_SPORT) ||
	    (FILTER_DPORT && c->tuple.dport != FILTER_DPORT))
		return NULL;
	c->netns = bccnet_sock_netns((const void *)sk);
	if (FILTER_NETNS && c->netns != FILTER_NETNS)
		return NULL;
	c->sk = sk;
	c->role = role;
	c->start_ns = bpf_ktime_get_ns();
	return c;
}

/* Starts tracking sk; returns its entry (also when it was tracked already). */
static __always_inline struct nw_conn *track(u64 sk, u8 role, const struct nw_owner *o)
{
	struct nw_conn *c = draft_conn(sk, role), *live;
	struct nw_tuple_key key;

	if (!c)
		return NULL;
	if (o) {
		c->pid = o->pid;
		c->tid = o->tid;
		__builtin_memcpy(c->comm, o->comm, sizeof(c->comm));
	}
	snapshot((const void *)sk, c);
	c->retrans_base = c->extra.total_retrans;
	if (conns.insert(&sk, c)) {
		live = conns.lookup(&sk);
		/* --max-conns entries in use: counted once, when it was established (it is
		 * tracked from a later sent segment once there is room: discover()). */
		if (!live && role != NW_ROLE_UNKNOWN)
			count_total(NW_TOT_NOT_TRACKED);
		return live;
	}
	conn_key(c, &key);
	conn_by_tuple.update(&key, &sk);
	emit_conn(NW_EV_OPEN, c);
	return conns.lookup(&sk);
}

static __always_inline void untrack(u64 sk)
{
	struct nw_conn *c = conns.lookup(&sk);
	struct nw_tuple_key key;

	if (!c)
		return;
	snapshot((const void *)sk, c);
	c->end_ns = bpf_ktime_get_ns();
	count_total(NW_TOT_CLOSED);
	emit_conn(NW_EV_CLOSE, c);
	conn_key(c, &key);
	conn_by_tuple.delete(&key);
	conns.delete(&sk);
}

static __always_inline void connected(u64 sk)
{
	struct nw_owner *o = connecting.lookup(&sk), copy = {};

	if (o) {
		copy = *o;
		connecting.delete(&sk);
	}
	track(sk, NW_ROLE_CLIENT, o ? &copy : NULL);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	u64 sk = (u64)args->skaddr;
	int from = args->oldstate, to = args->newstate;
	struct nw_owner o = {};
	struct nw_conn *c;

	if (args->protocol != PROTO_TCP)
		return 0;
	if (to == TCP_SYN_SENT) {
		current_owner(&o);
		connecting.update(&sk, &o);
	} else if (to == TCP_ESTABLISHED && from == TCP_SYN_SENT) {
		connected(sk);
	} else if (to == TCP_ESTABLISHED && from == TCP_SYN_RECV) {
		track(sk, NW_ROLE_SERVER, NULL);
	} else if (to == TCP_CLOSE) {
		connecting.delete(&sk);
		c = conns.lookup(&sk);
		if (c && (from == TCP_LAST_ACK || from == TCP_CLOSING || from == TCP_FIN_WAIT2))
			c->fin_acked = 1; /* the ACK of our FIN ended these states */
		untrack(sk);
	} else if ((c = conns.lookup(&sk))) {
		if (from == TCP_FIN_WAIT1 && to == TCP_FIN_WAIT2)
			c->fin_acked = 1;
		snapshot((const void *)sk, c); /* FIN states: the bytes so far */
	}
	return 0;
}

/* accept() handed a server socket to the current process. */
static __always_inline int on_accept_return(long fd)
{
	struct nw_conn *c;
	struct nw_owner o = {};
	u64 sk;

	if (fd < 0)
		return 0;
	sk = sock_of_fd(fd);
	c = sk ? conns.lookup(&sk) : NULL;
	if (!c || c->pid)
		return 0;
	current_owner(&o);
	c->pid = o.pid;
	c->tid = o.tid;
	__builtin_memcpy(c->comm, o.comm, sizeof(c->comm));
	snapshot((const void *)sk, c);
	emit_conn(NW_EV_OWNER, c);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
	return on_accept_return(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
	return on_accept_return(args->ret);
}

/* ---- segments ---- */

static __always_inline u32 skb_netns(const void *skb)
{
	void *dev, *net;
	u32 inum;

	READ_AT(dev, skb, OFF_SKB_DEV);
	if (!dev)
		return 0;
	READ_AT(net, dev, OFF_NETDEV_ND_NET);
	READ_AT(inum, net, OFF_NET_NS_INUM);
	return inum;
}

static __always_inline u16 skb_l3proto(const void *skb)
{
	u16 proto_be;

	READ_AT(proto_be, skb, OFF_SKB_PROTOCOL);
	return bpf_ntohs(proto_be);
}

/* The tracked socket a received segment belongs to (its receiver), or 0. */
static __always_inline u64 receiver_of(const struct tcp_seg *s, u32 netns)
{
	struct nw_tuple_key k = {};
	u64 *sk;

	k.netns = netns;
	k.family = s->family;
	k.lport = s->dport;
	k.rport = s->sport;
	__builtin_memcpy(k.laddr, s->daddr, sizeof(k.laddr));
	__builtin_memcpy(k.raddr, s->saddr, sizeof(k.raddr));
	sk = conn_by_tuple.lookup(&k);
	return sk ? *sk : 0;
}

static __always_inline void fill_packet(struct nw_packet_event *p, const struct nw_conn *c,
					const struct tcp_seg *s, u8 rx)
{
	p->type = NW_EV_PACKET;
	p->rx = rx;
	p->flags = s->flags;
	p->payload = s->payload;
	p->ts_ns = bpf_ktime_get_ns();
	p->sk = c->sk;
	p->seq = s->seq;
	p->ack = s->ack;
	p->netns = c->netns;
}

static __always_inline void submit_packet(const struct nw_packet_event *draft)
{
	struct nw_packet_event *p = events.ringbuf_reserve(sizeof(*p));

	if (!p) {
		bccnet_count_lost();
		return;
	}
	__builtin_memcpy(p, draft, sizeof(*p));
	events.ringbuf_submit(p, bccnet_submit_flags());
}

static __always_inline bool established(u64 sk)
{
	u8 state;

	READ_AT(state, sk, OFF_SKC_STATE);
	return state == TCP_ESTABLISHED;
}

/* Counts the segment; reports it now, or (-t) after its last hook. */
static __always_inline void on_segment(u64 skb, struct nw_conn *c, const struct tcp_seg *s,
				       u8 rx)
{
	struct nw_packet_event p = {}, *stale;

	__sync_fetch_and_add(rx ? &c->counts.rx_packets : &c->counts.tx_packets, 1);
	count_total(rx ? NW_TOT_RX_PACKETS : NW_TOT_TX_PACKETS);
	fill_packet(&p, c, s, rx);
	/* A sent segment shows what TCP has just processed (a received one: what it had
	 * before it), so sent ones always refresh; every state change is exact again. */
	if (!rx || p.ts_ns - c->snap_ns > SNAPSHOT_EVERY_NS) {
		c->snap_ns = p.ts_ns;
		snapshot((const void *)c->sk, c);
	}
	if (!WANT_TIME) {
		submit_packet(&p);
		return;
	}
	p.stamp[0] = p.ts_ns;
	p.stamped = 1;
	if (rx && !established(c->sk)) {
		submit_packet(&p); /* no later hook of ours sees it */
		return;
	}
	skb += rx; /* loopback: the sent skb is received before net_dev_xmit */
	stale = stamping.lookup(&skb);
	if (stale)
		submit_packet(stale); /* an earlier segment in this skb never reached its last hook (dropped) */
	stamping.update(&skb, &p);
}

/* Socket states in which a socket sends its own segments (not a request or timewait sock). */
static __always_inline bool full_open_state(u8 state)
{
	return state != TCP_CLOSE && state != TCP_LISTEN && state != TCP_TIME_WAIT &&
	       state != TCP_NEW_SYN_RECV && state != TCP_SYN_SENT && state != TCP_SYN_RECV;
}

/* A socket seen for the first time sending: track it if it is a TCP socket of ours. */
static __always_inline struct nw_conn *discover(u64 sk, const struct tcp_seg *s)
{
	struct sock_tuple t = {};

	if ((FILTER_SPORT && s->sport != FILTER_SPORT) || (FILTER_DPORT && s->dport != FILTER_DPORT))
		return NULL; /* the cheap test first: sent, so sport is the local port */
	read_sock_tuple((const void *)sk, &t);
	if (t.sport != s->sport || t.dport != s->dport || !full_open_state(t.state))
		return NULL;
	return track(sk, NW_ROLE_UNKNOWN, NULL);
}

RAW_TRACEPOINT_PROBE(net_dev_queue)
{
	u64 skb = ctx->args[0], sk;
	struct tcp_seg s = {};
	struct nw_conn *c;

	READ_AT(sk, skb, OFF_SKB_SK);
	if (!sk)
		return 0;
	c = conns.lookup(&sk);
	if (!tcp_seg_of_skb(&s, (const void *)skb, skb_l3proto((const void *)skb)))
		return 0;
	if (!c)
		c = discover(sk, &s);
	if (c)
		on_segment(skb, c, &s, 0);
	return 0;
}

RAW_TRACEPOINT_PROBE(netif_receive_skb)
{
	u64 skb = ctx->args[0], sk;
	struct tcp_seg s = {};
	unsigned char *data;
	struct nw_conn *c;

	if (ERR_SOCK_FROM_PROBE)
		badseg_forget_skb(skb);
	READ_AT(data, skb, OFF_SKB_DATA); /* the network header: the link layer is pulled */
	if (!tcp_seg_parse(&s, data, NULL, skb_l3proto((const void *)skb)))
		return 0;
	sk = receiver_of(&s, skb_netns((const void *)skb));
	c = sk ? conns.lookup(&sk) : NULL;
	if (c)
		on_segment(skb, c, &s, 1);
	return 0;
}

/* ---- -t: later hooks of a stamped segment ---- */

/* Stamps hook `slot` of skb's segment (key: skb + 1 when received); reports it when `last`. */
static __always_inline void stamp(u64 skb, int slot, bool last)
{
	struct nw_packet_event *p = stamping.lookup(&skb);

	if (!p || slot < 0 || slot >= NW_STAMPS)
		return;
	p->stamp[slot] = bpf_ktime_get_ns();
	p->stamped |= 1u << slot;
	if (!last)
		return;
	submit_packet(p);
	stamping.delete(&skb);
}

RAW_TRACEPOINT_PROBE(net_dev_start_xmit)
{
	stamp(ctx->args[0], 1, false);
	return 0;
}

RAW_TRACEPOINT_PROBE(net_dev_xmit)
{
	stamp(ctx->args[0], 2, true);
	return 0;
}

/* Received segments are reported here on established sockets (their IP and
 * TCP time known); the copy to the application comes as its own event
 * (a segment can be merged into the one queued before it, so user space
 * matches copies to segments by sequence number). */
static __always_inline void stamp_probe(u64 skb)
{
	struct nw_packet_event *p = stamping.lookup(&skb);

	if (!p)
		return;
	p->stamp[1] = bpf_ktime_get_ns();
	p->stamped |= 2 | (p->payload ? NW_AWAITS_COPY : 0);
	submit_packet(p);
	stamping.delete(&skb);
}

/* -t, and -e where kfree_skb has no rx_sk (tcp_badseg.bpf.h). */
RAW_TRACEPOINT_PROBE(tcp_probe)
{
	if (ERR_SOCK_FROM_PROBE)
		badseg_remember_sock(ctx->args[0], ctx->args[1]);
	if (WANT_TIME)
		stamp_probe(ctx->args[1] + 1);
	return 0;
}

RAW_TRACEPOINT_PROBE(skb_copy_datagram_iovec)
{
	u64 skb = ctx->args[0], sk;
	struct nw_copy_event *e;
	u32 end_seq;

	READ_AT(sk, skb, OFF_SKB_SK);
	if (!sk || !conns.lookup(&sk))
		return 0;
	READ_AT(end_seq, skb, OFF_SKB_CB + OFF_TCB_END_SEQ);
	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return 0;
	}
	e->type = NW_EV_COPY;
	e->end_seq = end_seq;
	e->ts_ns = bpf_ktime_get_ns();
	e->sk = sk;
	events.ringbuf_submit(e, bccnet_submit_flags());
	return 0;
}

/* ---- -r ---- */

/* The kernel's own count (what TcpRetransSegs adds): a retransmitted skb may carry
 * several segments, and one that failed to leave is counted all the same. */
RAW_TRACEPOINT_PROBE(tcp_retransmit_skb)
{
	u64 sk = ctx->args[0];
	struct nw_conn *c = conns.lookup(&sk);
	u32 total;

	if (!c)
		return 0;
	READ_AT(total, (const void *)sk, OFF_TP_TOTAL_RETRANS);
	c->counts.retrans_segs = total - c->retrans_base;
	return 0;
}

RAW_TRACEPOINT_PROBE(tcp_cong_state_set)
{
	u64 sk = ctx->args[0];
	u8 state = (u8)ctx->args[1];
	struct nw_conn *c;

	if (state != TCP_CA_RECOVERY && state != TCP_CA_LOSS)
		return 0;
	c = conns.lookup(&sk);
	if (!c)
		return 0;
	__sync_fetch_and_add(state == TCP_CA_LOSS ? &c->counts.timeout_retrans
						  : &c->counts.fast_retrans, 1);
	return 0;
}

/* ---- -e ---- */

static __always_inline void report_error(struct nw_conn *c, const struct tcp_seg *s, u32 error)
{
	struct nw_error_event *e;

	__sync_fetch_and_add(error == NW_ERR_CSUM ? &c->counts.bad_csum : &c->counts.bad_seq, 1);
	count_total(error == NW_ERR_CSUM ? NW_TOT_BAD_CSUM : NW_TOT_BAD_SEQ);
	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return;
	}
	e->type = NW_EV_ERROR;
	e->error = error;
	e->ts_ns = bpf_ktime_get_ns();
	e->sk = c->sk;
	e->seq = s->seq;
	e->ack = s->ack;
	e->netns = c->netns;
	e->pad = 0;
	events.ringbuf_submit(e, bccnet_submit_flags());
}

/* args: skb, location, reason (and rx_sk since Linux 6.8). */
RAW_TRACEPOINT_PROBE(kfree_skb)
{
	u64 skb = ctx->args[0], sk;
	int reason = badseg_verdict((const void *)skb, (u32)ctx->args[2], REASON_TCP_CSUM);
	struct tcp_seg s = {};
	struct nw_conn *c;

	if (reason < 0 ||
	    !tcp_seg_of_skb(&s, (const void *)skb, skb_l3proto((const void *)skb)))
		return 0;
	/* The socket the kernel found: rx_sk (Linux 6.8+), else tcp_probe's. */
	sk = HAVE_RX_SK ? ctx->args[3] : ERR_SOCK_FROM_PROBE ? badseg_probed_sock(skb) : 0;
	c = sk ? conns.lookup(&sk) : NULL;
	if (!c) {
		/* Before the socket lookup: skb->dev is still set (TCP clears it after). */
		sk = receiver_of(&s, skb_netns((const void *)skb) ?: FILTER_NETNS);
		c = sk ? conns.lookup(&sk) : NULL;
	}
	if (c)
		report_error(c, &s, reason == REASON_TCP_CSUM ? NW_ERR_CSUM : NW_ERR_SEQ);
	return 0;
}

RAW_TRACEPOINT_PROBE(tcp_bad_csum)
{
	badseg_mark_csum((const void *)ctx->args[0]);
	return 0;
}

/* ---- -i: the start of what the application reads and writes ---- */

static __always_inline void report_data(u64 sk, const struct nw_conn *c, const void *buf,
					long total, u8 rx)
{
	struct nw_data_event *e;
	u32 n = total < NW_HTTP_CAP ? (u32)total : NW_HTTP_CAP;

	if (total <= 0)
		return;
	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return;
	}
	e->type = NW_EV_DATA;
	e->rx = rx;
	e->role = c->role;
	e->len = n;
	e->ts_ns = bpf_ktime_get_ns();
	e->sk = sk;
	e->total = total;
	e->netns = c->netns;
	e->lport = c->tuple.sport;
	e->rport = c->tuple.dport;
	if (bpf_probe_read_user(e->data, n & (NW_HTTP_CAP * 2 - 1), buf))
		e->len = 0;
	events.ringbuf_submit(e, bccnet_submit_flags());
}

static __always_inline int on_write(long fd, const void *buf, long len)
{
	u64 sk = sock_of_fd(fd);
	struct nw_conn *c = sk ? conns.lookup(&sk) : NULL;

	if (c)
		report_data(sk, c, buf, len, 0);
	return 0;
}

static __always_inline int on_read_enter(long fd, const void *buf)
{
	u64 tid = bpf_get_current_pid_tgid();
	struct nw_read r = { .sk = sock_of_fd(fd), .buf = (u64)buf };

	if (r.sk && conns.lookup(&r.sk))
		reading.update(&tid, &r);
	return 0;
}

static __always_inline int on_read_exit(long ret)
{
	u64 tid = bpf_get_current_pid_tgid();
	struct nw_read *r = reading.lookup(&tid);
	struct nw_conn *c;
	struct nw_read copy;

	if (!r)
		return 0;
	copy = *r;
	reading.delete(&tid);
	c = conns.lookup(&copy.sk);
	if (c)
		report_data(copy.sk, c, (const void *)copy.buf, ret, 1);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write)
{
	return on_write(args->fd, args->buf, args->count);
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendto)
{
	return on_write(args->fd, args->buff, args->len);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read)
{
	return on_read_enter(args->fd, args->buf);
}

TRACEPOINT_PROBE(syscalls, sys_exit_read)
{
	return on_read_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom)
{
	return on_read_enter(args->fd, args->ubuf);
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom)
{
	return on_read_exit(args->ret);
}
