#include "netfmt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

void format_ip(int family, const void *addr, char *buf, size_t len)
{
	int af = (family == 6 || family == AF_INET6) ? AF_INET6 : AF_INET;

	if ((family != 4 && family != 6 && family != AF_INET && family != AF_INET6) ||
	    !inet_ntop(af, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void format_ip_port(int family, const void *addr, uint16_t port, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	format_ip(family, addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, port);
}

const char *tcp_state_name(unsigned state)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT",   [3] = "SYN_RECV",   [4] = "FIN_WAIT1",
		[5] = "FIN_WAIT2",   [6] = "TIME_WAIT",  [7] = "CLOSE",      [8] = "CLOSE_WAIT",
		[9] = "LAST_ACK",    [10] = "LISTEN",    [11] = "CLOSING",   [12] = "NEW_SYN_RECV",
	};

	if (state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "UNKNOWN";
}

void cflags_sock_common(struct cflags *cf, struct btf_query *btf)
{
	cflags_offset(cf, btf, "OFF_SKC_FAMILY", "sock_common", "skc_family");
	cflags_offset(cf, btf, "OFF_SKC_STATE", "sock_common", "skc_state");
	cflags_offset(cf, btf, "OFF_SKC_NUM", "sock_common", "skc_num");
	cflags_offset(cf, btf, "OFF_INET_SPORT", "inet_sock", "inet_sport");
	cflags_offset(cf, btf, "OFF_SKC_DPORT", "sock_common", "skc_dport");
	cflags_offset(cf, btf, "OFF_SKC_RCV_SADDR", "sock_common", "skc_rcv_saddr");
	cflags_offset(cf, btf, "OFF_SKC_DADDR", "sock_common", "skc_daddr");
	cflags_offset(cf, btf, "OFF_SKC_V6_RCV_SADDR", "sock_common", "skc_v6_rcv_saddr");
	cflags_offset(cf, btf, "OFF_SKC_V6_DADDR", "sock_common", "skc_v6_daddr");
	cflags_offset(cf, btf, "OFF_SKC_NET", "sock_common", "skc_net");
	cflags_offset(cf, btf, "OFF_NET_NS_INUM", "net", "ns.inum");
}

void cflags_fd_walk(struct cflags *cf, struct btf_query *btf)
{
	cflags_offset(cf, btf, "OFF_TASK_FILES", "task_struct", "files");
	cflags_offset(cf, btf, "OFF_FILES_FDT", "files_struct", "fdt");
	cflags_offset(cf, btf, "OFF_FDT_MAX_FDS", "fdtable", "max_fds");
	cflags_offset(cf, btf, "OFF_FDT_FD", "fdtable", "fd");
	cflags_offset(cf, btf, "OFF_FILE_PRIVATE_DATA", "file", "private_data");
	cflags_offset(cf, btf, "OFF_SOCKET_SK", "socket", "sk");
}
