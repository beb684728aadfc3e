// tcp-insight: 15 TCP event types (connection life, data, congestion control), every
// filter applied in the kernel, per-event rows or JSON, and statistics at exit (-T).
#include <errno.h>
#include <stddef.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "sockbytes.h"
#include "tcp-insight.h"
#include "tool.h"

extern const char tcp_insight_bpf_text[];

#define MAX_MS 1000000000000ULL  /* ~31 years */
#define MAX_BYTES (1ULL << 62)
#define MAX_RTT_US 0xffffffffULL
#define CONN_SLOTS 16384 /* connections -T keeps (open addressing) */
#define TOP_CONNS 20
#define NREASONS 64
#define SSTHRESH_INF 0x7fffffffu

enum {
	OPT_SPORT = 2000,
	OPT_DPORT,
	OPT_MIN_DURATION,
	OPT_MAX_DURATION,
	OPT_MIN_BYTES,
	OPT_MAX_BYTES,
	OPT_MIN_RTT,
	OPT_MAX_RTT,
};

struct range {
	bool set_min, set_max;
	unsigned long long min, max;
};

struct options {
	struct common_opts common;
	uint32_t pid;
	const char *comm;
	const char *saddr_arg, *daddr_arg;
	struct ip_addr saddr, daddr;
	uint16_t sport, dport;
	unsigned mask; /* 0: all */
	struct range duration_ms, bytes, rtt_us;
	unsigned state;
	bool timestamp, stats;
};

struct conn_stat {
	uint64_t sk, start_ns, first_ns, last_ns, tx, rx, retrans, rtt_sum, rtt_n;
	uint32_t rtt_min, rtt_max;
	struct sock_tuple tuple;
	struct tcpi_owner who;
	bool used, closed;
};

struct stats {
	uint64_t events, by_type[TCPI_NTYPES], short_events;
	uint64_t tx_bytes, rx_bytes, retrans_segs, retrans_bytes;
	uint64_t rtt_sum, rtt_n, rtt_max, cwnd_sum, cwnd_n, cwnd_max;
	uint64_t conns_dropped; /* connections the -T table had no room for */
	size_t nconns;
};

struct tcp_insight {
	struct options opts;
	unsigned mask;      /* effective: opts.mask or all */
	unsigned available; /* event types whose hooks this kernel has */
	bool use_sock_tp;
	bool present[16];
	char *reasons[NREASONS]; /* enum sk_rst_reason names from BTF */
	int counters_fd;
	struct stats st;
	struct conn_stat *conns;
};

static const char *const event_names[TCPI_NTYPES] = {
	"CONNECT",     "ACCEPT",	"SEND",		 "RECEIVE",	  "RETRANSMIT",
	"CLOSE",       "RESET",		"CWND_CHANGE",	 "RTT_UPDATE",	  "SLOW_START",
	"CONG_AVOID",  "FAST_RECOVERY", "WINDOW_UPDATE", "SACK",	  "TIMEOUT",
};

static const char *const ca_names[] = { "Open", "Disorder", "CWR", "Recovery", "Loss" };

/* Raw tracepoints and the argument list the program reads (a prefix of TP_PROTO). */
struct hook {
	const char *tp, *args;
	unsigned events; /* 0: always needed (socket tracking) */
};

#define PROBE_EVENTS (TCPI_CWND_CHANGE | TCPI_RTT_UPDATE | TCPI_SLOW_START | TCPI_CONG_AVOID | TCPI_SACK)

static const struct hook hooks[] = {
	{ "inet_sock_set_state", "sock *,int,int", 0 },
	{ "tcp_destroy_sock", "sock *", 0 },
	{ "tcp_retransmit_skb", "sock *,sk_buff *", TCPI_RETRANSMIT },
	{ "tcp_retransmit_synack", "sock *,request_sock *", TCPI_RETRANSMIT },
	{ "tcp_send_reset", "sock *,sk_buff *", TCPI_RESET },
	{ "tcp_receive_reset", "sock *", TCPI_RESET },
	{ "tcp_probe", "sock *,sk_buff *", PROBE_EVENTS },
	{ "tcp_cong_state_set", "sock *,u8", TCPI_FAST_RECOVERY | TCPI_TIMEOUT },
	{ "tcp_rcv_space_adjust", "sock *", TCPI_WINDOW_UPDATE },
};
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

static const char usage[] =
	"Usage: tcp-insight [OPTIONS]\n"
	"Trace TCP events: connection life, data, retransmits, resets and congestion control.\n\n"
	"  -p, --pid PID          only this process (TGID: the socket's owner; the sender for SEND/RECEIVE)\n"
	"  -c, --comm COMM        only processes whose name contains COMM\n"
	"  -s, --saddr ADDR       only this local address (IPv4 or IPv6)\n"
	"  -d, --daddr ADDR       only this remote address (IPv4 or IPv6)\n"
	"      --sport PORT       only this local port\n"
	"      --dport PORT       only this remote port\n"
	"  -e, --events MASK      only these event types (decimal, 0x hex or 0 octal; see below)\n"
	"      --min-duration MS  only connections at least MS milliseconds old at the event\n"
	"      --max-duration MS  only connections at most MS milliseconds old at the event\n"
	"      --min-bytes BYTES  only connections that moved at least BYTES so far\n"
	"      --max-bytes BYTES  only connections that moved at most BYTES so far\n"
	"      --min-rtt US       only sockets whose smoothed RTT is at least US microseconds\n"
	"      --max-rtt US       only sockets whose smoothed RTT is at most US microseconds\n"
	"  -S, --state STATE      only events in this TCP state (1-12 or a name: ESTABLISHED, ...)\n"
	"  -v, --verbose          print the filters, a start line, and compiler diagnostics\n"
	"  -t, --timestamp        print the wall-clock TIME of each event\n"
	"  -T, --stats            print statistics and the top 20 connections at exit\n" CLI_COMMON_HELP
	"\nEvents (MASK bits): CONNECT 0x1, ACCEPT 0x2, SEND 0x4, RECEIVE 0x8, RETRANSMIT 0x10,\n"
	"CLOSE 0x20, RESET 0x40, CWND_CHANGE 0x80, RTT_UPDATE 0x100, SLOW_START 0x200,\n"
	"CONG_AVOID 0x400, FAST_RECOVERY 0x800, WINDOW_UPDATE 0x1000, SACK 0x2000, TIMEOUT 0x4000.\n"
	"Filters combine with AND.\n"
	"\nEXAMPLES:\n"
	"  tcp-insight -e 0x63                # connection life: CONNECT, ACCEPT, CLOSE, RESET\n"
	"  tcp-insight -e 0x1C                # data: SEND, RECEIVE, RETRANSMIT\n"
	"  tcp-insight -e 0x1180 -t           # CWND_CHANGE, RTT_UPDATE, WINDOW_UPDATE with times\n"
	"  tcp-insight -e 0x6050 -v -t        # RETRANSMIT, RESET, SACK, TIMEOUT\n"
	"  tcp-insight --dport 3306 --min-rtt 1000 -T   # slow MySQL connections, statistics\n"
	"  tcp-insight -c nginx -S ESTABLISHED         # nginx's established connections\n";

/* ---- options ---- */

static unsigned parse_mask(const char *arg)
{
	unsigned long long v;

	if (parse_uint_c(arg, 0xffff, &v))
		usage_error("invalid --events '%s': expected a mask 0-0xFFFF (decimal, 0x hex or 0 octal)",
			    arg);
	return (unsigned)v;
}

static unsigned parse_state(const char *arg)
{
	unsigned long long v;
	const char *name = strncasecmp(arg, "TCP_", 4) == 0 ? arg + 4 : arg;

	if (parse_uint_range(arg, 1, 12, &v) == 0)
		return (unsigned)v;
	for (unsigned s = 1; s <= 12; s++)
		if (strcasecmp(name, tcp_state_name(s)) == 0)
			return s;
	usage_error("invalid --state '%s': expected 1-12 or a TCP state name (ESTABLISHED, SYN_SENT, ..., NEW_SYN_RECV)",
		    arg);
}

static const char *parse_comm(const char *arg)
{
	size_t n = strlen(arg);

	if (n == 0 || n >= TCPI_COMM_LEN)
		usage_error("invalid --comm '%s': expected 1-%d characters of a process name", arg,
			    TCPI_COMM_LEN - 1);
	return arg;
}

static void parse_bound(struct range *r, bool is_max, const char *opt, const char *arg,
			unsigned long long max, const char *what)
{
	unsigned long long v;

	if (parse_uint_range(arg, 0, max, &v))
		usage_error("invalid %s '%s': expected %s 0-%llu", opt, arg, what, max);
	if (is_max) {
		r->set_max = true;
		r->max = v;
	} else {
		r->set_min = true;
		r->min = v;
	}
}

static void check_range(const struct range *r, const char *name)
{
	if (r->set_min && r->set_max && r->min > r->max)
		usage_error("invalid range: --min-%s %llu is greater than --max-%s %llu", name, r->min,
			    name, r->max);
}

/* --min-X / --max-X: which range of struct options, the bound, the unit. */
static const struct bound_opt {
	int id;
	const char *name;
	size_t range; /* offsetof(struct options, ...) */
	bool is_max;
	unsigned long long max;
	const char *unit;
} bound_opts[] = {
	{ OPT_MIN_DURATION, "--min-duration", offsetof(struct options, duration_ms), false, MAX_MS, "milliseconds" },
	{ OPT_MAX_DURATION, "--max-duration", offsetof(struct options, duration_ms), true, MAX_MS, "milliseconds" },
	{ OPT_MIN_BYTES, "--min-bytes", offsetof(struct options, bytes), false, MAX_BYTES, "bytes" },
	{ OPT_MAX_BYTES, "--max-bytes", offsetof(struct options, bytes), true, MAX_BYTES, "bytes" },
	{ OPT_MIN_RTT, "--min-rtt", offsetof(struct options, rtt_us), false, MAX_RTT_US, "microseconds" },
	{ OPT_MAX_RTT, "--max-rtt", offsetof(struct options, rtt_us), true, MAX_RTT_US, "microseconds" },
};

static void parse_long_option(int c, struct options *o)
{
	for (size_t i = 0; i < sizeof(bound_opts) / sizeof(bound_opts[0]); i++) {
		const struct bound_opt *b = &bound_opts[i];

		if (b->id == c) {
			parse_bound((struct range *)((char *)o + b->range), b->is_max, b->name, optarg,
				    b->max, b->unit);
			return;
		}
	}
	if (c == OPT_SPORT)
		o->sport = cli_port("--sport", optarg);
	else if (c == OPT_DPORT)
		o->dport = cli_port("--dport", optarg);
	else if (!cli_common_option(c, optarg, &o->common, usage))
		cli_bad_option();
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "saddr", required_argument, NULL, 's' },
		{ "daddr", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, OPT_SPORT },
		{ "dport", required_argument, NULL, OPT_DPORT },
		{ "events", required_argument, NULL, 'e' },
		{ "min-duration", required_argument, NULL, OPT_MIN_DURATION },
		{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
		{ "min-bytes", required_argument, NULL, OPT_MIN_BYTES },
		{ "max-bytes", required_argument, NULL, OPT_MAX_BYTES },
		{ "min-rtt", required_argument, NULL, OPT_MIN_RTT },
		{ "max-rtt", required_argument, NULL, OPT_MAX_RTT },
		{ "state", required_argument, NULL, 'S' },
		{ "timestamp", no_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 'T' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:c:s:d:e:S:vtTh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->pid = cli_pid("--pid", optarg); break;
		case 'c': o->comm = parse_comm(optarg); break;
		case 's': o->saddr = cli_ip("--saddr", optarg); o->saddr_arg = optarg; break;
		case 'd': o->daddr = cli_ip("--daddr", optarg); o->daddr_arg = optarg; break;
		case 'e': o->mask = parse_mask(optarg); break;
		case 'S': o->state = parse_state(optarg); break;
		case 't': o->timestamp = true; break;
		case 'T': o->stats = true; break;
		default: parse_long_option(c, o);
		}
	}
	cli_no_extra_args(argc, argv);
	check_range(&o->duration_ms, "duration");
	check_range(&o->bytes, "bytes");
	check_range(&o->rtt_us, "rtt");
}

/* ---- cflags ---- */

static void add_addr_filter(struct cflags *cf, const char *name, const struct ip_addr *a)
{
	uint64_t w[2];

	if (!a->family) {
		cflags_add(cf, "-DFILTER_%s_FAMILY=0", name);
		return;
	}
	ip_addr_to_words(a, w);
	cflags_add(cf, "-DFILTER_%s_FAMILY=%d", name, a->family == AF_INET6 ? 10 : 2);
	cflags_add(cf, "-DFILTER_%s_W0=0x%llxULL", name, (unsigned long long)w[0]);
	cflags_add(cf, "-DFILTER_%s_W1=0x%llxULL", name, (unsigned long long)w[1]);
}

static void add_range(struct cflags *cf, const char *name, const struct range *r,
		      unsigned long long scale, unsigned long long top)
{
	if (!r->set_min && !r->set_max)
		return;
	cflags_add(cf, "-DFILTER_%s=1", name);
	cflags_add(cf, "-DFILTER_MIN_%s=%lluULL", name, r->set_min ? r->min * scale : 0);
	cflags_add(cf, "-DFILTER_MAX_%s=%lluULL", name, r->set_max ? r->max * scale : top);
}

static void add_filters(struct cflags *cf, const struct tcp_insight *t)
{
	const struct options *o = &t->opts;
	uint64_t w[2];

	cflags_add(cf, "-DEVENT_MASK=0x%x", t->mask);
	cflags_add(cf, "-DFILTER_PID=%u", o->pid);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	if (o->comm) {
		ifname_to_words(o->comm, w); /* 16 bytes, NUL padded, as two words */
		cflags_add(cf, "-DFILTER_COMM_LEN=%zu", strlen(o->comm));
		cflags_add(cf, "-DFILTER_COMM_W0=0x%llxULL", (unsigned long long)w[0]);
		cflags_add(cf, "-DFILTER_COMM_W1=0x%llxULL", (unsigned long long)w[1]);
	}
	add_addr_filter(cf, "SADDR", &o->saddr);
	add_addr_filter(cf, "DADDR", &o->daddr);
	cflags_add(cf, "-DFILTER_SPORT=%u", o->sport);
	cflags_add(cf, "-DFILTER_DPORT=%u", o->dport);
	cflags_add(cf, "-DFILTER_STATE=%u", o->state);
	add_range(cf, "AGE", &o->duration_ms, 1000000ULL, ~0ULL);
	add_range(cf, "BYTES", &o->bytes, 1, ~0ULL);
	add_range(cf, "RTT", &o->rtt_us, 1, MAX_RTT_US);
}

static void add_offsets(struct cflags *cf, struct btf_query *btf)
{
	cflags_sock_common(cf, btf);
	cflags_fd_walk(cf, btf);
	cflags_offset(cf, btf, "OFF_SK_PROTOCOL", "sock", "sk_protocol");
	cflags_offset(cf, btf, "OFF_SK_RCVBUF", "sock", "sk_rcvbuf");
	cflags_offset(cf, btf, "OFF_TP_SND_CWND", "tcp_sock", "snd_cwnd");
	cflags_offset(cf, btf, "OFF_TP_SND_SSTHRESH", "tcp_sock", "snd_ssthresh");
	cflags_offset(cf, btf, "OFF_TP_SRTT_US", "tcp_sock", "srtt_us");
	cflags_offset(cf, btf, "OFF_TP_MDEV_US", "tcp_sock", "mdev_us");
	cflags_offset(cf, btf, "OFF_TP_SND_UNA", "tcp_sock", "snd_una");
	cflags_offset(cf, btf, "OFF_TP_SND_NXT", "tcp_sock", "snd_nxt");
	cflags_offset(cf, btf, "OFF_TP_SND_WND", "tcp_sock", "snd_wnd");
	cflags_offset(cf, btf, "OFF_TP_RCV_WND", "tcp_sock", "rcv_wnd");
	cflags_offset(cf, btf, "OFF_TP_WINDOW_CLAMP", "tcp_sock", "window_clamp");
	cflags_offset(cf, btf, "OFF_TP_TOTAL_RETRANS", "tcp_sock", "total_retrans");
	cflags_offset_opt(cf, btf, "OFF_TP_BYTES_RETRANS", "tcp_sock", "bytes_retrans");
	cflags_offset(cf, btf, "OFF_ICSK_CA_STATE", "inet_connection_sock", "icsk_ca_state");
	cflags_offset(cf, btf, "OFF_ICSK_RETRANSMITS", "inet_connection_sock", "icsk_retransmits");
	cflags_offset(cf, btf, "OFF_SKB_DATA", "sk_buff", "data");
	cflags_offset(cf, btf, "OFF_SKB_HEAD", "sk_buff", "head");
	cflags_offset(cf, btf, "OFF_SKB_NETWORK_HEADER", "sk_buff", "network_header");
	cflags_offset(cf, btf, "OFF_SKB_TRANSPORT_HEADER", "sk_buff", "transport_header");
	cflags_offset(cf, btf, "OFF_SKB_DEV", "sk_buff", "dev");
	cflags_offset(cf, btf, "OFF_SKB_CB", "sk_buff", "cb");
	cflags_offset(cf, btf, "OFF_DEV_ND_NET", "net_device", "nd_net.net");
	cflags_offset(cf, btf, "OFF_TCB_SEQ", "tcp_skb_cb", "seq");
	cflags_offset(cf, btf, "OFF_TCB_GSO_SEGS", "tcp_skb_cb", "tcp_gso_segs");
	cflags_enum(cf, btf, "TCP_CA_RECOVERY", "tcp_ca_state", "TCP_CA_Recovery");
	cflags_enum(cf, btf, "TCP_CA_LOSS", "tcp_ca_state", "TCP_CA_Loss");
}

/* Which hooks this kernel has, with the arguments the program reads; the variants
 * (tcp_retransmit_skb's err, Linux 6.7; tcp_send_reset's reason, 6.10) become -D flags. */
static int check_hooks(struct tcp_insight *t, struct cflags *cf, struct btf_query *btf)
{
	struct utsname u;
	char args[256];

	uname(&u);
	t->available = TCPI_ALL;
	for (size_t i = 0; i < NHOOKS; i++) {
		int err = btf_query_tp_args(btf, hooks[i].tp, args, sizeof(args));

		t->present[i] = err == 0 && strncmp(args, hooks[i].args, strlen(hooks[i].args)) == 0;
		if (t->present[i]) {
			if (strcmp(hooks[i].tp, "tcp_retransmit_skb") == 0)
				cflags_add(cf, "-DRETRANS_HAS_ERR=%d", strcmp(args, hooks[i].args) != 0);
			if (strcmp(hooks[i].tp, "tcp_send_reset") == 0)
				cflags_add(cf, "-DRST_HAS_REASON=%d", strcmp(args, hooks[i].args) != 0);
			continue;
		}
		if (!hooks[i].events) {
			log_error("tracepoint %s is not in this kernel's BTF with arguments (%s) (kernel %s)",
				  hooks[i].tp, hooks[i].args, u.release);
			return -1;
		}
		if (strcmp(hooks[i].tp, "tcp_retransmit_synack") != 0)
			t->available &= ~hooks[i].events;
	}
	return 0;
}

/* enum sk_rst_reason names (SK_RST_REASON_ dropped), for the RESET details. */
static void load_reasons(struct tcp_insight *t, struct btf_query *btf)
{
	for (int v = 0; v < NREASONS; v++) {
		const char *name = btf_query_enum_name(btf, "sk_rst_reason", v);

		if (name && strncmp(name, "SK_RST_REASON_", 14) == 0)
			name += 14;
		t->reasons[v] = name ? strdup(name) : NULL;
	}
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct tcp_insight *t = self;
	char err[256];

	if (loader__ensure_tracefs(err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (check_hooks(t, cf, btf))
		return -1;
	t->use_sock_tp = sockbytes_tracepoints_exist();
	cflags_sockbytes(cf, t->use_sock_tp, false);
	cflags_add(cf, "-DHAVE_SYS_EXIT_ACCEPT=%d",
		   loader__tracepoint_exists("syscalls", "sys_exit_accept"));
	add_filters(cf, t);
	add_offsets(cf, btf);
	load_reasons(t, btf);
	return 0;
}

/* ---- attach ---- */

static bool need_bytes_hooks(const struct tcp_insight *t)
{
	const struct options *o = &t->opts;

	return (t->mask & (TCPI_SEND | TCPI_RECEIVE)) || o->bytes.set_min || o->bytes.set_max ||
	       o->stats;
}

static void warn_unavailable(const struct tcp_insight *t, unsigned lost, const char *why)
{
	for (int i = 0; i < TCPI_NTYPES; i++)
		if (lost & t->mask & (1u << i))
			log_warn("%s events unavailable: %s", event_names[i], why);
}

static int attach_raw(struct tcp_insight *t, struct loader *l)
{
	char func[96], why[160];

	for (size_t i = 0; i < NHOOKS; i++) {
		if (hooks[i].events && !(hooks[i].events & t->mask))
			continue;
		if (!t->present[i]) {
			snprintf(why, sizeof(why), "tracepoint tcp:%s missing in this kernel", hooks[i].tp);
			warn_unavailable(t, hooks[i].events, why);
			continue;
		}
		snprintf(func, sizeof(func), "raw_tracepoint__%s", hooks[i].tp);
		if (loader__attach_raw_tp(l, func, hooks[i].tp)) {
			log_error("%s", loader__error(l));
			return -1;
		}
	}
	return 0;
}

static int attach_accept(struct tcp_insight *t, struct loader *l)
{
	if (!loader__tracepoint_exists("syscalls", "sys_exit_accept4")) {
		warn_unavailable(t, TCPI_ACCEPT,
				 "tracepoint syscalls/sys_exit_accept4 missing (CONFIG_FTRACE_SYSCALLS off)");
		return 0;
	}
	if (loader__attach_tp(l, "syscalls", "sys_exit_accept4") ||
	    (loader__tracepoint_exists("syscalls", "sys_exit_accept") &&
	     loader__attach_tp(l, "syscalls", "sys_exit_accept"))) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static int on_event(void *ctx, void *data, size_t size);

static int attach(void *self, struct loader *l)
{
	struct tcp_insight *t = self;

	t->conns = t->opts.stats ? calloc(CONN_SLOTS, sizeof(*t->conns)) : NULL;
	if (t->opts.stats && !t->conns) {
		log_error("out of memory");
		return -1;
	}
	t->counters_fd = loader__map_fd(l, "tcpi_counters");
	if (t->counters_fd < 0 || loader__open_ringbuf(l, "events", on_event, t)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	if (attach_raw(t, l) || attach_accept(t, l))
		return -1;
	if (need_bytes_hooks(t) && sockbytes_attach(l, t->use_sock_tp, false))
		return -1;
	return 0;
}

/* ---- header ---- */

static void print_range(const char *label, const struct range *r, const char *unit)
{
	if (r->set_min)
		printf("  Min %s: %llu%s\n", label, r->min, unit);
	if (r->set_max)
		printf("  Max %s: %llu%s\n", label, r->max, unit);
}

/* -v: the original's "Filter rules configured:" block. */
static void print_filters(const struct options *o)
{
	printf("Filter rules configured:\n");
	if (o->pid)
		printf("  PID: %u\n", o->pid);
	if (o->comm)
		printf("  Command: %s\n", o->comm);
	if (o->saddr_arg)
		printf("  Source address: %s\n", o->saddr_arg);
	if (o->daddr_arg)
		printf("  Destination address: %s\n", o->daddr_arg);
	if (o->sport)
		printf("  Source port: %u\n", o->sport);
	if (o->dport)
		printf("  Destination port: %u\n", o->dport);
	if (o->mask)
		printf("  Event mask: 0x%x\n", o->mask);
	print_range("duration", &o->duration_ms, " ms");
	print_range("bytes", &o->bytes, "");
	print_range("RTT", &o->rtt_us, " us");
	if (o->state)
		printf("  TCP state: %s\n", tcp_state_name(o->state));
	printf("\n");
}

static void print_header(void *self)
{
	const struct tcp_insight *t = self;

	if (out_is_json())
		return;
	if (t->opts.common.verbose)
		print_filters(&t->opts);
	if (t->opts.timestamp)
		printf("%-12s ", "TIME");
	printf("%-16s %-6s %-6s %-15s %-22s %-22s %-12s %-6s %-6s %-8s %s\n", "COMM", "PID", "TID",
	       "EVENT", "SADDR:SPORT", "DADDR:DPORT", "STATE", "CWND", "RTT", "BYTES", "DETAILS");
	if (t->opts.common.verbose)
		printf("TCP Insight started. Press Ctrl-C to exit.\n\n");
	fflush(stdout);
}

/* ---- events ---- */

static int type_index(uint32_t type)
{
	for (int i = 0; i < TCPI_NTYPES; i++)
		if (type == 1u << i)
			return i;
	return -1;
}

static const char *ca_name(unsigned ca)
{
	return ca < sizeof(ca_names) / sizeof(ca_names[0]) ? ca_names[ca] : "UNKNOWN";
}

static void fmt_ssthresh(uint32_t v, char *buf, size_t len)
{
	if (v >= SSTHRESH_INF)
		snprintf(buf, len, "inf");
	else
		snprintf(buf, len, "%u", v);
}

static void details_state(const struct tcpi_event *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s->%s", tcp_state_name(e->d.state.oldstate),
		 tcp_state_name(e->d.state.newstate));
	out_str("old_state", NULL, tcp_state_name(e->d.state.oldstate));
	out_str("new_state", NULL, tcp_state_name(e->d.state.newstate));
}

static void details_bytes(const struct tcpi_event *e, char *buf, size_t len)
{
	if (e->known)
		snprintf(buf, len, "total=%llu", (unsigned long long)(e->type == TCPI_SEND ? e->conn_tx : e->conn_rx));
}

static void details_retrans(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_retrans *r = &e->d.retrans;

	if (r->synack)
		snprintf(buf, len, "synack segs=%u", r->segs);
	else if (r->err)
		snprintf(buf, len, "seq=%u segs=%u err=%d", r->seq, r->segs, r->err);
	else
		snprintf(buf, len, "seq=%u segs=%u", r->seq, r->segs);
	out_uint("segs", NULL, r->segs);
	if (!r->synack)
		out_uint("seq", NULL, r->seq);
	out_int("err", NULL, r->err);
	out_bool("synack", r->synack);
}

static void details_reset(const struct tcp_insight *t, const struct tcpi_event *e, char *buf,
			  size_t len)
{
	const struct tcpi_reset *r = &e->d.reset;
	const char *reason = r->has_reason && r->reason < NREASONS ? t->reasons[r->reason] : NULL;

	if (reason)
		snprintf(buf, len, "%s reason=%s", r->sent ? "sent" : "received", reason);
	else
		snprintf(buf, len, "%s", r->sent ? "sent" : "received");
	out_str("direction", NULL, r->sent ? "sent" : "received");
	if (reason)
		out_str("reason", NULL, reason);
}

static void details_cwnd(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_cwnd *c = &e->d.cwnd;
	char ss[16];

	fmt_ssthresh(c->ssthresh, ss, sizeof(ss));
	if (e->type == TCPI_CWND_CHANGE)
		snprintf(buf, len, "cwnd %u->%u ssthresh=%s", c->old_cwnd, c->cwnd, ss);
	else
		snprintf(buf, len, "cwnd=%u ssthresh=%s", c->cwnd, ss);
	if (e->type == TCPI_CWND_CHANGE)
		out_uint("old_cwnd", NULL, c->old_cwnd);
	out_uint("new_cwnd", NULL, c->cwnd);
	out_uint("ssthresh", NULL, c->ssthresh);
}

static void details_rtt(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_rtt *r = &e->d.rtt;

	snprintf(buf, len, "srtt %u->%u us mdev=%u us", r->old_srtt_us, r->srtt_us, r->mdev_us);
	out_uint("old_srtt_us", NULL, r->old_srtt_us);
	out_uint("srtt_us", NULL, r->srtt_us);
	out_uint("mdev_us", NULL, r->mdev_us);
}

static void details_ca(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_ca *c = &e->d.ca;
	char ss[16];

	fmt_ssthresh(c->ssthresh, ss, sizeof(ss));
	snprintf(buf, len, "%s->%s ssthresh=%s rto_count=%u", ca_name(c->old_ca), ca_name(c->ca), ss,
		 c->retransmits);
	out_str("old_ca_state", NULL, ca_name(c->old_ca));
	out_str("ca_state", NULL, ca_name(c->ca));
	out_uint("ssthresh", NULL, c->ssthresh);
	out_uint("rto_count", NULL, c->retransmits);
}

static void details_window(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_window *w = &e->d.win;

	snprintf(buf, len, "rcvbuf %u->%u clamp %u->%u rcv_wnd=%u", w->old_rcvbuf, w->rcvbuf,
		 w->old_clamp, w->clamp, w->rcv_wnd);
	out_uint("old_rcvbuf", NULL, w->old_rcvbuf);
	out_uint("rcvbuf", NULL, w->rcvbuf);
	out_uint("old_window_clamp", NULL, w->old_clamp);
	out_uint("window_clamp", NULL, w->clamp);
	out_uint("rcv_wnd", NULL, w->rcv_wnd);
}

static void details_sack(const struct tcpi_event *e, char *buf, size_t len)
{
	const struct tcpi_sack *s = &e->d.sack;
	unsigned n = s->nblocks < TCPI_MAX_SACK ? s->nblocks : TCPI_MAX_SACK;
	int used = snprintf(buf, len, "una=%u nxt=%u blocks=", s->snd_una, s->snd_nxt);

	out_uint("snd_una", NULL, s->snd_una);
	out_uint("snd_nxt", NULL, s->snd_nxt);
	out_array_begin("sack_blocks");
	for (unsigned i = 0; i < n; i++) {
		if (used > 0 && (size_t)used < len)
			used += snprintf(buf + used, len - used, "%s%u-%u", i ? "," : "", s->start[i],
					 s->end[i]);
		out_object_begin(NULL);
		out_uint("start", NULL, s->start[i]);
		out_uint("end", NULL, s->end[i]);
		out_object_end();
	}
	out_array_end();
}

/* DETAILS text into buf (empty: "-"); the same facts as JSON fields. */
static void print_details(const struct tcp_insight *t, const struct tcpi_event *e, char *buf,
			  size_t len)
{
	buf[0] = '\0';
	switch (e->type) {
	case TCPI_CONNECT: case TCPI_ACCEPT: case TCPI_CLOSE: details_state(e, buf, len); break;
	case TCPI_SEND: case TCPI_RECEIVE: details_bytes(e, buf, len); break;
	case TCPI_RETRANSMIT: details_retrans(e, buf, len); break;
	case TCPI_RESET: details_reset(t, e, buf, len); break;
	case TCPI_CWND_CHANGE: case TCPI_SLOW_START: case TCPI_CONG_AVOID: details_cwnd(e, buf, len); break;
	case TCPI_RTT_UPDATE: details_rtt(e, buf, len); break;
	case TCPI_FAST_RECOVERY: case TCPI_TIMEOUT: details_ca(e, buf, len); break;
	case TCPI_WINDOW_UPDATE: details_window(e, buf, len); break;
	case TCPI_SACK: details_sack(e, buf, len); break;
	}
}

static bool has_bytes(uint32_t type)
{
	return type == TCPI_SEND || type == TCPI_RECEIVE || type == TCPI_RETRANSMIT;
}

static void print_who(const struct tcpi_event *e)
{
	if (!e->who.pid) {
		out_null("comm", "%-16s ");
		out_null("pid", "%-6s ");
		out_null("tid", "%-6s ");
		return;
	}
	out_str("comm", "%-16s ", e->who.comm);
	out_uint("pid", "%-6llu ", e->who.pid);
	out_uint("tid", "%-6llu ", e->who.tid);
}

static void print_endpoints(const struct tcpi_event *e)
{
	const struct sock_tuple *tu = &e->tuple;
	char ip[64], ep[80];

	format_ip_port(tu->family, tu->saddr, tu->sport, ep, sizeof(ep));
	out_str(NULL, "%-22s ", ep);
	format_ip(tu->family, tu->saddr, ip, sizeof(ip));
	out_str("saddr", NULL, ip);
	out_uint("sport", NULL, tu->sport);
	format_ip_port(tu->family, tu->daddr, tu->dport, ep, sizeof(ep));
	out_str(NULL, "%-22s ", ep);
	format_ip(tu->family, tu->daddr, ip, sizeof(ip));
	out_str("daddr", NULL, ip);
	out_uint("dport", NULL, tu->dport);
}

static void print_metrics(const struct tcpi_event *e)
{
	out_str("state", "%-12s ", tcp_state_name(e->tuple.state));
	if (e->has_tcp) {
		out_uint("cwnd", "%-6llu ", e->cwnd);
		out_uint("rtt_us", "%-6llu ", e->srtt_us);
	} else {
		out_null("cwnd", "%-6s ");
		out_null("rtt_us", "%-6s ");
	}
	if (has_bytes(e->type))
		out_uint("bytes", "%-8llu ", e->bytes);
	else
		out_null("bytes", "%-8s ");
}

static void print_event(const struct tcp_insight *t, const struct tcpi_event *e)
{
	char when[32], details[192];

	runtime_format_ktime(e->ts_ns, when, sizeof(when));
	out_begin();
	out_str("type", NULL, "event");
	out_str("time", t->opts.timestamp ? "%-12s " : NULL, when);
	print_who(e);
	out_str("event", "%-15s ", event_names[type_index(e->type)]);
	print_endpoints(e);
	print_metrics(e);
	out_uint("netns", NULL, e->netns);
	if (e->known) {
		out_uint("age_ms", NULL, (e->ts_ns - e->start_ns) / 1000000);
		out_uint("conn_tx_bytes", NULL, e->conn_tx);
		out_uint("conn_rx_bytes", NULL, e->conn_rx);
	}
	print_details(t, e, details, sizeof(details));
	out_str(NULL, "%s\n", details[0] ? details : "-");
	out_end();
}

/* ---- statistics (-T): sums of the events printed ---- */

static struct conn_stat *conn_slot(struct tcp_insight *t, const struct tcpi_event *e)
{
	uint64_t h = (e->sk ^ e->start_ns) * 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < CONN_SLOTS; i++) {
		struct conn_stat *c = &t->conns[(h + i) % CONN_SLOTS];

		if (c->used && c->sk == e->sk && c->start_ns == e->start_ns)
			return c;
		if (!c->used) {
			c->used = true;
			c->sk = e->sk;
			c->start_ns = e->start_ns;
			c->first_ns = e->ts_ns;
			t->st.nconns++;
			return c;
		}
	}
	t->st.conns_dropped++;
	return NULL;
}

static void count_conn(struct tcp_insight *t, const struct tcpi_event *e)
{
	struct conn_stat *c = e->sk ? conn_slot(t, e) : NULL;

	if (!c)
		return;
	c->last_ns = e->ts_ns;
	c->tuple = e->tuple;
	if (e->who.pid && (!c->who.pid || e->type == TCPI_ACCEPT || e->type == TCPI_CONNECT))
		c->who = e->who;
	if (e->known) {
		c->tx = e->conn_tx;
		c->rx = e->conn_rx;
	}
	if (e->type == TCPI_RETRANSMIT)
		c->retrans += e->d.retrans.segs;
	if (e->type == TCPI_CLOSE)
		c->closed = true;
	if (e->has_tcp && e->srtt_us) {
		c->rtt_min = c->rtt_n && c->rtt_min < e->srtt_us ? c->rtt_min : e->srtt_us;
		c->rtt_max = c->rtt_max > e->srtt_us ? c->rtt_max : e->srtt_us;
		c->rtt_sum += e->srtt_us;
		c->rtt_n++;
	}
}

static void count_event(struct tcp_insight *t, const struct tcpi_event *e)
{
	struct stats *s = &t->st;

	s->events++;
	s->by_type[type_index(e->type)]++;
	if (e->type == TCPI_SEND)
		s->tx_bytes += e->bytes;
	if (e->type == TCPI_RECEIVE)
		s->rx_bytes += e->bytes;
	if (e->type == TCPI_RETRANSMIT) {
		s->retrans_segs += e->d.retrans.segs;
		s->retrans_bytes += e->bytes;
	}
	if (e->has_tcp && e->srtt_us) {
		s->rtt_sum += e->srtt_us;
		s->rtt_n++;
		s->rtt_max = s->rtt_max > e->srtt_us ? s->rtt_max : e->srtt_us;
	}
	if (e->has_tcp && e->cwnd) {
		s->cwnd_sum += e->cwnd;
		s->cwnd_n++;
		s->cwnd_max = s->cwnd_max > e->cwnd ? s->cwnd_max : e->cwnd;
	}
	if (t->conns)
		count_conn(t, e);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct tcp_insight *t = ctx;
	struct tcpi_event e;

	if (size < sizeof(e)) {
		t->st.short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	e.who.comm[TCPI_COMM_LEN - 1] = '\0';
	if (type_index(e.type) < 0) {
		t->st.short_events++;
		return 0;
	}
	print_event(t, &e);
	count_event(t, &e);
	return 0;
}

static uint64_t untracked_sockets(const struct tcp_insight *t)
{
	uint32_t key = TCPI_CNT_CONNS_FULL;
	uint64_t v = 0;

	if (t->counters_fd >= 0)
		loader__map_lookup(t->counters_fd, &key, &v);
	return v;
}

static int by_bytes_desc(const void *a, const void *b)
{
	const struct conn_stat *x = *(const struct conn_stat *const *)a;
	const struct conn_stat *y = *(const struct conn_stat *const *)b;
	uint64_t bx = x->tx + x->rx, by = y->tx + y->rx;

	if (bx != by)
		return bx < by ? 1 : -1;
	return x->first_ns < y->first_ns ? -1 : x->first_ns > y->first_ns;
}

static size_t active_conns(const struct tcp_insight *t)
{
	size_t n = 0;

	for (size_t i = 0; i < CONN_SLOTS; i++)
		n += t->conns[i].used && !t->conns[i].closed;
	return n;
}

static void print_conn_row(const struct conn_stat *c)
{
	char ep[80];
	uint64_t dur_ns = c->last_ns - (c->start_ns ? c->start_ns : c->first_ns);

	out_object_begin(NULL);
	format_ip_port(c->tuple.family, c->tuple.saddr, c->tuple.sport, ep, sizeof(ep));
	out_str("local", "%-22s ", ep);
	format_ip_port(c->tuple.family, c->tuple.daddr, c->tuple.dport, ep, sizeof(ep));
	out_str("remote", "%-22s ", ep);
	out_uint("pid", "%-7llu ", c->who.pid);
	out_str("comm", "%-16s ", c->who.pid ? c->who.comm : "-");
	out_double("duration_ms", "%11.1f ", (double)dur_ns / 1e6);
	out_uint("tx_bytes", "%12llu ", c->tx);
	out_uint("rx_bytes", "%12llu ", c->rx);
	out_uint("retrans_segs", "%7llu ", c->retrans);
	out_uint("rtt_min_us", "%8llu ", c->rtt_min);
	out_uint("rtt_avg_us", "%8llu ", c->rtt_n ? c->rtt_sum / c->rtt_n : 0);
	out_uint("rtt_max_us", "%8llu\n", c->rtt_max);
	out_object_end();
}

/* The top 20 connections by bytes; in JSON an array inside the stats object. */
static void print_top_conns(const struct tcp_insight *t)
{
	static const struct conn_stat *order[CONN_SLOTS];
	size_t n = 0;

	for (size_t i = 0; i < CONN_SLOTS; i++)
		if (t->conns[i].used)
			order[n++] = &t->conns[i];
	qsort(order, n, sizeof(order[0]), by_bytes_desc);
	out_text("\nTop connections by bytes (%zu of %zu):\n", n < TOP_CONNS ? n : TOP_CONNS, n);
	out_text("%-22s %-22s %-7s %-16s %11s %12s %12s %7s %8s %8s %8s\n", "LOCAL", "REMOTE", "PID",
		 "COMM", "DURATION_MS", "TX_BYTES", "RX_BYTES", "RETRANS", "RTT_MIN", "RTT_AVG",
		 "RTT_MAX");
	out_array_begin("connections");
	for (size_t i = 0; i < n && i < TOP_CONNS; i++)
		print_conn_row(order[i]);
	out_array_end();
}

static void print_type_counts(const struct stats *s)
{
	out_object_begin("by_type");
	for (int i = 0; i < TCPI_NTYPES; i++) {
		out_text("  %-15s ", event_names[i]);
		out_uint(event_names[i], "%llu\n", s->by_type[i]);
	}
	out_object_end();
}

static void print_totals(const struct tcp_insight *t, struct loader *l)
{
	const struct stats *s = &t->st;

	out_uint("events", "Total events: %llu\n", s->events);
	print_type_counts(s);
	out_uint("connections_opened", "Connections opened: %llu\n",
		 s->by_type[0] + s->by_type[1]);
	out_uint("connections_closed", "Connections closed: %llu\n", s->by_type[5]);
	out_uint("connections_active", "Active connections: %llu\n", active_conns(t));
	out_uint("bytes_sent", "Bytes sent: %llu\n", s->tx_bytes);
	out_uint("bytes_received", "Bytes received: %llu\n", s->rx_bytes);
	out_uint("retransmit_segs", "Retransmits: %llu segments", s->retrans_segs);
	out_uint("retransmit_bytes", " (%llu bytes)\n", s->retrans_bytes);
	out_uint("rtt_avg_us", "Average RTT: %llu us", s->rtt_n ? s->rtt_sum / s->rtt_n : 0);
	out_uint("rtt_max_us", " (max %llu us)\n", s->rtt_max);
	out_uint("cwnd_avg", "Average CWND: %llu", s->cwnd_n ? s->cwnd_sum / s->cwnd_n : 0);
	out_uint("cwnd_max", " (max %llu)\n", s->cwnd_max);
	out_uint("lost_events", "Lost events: %llu\n", loader__lost_events(l) + s->short_events);
	out_uint("untracked_sockets", "Untracked sockets (state map full): %llu\n",
		 untracked_sockets(t));
	out_uint("connections_not_listed", NULL, s->conns_dropped);
}

static void print_stats(const struct tcp_insight *t, struct loader *l)
{
	out_begin();
	out_str("type", NULL, "stats");
	out_text("\n=== TCP Insight Statistics ===\n");
	print_totals(t, l);
	print_top_conns(t);
	out_end();
}

static void print_summary(void *self, struct loader *l)
{
	const struct tcp_insight *t = self;
	uint64_t lost = loader__lost_events(l) + t->st.short_events, untracked = untracked_sockets(t);

	if (t->opts.stats) {
		print_stats(t, l);
	} else if (out_is_json()) {
		out_begin();
		out_str("type", NULL, "summary");
		out_uint("events", NULL, t->st.events);
		out_uint("lost_events", NULL, lost);
		out_uint("untracked_sockets", NULL, untracked);
		out_end();
	}
	if (lost && !out_is_json())
		log_warn("%llu events lost (ring buffer full)", (unsigned long long)lost);
	if (untracked && !out_is_json())
		log_warn("%llu sockets not tracked (state map full: %d entries)",
			 (unsigned long long)untracked, TCPI_MAX_CONNS);
}

static void release(void *self)
{
	struct tcp_insight *t = self;

	for (int i = 0; i < NREASONS; i++)
		free(t->reasons[i]);
	free(t->conns);
}

static const struct tool_ops ops = {
	.bpf_text = tcp_insight_bpf_text,
	.tracing = "Tracing TCP events... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.print_summary = print_summary,
	.release = release,
};

int main(int argc, char **argv)
{
	static struct tcp_insight t;

	log_set_tool("tcp-insight");
	parse_options(argc, argv, &t.opts);
	t.mask = t.opts.mask ? t.opts.mask : TCPI_ALL;
	t.counters_fd = -1;
	return tool_run(&ops, &t, &t.opts.common);
}
