/*
 * tcp_bytes: bytes each process sent and received on each TCP connection,
 * summed in the kernel (no per-packet events); user space takes and removes
 * the entries every interval.
 * The hooks (sock tracepoints, kprobes on older kernels) are in sock_bytes.bpf.h.
 */
#include "bccnet.bpf.h"
#include "sock_tuple.bpf.h"
#include "task_filter.bpf.h"
#include "tcp_bytes.h"

#ifndef FILTER_PID
#define FILTER_PID 0
#endif
#ifndef FILTER_FAMILY
#define FILTER_FAMILY 0 /* 2: AF_INET only, 10: AF_INET6 only */
#endif
#ifndef MAX_CONNS
#define MAX_CONNS TCPB_MAX_CONNS /* entries of the conns map (--max-conns) */
#endif
#define SOCK_BYTES_STASH TCPB_MAX_CONNS

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
	key->netns = bccnet_sock_netns(sk);
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

static __always_inline void sock_bytes_moved(const void *sk, s64 bytes, bool tx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct tcpb_key key;
	struct tcpb_value *val;

	if (bytes <= 0 || !sk || !wanted_pid(pid) || !bccnet_netns_ok(sk) || !bccnet_task_wanted())
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

#include "sock_bytes.bpf.h"
