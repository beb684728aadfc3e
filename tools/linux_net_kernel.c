// linux_net_kernel: each TCP segment at each stage of the kernel's receive path
// (and, with --tx, the transmit path), with its addresses, ports, SEQ and ACK,
// the time since the segment was first seen, and per-stage latency (-s).
//
// This file: options, cflags, attach, the start lines and the run loop; the stages
// (linux_net_kernel/stages.c), event rows (events.c) and statistics (stats.c) are parts
// of their own, sharing linux_net_kernel/lnk_int.h.
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cflags.h"
#include "cli.h"
#include "linux_net_kernel/lnk_int.h"
#include "loader.h"
#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "tool.h"

extern const char linux_net_kernel_bpf_text[];

#define DEFAULT_RATE_LIMIT 10000 /* events per second, as the README says */
#define MAX_RATE_LIMIT 100000000ULL
#define PROGRESS_EVERY_NS 1000000000ULL /* -s: the progress line's period */

static const char usage[] =
	"Usage: linux_net_kernel [OPTIONS]\n"
	"Show each TCP segment at each stage of the kernel's receive path (netif_receive_skb,\n"
	"ip_rcv_finish, tcp_v4/v6_do_rcv, tcp_rcv_established, tcp_queue_rcv, sock_def_readable,\n"
	"the application's copy, and kfree_skb with the drop reason), with its addresses, ports,\n"
	"SEQ and ACK, and how long each stage took.\n\n"
	"  -i, --ip ADDR          only segments from or to ADDR (IPv4 or IPv6)\n"
	"  -p, --port PORT        only segments from or to PORT (0: any)\n"
	"  -s, --stats            no rows; at exit, per stage the packets and the latency from\n"
	"                         the previous stage (p50, p99, max)\n"
	"  -d, --debug-func       two debug lines per row: the stage's name and hook\n"
	"  -v                     the same as --verbose, which also names the hook of each\n"
	"                         stage or why this kernel has none\n"
	"      --rate-limit N     at most N events per second, split over the CPUs\n"
	"                         (default 10000; 0: no limit); the rest is counted\n"
	"      --tx               also follow the transmit path\n" CLI_COMMON_HELP
	"\nStages without a tracepoint need kprobes and a function the compiler did not\n"
	"inline; the ones this kernel cannot serve are named at start.\n"
	"\nEXAMPLES:\n"
	"  linux_net_kernel -p 6379 -i 127.0.0.1   # one Redis connection on loopback\n"
	"  linux_net_kernel -i fd00::1             # IPv6 segments from or to fd00::1\n"
	"  linux_net_kernel -s -p 5201             # per-stage packets and latency for port 5201\n"
	"  linux_net_kernel --tx -p 80             # transmit stages too\n";

enum { OPT_RATE_LIMIT = 2000, OPT_TX };

static unsigned long long parse_rate(const char *arg)
{
	unsigned long long v;

	if (parse_uint_range(arg, 0, MAX_RATE_LIMIT, &v))
		usage_error("invalid --rate-limit '%s': expected events per second 0-%llu (0: no limit)",
			    arg, MAX_RATE_LIMIT);
	return v;
}

/* The seed's -p 0 meant "no filter". */
static uint16_t parse_port_opt(const char *arg)
{
	return strcmp(arg, "0") == 0 ? 0 : cli_port("--port", arg);
}

static void parse_options(int argc, char **argv, struct lnk_options *o)
{
	static const struct option longopts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, 's' },
		{ "debug-func", no_argument, NULL, 'd' },
		{ "rate-limit", required_argument, NULL, OPT_RATE_LIMIT },
		{ "tx", no_argument, NULL, OPT_TX },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	o->rate_limit = DEFAULT_RATE_LIMIT;
	while ((c = getopt_long(argc, argv, "i:p:vsdh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->ip = cli_ip("--ip", optarg); o->have_ip = true; break;
		case 'p': o->port = parse_port_opt(optarg); break;
		case 's': o->stats = true; break;
		case 'd': o->debug = true; break;
		case OPT_RATE_LIMIT: o->rate_limit = parse_rate(optarg); break;
		case OPT_TX: o->tx = true; break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

/* ---- cflags ---- */

static void add_filters(struct cflags *cf, const struct lnk_options *o, int ncpus)
{
	uint64_t words[2] = { 0, 0 };

	if (o->have_ip)
		ip_addr_to_words(&o->ip, words);
	cflags_add(cf, "-DFILTER_FAMILY=%d", o->have_ip ? (o->ip.family == AF_INET6 ? 6 : 4) : 0);
	cflags_add(cf, "-DFILTER_ADDR0=0x%llxULL", (unsigned long long)words[0]);
	cflags_add(cf, "-DFILTER_ADDR1=0x%llxULL", (unsigned long long)words[1]);
	cflags_add(cf, "-DFILTER_PORT=%u", o->port);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	cflags_add(cf, "-DSTATS_ONLY=%d", o->stats);
	/* The budget is per CPU: the limit split evenly, rounded up. */
	cflags_add(cf, "-DRATE_LIMIT_PER_CPU=%lluULL",
		   o->rate_limit ? (o->rate_limit + ncpus - 1) / ncpus : 0);
}

static void add_offsets(struct cflags *cf, struct btf_query *btf)
{
	cflags_offset(cf, btf, "OFF_SKB_HEAD", "sk_buff", "head");
	cflags_offset(cf, btf, "OFF_SKB_DATA", "sk_buff", "data");
	cflags_offset(cf, btf, "OFF_SKB_PROTOCOL", "sk_buff", "protocol");
	cflags_offset(cf, btf, "OFF_SKB_NETWORK_HEADER", "sk_buff", "network_header");
	cflags_offset(cf, btf, "OFF_SKB_DEV", "sk_buff", "dev");
	cflags_offset(cf, btf, "OFF_SKB_SK", "sk_buff", "sk");
	cflags_offset(cf, btf, "OFF_SKB_LEN", "sk_buff", "len");
	cflags_offset(cf, btf, "OFF_SKB_CB", "sk_buff", "cb");
	cflags_offset(cf, btf, "OFF_TCB_SEQ", "tcp_skb_cb", "seq");
	cflags_offset(cf, btf, "OFF_TCB_TCP_FLAGS", "tcp_skb_cb", "tcp_flags");
	cflags_offset(cf, btf, "OFF_TCP_SOCK_RCV_NXT", "tcp_sock", "rcv_nxt");
	cflags_offset(cf, btf, "OFF_TCP_SOCK_WRITE_SEQ", "tcp_sock", "write_seq");
	cflags_offset(cf, btf, "OFF_MSGHDR_ITER_COUNT", "msghdr", "msg_iter.count");
	cflags_offset(cf, btf, "OFF_SK_PROTOCOL", "sock", "sk_protocol");
	cflags_offset(cf, btf, "OFF_DEV_NAME", "net_device", "name");
	cflags_offset(cf, btf, "OFF_DEV_ND_NET", "net_device", "nd_net.net");
	cflags_sock_common(cf, btf);
}

/* kfree_skb's third argument is the drop reason since Linux 5.17. */
static bool kfree_has_reason(struct btf_query *btf)
{
	char args[256];

	return btf_query_tp_args(btf, "kfree_skb", args, sizeof(args)) == 0 &&
	       strncmp(args, "sk_buff *,void *,skb_drop_reason", 32) == 0;
}

/* The CPUs the rate limit is split over (1 if sysconf cannot tell). */
static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (int)n > 0 ? (int)n : 1;
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct lnk *t = self;

	lnk_choose_hooks(t, btf);
	lnk_load_drop_reasons(t, btf);
	add_filters(cf, &t->opts, online_cpus());
	cflags_add(cf, "-DKFREE_HAS_REASON=%d", kfree_has_reason(btf));
	add_offsets(cf, btf);
	return 0;
}

/* ---- attach ---- */

static int open_maps(struct lnk *t, struct loader *l)
{
	t->counters_fd = loader__map_fd(l, "counters");
	t->latency_fd = loader__map_fd(l, "latency");
	t->latency_max_fd = loader__map_fd(l, "latency_max");
	if (t->counters_fd < 0 || t->latency_fd < 0 || t->latency_max_fd < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static int attach(void *self, struct loader *l)
{
	struct lnk *t = self;

	if (open_maps(t, l))
		return -1;
	if (!t->opts.stats && loader__open_ringbuf(l, "events", lnk_on_event, t)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	if (!lnk_attach_stages(t, l)) {
		log_error("no stage could be attached on this kernel (run with -v for the reasons)");
		return -1;
	}
	return 0;
}

/* ---- start lines ---- */

/* The seed's start lines: the filters, then the table header (-s: its title). */
static void print_start_lines(const struct lnk *t)
{
	char ip[64];

	printf("Started TCP monitoring...\n");
	if (t->opts.have_ip) {
		format_ip(t->opts.ip.family, t->opts.ip.bytes, ip, sizeof(ip));
		printf("Filtering for IP: %s\n", ip);
	}
	if (t->opts.port)
		printf("Filtering for Port: %u\n", t->opts.port);
	if (t->opts.stats)
		printf("TCP Event Monitoring - Statistics Mode\n%.40s\n",
		       "----------------------------------------");
	else
		lnk_print_table_header();
}

/* The stage line (stderr), then the seed's start lines or the JSON start object. */
static void print_header(void *self)
{
	struct lnk *t = self;

	lnk_print_stage_availability(t);
	if (out_is_json()) {
		lnk_print_stages_json(t);
		return;
	}
	print_start_lines(t);
	fflush(stdout);
}

/* ---- the run loop ---- */

/* -s: the seed's progress line, rewritten in place once a second. */
static int stream(void *self, struct loader *l, const struct common_opts *c)
{
	struct lnk *t = self;
	uint64_t next;

	if (!t->opts.stats || out_is_json()) {
		loader__stream(l, c->duration_s);
		return 0;
	}
	runtime_set_duration(c->duration_s);
	next = runtime_mono_ns() + PROGRESS_EVERY_NS;
	while (!runtime_should_stop()) {
		loader__poll(l, runtime_wait_ms(next, 100));
		if (runtime_mono_ns() < next)
			continue;
		next += PROGRESS_EVERY_NS;
		lnk_print_progress(t);
	}
	return 0;
}

/* ---- main ---- */

static const struct tool_ops ops = {
	.bpf_text = linux_net_kernel_bpf_text,
	.tracing = "Tracing TCP segments through the kernel's stages... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.stream = stream,
	.print_summary = lnk_print_summary,
};

int main(int argc, char **argv)
{
	static struct lnk t; /* large: the drop reason names */

	log_set_tool("linux_net_kernel");
	parse_options(argc, argv, &t.opts);
	return tool_run(&ops, &t, &t.opts.common);
}
