/*
 * tcp_connection: one event per established TCP connection and side.
 *
 * connect: sock:inet_sock_set_state CLOSE -> SYN_SENT runs inside connect(),
 *   so the caller is remembered there, keyed by the socket; SYN_SENT ->
 *   ESTABLISHED (usually in softirq, where "current" is whoever was
 *   interrupted) reports the connection with that remembered caller.
 * accept: the child socket goes SYN_RECV -> ESTABLISHED in softirq; its
 *   tuple is remembered then, and reported when accept()/accept4() returns
 *   the socket to a process (current->files->fdt->fd[ret]->private_data->sk,
 *   offsets from BTF). A peer's reset before accept() unhashes the socket and
 *   clears its local port, so the tuple must come from the handshake.
 * Both maps are plain hashes: an insert into a full map is counted in
 * `untracked` (reported at exit), never an entry silently evicted. Entries
 * go when the connection is reported, and when the socket is destroyed
 * (tcp:tcp_destroy_sock; connect() failures at CLOSE), so nothing stays.
 * Filters are -D numbers (--netns: FILTER_NETNS, compared before anything is
 * remembered); the port list is the `ports` map.
 */
#include "bccnet.bpf.h"
#include "tcp_connection.h"
#include "sock_tuple.bpf.h"
#include "sock_fd.bpf.h"
#include "tcp_states.bpf.h"

#ifndef FILTER_PID
#define FILTER_PID 0 /* tgid */
#endif
#ifndef FILTER_FAMILY
#define FILTER_FAMILY 0 /* BCCNET_AF_INET or BCCNET_AF_INET6 */
#endif
#ifndef FILTER_DIRECTION
#define FILTER_DIRECTION 0 /* TCPCONN_ACCEPT or TCPCONN_CONNECT */
#endif
#ifndef FILTER_PORTS
#define FILTER_PORTS 0 /* 1: only local ports in the `ports` map */
#endif
#ifndef MAX_PENDING
#define MAX_PENDING TCPCONN_MAX_PENDING /* entries of each pending map */
#endif
#ifndef HAVE_DESTROY_TP
#define HAVE_DESTROY_TP 1 /* 0: no tcp:tcp_destroy_sock; accept_pending cleaned at CLOSE */
#endif


BPF_RINGBUF_OUTPUT(events, 64);
BPF_HASH(ports, u16, u8, TCPCONN_MAX_PORTS);
/* Sockets in connect(): socket -> caller, until ESTABLISHED or CLOSE. */
BPF_HASH(connecting, u64, struct tcpconn_owner, MAX_PENDING);
/* Established passive sockets not yet returned by accept(): socket -> tuple. */
BPF_HASH(accept_pending, u64, struct sock_tuple, MAX_PENDING);
/* Inserts refused because a map was full, by TCPCONN_UNTRACKED_*. */
BPF_ARRAY(untracked, u64, TCPCONN_UNTRACKED_KINDS);

static __always_inline void count_untracked(int kind)
{
	u64 *n = untracked.lookup(&kind);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline bool want_direction(int direction)
{
	return !FILTER_DIRECTION || FILTER_DIRECTION == direction;
}

static __always_inline bool want_pid(u32 tgid)
{
	return !FILTER_PID || tgid == FILTER_PID;
}

/* -4/-6 and -P (the local port, as the original's skc_num). */
static __always_inline bool want_family_port(u16 family, u16 port)
{
	if (family != BCCNET_AF_INET && family != BCCNET_AF_INET6)
		return false;
	if (FILTER_FAMILY && family != FILTER_FAMILY)
		return false;
	return !FILTER_PORTS || ports.lookup(&port);
}

static __always_inline bool want_tuple(struct sock_tuple *t)
{
	return want_family_port(t->family, t->sport);
}

static __always_inline void current_owner(struct tcpconn_owner *o)
{
	u64 id = bpf_get_current_pid_tgid();

	o->pid = id >> 32;
	o->tid = (u32)id;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void report(u64 sk, const struct sock_tuple *t,
				   struct tcpconn_owner *owner, u8 direction)
{
	struct tcpconn_event *e;

	e = events.ringbuf_reserve(sizeof(*e));
	if (!e) {
		bccnet_count_lost();
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->tuple = *t;
	e->ts_ns = bpf_ktime_get_ns();
	e->owner = *owner;
	e->direction = direction;
	e->netns = bccnet_sock_netns((const void *)sk);
	events.ringbuf_submit(e, bccnet_submit_flags());
}

/* CLOSE -> SYN_SENT: we are inside connect() (or a TFO sendmsg) of the caller. */
static __always_inline void remember_connect(u64 sk)
{
	struct tcpconn_owner o = {};

	current_owner(&o);
	if (want_pid(o.pid) && connecting.update(&sk, &o))
		count_untracked(TCPCONN_UNTRACKED_CONNECT);
}

/* SYN_SENT -> ESTABLISHED: the socket is whole, its tuple read now. */
static __always_inline void report_connect(u64 sk)
{
	struct tcpconn_owner *o = connecting.lookup(&sk);
	struct tcpconn_owner copy;
	struct sock_tuple t = {};

	if (!o)
		return; /* connect() began before we attached, or another PID */
	copy = *o;
	connecting.delete(&sk);
	read_sock_tuple((const void *)sk, &t);
	if (want_tuple(&t))
		report(sk, &t, &copy, TCPCONN_CONNECT);
}

/* SYN_RECV -> ESTABLISHED: the tuple as the handshake made it, for accept(). */
static __always_inline void remember_accept(u64 sk)
{
	struct sock_tuple t = {};

	read_sock_tuple((const void *)sk, &t);
	t.state = TCP_ESTABLISHED;
	if (accept_pending.update(&sk, &t))
		count_untracked(TCPCONN_UNTRACKED_ACCEPT);
}

/* The socket is gone: whatever we kept for it goes too. */
static __always_inline void forget(u64 sk)
{
	connecting.delete(&sk);
	accept_pending.delete(&sk);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	u64 sk = (u64)args->skaddr;
	int from = args->oldstate, to = args->newstate;

	if (args->protocol != PROTO_TCP)
		return 0;
	/* The cheap filters first. At SYN_SENT the local port is not chosen yet
	 * (connect() sets the state before it picks the port), so -P waits. */
	if (to == TCP_SYN_SENT && want_direction(TCPCONN_CONNECT) &&
	    (!FILTER_FAMILY || args->family == FILTER_FAMILY) && bccnet_netns_ok((const void *)sk))
		remember_connect(sk);
	else if (to == TCP_ESTABLISHED && from == TCP_SYN_SENT && want_direction(TCPCONN_CONNECT))
		report_connect(sk);
	else if (to == TCP_ESTABLISHED && from == TCP_SYN_RECV && want_direction(TCPCONN_ACCEPT) &&
		 want_family_port(args->family, args->sport) && bccnet_netns_ok((const void *)sk))
		remember_accept(sk);
	else if (to == TCP_CLOSE && HAVE_DESTROY_TP)
		connecting.delete(&sk); /* connect() failed; the socket may connect again */
	else if (to == TCP_CLOSE)
		forget(sk);
	return 0;
}

#if HAVE_DESTROY_TP
TRACEPOINT_PROBE(tcp, tcp_destroy_sock)
{
	forget((u64)args->skaddr);
	return 0;
}
#endif

static __always_inline int on_accept_return(long fd)
{
	struct tcpconn_owner o = {};
	struct sock_tuple *pending, t;
	u64 sk;

	if (!want_direction(TCPCONN_ACCEPT) || fd < 0)
		return 0;
	sk = sock_of_fd(fd);
	pending = sk ? accept_pending.lookup(&sk) : NULL;
	if (!pending)
		return 0; /* not TCP, or established before we attached */
	t = *pending;
	accept_pending.delete(&sk);
	current_owner(&o);
	if (want_pid(o.pid))
		report(sk, &t, &o, TCPCONN_ACCEPT);
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
