/*
 * User side of bpf_src/sock_bytes.bpf.h: which path counts the bytes an
 * application moves through TCP sockets (the sock tracepoints of Linux 6.3+,
 * else kprobes on tcp_sendmsg/tcp_recvmsg), its -D numbers, and attaching it.
 */
#ifndef BCCNET_SOCKBYTES_H
#define BCCNET_SOCKBYTES_H

#include <stdbool.h>

#include "cflags.h"
#include "loader.h"

/* True when sock:sock_send_length and sock:sock_recv_length exist (tracefs mounted). */
bool sockbytes_tracepoints_exist(void);
/* -DUSE_SOCK_TP and, for the kprobe path (or with_kprobe_args), -DTCP_RECVMSG_FLAGS_ARG. */
void cflags_sockbytes(struct cflags *cf, bool use_tp, bool with_kprobe_args);
/* Attaches the chosen path; 0, or -1 after log_error() (forced: the user asked for kprobes). */
int sockbytes_attach(struct loader *l, bool use_tp, bool forced);

#endif
