/*
 * Bytes an application moves through a TCP socket, as it sees them: the
 * hooks shared by the tools that count them. The includer defines, before
 * including this file:
 *     static __always_inline void sock_bytes_moved(const void *sk, s64 bytes, bool tx);
 * which runs in the calling process after sendmsg/recvmsg returned `bytes`
 * (> 0 or not; the callee checks).
 *
 * Preferred hooks: sock:sock_send_length / sock:sock_recv_length (Linux
 * 6.3+). They fire after sendmsg/recvmsg returns, with the byte count the
 * application saw, so the PID is right and every byte is counted once.
 * Older kernels (-DUSE_SOCK_TP=0): kprobes on tcp_sendmsg and tcp_recvmsg
 * entry and return. Not tcp_cleanup_rbuf as tcptop does: tcp_recvmsg calls
 * it in a loop with the running total, which counts the same bytes several
 * times. MSG_PEEK leaves the data queued: it is counted when really read.
 */
#include <uapi/linux/ptrace.h> /* struct pt_regs for the kprobe path: a stable ABI */

#ifndef USE_SOCK_TP
#define USE_SOCK_TP 1 /* 0 when the kernel lacks the sock tracepoints */
#endif
#ifndef TCP_RECVMSG_FLAGS_ARG
#define TCP_RECVMSG_FLAGS_ARG 4 /* 1-based; 5 before Linux 5.19 ("nonblock" argument) */
#endif
#ifndef SOCK_BYTES_STASH
#define SOCK_BYTES_STASH 10240 /* threads inside tcp_sendmsg/tcp_recvmsg at once (kprobe path) */
#endif

#define SOCK_BYTES_PROTO_TCP 6
#define SOCK_BYTES_MSG_PEEK 2

#if USE_SOCK_TP
TRACEPOINT_PROBE(sock, sock_send_length)
{
	if (args->protocol == SOCK_BYTES_PROTO_TCP)
		sock_bytes_moved(args->sk, args->ret, true);
	return 0;
}

TRACEPOINT_PROBE(sock, sock_recv_length)
{
	if (args->protocol == SOCK_BYTES_PROTO_TCP && !(args->flags & SOCK_BYTES_MSG_PEEK))
		sock_bytes_moved(args->sk, args->ret, false);
	return 0;
}
#endif

/* ---- kprobe path (kernels without the sock tracepoints) ---- */

/* The socket of the tcp_sendmsg / tcp_recvmsg call in progress, per thread. */
BPF_HASH(send_sock, u32, u64, SOCK_BYTES_STASH);
BPF_HASH(recv_sock, u32, u64, SOCK_BYTES_STASH);

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
	sock_bytes_moved((const void *)*sk, (int)PT_REGS_RC(ctx), true);
	send_sock.delete(&tid);
	return 0;
}

int tcp_recvmsg_entry(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 sk = PT_REGS_PARM1(ctx);

	if ((int)RECVMSG_FLAGS(ctx) & SOCK_BYTES_MSG_PEEK)
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
	sock_bytes_moved((const void *)*sk, (int)PT_REGS_RC(ctx), false);
	recv_sock.delete(&tid);
	return 0;
}
