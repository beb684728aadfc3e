// tcp_connection: established TCP connections (connect / accept) with the PID and COMM
// of the process that called connect() or accept().
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "tcp_connection.h"
#include "tool.h"

extern const char tcp_connection_bpf_text[];

struct options {
	struct common_opts common;
	uint32_t pid;
	uint16_t ports[TCPCONN_MAX_PORTS];
	size_t nports;
	int direction; /* 0, TCPCONN_ACCEPT or TCPCONN_CONNECT */
	int family;    /* 0, AF_INET or AF_INET6 */
	uint32_t max_pending; /* entries of each pending map */
};

struct tcp_connection {
	struct options opts;
	uint64_t events, short_events;
	int untracked_fd; /* the `untracked` counters, fetched before the compiler goes */
};

static const char usage[] =
	"Usage: tcp_connection [OPTIONS]\n"
	"Print each established TCP connection with the process that called connect() or accept().\n\n"
	"  -p, --pid PID          only this process (TGID)\n"
	"  -P, --port PORTS       only these local ports (comma-separated, up to 64)\n"
	"  -r, --direction DIR    only connect or accept\n"
	"  -4, --ipv4             only IPv4 connections\n"
	"  -6, --ipv6             only IPv6 connections\n"
	"      --max-pending N    handshakes tracked at once per side (default 16384); more are counted, not shown\n" CLI_COMMON_HELP
	"\nFilters combine with AND.\n"
	"\nEXAMPLES:\n"
	"  tcp_connection -P 80,81    # only local port 80 and 81\n"
	"  tcp_connection -p 181      # only PID 181\n"
	"  tcp_connection -4          # only IPv4\n"
	"  tcp_connection -6          # only IPv6\n"
	"  tcp_connection -r accept   # only accepted connections\n"
	"  tcp_connection --netns web # only the sockets of namespace /run/netns/web\n";

static int parse_direction(const char *arg)
{
	if (strcmp(arg, "accept") == 0)
		return TCPCONN_ACCEPT;
	if (strcmp(arg, "connect") == 0)
		return TCPCONN_CONNECT;
	usage_error("invalid --direction '%s': expected connect or accept", arg);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "direction", required_argument, NULL, 'r' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "max-pending", required_argument, NULL, 'M' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	o->max_pending = TCPCONN_MAX_PENDING;
	while ((c = getopt_long(argc, argv, "p:P:r:46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->pid = cli_pid("--pid", optarg); break;
		case 'P': o->nports = cli_port_list("--port", optarg, o->ports, TCPCONN_MAX_PORTS); break;
		case 'r': o->direction = parse_direction(optarg); break;
		case '4': o->family = cli_family(o->family, AF_INET); break;
		case '6': o->family = cli_family(o->family, AF_INET6); break;
		case 'M': o->max_pending = cli_count("--max-pending", optarg, 1048576, "handshakes"); break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	const struct options *o = &((struct tcp_connection *)self)->opts;

	cflags_add(cf, "-DFILTER_PID=%u", o->pid);
	cflags_add(cf, "-DFILTER_FAMILY=%d", o->family);
	cflags_add(cf, "-DFILTER_DIRECTION=%d", o->direction);
	cflags_add(cf, "-DFILTER_PORTS=%d", o->nports > 0);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	cflags_add(cf, "-DMAX_PENDING=%u", o->max_pending);
	cflags_add(cf, "-DHAVE_DESTROY_TP=%d", loader__tracepoint_exists("tcp", "tcp_destroy_sock"));
	cflags_sock_common(cf, btf);
	cflags_fd_walk(cf, btf);
	return 0;
}

static void print_header(void *self)
{
	(void)self;
	if (!out_is_json())
		printf("%-9s %-7s %-12s %-2s %-16s %-5s %-16s %-5s %10s\n", "TIME", "PID", "COMM",
		       "IP", "DADDR", "DPORT", "SADDR", "SPORT", "DIRECTION");
}

/* Console: the original's columns; JSON: the same fields, time with milliseconds. */
static void print_event(const struct tcpconn_event *e)
{
	const struct sock_tuple *t = &e->tuple;
	char when[32], hms[9], daddr[64], saddr[64];

	runtime_format_ktime(e->ts_ns, when, sizeof(when));
	snprintf(hms, sizeof(hms), "%.8s", when); /* "HH:MM:SS" as the original */
	format_ip(t->family, t->daddr, daddr, sizeof(daddr));
	format_ip(t->family, t->saddr, saddr, sizeof(saddr));
	out_begin();
	out_str("type", NULL, "connection");
	out_str(NULL, "%-9s ", hms);
	out_str("time", NULL, when);
	out_uint("pid", "%-7llu ", e->owner.pid);
	out_uint("tid", NULL, e->owner.tid);
	out_str("comm", "%-12.12s ", e->owner.comm);
	out_uint("ip", "%-2llu ", t->family == AF_INET6 ? 6 : 4);
	out_str("daddr", "%-16s ", daddr);
	out_uint("dport", "%-5llu ", t->dport);
	out_str("saddr", "%-16s ", saddr);
	out_uint("sport", "%-5llu ", t->sport);
	out_str("direction", "%10s\n", e->direction == TCPCONN_ACCEPT ? "accept" : "connect");
	out_uint("netns", NULL, e->netns);
	out_end();
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct tcp_connection *t = ctx;
	struct tcpconn_event e;

	if (size < sizeof(e)) {
		t->short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	e.owner.comm[TCPCONN_COMM_LEN - 1] = '\0';
	t->events++;
	print_event(&e);
	return 0;
}

/* accept() is seen at syscall exit; sys_exit_accept does not exist on every arch. */
static int attach_probes(struct loader *l, const struct options *o)
{
	if (loader__attach_tp(l, "sock", "inet_sock_set_state"))
		goto out_loader_error;
	if (!loader__tracepoint_exists("tcp", "tcp_destroy_sock"))
		log_warn("tracepoint tcp/tcp_destroy_sock missing: a connection reset before accept() returns it gets no accept row");
	else if (loader__attach_tp(l, "tcp", "tcp_destroy_sock"))
		goto out_loader_error;
	if (o->direction == TCPCONN_CONNECT)
		return 0;
	if (!loader__tracepoint_exists("syscalls", "sys_exit_accept4")) {
		log_error("tracepoint syscalls/sys_exit_accept4 missing (kernel built without CONFIG_FTRACE_SYSCALLS); accepted connections cannot be traced, use -r connect");
		return -1;
	}
	if (loader__attach_tp(l, "syscalls", "sys_exit_accept4"))
		goto out_loader_error;
	if (loader__tracepoint_exists("syscalls", "sys_exit_accept") &&
	    loader__attach_tp(l, "syscalls", "sys_exit_accept"))
		goto out_loader_error;
	return 0;
out_loader_error:
	log_error("%s", loader__error(l));
	return -1;
}

static int fill_ports(struct loader *l, const struct options *o)
{
	int fd = loader__map_fd(l, "ports");
	uint8_t one = 1;
	int rc;

	if (fd < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	for (size_t i = 0; i < o->nports; i++) {
		rc = loader__map_update(fd, &o->ports[i], &one);
		if (rc) {
			log_error("port filter map update for %u: %s", o->ports[i], strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* Connections never reported because a pending map was full, by TCPCONN_UNTRACKED_*. */
static void read_untracked(int fd, uint64_t n[TCPCONN_UNTRACKED_KINDS])
{
	for (uint32_t i = 0; i < TCPCONN_UNTRACKED_KINDS; i++)
		if (loader__map_lookup(fd, &i, &n[i]))
			n[i] = 0;
}

static void print_summary(void *self, struct loader *l)
{
	const struct tcp_connection *t = self;
	unsigned long long lost = loader__lost_events(l) + t->short_events;
	uint64_t untracked[TCPCONN_UNTRACKED_KINDS];

	read_untracked(t->untracked_fd, untracked);
	if (lost)
		log_warn("%llu events lost (ring buffer full)", lost);
	if (untracked[TCPCONN_UNTRACKED_CONNECT] || untracked[TCPCONN_UNTRACKED_ACCEPT])
		log_warn("%llu connect and %llu accept rows lost: more than %u handshakes in flight filled the pending maps; raise --max-pending",
			 (unsigned long long)untracked[TCPCONN_UNTRACKED_CONNECT],
			 (unsigned long long)untracked[TCPCONN_UNTRACKED_ACCEPT], t->opts.max_pending);
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("connections", NULL, t->events);
	out_uint("lost_events", NULL, lost);
	out_uint("untracked_connects", NULL, untracked[TCPCONN_UNTRACKED_CONNECT]);
	out_uint("untracked_accepts", NULL, untracked[TCPCONN_UNTRACKED_ACCEPT]);
	out_end();
}

static int attach(void *self, struct loader *l)
{
	struct tcp_connection *t = self;

	if (fill_ports(l, &t->opts) || attach_probes(l, &t->opts))
		return -1;
	t->untracked_fd = loader__map_fd(l, "untracked");
	if (t->untracked_fd < 0 || loader__open_ringbuf(l, "events", on_event, t)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static const struct tool_ops ops = {
	.bpf_text = tcp_connection_bpf_text,
	.tracing = "Tracing TCP connections... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.print_summary = print_summary,
};

int main(int argc, char **argv)
{
	static struct tcp_connection t;

	log_set_tool("tcp_connection");
	parse_options(argc, argv, &t.opts);
	return tool_run(&ops, &t, &t.opts.common);
}
