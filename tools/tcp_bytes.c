// tcp_bytes: bytes each process sent and received per TCP connection, every interval.
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "sockbytes.h"
#include "task_filter.h"
#include "tcp_bytes.h"
#include "tool.h"

extern const char tcp_bytes_bpf_text[];

#define MAX_CONNS_LIMIT 1048576u
#define DASHES "------------------------------------------------------------\n"

struct options {
	struct common_opts common;
	uint32_t pid;
	double interval_s;
	uint32_t max_conns; /* connection map entries */
	int family; /* AF_INET, AF_INET6 or 0 for both */
	bool kprobes;   /* use the kprobe path even where the tracepoints exist */
	bool load_only; /* verifier-load every program, attach nothing */
	struct user_set cgroupmap, mntnsmap; /* tcptop's --cgroupmap / --mntnsmap */
};

struct row {
	struct tcpb_key key;
	struct tcpb_value val;
};

struct state {
	struct options opts;
	bool use_tp; /* the sock tracepoints, else kprobes */
	char tracing[160];
	int conns_fd;
	uint32_t max_conns;
	struct row *rows;
	struct tcpb_key *keys;
	uint64_t intervals;
	uint64_t lost_reported;
};

static const char usage[] =
	"Usage: tcp_bytes [OPTIONS]\n"
	"Bytes each process sent and received on each TCP connection, every interval.\n\n"
	"  -p, --pid PID          only this process (thread group ID)\n"
	"  -i, --interval SECS    print every SECS seconds (default 1)\n"
	"  -4, --ipv4             only IPv4 connections\n"
	"  -6, --ipv6             only IPv6 connections\n"
	"  -C, --noclear          accepted for tcptop habits (the screen is never cleared)\n"
	"      --cgroupmap MAP    only processes whose cgroup (v2) ID is a key of the pinned BPF hash map MAP\n"
	"      --mntnsmap MAP     only processes whose mount namespace ID is a key of the pinned BPF hash map MAP\n"
	"      --max-conns N      connections counted per interval (default 10240); more are lost and reported\n"
	"      --kprobes          use the kprobe path even where the sock tracepoints exist\n"
	"      --load-only        compile and verifier-load every program, attach nothing\n" CLI_COMMON_HELP
	"\nEXAMPLES:\n"
	"  tcp_bytes              # every TCP connection, every second\n"
	"  tcp_bytes -p 181       # only PID 181\n"
	"  tcp_bytes -6 -i 5      # IPv6 only, every 5 seconds\n"
	"  tcp_bytes --json       # exact byte counts, one JSON object per connection\n"
	"  tcp_bytes --cgroupmap /sys/fs/bpf/test01   # only cgroups in this BPF map\n"
	"  tcp_bytes --mntnsmap /sys/fs/bpf/mnt_ns_set # only mount namespaces in this map\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "noclear", no_argument, NULL, 'C' },
		{ "kprobes", no_argument, NULL, 'K' },
		{ "load-only", no_argument, NULL, 'L' },
		{ "max-conns", required_argument, NULL, 'M' },
		{ "cgroupmap", required_argument, NULL, 'G' },
		{ "mntnsmap", required_argument, NULL, 'N' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	o->interval_s = 1;
	o->max_conns = TCPB_MAX_CONNS;
	o->cgroupmap.fd = o->mntnsmap.fd = -1;
	while ((c = getopt_long(argc, argv, "p:i:46Ch", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->pid = cli_pid("--pid", optarg); break;
		case 'i': o->interval_s = cli_seconds("--interval", optarg, 0.01, 86400); break;
		case '4': o->family = cli_family(o->family, AF_INET); break;
		case '6': o->family = cli_family(o->family, AF_INET6); break;
		case 'C': break;
		case 'K': o->kprobes = true; break;
		case 'L': o->load_only = true; break;
		case 'M': o->max_conns = cli_count("--max-conns", optarg, MAX_CONNS_LIMIT, "connections"); break;
		case 'G': user_set_open(&o->cgroupmap, "--cgroupmap", "cgroupmap", optarg); break;
		case 'N': user_set_open(&o->mntnsmap, "--mntnsmap", "mntnsmap", optarg); break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct state *st = self;
	const struct options *o = &st->opts;
	char err[256];

	/* Which path depends on the tracepoints tracefs lists. */
	if (loader__ensure_tracefs(err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	st->use_tp = !o->kprobes && sockbytes_tracepoints_exist();
	cflags_add(cf, "-DFILTER_PID=%u", o->pid);
	cflags_add(cf, "-DFILTER_FAMILY=%d", o->family);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	cflags_add(cf, "-DMAX_CONNS=%u", o->max_conns);
	cflags_sockbytes(cf, st->use_tp, o->load_only);
	cflags_sock_common(cf, btf);
	cflags_user_set(cf, btf, &o->cgroupmap);
	cflags_user_set(cf, btf, &o->mntnsmap);
	return 0;
}

/* --load-only: every program through the verifier, nothing attached. */
static int load_only(struct loader *l, bool use_tp)
{
	static const char *const kprobe_funcs[] = {
		"tcp_sendmsg_entry", "tcp_sendmsg_return", "tcp_recvmsg_entry", "tcp_recvmsg_return",
	};

	if (use_tp && (loader__load_only(l, "tracepoint__sock__sock_send_length",
					 BPF_PROG_TYPE_TRACEPOINT) ||
		       loader__load_only(l, "tracepoint__sock__sock_recv_length",
					 BPF_PROG_TYPE_TRACEPOINT)))
		return -1;
	if (use_tp)
		printf("verified tracepoint programs: tracepoint__sock__sock_send_length tracepoint__sock__sock_recv_length\n");
	for (size_t i = 0; i < sizeof(kprobe_funcs) / sizeof(kprobe_funcs[0]); i++)
		if (loader__load_only(l, kprobe_funcs[i], BPF_PROG_TYPE_KPROBE))
			return -1;
	printf("verified kprobe programs: tcp_sendmsg_entry tcp_sendmsg_return tcp_recvmsg_entry tcp_recvmsg_return\n");
	return 0;
}

/* Takes every entry out of the kernel map: keys first (a stable walk), then
 * each one atomically read and deleted, so bytes counted meanwhile land in a
 * new entry for the next interval instead of being lost. */
static size_t take_rows(struct state *st)
{
	size_t nkeys = 0, n = 0;
	struct tcpb_key *prev = NULL;

	while (nkeys < st->max_conns &&
	       loader__map_next_key(st->conns_fd, prev, &st->keys[nkeys]) == 0) {
		prev = &st->keys[nkeys];
		nkeys++;
	}
	for (size_t i = 0; i < nkeys; i++) {
		st->rows[n].key = st->keys[i];
		if (bpf_map_lookup_and_delete_elem(st->conns_fd, &st->keys[i], &st->rows[n].val) == 0)
			n++;
		else if (loader__map_lookup(st->conns_fd, &st->keys[i], &st->rows[n].val) == 0 &&
			 loader__map_delete(st->conns_fd, &st->keys[i]) == 0)
			n++; /* kernels before 5.14 cannot look up and delete in one step */
	}
	return n;
}

static int by_total_desc(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t tx = x->val.rx_bytes + x->val.tx_bytes, ty = y->val.rx_bytes + y->val.tx_bytes;

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

static void print_endpoints(const struct tcpb_key *k)
{
	bool v6 = k->family == AF_INET6;
	char local[64], remote[64], ip[64];

	format_ip_port(k->family, k->saddr, k->sport, local, sizeof(local));
	format_ip_port(k->family, k->daddr, k->dport, remote, sizeof(remote));
	out_str(NULL, v6 ? "%-40s " : "%-21s ", local);
	out_str(NULL, v6 ? "%-40s " : "%-21s ", remote);
	out_uint("family", NULL, v6 ? 6 : 4);
	format_ip(k->family, k->saddr, ip, sizeof(ip));
	out_str("saddr", NULL, ip);
	out_uint("sport", NULL, k->sport);
	format_ip(k->family, k->daddr, ip, sizeof(ip));
	out_str("daddr", NULL, ip);
	out_uint("dport", NULL, k->dport);
	out_uint("netns", NULL, k->netns);
}

static void print_row(const struct row *r, const char *when)
{
	char comm[TCPB_COMM_LEN + 1];

	memcpy(comm, r->val.comm, TCPB_COMM_LEN);
	comm[TCPB_COMM_LEN] = '\0';
	out_begin();
	out_str("type", NULL, "connection");
	out_str("time", NULL, when);
	out_uint("pid", "%-7llu ", r->key.pid);
	out_str("comm", "%-12.12s ", comm);
	print_endpoints(&r->key);
	out_uint(NULL, "%6llu ", r->val.rx_bytes / 1024); /* KB floored, as the original */
	out_uint(NULL, "%6llu\n", r->val.tx_bytes / 1024);
	out_uint("rx_bytes", NULL, r->val.rx_bytes);
	out_uint("tx_bytes", NULL, r->val.tx_bytes);
	out_end();
}

/* One family's table: header only when it has rows, as the original. */
static void print_table(const struct row *rows, size_t n, int family, const char *when)
{
	bool header = false;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].key.family != family)
			continue;
		if (!header && family == AF_INET)
			out_text("%-7s %-12s %-21s %-21s %6s %6s\n", "PID", "COMM", "SADDR", "DADDR",
				 "RX_KB", "TX_KB");
		else if (!header)
			out_text("\n%-7s %-12s %-40s %-40s %6s %6s\n", "PID", "COMM", "SADDR6",
				 "DADDR6", "RX_KB", "TX_KB");
		header = true;
		print_row(&rows[i], when);
	}
}

/* Map-full drops: a warning on stderr (stdout carries only data) and in JSON. */
static uint64_t report_lost(struct loader *l, struct state *st)
{
	uint64_t lost = loader__lost_events(l);

	if (lost > st->lost_reported)
		log_warn("%llu byte counts lost: the connection map (--max-conns %u) was full; raise --max-conns",
			 (unsigned long long)(lost - st->lost_reported), st->max_conns);
	st->lost_reported = lost;
	return lost;
}

static void print_interval(struct loader *l, struct state *st, double interval_s)
{
	size_t n = take_rows(st);
	time_t now = time(NULL);
	struct tm tm;
	char when[64];

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm); /* asctime() */
	qsort(st->rows, n, sizeof(st->rows[0]), by_total_desc);
	out_text("%s\n", when);
	print_table(st->rows, n, AF_INET, when);
	print_table(st->rows, n, AF_INET6, when);
	out_text(DASHES);
	out_begin();
	out_str("type", NULL, "interval");
	out_str("time", NULL, when);
	out_double("interval_s", NULL, interval_s);
	out_uint("connections", NULL, n);
	out_uint("lost_updates", NULL, report_lost(l, st));
	out_end();
	st->intervals++;
}

/* Ends with what the last, partial interval counted, so nothing is dropped at exit. */
static int poll_intervals(void *self, struct loader *l, const struct common_opts *c)
{
	struct state *st = self;
	const struct options *o = &st->opts;
	uint64_t step = (uint64_t)(o->interval_s * 1e9);
	uint64_t next = runtime_mono_ns() + step;
	struct tcpb_key first;

	runtime_set_duration(c->duration_s);
	while (!runtime_should_stop()) {
		int ms = runtime_wait_ms(next, 100);

		if (ms > 0) {
			loader__poll(l, ms);
		} else if (runtime_mono_ns() >= next) {
			print_interval(l, st, o->interval_s);
			next += step;
			if (next <= runtime_mono_ns()) /* fell behind (stopped, overloaded): no burst */
				next = runtime_mono_ns() + step;
		}
	}
	if (loader__map_next_key(st->conns_fd, NULL, &first) == 0)
		print_interval(l, st, o->interval_s);
	return 0;
}

static void print_summary(void *self, struct loader *l)
{
	struct state *st = self;

	out_begin();
	out_str("type", NULL, "summary");
	out_uint("intervals", NULL, st->intervals);
	out_uint("lost_updates", NULL, report_lost(l, st));
	out_end();
}

static int attach(void *self, struct loader *l)
{
	struct state *st = self;
	const struct options *o = &st->opts;

	if (o->load_only) {
		if (load_only(l, st->use_tp) == 0)
			return TOOL_DONE;
		log_error("%s", loader__error(l));
		return -1;
	}
	st->max_conns = o->max_conns;
	st->rows = calloc(st->max_conns, sizeof(*st->rows));
	st->keys = calloc(st->max_conns, sizeof(*st->keys));
	if (!st->rows || !st->keys) {
		log_error("out of memory");
		return -1;
	}
	st->conns_fd = loader__map_fd(l, "conns");
	if (st->conns_fd < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	if (user_set_attach(&o->cgroupmap, l) || user_set_attach(&o->mntnsmap, l))
		return -1;
	return sockbytes_attach(l, st->use_tp, o->kprobes);
}

static const char *tracing_line(void *self)
{
	struct state *st = self;

	snprintf(st->tracing, sizeof(st->tracing),
		 "Tracing TCP bytes per connection (%s)... Output every %g secs. Hit Ctrl-C to end.",
		 st->use_tp ? "sock tracepoints" : "kprobes", st->opts.interval_s);
	return st->tracing;
}

static void release(void *self)
{
	struct state *st = self;

	free(st->rows);
	free(st->keys);
}

static const struct tool_ops ops = {
	.bpf_text = tcp_bytes_bpf_text,
	.tracing_line = tracing_line,
	.build_cflags = build_cflags,
	.attach = attach,
	.stream = poll_intervals,
	.print_summary = print_summary,
	.release = release,
};

int main(int argc, char **argv)
{
	static struct state st;

	log_set_tool("tcp_bytes");
	parse_options(argc, argv, &st.opts);
	return tool_run(&ops, &st, &st.opts.common);
}
