/*
 * tcp_bytes: bytes each process sent and received on each TCP connection,
 * summed in the kernel (no per-packet events); user space takes and removes
 * the entries every interval.
 *
 * Preferred hooks: sock:sock_send_length / sock:sock_recv_length (Linux 6.3+).
 * They fire in the calling process after sendmsg/recvmsg returns, with the
 * byte count the application saw, so the PID is right and every byte is
 * counted once. Older kernels: kprobes on tcp_sendmsg and tcp_recvmsg entry
 * and return. Not tcp_cleanup_rbuf as tcptop does: tcp_recvmsg calls it in a
 * loop with the running total, which counts the same bytes several times.
 */
#include <uapi/linux/ptrace.h> /* struct pt_regs for the kprobe path: a stable ABI */

#include "bccnet.bpf.h"
#include "sock_tuple.bpf.h"
#include "tcp_bytes.h"

#ifndef FILTER_PID
#define FILTER_PID 0
#endif
#ifndef FILTER_FAMILY
#define FILTER_FAMILY 0 /* 2: AF_INET only, 10: AF_INET6 only */
#endif
#ifndef USE_SOCK_TP
#define USE_SOCK_TP 1 /* 0 when the kernel lacks the sock tracepoints */
#endif
#ifndef MAX_CONNS
#define MAX_CONNS TCPB_MAX_CONNS /* entries of the conns map (--max-conns) */
#endif
#ifndef TCP_RECVMSG_FLAGS_ARG
#define TCP_RECVMSG_FLAGS_ARG 4 /* 1-based; 5 before Linux 5.19 ("nonblock" argument) */
#endif

#define PROTO_TCP 6
#define MSG_PEEK_FLAG 2

BPF_HASH(conns, struct tcpb_key, struct tcpb_value, MAX_CONNS);

static __always_inline bool wanted_pid(u32 pid)
{
	return !FILTER_PID || pid == FILTER_PID;
}

static __always_inline void make_key(const void *sk, u32 pid, struct tcpb_key *key)
{
	struct sock_tuple t;

	__builtin_memset(&t, 0, sizeof(t));
	__builtin_memset(key, 0, sizeof(*key));
	read_sock_tuple(sk, &t);
	key->pid = pid;
	key->family = t.family;
	key->sport = t.sport;
	key->dport = t.dport;
	__builtin_memcpy(key->saddr, t.saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, t.daddr, sizeof(key->daddr));
}

/* The connection's entry, created (with the caller's comm) when missing;
 * NULL when the map is full. */
static __always_inline struct tcpb_value *conn_entry(const struct tcpb_key *key)
{
	struct tcpb_value zero = {};
	struct tcpb_value *val = conns.lookup((struct tcpb_key *)key);

	if (val)
		return val;
	bpf_get_current_comm(zero.comm, sizeof(zero.comm));
	conns.insert((struct tcpb_key *)key, &zero); /* EEXIST if another CPU won: fine */
	return conns.lookup((struct tcpb_key *)key);
}

static __always_inline void add_bytes(const void *sk, s64 bytes, bool tx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct tcpb_key key;
	struct tcpb_value *val;

	if (bytes <= 0 || !sk || !wanted_pid(pid))
		return;
	make_key(sk, pid, &key);
	if (key.family != BCCNET_AF_INET && key.family != BCCNET_AF_INET6)
		return;
	if (FILTER_FAMILY && key.family != FILTER_FAMILY)
		return;
	val = conn_entry(&key);
	if (!val) {
		bccnet_count_lost(); /* map full: counted, reported by user space */
		return;
	}
	if (tx)
		__sync_fetch_and_add(&val->tx_bytes, bytes);
	else
		__sync_fetch_and_add(&val->rx_bytes, bytes);
}

#if USE_SOCK_TP
TRACEPOINT_PROBE(sock, sock_send_length)
{
	if (args->protocol == PROTO_TCP)
		add_bytes(args->sk, args->ret, true);
	return 0;
}

/* MSG_PEEK leaves the data queued: it is counted when it is really read. */
TRACEPOINT_PROBE(sock, sock_recv_length)
{
	if (args->protocol == PROTO_TCP && !(args->flags & MSG_PEEK_FLAG))
		add_bytes(args->sk, args->ret, false);
	return 0;
}
#endif

/* ---- kprobe path (kernels without the sock tracepoints) ---- */

/* The socket of the tcp_sendmsg / tcp_recvmsg call in progress, per thread. */
BPF_HASH(send_sock, u32, u64, TCPB_MAX_CONNS);
BPF_HASH(recv_sock, u32, u64, TCPB_MAX_CONNS);

#if TCP_RECVMSG_FLAGS_ARG == 5
#define RECVMSG_FLAGS(ctx) PT_REGS_PARM5(ctx)
#else
#define RECVMSG_FLAGS(ctx) PT_REGS_PARM4(ctx)
#endif

int tcp_sendmsg_entry(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 sk = PT_REGS_PARM1(ctx);

	if (send_sock.update(&tid, &sk))
		bccnet_count_lost(); /* map full: this call's bytes go uncounted */
	return 0;
}

int tcp_sendmsg_return(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 *sk = send_sock.lookup(&tid);

	if (!sk)
		return 0;
	add_bytes((const void *)*sk, (int)PT_REGS_RC(ctx), true);
	send_sock.delete(&tid);
	return 0;
}

int tcp_recvmsg_entry(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 sk = PT_REGS_PARM1(ctx);

	if ((int)RECVMSG_FLAGS(ctx) & MSG_PEEK_FLAG)
		return 0;
	if (recv_sock.update(&tid, &sk))
		bccnet_count_lost(); /* map full: this call's bytes go uncounted */
	return 0;
}

int tcp_recvmsg_return(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 *sk = recv_sock.lookup(&tid);

	if (!sk)
		return 0;
	add_bytes((const void *)*sk, (int)PT_REGS_RC(ctx), false);
	recv_sock.delete(&tid);
	return 0;
}
