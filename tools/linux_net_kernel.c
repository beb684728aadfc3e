// linux_net_kernel: each TCP segment at each stage of the kernel's receive path
// (and, with --tx, the transmit path), with its addresses, ports, SEQ and ACK,
// the time since the segment was first seen, and per-stage latency (-s).
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cflags.h"
#include "cli.h"
#include "kallsyms.h"
#include "linux_net_kernel.h"
#include "loader.h"
#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "tool.h"

extern const char linux_net_kernel_bpf_text[];

#define DEFAULT_RATE_LIMIT 10000 /* events per second, as the README says */
#define MAX_RATE_LIMIT 100000000ULL
#define REASON_PREFIX "SKB_DROP_REASON_"
#define MAX_REASONS 1024

struct options {
	struct common_opts common;
	struct ip_addr ip;
	bool have_ip;
	uint16_t port; /* 0: any */
	bool stats, debug, tx;
	unsigned long long rate_limit;
};

/* A stage: the kernel function it names, and the hooks that can serve it,
 * tracepoint first. The BPF functions are raw_tracepoint__<tp> and kp_<name>. */
struct stage_def {
	const char *name;
	const char *tp_cat, *tp; /* tracepoint (attached raw: its TP_PROTO arguments) */
	const char *tp_args;     /* the arguments the program reads, as BTF names them */
	const char *kfunc;       /* kprobe target */
	bool tx;
};

static const struct stage_def stage_defs[LNK_STAGES] = {
	[LNK_NETIF_RECEIVE_SKB] = { "netif_receive_skb", "net", "netif_receive_skb", "sk_buff *", NULL, false },
	[LNK_IP_RCV_FINISH] = { "ip_rcv_finish", NULL, NULL, NULL, "ip_rcv_finish", false },
	[LNK_TCP_V4_DO_RCV] = { "tcp_v4_do_rcv", NULL, NULL, NULL, "tcp_v4_do_rcv", false },
	[LNK_TCP_V6_DO_RCV] = { "tcp_v6_do_rcv", NULL, NULL, NULL, "tcp_v6_do_rcv", false },
	[LNK_TCP_RCV_ESTABLISHED] = { "tcp_rcv_established", "tcp", "tcp_probe", "sock *,sk_buff *", "tcp_rcv_established", false },
	[LNK_TCP_QUEUE_RCV] = { "tcp_queue_rcv", NULL, NULL, NULL, "tcp_queue_rcv", false },
	[LNK_SOCK_DEF_READABLE] = { "sock_def_readable", "sock", "sk_data_ready", "sock *", "sock_def_readable", false },
	[LNK_SKB_COPY_DATAGRAM_IOVEC] = { "skb_copy_datagram_iovec", "skb", "skb_copy_datagram_iovec", "sk_buff *,int", NULL, false },
	[LNK_KFREE_SKB] = { "kfree_skb", "skb", "kfree_skb", "sk_buff *,void *", NULL, false },
	[LNK_TCP_SENDMSG_LOCKED] = { "tcp_sendmsg_locked", "tcp", "tcp_sendmsg_locked", "sock *,msghdr *,sk_buff *,int", NULL, true },
	[LNK_TCP_TRANSMIT_SKB] = { "tcp_transmit_skb", NULL, NULL, NULL, "__tcp_transmit_skb", true },
	[LNK_NET_DEV_QUEUE] = { "net_dev_queue", "net", "net_dev_queue", "sk_buff *", NULL, true },
	[LNK_QDISC_DEQUEUE] = { "qdisc_dequeue", "qdisc", "qdisc_dequeue", "Qdisc *,netdev_queue *,int,sk_buff *", NULL, true },
	[LNK_NET_DEV_START_XMIT] = { "net_dev_start_xmit", "net", "net_dev_start_xmit", "sk_buff *,net_device *", NULL, true },
	[LNK_NET_DEV_XMIT] = { "net_dev_xmit", "net", "net_dev_xmit", "sk_buff *,int,net_device *", NULL, true },
};

enum hook_kind { HOOK_NOT_WANTED, HOOK_UNAVAILABLE, HOOK_TP, HOOK_KPROBE };

struct stage_state {
	enum hook_kind hook;
	char why[64];     /* unavailable: the short reason */
	char detail[256]; /* the hook, or why not (-v) */
};

/* Per stage, summed over CPUs at exit. */
struct stage_stats {
	uint64_t packets;
	uint64_t samples; /* latency samples: the segment was seen at an earlier stage */
	double p50_us, p99_us, max_us;
};

struct lnk {
	struct options o;
	struct stage_state st[LNK_STAGES];
	char reasons[MAX_REASONS][48]; /* drop reason names without the prefix, by value */
	uint64_t events, short_events;
	int counters_fd, latency_fd, latency_max_fd;
	int ncpus;
};

/* The seed's table: widths joined by " | ". */
static const struct column {
	const char *title;
	int width;
} columns[] = {
	{ "KERNEL FUNCTION", 20 }, { "SRC IP", 17 }, { "DST IP", 17 }, { "SRC PORT", 10 },
	{ "DST PORT", 10 },	   { "SEQ", 14 },    { "ACK SEQ", 14 }, { "TIMESTAMP", 26 },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))
#define SEPARATOR " | "

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

static void parse_options(int argc, char **argv, struct options *o)
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

/* ---- which hook serves each stage ---- */

static void unavailable(struct stage_state *st, const char *why, const char *detail)
{
	st->hook = HOOK_UNAVAILABLE;
	snprintf(st->why, sizeof(st->why), "%s", why);
	snprintf(st->detail, sizeof(st->detail), "%s", detail);
}

static bool tracepoint_serves(struct stage_state *st, const struct stage_def *d,
			      struct btf_query *btf)
{
	char args[256], detail[256];
	int err = btf_query_tp_args(btf, d->tp, args, sizeof(args));

	if (!err && strncmp(args, d->tp_args, strlen(d->tp_args)) == 0) {
		st->hook = HOOK_TP;
		snprintf(st->detail, sizeof(st->detail), "tracepoint %s:%s", d->tp_cat, d->tp);
		return true;
	}
	if (err)
		snprintf(detail, sizeof(detail), "no tracepoint %s:%s in this kernel", d->tp_cat, d->tp);
	else
		snprintf(detail, sizeof(detail), "tracepoint %s:%s passes (%.100s), the program reads (%s)",
			 d->tp_cat, d->tp, args, d->tp_args);
	unavailable(st, err ? "no tracepoint" : "tracepoint arguments changed", detail);
	return false;
}

static void kprobe_serves(struct stage_state *st, const struct stage_def *d, bool kprobes)
{
	char detail[256];
	uint64_t addr;
	int err;

	if (!kprobes) {
		snprintf(detail, sizeof(detail), "%.150s%skprobe %s: this kernel has no kprobes (CONFIG_KPROBES off)",
			 d->tp ? st->detail : "", d->tp ? "; " : "", d->kfunc);
		unavailable(st, "no kprobes on this kernel", detail);
		return;
	}
	err = kallsyms_text_addr(d->kfunc, &addr);
	if (err) {
		snprintf(detail, sizeof(detail), "kprobe %s: %s", d->kfunc,
			 err == -ENOENT ? "not in /proc/kallsyms (inlined or renamed on this kernel)" :
					  strerror(-err));
		unavailable(st, err == -ENOENT ? "inlined or renamed" : "not in /proc/kallsyms", detail);
		return;
	}
	st->hook = HOOK_KPROBE;
	snprintf(st->detail, sizeof(st->detail), "kprobe %s", d->kfunc);
}

static void choose_hooks(struct lnk *t, struct btf_query *btf)
{
	bool kprobes = loader__kprobes_supported();

	for (int s = 0; s < LNK_STAGES; s++) {
		const struct stage_def *d = &stage_defs[s];
		struct stage_state *st = &t->st[s];

		st->hook = HOOK_NOT_WANTED;
		if (d->tx && !t->o.tx)
			continue;
		if (d->tp && tracepoint_serves(st, d, btf))
			continue;
		if (d->kfunc)
			kprobe_serves(st, d, kprobes);
	}
}

/* ---- cflags ---- */

static int load_reasons(struct lnk *t, struct btf_query *btf)
{
	long long max;

	if (btf_query_enum_value(btf, "skb_drop_reason", REASON_PREFIX "MAX", &max) || max <= 0)
		return 0; /* a kernel without drop reasons: codes only */
	for (long long v = 0; v < max && v < MAX_REASONS; v++) {
		const char *name = btf_query_enum_name(btf, "skb_drop_reason", v);
		size_t skip = name && strncmp(name, REASON_PREFIX, strlen(REASON_PREFIX)) == 0 ?
				      strlen(REASON_PREFIX) : 0;

		if (name)
			snprintf(t->reasons[v], sizeof(t->reasons[v]), "%s", name + skip);
	}
	return 0;
}

static void add_filters(struct cflags *cf, const struct options *o, int ncpus)
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

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct lnk *t = self;

	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		log_error("cannot read the number of possible CPUs: %s", strerror(-t->ncpus));
		return -1;
	}
	choose_hooks(t, btf);
	load_reasons(t, btf);
	add_filters(cf, &t->o, (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
				       (int)sysconf(_SC_NPROCESSORS_ONLN) : 1);
	cflags_add(cf, "-DKFREE_HAS_REASON=%d", kfree_has_reason(btf));
	add_offsets(cf, btf);
	return 0;
}

/* ---- events ---- */

static const char *hook_name(enum hook_kind h)
{
	return h == HOOK_TP ? "tracepoint" : h == HOOK_KPROBE ? "kprobe" : "unavailable";
}

static const char *stage_name(unsigned s)
{
	return s < LNK_STAGES ? stage_defs[s].name : "?";
}

/* An address as the seed printed it: "-" when zero. */
static void format_addr(const struct lnk_pkt_key *k, const __u64 *addr, char *buf, size_t len)
{
	if (!addr[0] && !addr[1])
		snprintf(buf, len, "-");
	else
		format_ip(k->family, addr, buf, len);
}

/* The interface name as text; anything else (a stale device pointer) is "?". */
static void clean_ifname(char *name)
{
	for (char *c = name; *c; c++)
		if (*c < 0x21 || *c > 0x7e) {
			strcpy(name, "?");
			return;
		}
}

/* A text cell of the seed's table; JSON gets key (if any) with the value. */
static void cell_str(unsigned col, const char *key, const char *value)
{
	char fmt[16];

	snprintf(fmt, sizeof(fmt), "%%-%ds%s", columns[col].width,
		 col + 1 < NCOLUMNS ? SEPARATOR : "");
	out_str(key, fmt, value);
}

static void cell_uint(unsigned col, const char *key, unsigned long long value)
{
	char fmt[16];

	snprintf(fmt, sizeof(fmt), "%%-%dllu%s", columns[col].width,
		 col + 1 < NCOLUMNS ? SEPARATOR : "");
	out_uint(key, fmt, value);
}

static void print_row(const struct lnk_event *e)
{
	const struct lnk_pkt_key *k = &e->pkt;
	char func[40], saddr[48], daddr[48], when[40];

	snprintf(func, sizeof(func), "[%s]", stage_name(e->stage));
	format_addr(k, k->saddr, saddr, sizeof(saddr));
	format_addr(k, k->daddr, daddr, sizeof(daddr));
	runtime_format_ktime_date(e->ts_ns, when, sizeof(when));
	cell_str(0, NULL, func);
	out_str("stage", NULL, stage_name(e->stage));
	cell_str(1, "saddr", saddr);
	cell_str(2, "daddr", daddr);
	cell_uint(3, "sport", k->sport);
	cell_uint(4, "dport", k->dport);
	cell_uint(5, "seq", k->seq);
	cell_uint(6, "ack_seq", k->ack_seq);
	cell_str(7, "time", when);
}

/* JSON only: what the table has no room for. */
static void print_details(const struct lnk *t, const struct lnk_event *e)
{
	char ifname[LNK_IFNAME_LEN + 1];

	memcpy(ifname, e->ifname, LNK_IFNAME_LEN);
	ifname[LNK_IFNAME_LEN] = '\0';
	clean_ifname(ifname);
	out_str("hook", NULL, hook_name(t->st[e->stage < LNK_STAGES ? e->stage : 0].hook));
	out_uint("ip", NULL, e->pkt.family);
	out_uint("len", NULL, e->pkt.len);
	out_uint("tcp_flags", NULL, e->tcp_flags);
	out_str("ifname", NULL, ifname);
	out_uint("netns", NULL, e->netns);
	out_ptr("skb", NULL, e->skb);
	out_uint("ts_ns", NULL, e->ts_ns);
	out_double("since_first_us", NULL, e->since_first_ns / 1e3);
	if (e->stage == LNK_SKB_COPY_DATAGRAM_IOVEC)
		out_uint("copied", NULL, e->aux);
	if (e->prev_stage != LNK_NO_STAGE) {
		out_str("prev_stage", NULL, stage_name(e->prev_stage));
		out_double("since_prev_us", NULL, e->since_prev_ns / 1e3);
	}
}

static const char *reason_name(const struct lnk *t, uint32_t reason)
{
	return reason < MAX_REASONS && t->reasons[reason][0] ? t->reasons[reason] : NULL;
}

/* kfree_skb rows end with the drop reason (a column the seed did not have). */
static void print_drop_reason(const struct lnk *t, const struct lnk_event *e)
{
	const char *name = reason_name(t, e->aux);
	char code[24];

	if (e->stage != LNK_KFREE_SKB)
		return;
	snprintf(code, sizeof(code), "reason %u", e->aux);
	out_str("drop_reason", SEPARATOR "%s", name ? name : code);
	out_uint("drop_reason_code", NULL, e->aux);
}

/* -d: the seed's two lines, the hook named in the first. */
static void print_debug(const struct lnk *t, const struct lnk_event *e)
{
	const char *name = stage_name(e->stage);
	const struct stage_state *st = &t->st[e->stage < LNK_STAGES ? e->stage : 0];

	out_text("  Debug - Function name: '%s' (%s)\n  Debug - Raw bytes: [", name, st->detail);
	for (const char *c = name; *c; c++)
		out_text("%s%u", c == name ? "" : ", ", (unsigned char)*c);
	out_text("]\n");
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct lnk *t = ctx;
	struct lnk_event e;

	if (size < sizeof(e)) {
		t->short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	t->events++;
	out_begin();
	out_str("type", NULL, "event");
	print_row(&e);
	print_drop_reason(t, &e);
	out_text("\n");
	print_details(t, &e);
	if (t->o.debug)
		print_debug(t, &e);
	out_end();
	return 0;
}

/* ---- attach ---- */

static int attach_stage(struct lnk *t, struct loader *l, int s)
{
	const struct stage_def *d = &stage_defs[s];
	struct stage_state *st = &t->st[s];
	char func[64], detail[256];
	int err;

	if (st->hook == HOOK_TP) {
		snprintf(func, sizeof(func), "raw_tracepoint__%s", d->tp);
		err = loader__attach_raw_tp(l, func, d->tp);
	} else if (st->hook == HOOK_KPROBE) {
		snprintf(func, sizeof(func), "kp_%s", d->name);
		err = loader__attach_kprobe(l, func, d->kfunc, false);
	} else {
		return 0;
	}
	if (err) {
		snprintf(detail, sizeof(detail), "%s", loader__error(l));
		unavailable(st, "attach failed", detail);
	}
	return err ? 0 : 1;
}

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
	int attached = 0;

	if (open_maps(t, l))
		return -1;
	if (!t->o.stats && loader__open_ringbuf(l, "events", on_event, t)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	for (int s = 0; s < LNK_STAGES; s++)
		attached += attach_stage(t, l, s);
	if (!attached) {
		log_error("no stage could be attached on this kernel (run with -v for the reasons)");
		return -1;
	}
	return 0;
}

/* ---- start lines ---- */

/* One line: the traced stages, then the unavailable ones grouped by reason. */
static void print_stage_line(const struct lnk *t)
{
	bool done[LNK_STAGES] = { false };
	int n = 0;

	fprintf(stderr, "Stages traced:");
	for (int s = 0; s < LNK_STAGES; s++)
		if (t->st[s].hook == HOOK_TP || t->st[s].hook == HOOK_KPROBE)
			fprintf(stderr, "%s %s", n++ ? "," : "", stage_defs[s].name);
	for (int s = 0; s < LNK_STAGES; s++) {
		if (t->st[s].hook != HOOK_UNAVAILABLE || done[s])
			continue;
		fprintf(stderr, "%s", n >= 0 ? "; not available on this kernel:" : ";");
		n = -1;
		for (int o = s, first = 1; o < LNK_STAGES; o++) {
			if (t->st[o].hook != HOOK_UNAVAILABLE || strcmp(t->st[o].why, t->st[s].why))
				continue;
			fprintf(stderr, "%s %s", first ? "" : ",", stage_defs[o].name);
			done[o] = true;
			first = 0;
		}
		fprintf(stderr, " (%s)", t->st[s].why);
	}
	fprintf(stderr, "\n");
}

static void print_stage_details(const struct lnk *t)
{
	for (int s = 0; s < LNK_STAGES; s++)
		if (t->st[s].hook != HOOK_NOT_WANTED)
			fprintf(stderr, "  %-24s %s%s\n", stage_defs[s].name,
				t->st[s].hook == HOOK_UNAVAILABLE ? "not available: " : "",
				t->st[s].detail);
}

static void print_stages_json(const struct lnk *t)
{
	out_begin();
	out_str("type", NULL, "start");
	out_array_begin("stages");
	for (int s = 0; s < LNK_STAGES; s++) {
		const struct stage_state *st = &t->st[s];

		if (st->hook == HOOK_NOT_WANTED)
			continue;
		out_object_begin(NULL);
		out_str("stage", NULL, stage_defs[s].name);
		out_str("hook", NULL, hook_name(st->hook));
		out_bool("available", st->hook != HOOK_UNAVAILABLE);
		out_str(st->hook == HOOK_UNAVAILABLE ? "why" : "detail", NULL,
			st->hook == HOOK_UNAVAILABLE ? st->why : st->detail);
		out_object_end();
	}
	out_array_end();
	out_end();
}

static void print_table_header(void)
{
	int width = 0;

	for (unsigned i = 0; i < NCOLUMNS; i++) {
		printf("%s%-*s", i ? SEPARATOR : "", columns[i].width, columns[i].title);
		width += columns[i].width + (i ? (int)strlen(SEPARATOR) : 0);
	}
	printf("\n%.*s\n", width, "------------------------------------------------------------------------------------------------------------------------------------------------------------------------");
}

/* The seed's start lines, the stage line (stderr), then the table header. */
static void print_header(void *self)
{
	struct lnk *t = self;
	char ip[64];

	print_stage_line(t);
	if (t->o.common.verbose)
		print_stage_details(t);
	if (out_is_json()) {
		print_stages_json(t);
		return;
	}
	printf("Started TCP monitoring...\n");
	if (t->o.have_ip) {
		format_ip(t->o.ip.family, t->o.ip.bytes, ip, sizeof(ip));
		printf("Filtering for IP: %s\n", ip);
	}
	if (t->o.port)
		printf("Filtering for Port: %u\n", t->o.port);
	if (t->o.stats)
		printf("TCP Event Monitoring - Statistics Mode\n%.40s\n",
		       "----------------------------------------");
	else
		print_table_header();
	fflush(stdout);
}

/* ---- counters and latency ---- */

/* Per slot [0, n) of a per-CPU u64 array, the sum over CPUs (or the largest
 * value, with take_max). 0 or -errno. */
static int read_percpu(const struct lnk *t, int fd, uint32_t n, uint64_t *out, bool take_max)
{
	uint64_t *values = calloc((size_t)t->ncpus, sizeof(*values));
	int err = values ? 0 : -ENOMEM;

	for (uint32_t k = 0; !err && k < n; k++) {
		err = loader__map_lookup(fd, &k, values);
		out[k] = 0;
		for (int cpu = 0; !err && cpu < t->ncpus; cpu++) {
			if (!take_max)
				out[k] += values[cpu];
			else if (values[cpu] > out[k])
				out[k] = values[cpu];
		}
	}
	free(values);
	return err;
}

/* The middle of a bucket of the BPF side's log-linear histogram, in ns. */
static double bucket_ns(unsigned b)
{
	unsigned log, sub;
	double width;

	if (b < LNK_SUB)
		return b;
	log = b / LNK_SUB + LNK_SUB_BITS - 1;
	sub = b % LNK_SUB;
	width = (double)(1ULL << (log - LNK_SUB_BITS));
	return (LNK_SUB + sub) * width + (width - 1) / 2;
}

static double percentile_us(const uint64_t *hist, uint64_t samples, double p, double max_ns)
{
	uint64_t rank = (uint64_t)(p * samples + 0.999999), seen = 0;

	for (unsigned b = 0; b < LNK_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank && seen) {
			double ns = bucket_ns(b);

			return (ns < max_ns ? ns : max_ns) / 1e3;
		}
	}
	return 0;
}

static int read_stats(struct lnk *t, struct stage_stats *ss, uint64_t *counters)
{
	uint64_t *hist = calloc(LNK_LATENCY_SLOTS, sizeof(*hist)), maxes[LNK_STAGES];
	int err = hist ? 0 : -ENOMEM;

	if (!err)
		err = read_percpu(t, t->counters_fd, LNK_COUNTERS, counters, false);
	if (!err)
		err = read_percpu(t, t->latency_fd, LNK_LATENCY_SLOTS, hist, false);
	if (!err)
		err = read_percpu(t, t->latency_max_fd, LNK_STAGES, maxes, true);
	for (int s = 0; !err && s < LNK_STAGES; s++) {
		const uint64_t *h = hist + (size_t)s * LNK_BUCKETS;

		ss[s] = (struct stage_stats){ .packets = counters[s] };
		for (unsigned b = 0; b < LNK_BUCKETS; b++)
			ss[s].samples += h[b];
		ss[s].max_us = maxes[s] / 1e3;
		ss[s].p50_us = percentile_us(h, ss[s].samples, 0.50, (double)maxes[s]);
		ss[s].p99_us = percentile_us(h, ss[s].samples, 0.99, (double)maxes[s]);
	}
	free(hist);
	return err;
}

/* ---- -s progress and the exit sequence ---- */

static uint64_t matched_total(const uint64_t *counters)
{
	uint64_t n = 0;

	for (int s = 0; s < LNK_STAGES; s++)
		n += counters[s];
	return n;
}

/* -s: the seed's progress line, rewritten in place once a second. */
static int stream(void *self, struct loader *l, const struct common_opts *c)
{
	struct lnk *t = self;
	uint64_t next, counters[LNK_COUNTERS];

	if (!t->o.stats || out_is_json()) {
		loader__stream(l, c->duration_s);
		return 0;
	}
	runtime_set_duration(c->duration_s);
	next = runtime_mono_ns() + 1000000000ULL;
	while (!runtime_should_stop()) {
		loader__poll(l, runtime_wait_ms(next, 100));
		if (runtime_mono_ns() < next)
			continue;
		next += 1000000000ULL;
		if (read_percpu(t, t->counters_fd, LNK_COUNTERS, counters, false) == 0)
			printf("Processed %llu events, %llu errors\r",
			       (unsigned long long)matched_total(counters),
			       (unsigned long long)t->short_events);
		fflush(stdout);
	}
	return 0;
}

static void print_stage_table(const struct lnk *t, const struct stage_stats *ss)
{
	printf("\n%-24s %-11s %10s %10s %10s %10s\n", "STAGE", "HOOK", "PACKETS", "P50_US",
	       "P99_US", "MAX_US");
	for (int s = 0; s < LNK_STAGES; s++) {
		if (t->st[s].hook == HOOK_NOT_WANTED)
			continue;
		printf("%-24s %-11s", stage_defs[s].name, hook_name(t->st[s].hook));
		if (t->st[s].hook == HOOK_UNAVAILABLE)
			printf(" %10s %10s %10s %10s\n", "-", "-", "-", "-");
		else if (!ss[s].samples)
			printf(" %10llu %10s %10s %10s\n", (unsigned long long)ss[s].packets, "-", "-", "-");
		else
			printf(" %10llu %10.1f %10.1f %10.1f\n", (unsigned long long)ss[s].packets,
			       ss[s].p50_us, ss[s].p99_us, ss[s].max_us);
	}
}

static void print_summary_text(const struct lnk *t, const struct stage_stats *ss,
			       const uint64_t *counters, uint64_t lost)
{
	uint64_t processed = t->o.stats ? matched_total(counters) : t->events;

	if (bccnet_signal)
		printf("\nReceived signal %d, cleaning up...\n", (int)bccnet_signal);
	printf("\n\nMonitoring Statistics:\n");
	printf("Total events processed: %llu\n", (unsigned long long)processed);
	printf("Error count: %llu\n", (unsigned long long)t->short_events);
	printf("Events suppressed by rate limit: %llu\n",
	       (unsigned long long)counters[LNK_RATE_LIMITED]);
	printf("Events lost: %llu\n", (unsigned long long)lost);
	if (t->o.stats)
		print_stage_table(t, ss);
	printf("\nDetaching probes...\nCleaning BPF resources...\nMonitoring stopped.\n");
}

/* A kprobe attaches to a function's out-of-line copy only: where the compiler
 * also inlined it into its caller (ip_rcv_finish into ip_rcv on Debian's 6.1),
 * the hot path never reaches the probe. Said when IPv4 segments reached the
 * next stage and none this one. */
static bool inlined_on_path(const struct lnk *t, const struct stage_stats *ss, int s)
{
	return s == LNK_IP_RCV_FINISH && t->st[s].hook == HOOK_KPROBE && !ss[s].packets &&
	       t->st[LNK_TCP_V4_DO_RCV].hook == HOOK_KPROBE && ss[LNK_TCP_V4_DO_RCV].packets;
}

static void print_summary_json(const struct lnk *t, const struct stage_stats *ss,
			       const uint64_t *counters, uint64_t lost)
{
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("events", NULL, t->events);
	out_uint("matched", NULL, matched_total(counters));
	out_uint("rate_limited", NULL, counters[LNK_RATE_LIMITED]);
	out_uint("lost_events", NULL, lost);
	out_uint("errors", NULL, t->short_events);
	out_object_begin("stages");
	for (int s = 0; s < LNK_STAGES; s++) {
		if (t->st[s].hook != HOOK_TP && t->st[s].hook != HOOK_KPROBE)
			continue;
		out_object_begin(stage_defs[s].name);
		out_str("hook", NULL, hook_name(t->st[s].hook));
		if (inlined_on_path(t, ss, s))
			out_bool("inlined", true);
		out_uint("packets", NULL, ss[s].packets);
		out_uint("latency_samples", NULL, ss[s].samples);
		out_double("p50_us", NULL, ss[s].p50_us);
		out_double("p99_us", NULL, ss[s].p99_us);
		out_double("max_us", NULL, ss[s].max_us);
		out_object_end();
	}
	out_object_end();
	out_end();
}

static void warn_inlined(const struct lnk *t, const struct stage_stats *ss)
{
	if (inlined_on_path(t, ss, LNK_IP_RCV_FINISH))
		log_warn("ip_rcv_finish: no segment reached its kprobe while %llu reached tcp_v4_do_rcv: this kernel inlined it into ip_rcv (the probe sees only its out-of-line copy)",
			 (unsigned long long)ss[LNK_TCP_V4_DO_RCV].packets);
}

static void print_summary(void *self, struct loader *l)
{
	struct lnk *t = self;
	struct stage_stats ss[LNK_STAGES];
	uint64_t counters[LNK_COUNTERS] = { 0 };
	uint64_t lost = loader__lost_events(l) + t->short_events;
	int err = read_stats(t, ss, counters);

	if (err) {
		log_error("read the BPF counters: %s", strerror(-err));
		memset(ss, 0, sizeof(ss));
	}
	warn_inlined(t, ss);
	if (out_is_json())
		print_summary_json(t, ss, counters, lost);
	else
		print_summary_text(t, ss, counters, lost);
	fflush(stdout);
}

/* ---- main ---- */

static const struct tool_ops ops = {
	.bpf_text = linux_net_kernel_bpf_text,
	.tracing = "Tracing TCP segments through the kernel's stages... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.stream = stream,
	.print_summary = print_summary,
};

int main(int argc, char **argv)
{
	static struct lnk t; /* large: the drop reason names */

	log_set_tool("linux_net_kernel");
	parse_options(argc, argv, &t.o);
	return tool_run(&ops, &t, &t.o.common);
}
