/*
 * tcp-insight: the README's 15 TCP event types, filtered here before an
 * event is copied. Hooks (raw tracepoints: their arguments, a struct sock
 * and an sk_buff, are the same on every kernel since 4.16; fields are read
 * at BTF offsets):
 *   sock:inet_sock_set_state     CONNECT (SYN_SENT -> ESTABLISHED), CLOSE (-> CLOSE),
 *                                per-socket state created (connect() call, passive open)
 *   syscalls:sys_exit_accept(4)  ACCEPT: accept() returned the socket to a process
 *   sock:sock_send/recv_length   SEND, RECEIVE (sock_bytes.bpf.h; kprobes before 6.3)
 *   tcp:tcp_retransmit_skb       RETRANSMIT: tcp_sock.total_retrans advanced
 *   tcp:tcp_retransmit_synack    RETRANSMIT of a request socket's SYN-ACK
 *   tcp:tcp_send_reset           RESET sent; tcp:tcp_receive_reset: RESET received
 *   tcp:tcp_probe (every segment received in ESTABLISHED)
 *                                CWND_CHANGE, RTT_UPDATE (value differs from the last seen),
 *                                SLOW_START, CONG_AVOID (cwnd < / >= ssthresh flipped),
 *                                SACK (the segment carries a SACK option)
 *   tcp:tcp_cong_state_set       FAST_RECOVERY (enters Recovery), TIMEOUT (RTO: enters Loss)
 *   tcp:tcp_rcv_space_adjust     WINDOW_UPDATE: sk_rcvbuf or window_clamp changed
 *   tcp:tcp_destroy_sock         the socket's state is removed
 * Events in softirq carry the socket's owner (the process of connect(),
 * accept(), or its first send/receive), never the interrupted task.
 */
#include "bccnet.bpf.h"
#include "tcp-insight.h"
#include "sock_tuple.bpf.h"
#include "sock_fd.bpf.h"
#include "tcp_states.bpf.h"

#ifndef EVENT_MASK
#define EVENT_MASK TCPI_ALL
#endif
#ifndef MAX_CONNS
#define MAX_CONNS TCPI_MAX_CONNS
#endif
#ifndef FILTER_PID
#define FILTER_PID 0
#endif
#ifndef FILTER_COMM_LEN
#define FILTER_COMM_LEN 0 /* -c: bytes of the substring in FILTER_COMM_W0/W1 */
#endif
#ifndef FILTER_COMM_W0
#define FILTER_COMM_W0 0
#endif
#ifndef FILTER_COMM_W1
#define FILTER_COMM_W1 0
#endif
#ifndef FILTER_SADDR_FAMILY
#define FILTER_SADDR_FAMILY 0 /* 2 or 10; words as in struct sock_tuple */
#endif
#ifndef FILTER_SADDR_W0
#define FILTER_SADDR_W0 0
#endif
#ifndef FILTER_SADDR_W1
#define FILTER_SADDR_W1 0
#endif
#ifndef FILTER_DADDR_FAMILY
#define FILTER_DADDR_FAMILY 0
#endif
#ifndef FILTER_DADDR_W0
#define FILTER_DADDR_W0 0
#endif
#ifndef FILTER_DADDR_W1
#define FILTER_DADDR_W1 0
#endif
#ifndef FILTER_SPORT
#define FILTER_SPORT 0
#endif
#ifndef FILTER_DPORT
#define FILTER_DPORT 0
#endif
#ifndef FILTER_STATE
#define FILTER_STATE 0
#endif
#ifndef FILTER_AGE
#define FILTER_AGE 0 /* 1: connection age FILTER_MIN_AGE..FILTER_MAX_AGE ns */
#endif
#ifndef FILTER_MIN_AGE
#define FILTER_MIN_AGE 0
#endif
#ifndef FILTER_MAX_AGE
#define FILTER_MAX_AGE 0
#endif
#ifndef FILTER_BYTES
#define FILTER_BYTES 0
#endif
#ifndef FILTER_MIN_BYTES
#define FILTER_MIN_BYTES 0
#endif
#ifndef FILTER_MAX_BYTES
#define FILTER_MAX_BYTES 0
#endif
#ifndef FILTER_RTT
#define FILTER_RTT 0
#endif
#ifndef FILTER_MIN_RTT
#define FILTER_MIN_RTT 0
#endif
#ifndef FILTER_MAX_RTT
#define FILTER_MAX_RTT 0
#endif
#ifndef RST_HAS_REASON
#define RST_HAS_REASON 1 /* tcp_send_reset passes enum sk_rst_reason (Linux 6.10+) */
#endif
#ifndef RETRANS_HAS_ERR
#define RETRANS_HAS_ERR 1 /* tcp_retransmit_skb passes the error (Linux 6.7+) */
#endif
#ifndef HAVE_SYS_EXIT_ACCEPT
#define HAVE_SYS_EXIT_ACCEPT 1 /* not on every architecture */
#endif
#ifndef OFF_TP_BYTES_RETRANS
#define OFF_TP_BYTES_RETRANS -1
#endif

/* Filters fixed for a connection's life: its tuple, namespace and owner. */
#define TUPLE_FILTERS (FILTER_SADDR_FAMILY || FILTER_DADDR_FAMILY || FILTER_SPORT || \
		       FILTER_DPORT || FILTER_NETNS)
#define OWNER_FILTERS (FILTER_PID || FILTER_COMM_LEN)

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_SACK 5

/* 8 MiB: ~40000 events, bursts of per-ACK events while the reader waits for a CPU */
BPF_RINGBUF_OUTPUT(events, 2048);
BPF_HASH(conns, u64, struct tcpi_conn, MAX_CONNS);
BPF_ARRAY(tcpi_counters, u64, TCPI_NCOUNTERS);

static __always_inline bool wanted(u32 type)
{
	return (EVENT_MASK & type) != 0;
}

static __always_inline void count(int idx)
{
	u64 *n = tcpi_counters.lookup(&idx);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline u32 read_u32(const void *base, long off)
{
	u32 v;

	READ_AT(v, base, off);
	return v;
}

/* A full TCP socket (not a request or TIME_WAIT mini socket): tcp_sock fields are there. */
static __always_inline bool full_sock_state(u8 state)
{
	return state && state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
}

/* A state worth tracking: a connection that exists and may still move data. */
static __always_inline bool trackable_state(u8 state)
{
	return full_sock_state(state) && state != TCP_CLOSE && state != TCP_LISTEN;
}

static __always_inline void current_owner(struct tcpi_owner *o)
{
	u64 id = bpf_get_current_pid_tgid();

	o->pid = id >> 32;
	o->tid = (u32)id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* ---- filters ---- */

static __always_inline bool comm_matches(const char *comm)
{
#if FILTER_COMM_LEN
	const u64 w[2] = { FILTER_COMM_W0, FILTER_COMM_W1 };
	const char *needle = (const char *)w;

	/* Differences OR-ed without a branch per byte: a branch per byte multiplies the
	 * paths the verifier walks (6.1's gave up at a million instructions). */
#pragma unroll
	for (int i = 0; i + FILTER_COMM_LEN <= TCPI_COMM_LEN; i++) {
		u8 diff = 0;

#pragma unroll
		for (int j = 0; j < FILTER_COMM_LEN; j++)
			diff |= comm[i + j] ^ needle[j];
		if (!diff)
			return true;
	}
	return false;
#else
	return true;
#endif
}

static __always_inline bool owner_ok(const struct tcpi_owner *o)
{
	if (!OWNER_FILTERS)
		return true;
	if (!o->pid)
		return false; /* not known: cannot match */
	if (FILTER_PID && o->pid != FILTER_PID)
		return false;
	return comm_matches(o->comm);
}

/* An address filter: IPv4 also matches the v4-mapped address of an IPv6 socket. */
static __always_inline bool addr_ok(u16 family, const u64 *a, u16 want_family, u64 w0, u64 w1)
{
	if (!want_family)
		return true;
	if (family == want_family)
		return want_family == BCCNET_AF_INET ? (u32)a[0] == (u32)w0 : a[0] == w0 && a[1] == w1;
	/* ::ffff:a.b.c.d: bytes 8-11 are 00 00 ff ff, bytes 12-15 the IPv4 address. */
	return want_family == BCCNET_AF_INET && family == BCCNET_AF_INET6 && a[0] == 0 &&
	       a[1] == (((u64)(u32)w0 << 32) | 0xffff0000ULL);
}

static __always_inline bool tuple_ok(const struct sock_tuple *t, u32 netns)
{
	if (t->family != BCCNET_AF_INET && t->family != BCCNET_AF_INET6)
		return false;
	if (FILTER_NETNS && netns != FILTER_NETNS)
		return false;
	if (FILTER_SPORT && t->sport != FILTER_SPORT)
		return false;
	if (FILTER_DPORT && t->dport != FILTER_DPORT)
		return false;
	return addr_ok(t->family, t->saddr, FILTER_SADDR_FAMILY, FILTER_SADDR_W0, FILTER_SADDR_W1) &&
	       addr_ok(t->family, t->daddr, FILTER_DADDR_FAMILY, FILTER_DADDR_W0, FILTER_DADDR_W1);
}

/* Age and bytes of the connection: known only for tracked sockets. */
static __always_inline bool conn_ok(const struct tcpi_conn *c, u64 now)
{
	if (!FILTER_AGE && !FILTER_BYTES)
		return true;
	if (!c)
		return false;
	if (FILTER_AGE && (now - c->start_ns < FILTER_MIN_AGE ||
			   now - c->start_ns > FILTER_MAX_AGE))
		return false;
	if (FILTER_BYTES && (c->tx_bytes + c->rx_bytes < FILTER_MIN_BYTES ||
			     c->tx_bytes + c->rx_bytes > FILTER_MAX_BYTES))
		return false;
	return true;
}

/* ---- per-socket state ---- */

/*
 * The values change events compare against. A connection opened while traced
 * gets them at its first ACK (congestion control) and first read (receive
 * buffer): the kernel sets its initial cwnd and buffers after the state
 * change to ESTABLISHED (tcp_init_transfer), and that setup is no change.
 */
static __always_inline void read_cc_baseline(const void *sk, struct tcpi_conn *c)
{
	c->cwnd = read_u32(sk, OFF_TP_SND_CWND);
	c->ssthresh = read_u32(sk, OFF_TP_SND_SSTHRESH);
	c->srtt_us = read_u32(sk, OFF_TP_SRTT_US) >> 3;
	c->flags |= TCPI_CONN_CC_SEEN;
}

static __always_inline void read_win_baseline(const void *sk, struct tcpi_conn *c)
{
	c->rcvbuf = read_u32(sk, OFF_SK_RCVBUF);
	c->window_clamp = read_u32(sk, OFF_TP_WINDOW_CLAMP);
	c->flags |= TCPI_CONN_WIN_SEEN;
}

static __always_inline void read_retrans_baseline(const void *sk, struct tcpi_conn *c)
{
	c->total_retrans = read_u32(sk, OFF_TP_TOTAL_RETRANS);
	if (OFF_TP_BYTES_RETRANS >= 0)
		READ_AT(c->bytes_retrans, sk, OFF_TP_BYTES_RETRANS);
}

/* Marks a socket whose fixed tuple or owner the filters reject: later hooks stop at the
 * lookup. Only once its ports are final (ESTABLISHED or later). */
static __always_inline void classify(const void *sk, struct tcpi_conn *c)
{
	struct sock_tuple t = {};

	if (TUPLE_FILTERS) {
		read_sock_tuple(sk, &t);
		if (!tuple_ok(&t, FILTER_NETNS ? bccnet_sock_netns(sk) : 0))
			c->flags |= TCPI_CONN_SKIP;
	}
	if (OWNER_FILTERS && (c->flags & TCPI_CONN_OWNER) && !owner_ok(&c->owner))
		c->flags |= TCPI_CONN_SKIP;
}

/* Starts tracking a socket (fresh: being opened now); NULL (counted) when the map is full. */
static __always_inline struct tcpi_conn *conn_new(const void *sk, bool owner, bool fresh)
{
	struct tcpi_conn z = {};
	u64 key = (u64)sk;
	int err;

	z.start_ns = bpf_ktime_get_ns();
	if (owner) {
		current_owner(&z.owner);
		z.flags |= TCPI_CONN_OWNER;
	}
	read_retrans_baseline(sk, &z);
	if (!fresh) { /* open before we looked: its phase now is no news */
		read_cc_baseline(sk, &z);
		read_win_baseline(sk, &z);
		z.phase = z.cwnd < z.ssthresh ? TCPI_PHASE_SLOW_START : TCPI_PHASE_CONG_AVOID;
		classify(sk, &z);
	}
	err = conns.update(&key, &z);
	if (err) {
		count(TCPI_CNT_CONNS_FULL);
		return NULL;
	}
	return conns.lookup(&key);
}

/*
 * The state of a socket that was open before we looked (or whose creation we
 * missed), made on first sight: only for live connections, and only when the
 * owner filters could pass (in softirq the owner is not known).
 */
static __always_inline struct tcpi_conn *conn_get(const void *sk, bool process_ctx)
{
	u64 key = (u64)sk;
	struct tcpi_conn *c = conns.lookup(&key);
	u8 state;

	if (c)
		return c;
	if (OWNER_FILTERS && !process_ctx)
		return NULL;
	READ_AT(state, sk, OFF_SKC_STATE);
	if (!trackable_state(state))
		return NULL;
	return conn_new(sk, process_ctx, false);
}

/* ---- events ---- */

struct emit_args {
	u32 type;
	int state;    /* -1: the socket's own */
	bool has_tcp; /* tcp_sock fields may be read (set by emit) */
	u64 bytes;
	const struct tcpi_owner *who; /* NULL: the connection's owner */
};

static __always_inline void fill_tcp(const void *sk, struct tcpi_event *e)
{
	e->cwnd = read_u32(sk, OFF_TP_SND_CWND);
	e->srtt_us = read_u32(sk, OFF_TP_SRTT_US) >> 3;
	e->ssthresh = read_u32(sk, OFF_TP_SND_SSTHRESH);
	e->has_tcp = 1;
}

/* Filters, then copies one event. t: the tuple already read (its state set). */
static __always_inline void submit(const void *sk, const struct sock_tuple *t, u32 netns,
				   const struct tcpi_conn *c, const struct emit_args *a,
				   const union tcpi_details *d)
{
	struct tcpi_owner who = {}; /* a copy: a pointer chosen by a branch trips the verifier */
	u64 now = bpf_ktime_get_ns();
	bool tcp = sk && a->has_tcp;
	struct tcpi_event *e;
	u32 srtt = 0;

	if (a->who)
		who = *a->who;
	else if (c && (c->flags & TCPI_CONN_OWNER))
		who = c->owner;
	if (!tuple_ok(t, netns) || !owner_ok(&who) || !conn_ok(c, now))
		return;
	if (FILTER_STATE && t->state != FILTER_STATE)
		return;
	if (FILTER_RTT) {
		if (!tcp)
			return; /* no RTT: cannot match */
		srtt = read_u32(sk, OFF_TP_SRTT_US) >> 3;
		if (srtt < FILTER_MIN_RTT || srtt > FILTER_MAX_RTT)
			return;
	}
	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->tuple = *t;
	e->ts_ns = now;
	e->sk = (u64)sk;
	e->type = a->type;
	e->netns = netns;
	e->bytes = a->bytes;
	e->who = who;
	if (c) {
		e->known = 1;
		e->start_ns = c->start_ns;
		e->conn_tx = c->tx_bytes;
		e->conn_rx = c->rx_bytes;
	}
	if (tcp)
		fill_tcp(sk, e);
	if (d)
		e->d = *d;
	events.ringbuf_submit(e, bccnet_submit_flags());
}

/* One event about a socket: its tuple and namespace as they are now. */
static __always_inline void emit(const void *sk, const struct tcpi_conn *c,
				 struct emit_args *a, const union tcpi_details *d)
{
	struct sock_tuple t = {};

	read_sock_tuple(sk, &t);
	a->has_tcp = full_sock_state(t.state);
	if (a->state >= 0)
		t.state = a->state;
	submit(sk, &t, bccnet_sock_netns(sk), c, a, d);
}

/* ---- connection life: CONNECT, CLOSE; tracking starts and ends ---- */

static __always_inline void on_established(const void *sk, struct tcpi_conn *c, int from)
{
	union tcpi_details d = {};
	struct emit_args a = { .type = TCPI_CONNECT, .state = TCP_ESTABLISHED };

	classify(sk, c); /* the phase stays unknown: the first ACK reports slow start */
	if (from != TCP_SYN_SENT || !wanted(TCPI_CONNECT) || (c->flags & TCPI_CONN_SKIP))
		return;
	d.state.oldstate = from;
	d.state.newstate = TCP_ESTABLISHED;
	emit(sk, c, &a, &d);
}

static __always_inline void on_close(const void *sk, int from)
{
	u64 key = (u64)sk;
	struct tcpi_conn *c = conns.lookup(&key);
	union tcpi_details d = {};
	struct emit_args a = { .type = TCPI_CLOSE, .state = TCP_CLOSE };

	if (!wanted(TCPI_CLOSE) || from == TCP_LISTEN || (c && (c->flags & TCPI_CONN_SKIP)))
		return;
	d.state.oldstate = from;
	d.state.newstate = TCP_CLOSE;
	emit(sk, c, &a, &d);
}

RAW_TRACEPOINT_PROBE(inet_sock_set_state)
{
	const void *sk = (const void *)ctx->args[0];
	int from = (int)ctx->args[1], to = (int)ctx->args[2];
	u64 key = (u64)sk;
	struct tcpi_conn *c;
	u16 proto;

	READ_AT(proto, sk, OFF_SK_PROTOCOL);
	if (proto != PROTO_TCP)
		return 0;
	if (to == TCP_SYN_SENT) {
		conn_new(sk, true, true); /* inside connect(): the caller owns it */
	} else if (to == TCP_ESTABLISHED && from == TCP_SYN_RECV) {
		c = conn_new(sk, false, true); /* passive open; accept() names the owner */
		if (c)
			on_established(sk, c, from);
	} else if (to == TCP_ESTABLISHED) {
		c = conns.lookup(&key);
		if (c)
			on_established(sk, c, from);
	} else if (to == TCP_CLOSE) {
		on_close(sk, from);
	}
	return 0;
}

RAW_TRACEPOINT_PROBE(tcp_destroy_sock)
{
	u64 key = ctx->args[0];

	conns.delete(&key);
	return 0;
}

/* ---- ACCEPT: accept() returns the socket to a process ---- */

static __always_inline int on_accept_return(long fd)
{
	struct emit_args a = { .type = TCPI_ACCEPT, .state = -1 };
	union tcpi_details d = {};
	struct tcpi_conn *c;
	const void *sk;
	u64 key;
	u16 proto;

	if (fd < 0)
		return 0;
	key = sock_of_fd(fd);
	sk = (const void *)key;
	if (!sk)
		return 0;
	c = conns.lookup(&key);
	if (!c) {
		READ_AT(proto, sk, OFF_SK_PROTOCOL);
		if (proto != PROTO_TCP)
			return 0; /* not a TCP socket */
		c = conn_get(sk, true);
		if (!c)
			return 0;
	}
	if (c->flags & TCPI_CONN_ACCEPTED)
		return 0;
	current_owner(&c->owner);
	c->flags |= TCPI_CONN_OWNER | TCPI_CONN_ACCEPTED;
	classify(sk, c);
	if (!wanted(TCPI_ACCEPT) || (c->flags & TCPI_CONN_SKIP))
		return 0;
	a.who = &c->owner;
	d.state.oldstate = TCP_SYN_RECV;
	d.state.newstate = TCP_ESTABLISHED;
	emit(sk, c, &a, &d);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
	return on_accept_return(args->ret);
}

#if HAVE_SYS_EXIT_ACCEPT
TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
	return on_accept_return(args->ret);
}
#endif

/* ---- SEND / RECEIVE (hooks in sock_bytes.bpf.h) ---- */

static __always_inline void sock_bytes_moved(const void *sk, s64 bytes, bool tx)
{
	u32 type = tx ? TCPI_SEND : TCPI_RECEIVE;
	struct emit_args a = { .type = type, .state = -1, .bytes = bytes };
	struct tcpi_owner me = {};
	struct tcpi_conn *c;

	if (bytes <= 0 || !sk)
		return;
	c = conn_get(sk, true);
	if (c) {
		if (tx)
			__sync_fetch_and_add(&c->tx_bytes, bytes);
		else
			__sync_fetch_and_add(&c->rx_bytes, bytes);
	}
	if (!wanted(type) || (c && (c->flags & TCPI_CONN_SKIP) && !OWNER_FILTERS))
		return;
	current_owner(&me);
	a.who = &me;
	emit(sk, c, &a, NULL);
}

#include "sock_bytes.bpf.h"

/* ---- RETRANSMIT ---- */

RAW_TRACEPOINT_PROBE(tcp_retransmit_skb)
{
	const void *sk = (const void *)ctx->args[0];
	const void *skb = (const void *)ctx->args[1];
	struct emit_args a = { .type = TCPI_RETRANSMIT, .state = -1 };
	union tcpi_details d = {};
	u64 key = (u64)sk, bytes = 0;
	struct tcpi_conn *c = conns.lookup(&key);
	bool first_sight = !c;
	u32 total = read_u32(sk, OFF_TP_TOTAL_RETRANS);
	u16 segs;

	if (!c)
		c = conn_get(sk, false);
	if (!c || (c->flags & TCPI_CONN_SKIP))
		return 0;
	if (first_sight && (!RETRANS_HAS_ERR || !(int)ctx->args[2])) {
		/* Its baseline is already past this one: take the segment count from the skb. */
		READ_AT(segs, (const char *)skb + OFF_SKB_CB, OFF_TCB_GSO_SEGS);
		c->total_retrans -= segs;
	}
	/* The kernel counted it (TcpRetransSegs, total_retrans) only if it got that far. */
	d.retrans.segs = total - c->total_retrans;
	c->total_retrans = total;
	if (OFF_TP_BYTES_RETRANS >= 0) {
		READ_AT(bytes, sk, OFF_TP_BYTES_RETRANS);
		a.bytes = bytes - c->bytes_retrans;
		c->bytes_retrans = bytes;
	}
	if (!d.retrans.segs || !wanted(TCPI_RETRANSMIT))
		return 0;
	d.retrans.seq = read_u32((const char *)skb + OFF_SKB_CB, OFF_TCB_SEQ);
#if RETRANS_HAS_ERR
	d.retrans.err = (int)ctx->args[2];
#endif
	emit(sk, c, &a, &d);
	return 0;
}

/* A request socket's SYN-ACK sent again (counted in TcpRetransSegs); the listener owns it. */
RAW_TRACEPOINT_PROBE(tcp_retransmit_synack)
{
	const void *req = (const void *)ctx->args[1];
	struct emit_args a = { .type = TCPI_RETRANSMIT, .state = TCP_SYN_RECV };
	union tcpi_details d = {};

	d.retrans.segs = 1;
	d.retrans.synack = 1;
	emit(req, NULL, &a, &d);
	return 0;
}

/* ---- RESET ---- */

/* A reset sent without a socket: the tuple of the segment it answers, reversed. */
static __always_inline void reset_tuple_from_skb(const void *skb, struct sock_tuple *t, u32 *netns)
{
	void *head, *dev, *net;
	u16 nh, th, ports[2];
	u8 ver;

	READ_AT(head, skb, OFF_SKB_HEAD);
	READ_AT(nh, skb, OFF_SKB_NETWORK_HEADER);
	READ_AT(th, skb, OFF_SKB_TRANSPORT_HEADER);
	READ_AT(ver, head, nh);
	if ((ver >> 4) == 4) {
		t->family = BCCNET_AF_INET;
		bpf_probe_read_kernel(&t->daddr, 4, (char *)head + nh + 12);
		bpf_probe_read_kernel(&t->saddr, 4, (char *)head + nh + 16);
	} else {
		t->family = BCCNET_AF_INET6;
		bpf_probe_read_kernel(&t->daddr, 16, (char *)head + nh + 8);
		bpf_probe_read_kernel(&t->saddr, 16, (char *)head + nh + 24);
	}
	READ_AT(ports, head, th);
	t->dport = bpf_ntohs(ports[0]);
	t->sport = bpf_ntohs(ports[1]);
	READ_AT(dev, skb, OFF_SKB_DEV);
	READ_AT(net, dev, OFF_DEV_ND_NET);
	READ_AT(*netns, net, OFF_NET_NS_INUM);
}

RAW_TRACEPOINT_PROBE(tcp_send_reset)
{
	const void *sk = (const void *)ctx->args[0];
	const void *skb = (const void *)ctx->args[1];
	struct emit_args a = { .type = TCPI_RESET, .state = -1 };
	union tcpi_details d = {};
	struct sock_tuple t = {};
	struct tcpi_conn *c = NULL;
	u64 key = (u64)sk;
	u32 netns = 0;

	if (!wanted(TCPI_RESET))
		return 0;
	d.reset.sent = 1;
#if RST_HAS_REASON
	d.reset.has_reason = 1;
	d.reset.reason = (u32)ctx->args[2];
#endif
	if (sk) {
		c = conns.lookup(&key);
		if (c && (c->flags & TCPI_CONN_SKIP))
			return 0;
		emit(sk, c, &a, &d);
		return 0;
	}
	if (!skb)
		return 0;
	reset_tuple_from_skb(skb, &t, &netns);
	submit(NULL, &t, netns, NULL, &a, &d);
	return 0;
}

RAW_TRACEPOINT_PROBE(tcp_receive_reset)
{
	const void *sk = (const void *)ctx->args[0];
	struct emit_args a = { .type = TCPI_RESET, .state = -1 };
	union tcpi_details d = {};
	u64 key = (u64)sk;
	struct tcpi_conn *c;

	if (!wanted(TCPI_RESET))
		return 0;
	c = conns.lookup(&key);
	if (c && (c->flags & TCPI_CONN_SKIP))
		return 0;
	emit(sk, c, &a, &d);
	return 0;
}

/* ---- tcp_probe: every segment an ESTABLISHED socket receives ---- */

/* snd_cwnd and snd_ssthresh, in one read when they are close (48 bytes apart on 6.18). */
static __always_inline void read_cwnd_ssthresh(const void *sk, u32 *cwnd, u32 *ssthresh)
{
#if OFF_TP_SND_SSTHRESH > OFF_TP_SND_CWND && OFF_TP_SND_SSTHRESH - OFF_TP_SND_CWND < 64
	u32 span[(OFF_TP_SND_SSTHRESH - OFF_TP_SND_CWND) / 4 + 1];

	bpf_probe_read_kernel(span, sizeof(span), (const char *)sk + OFF_TP_SND_CWND);
	*cwnd = span[0];
	*ssthresh = span[(OFF_TP_SND_SSTHRESH - OFF_TP_SND_CWND) / 4];
#else
	*cwnd = read_u32(sk, OFF_TP_SND_CWND);
	*ssthresh = read_u32(sk, OFF_TP_SND_SSTHRESH);
#endif
}

static __always_inline void probe_cwnd(const void *sk, struct tcpi_conn *c)
{
	struct emit_args a = { .state = -1 };
	union tcpi_details d = {};
	u32 cwnd, ssthresh, old = c->cwnd;
	u8 phase;

	read_cwnd_ssthresh(sk, &cwnd, &ssthresh);
	phase = cwnd < ssthresh ? TCPI_PHASE_SLOW_START : TCPI_PHASE_CONG_AVOID;

	d.cwnd.old_cwnd = old;
	d.cwnd.cwnd = cwnd;
	d.cwnd.ssthresh = ssthresh;
	c->cwnd = cwnd;
	c->ssthresh = ssthresh;
	if (wanted(TCPI_CWND_CHANGE) && cwnd != old) {
		a.type = TCPI_CWND_CHANGE;
		emit(sk, c, &a, &d);
	}
	if (phase != c->phase) {
		c->phase = phase;
		a.type = phase == TCPI_PHASE_SLOW_START ? TCPI_SLOW_START : TCPI_CONG_AVOID;
		if (wanted(a.type))
			emit(sk, c, &a, &d);
	}
}

static __always_inline void probe_rtt(const void *sk, struct tcpi_conn *c)
{
	struct emit_args a = { .type = TCPI_RTT_UPDATE, .state = -1 };
	union tcpi_details d = {};
	u32 srtt = read_u32(sk, OFF_TP_SRTT_US) >> 3;

	if (srtt == c->srtt_us)
		return;
	d.rtt.old_srtt_us = c->srtt_us;
	d.rtt.srtt_us = srtt;
	d.rtt.mdev_us = read_u32(sk, OFF_TP_MDEV_US) >> 2;
	c->srtt_us = srtt;
	emit(sk, c, &a, &d);
}

/* Offset of a SACK option among the TCP options (opts, optlen bytes), or -1; *len: its length. */
static __always_inline int find_sack(const u8 *opts, int optlen, int *len)
{
	int next = 0;

#pragma unroll
	for (int i = 0; i < 40; i++) {
		if (i < next)
			continue;
		if (i >= optlen || opts[i] == TCPOPT_EOL)
			return -1;
		if (opts[i] == TCPOPT_NOP) {
			next = i + 1;
			continue;
		}
		if (i + 1 >= 40 || opts[i + 1] < 2)
			return -1;
		if (opts[i] == TCPOPT_SACK) {
			*len = opts[i + 1];
			return i;
		}
		next = i + opts[i + 1];
	}
	return -1;
}

/* Where the segment's SACK option is: offset among the options and length, or -1.
 * The usual ACK (timestamps only, or no options) costs one 32-byte read. */
static __always_inline int segment_sack(const void *skb, const u8 **data, u8 *hdr, int *len)
{
	int optlen;

	READ_AT(*data, skb, OFF_SKB_DATA); /* the TCP header, at tcp_rcv_established */
	bpf_probe_read_kernel(hdr, 32, *data);
	optlen = (hdr[12] >> 4) * 4 - 20;
	if (optlen <= 0)
		return -1;
	if (optlen == 12 && hdr[20] == TCPOPT_NOP && hdr[21] == TCPOPT_NOP && hdr[22] == 8)
		return -1; /* NOP NOP TIMESTAMP: nothing else fits */
	bpf_probe_read_kernel(hdr, 60, *data);
	return find_sack(hdr + 20, optlen > 40 ? 40 : optlen, len);
}

static __always_inline void report_sack(const void *sk, const u8 *data, int at, int len,
					struct tcpi_conn *c)
{
	struct emit_args a = { .type = TCPI_SACK, .state = -1 };
	union tcpi_details d = {};
	u32 blocks[2 * TCPI_MAX_SACK] = {};
	u32 n;

	if (len < 10)
		return; /* kind, length and at least one block */
	n = (u32)(len - 2) / 8;
	if (n > TCPI_MAX_SACK)
		n = TCPI_MAX_SACK;
	bpf_probe_read_kernel(blocks, sizeof(blocks), data + 20 + at + 2);
#pragma unroll
	for (int i = 0; i < TCPI_MAX_SACK; i++) {
		if (i < n) {
			d.sack.start[i] = bpf_ntohl(blocks[2 * i]);
			d.sack.end[i] = bpf_ntohl(blocks[2 * i + 1]);
		}
	}
	d.sack.nblocks = n;
	d.sack.snd_una = read_u32(sk, OFF_TP_SND_UNA);
	d.sack.snd_nxt = read_u32(sk, OFF_TP_SND_NXT);
	emit(sk, c, &a, &d);
}

#define STATE_EVENTS (TCPI_CWND_CHANGE | TCPI_RTT_UPDATE | TCPI_SLOW_START | TCPI_CONG_AVOID)

/* Cheapest first: the SACK check needs no per-socket state, the others do. */
RAW_TRACEPOINT_PROBE(tcp_probe)
{
	const void *sk = (const void *)ctx->args[0];
	u8 hdr[60];
	const u8 *data = NULL;
	int at = -1, len = 0;
	struct tcpi_conn *c;

	if (wanted(TCPI_SACK)) {
		at = segment_sack((const void *)ctx->args[1], &data, hdr, &len);
		if (at < 0 && !(EVENT_MASK & STATE_EVENTS))
			return 0;
	}
	c = conn_get(sk, false);
	if (!c || (c->flags & TCPI_CONN_SKIP))
		return 0;
	if (EVENT_MASK & STATE_EVENTS) {
		if (!(c->flags & TCPI_CONN_CC_SEEN))
			read_cc_baseline(sk, c);
		if (EVENT_MASK & (TCPI_CWND_CHANGE | TCPI_SLOW_START | TCPI_CONG_AVOID))
			probe_cwnd(sk, c);
		if (wanted(TCPI_RTT_UPDATE))
			probe_rtt(sk, c);
	}
	if (at >= 0)
		report_sack(sk, data, at, len, c);
	return 0;
}

/* ---- FAST_RECOVERY, TIMEOUT ---- */

RAW_TRACEPOINT_PROBE(tcp_cong_state_set)
{
	const void *sk = (const void *)ctx->args[0];
	u8 ca = (u8)ctx->args[1], old, state;
	struct emit_args a = { .state = -1 };
	union tcpi_details d = {};
	u64 key = (u64)sk;
	struct tcpi_conn *c;

	if (ca != TCP_CA_RECOVERY && ca != TCP_CA_LOSS)
		return 0;
	READ_AT(old, sk, OFF_ICSK_CA_STATE); /* still the old state: the store follows */
	old &= 0x1f;                         /* icsk_ca_state:5 */
	if (ca == TCP_CA_RECOVERY) {
		if (old == TCP_CA_RECOVERY || !wanted(TCPI_FAST_RECOVERY))
			return 0;
		a.type = TCPI_FAST_RECOVERY;
	} else {
		/* tcp_enter_loss() runs on every RTO; with a zero send window it is a
		 * window probe instead (not counted in TcpExtTCPTimeouts). */
		READ_AT(state, sk, OFF_SKC_STATE);
		if (!wanted(TCPI_TIMEOUT) || (state != TCP_SYN_SENT && state != TCP_SYN_RECV &&
					      !read_u32(sk, OFF_TP_SND_WND)))
			return 0;
		a.type = TCPI_TIMEOUT;
	}
	c = conns.lookup(&key);
	if (c && (c->flags & TCPI_CONN_SKIP))
		return 0;
	d.ca.old_ca = old;
	d.ca.ca = ca;
	d.ca.ssthresh = read_u32(sk, OFF_TP_SND_SSTHRESH);
	READ_AT(state, sk, OFF_ICSK_RETRANSMITS);
	d.ca.retransmits = state;
	emit(sk, c, &a, &d);
	return 0;
}

/* ---- WINDOW_UPDATE: receive-buffer auto-tuning (or SO_RCVBUF) changed the limits ---- */

RAW_TRACEPOINT_PROBE(tcp_rcv_space_adjust)
{
	const void *sk = (const void *)ctx->args[0];
	struct emit_args a = { .type = TCPI_WINDOW_UPDATE, .state = -1 };
	union tcpi_details d = {};
	struct tcpi_conn *c = conn_get(sk, true);
	u32 rcvbuf, clamp;

	if (!c || (c->flags & TCPI_CONN_SKIP))
		return 0;
	if (!(c->flags & TCPI_CONN_WIN_SEEN)) {
		read_win_baseline(sk, c);
		return 0;
	}
	rcvbuf = read_u32(sk, OFF_SK_RCVBUF);
	clamp = read_u32(sk, OFF_TP_WINDOW_CLAMP);
	if (rcvbuf == c->rcvbuf && clamp == c->window_clamp)
		return 0;
	d.win.old_rcvbuf = c->rcvbuf;
	d.win.rcvbuf = rcvbuf;
	d.win.old_clamp = c->window_clamp;
	d.win.clamp = clamp;
	d.win.rcv_wnd = read_u32(sk, OFF_TP_RCV_WND);
	c->rcvbuf = rcvbuf;
	c->window_clamp = clamp;
	emit(sk, c, &a, &d);
	return 0;
}
