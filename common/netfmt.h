/* Text for addresses, endpoints and TCP states, shared by every tool. */
#ifndef BCCNET_NETFMT_H
#define BCCNET_NETFMT_H

#include <stddef.h>
#include <stdint.h>

#include "cflags.h"

/* family: AF_INET/AF_INET6 (or 4/6); addr: network-order bytes. "?" if unknown. */
void format_ip(int family, const void *addr, char *buf, size_t len);
/* "10.0.0.1:80" (IPv4) or "fd00::1:80" (IPv6, the originals' style: no brackets). */
void format_ip_port(int family, const void *addr, uint16_t port, char *buf, size_t len);
/* "ESTABLISHED", ... as BCC's tcpstate table; "UNKNOWN" out of range. */
const char *tcp_state_name(unsigned state);
/* -DOFF_SKC_* offsets of struct sock_common for bpf_src/sock_tuple.bpf.h. */
void cflags_sock_common(struct cflags *cf, struct btf_query *btf);
/* -DOFF_* of current->files->fdt->fd[fd]->private_data->sk for bpf_src/sock_fd.bpf.h. */
void cflags_fd_walk(struct cflags *cf, struct btf_query *btf);

#endif
