// tcp_inerrs: one line per incoming TCP segment the kernel refused, with the
// reason (from the kernel's drop reasons) and the receiving socket's state.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "netfmt.h"
#include "output.h"
#include "runtime.h"
#include "tcp_inerrs.h"
#include "tool.h"

extern const char tcp_inerrs_bpf_text[];

#define REASON_PREFIX "SKB_DROP_REASON_"
#define HEADER_FMT "%-9s %-7s %-12s %-2s %-24s > %-24s %-12s %s\n"

struct options {
	struct common_opts common;
	uint32_t pid;
	int family; /* 0, 4 or 6 */
	bool tcp_probe; /* --tcp-probe: the socket from tcp:tcp_probe even where rx_sk exists */
};

/* Drop reasons of the running kernel, by value: which ones we report and
 * how they print. */
struct reason {
	bool wanted;
	char kernel[48]; /* "TCP_INVALID_SEQUENCE" */
	char shown[48];  /* "invalid seq" */
};

struct state {
	struct options opts;
	struct reason reasons[TIE_MAX_REASONS];
	int counters_fd;
	int sock_from; /* TIE_SOCK_FROM_*: where the receiving socket's state comes from */
	uint32_t csum_reason;
	uint64_t events, csum_events, short_events;
};

static const char usage[] =
	"Usage: tcp_inerrs [OPTIONS]\n"
	"Print each incoming TCP segment the kernel drops as bad: checksum errors,\n"
	"sequence numbers outside the window and the kernel's other TCP drop reasons.\n\n"
	"  -p, --pid PID          only while process PID (TGID) is the interrupted task\n"
	"  -4, --ipv4             only IPv4 segments\n"
	"  -6, --ipv6             only IPv6 segments\n"
	"      --tcp-probe        find the receiving socket through tcp:tcp_probe even where\n"
	"                         skb:kfree_skb has rx_sk (the way of kernels before 6.8)\n" CLI_COMMON_HELP
	"\nSADDR:SPORT is the local (receiving) end, DADDR:DPORT the remote sender.\n"
	"PID and COMM are the task the receive softirq interrupted, as in the original.\n"
	"\nEXAMPLES:\n"
	"  tcp_inerrs           # every bad incoming TCP segment\n"
	"  tcp_inerrs -p 181    # only while PID 181 runs\n"
	"  tcp_inerrs -4        # IPv4 only\n"
	"  tcp_inerrs -6        # IPv6 only\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "tcp-probe", no_argument, NULL, 'T' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->pid = cli_pid("--pid", optarg); break;
		case '4': o->family = cli_family(o->family, 4); break;
		case '6': o->family = cli_family(o->family, 6); break;
		case 'T': o->tcp_probe = true; break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

/* The seed's style: TCP_CSUM -> "checksum", TCP_INVALID_SEQUENCE -> "invalid
 * seq"; otherwise the enum name without TCP_, lower case, words by spaces. */
static void reason_display_name(const char *kernel, char *buf, size_t len)
{
	char words[48];
	const char *w = strncmp(kernel, "TCP_", 4) == 0 ? kernel + 4 : kernel;
	size_t i;

	for (i = 0; w[i] && i < sizeof(words) - 1; i++)
		words[i] = w[i] == '_' ? ' ' : (char)tolower((unsigned char)w[i]);
	words[i] = '\0';
	if (strcmp(words, "csum") == 0) {
		snprintf(buf, len, "checksum");
		return;
	}
	char *seq = strstr(words, "sequence");
	if (seq)
		memmove(seq + 3, seq + 8, strlen(seq + 8) + 1); /* "sequence" -> "seq" */
	snprintf(buf, len, "%s", words);
}

/* Every TCP_* drop reason is a refused segment, except TCP_RESET: a valid
 * RST the kernel acted on and then freed. */
static bool reason_is_bad_segment(const char *kernel)
{
	return strncmp(kernel, "TCP_", 4) == 0 && strcmp(kernel, "TCP_RESET") != 0;
}

static int load_reasons(struct btf_query *btf, struct state *st)
{
	long long max;

	if (btf_query_enum_value(btf, "skb_drop_reason", REASON_PREFIX "MAX", &max) ||
	    max <= 0 || max > TIE_MAX_REASONS) {
		log_error("enum skb_drop_reason: SKB_DROP_REASON_MAX missing or above %d in the kernel's BTF (kernel older than 5.17?)",
			  TIE_MAX_REASONS);
		return -1;
	}
	for (long long v = 0; v < max; v++) {
		const char *name = btf_query_enum_name(btf, "skb_drop_reason", v);
		struct reason *r = &st->reasons[v];

		if (!name || strncmp(name, REASON_PREFIX, strlen(REASON_PREFIX)) != 0)
			continue;
		snprintf(r->kernel, sizeof(r->kernel), "%s", name + strlen(REASON_PREFIX));
		reason_display_name(r->kernel, r->shown, sizeof(r->shown));
		r->wanted = reason_is_bad_segment(r->kernel);
	}
	return 0;
}

static void add_cflags(struct cflags *cf, struct btf_query *btf, const struct options *o)
{
	cflags_add(cf, "-DFILTER_PID=%u", o->pid);
	cflags_add(cf, "-DFILTER_FAMILY=%d", o->family);
	cflags_enum(cf, btf, "REASON_TCP_CSUM", "skb_drop_reason", REASON_PREFIX "TCP_CSUM");
	cflags_offset(cf, btf, "OFF_SKB_HEAD", "sk_buff", "head");
	cflags_offset(cf, btf, "OFF_SKB_NETWORK_HEADER", "sk_buff", "network_header");
	cflags_offset(cf, btf, "OFF_SKB_TRANSPORT_HEADER", "sk_buff", "transport_header");
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	cflags_offset(cf, btf, "OFF_SKB_DEV", "sk_buff", "dev");
	cflags_offset(cf, btf, "OFF_SKB_REFDST", "sk_buff", "_skb_refdst");
	cflags_offset(cf, btf, "OFF_DST_DEV", "dst_entry", "dev");
	cflags_offset(cf, btf, "OFF_DEV_ND_NET", "net_device", "nd_net.net");
	cflags_sock_common(cf, btf);
}

/* The receiving socket: kfree_skb's rx_sk field where the kernel has it (the
 * tracepoint's record type in BTF says), else tcp:tcp_probe's (sk, skb). */
static int sock_source(struct btf_query *btf, bool force_tcp_probe)
{
	char args[64];
	long off;

	if (!force_tcp_probe && btf_query_offset(btf, "trace_event_raw_kfree_skb", "rx_sk", &off) == 0)
		return TIE_SOCK_FROM_RX_SK;
	if (btf_query_tp_args(btf, "tcp_probe", args, sizeof(args)) == 0 &&
	    strcmp(args, "sock *,sk_buff *") == 0)
		return TIE_SOCK_FROM_TCP_PROBE;
	log_warn("skb:kfree_skb has no rx_sk and tcp:tcp_probe is missing: the socket state is not shown");
	return TIE_SOCK_FROM_NONE;
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct state *st = self;
	long long csum;

	if (load_reasons(btf, st))
		return -1;
	add_cflags(cf, btf, &st->opts);
	st->sock_from = sock_source(btf, st->opts.tcp_probe);
	cflags_add(cf, "-DSOCK_FROM=%d", st->sock_from);
	if (btf_query_enum_value(btf, "skb_drop_reason", REASON_PREFIX "TCP_CSUM", &csum) == 0)
		st->csum_reason = (uint32_t)csum;
	return 0;
}

static void print_header(void *self)
{
	(void)self;
	if (!out_is_json())
		printf(HEADER_FMT, "TIME", "PID", "COMM", "IP", "SADDR:SPORT", "DADDR:DPORT",
		       "REASON", "STATE");
}

static void print_endpoints(const struct tie_event *e)
{
	char local[64], remote[64], ip[48];

	format_ip_port(e->family, e->laddr, e->lport, local, sizeof(local));
	format_ip_port(e->family, e->raddr, e->rport, remote, sizeof(remote));
	out_uint("ip", "%-2llu ", e->family);
	out_str(NULL, "%-24s > ", local);
	out_str(NULL, "%-24s ", remote);
	format_ip(e->family, e->laddr, ip, sizeof(ip));
	out_str("saddr", NULL, ip);
	out_uint("sport", NULL, e->lport);
	format_ip(e->family, e->raddr, ip, sizeof(ip));
	out_str("daddr", NULL, ip);
	out_uint("dport", NULL, e->rport);
}

static void print_event(const struct tie_event *e, const struct reason *r)
{
	char when[32], hms[16];
	const char *state = e->state == TIE_STATE_UNKNOWN ? "-" : tcp_state_name(e->state);

	runtime_format_ktime(e->ts_ns, when, sizeof(when));
	snprintf(hms, sizeof(hms), "%.8s", when); /* the original's %H:%M:%S */
	out_begin();
	out_str("type", NULL, "event");
	out_str(NULL, "%-9s ", hms);
	out_str("time", NULL, when);
	out_uint("ts_ns", NULL, e->ts_ns);
	out_uint("pid", "%-7llu ", e->pid);
	out_uint("tid", NULL, e->tid);
	out_str("comm", "%-12s ", e->comm);
	print_endpoints(e);
	out_str("reason", "%-12s ", r->shown);
	out_str("drop_reason", NULL, r->kernel);
	out_uint("drop_reason_code", NULL, e->reason);
	out_str("state", "%s\n", state);
	out_uint("netns", NULL, e->netns);
	out_end();
}

static int on_event(void *ctx, void *data, size_t size)
{
	static const struct reason unknown = { .kernel = "?", .shown = "?" };
	struct state *st = ctx;
	struct tie_event e;

	if (size < sizeof(e)) {
		st->short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	e.comm[TIE_COMM_LEN - 1] = '\0';
	st->events++;
	st->csum_events += e.reason == st->csum_reason;
	print_event(&e, e.reason < TIE_MAX_REASONS ? &st->reasons[e.reason] : &unknown);
	return 0;
}

/* Fills the set of reported drop reasons; the BPF side reports no other. */
static int fill_reason_map(struct loader *l, const struct state *st)
{
	int fd = loader__map_fd(l, "badseg_reasons");
	uint8_t one = 1;

	if (fd < 0)
		return fd;
	for (uint32_t v = 0; v < TIE_MAX_REASONS; v++) {
		int rc = st->reasons[v].wanted ? loader__map_update(fd, &v, &one) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

static uint64_t bad_csum_traced(int counters_fd)
{
	uint32_t slot = TIE_BAD_CSUM_TRACED;
	uint64_t n = 0;

	if (counters_fd >= 0)
		loader__map_lookup(counters_fd, &slot, &n);
	return n;
}

/* Text mode keeps stdout the original's (nothing at exit): the summary goes
 * to stderr. JSON mode ends with a summary object. */
static void print_summary(void *self, struct loader *l)
{
	const struct state *st = self;
	uint64_t lost = loader__lost_events(l) + st->short_events;
	uint64_t traced = bad_csum_traced(st->counters_fd);

	if (!out_is_json()) {
		fprintf(stderr, "%llu segments reported (%llu checksum; tcp:tcp_bad_csum saw %llu), %llu lost\n",
			(unsigned long long)st->events, (unsigned long long)st->csum_events,
			(unsigned long long)traced, (unsigned long long)lost);
		return;
	}
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("events", NULL, st->events);
	out_uint("checksum_events", NULL, st->csum_events);
	out_uint("bad_csum_traced", NULL, traced);
	out_uint("lost_events", NULL, lost);
	out_end();
}

static int attach_all(void *self, struct loader *l)
{
	struct state *st = self;
	int rc = fill_reason_map(l, st);

	st->counters_fd = loader__map_fd(l, "counters");
	if (!rc && st->counters_fd < 0)
		rc = st->counters_fd;
	if (!rc)
		rc = loader__open_ringbuf(l, "events", on_event, st);
	if (!rc)
		rc = loader__attach_tp(l, "skb", "kfree_skb");
	if (!rc)
		rc = loader__attach_tp(l, "tcp", "tcp_bad_csum");
	if (!rc && st->sock_from == TIE_SOCK_FROM_TCP_PROBE)
		rc = loader__attach_raw_tp(l, "tcp_probe");
	if (!rc && st->sock_from == TIE_SOCK_FROM_TCP_PROBE)
		rc = loader__attach_raw_tp(l, "netif_receive_skb");
	if (rc)
		log_error("%s", loader__error(l));
	return rc ? -1 : 0;
}

static const struct tool_ops ops = {
	.bpf_text = tcp_inerrs_bpf_text,
	.tracing = "Tracing bad incoming TCP segments... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach_all,
	.print_header = print_header,
	.print_summary = print_summary,
};

int main(int argc, char **argv)
{
	static struct state st; /* large: the reason table */

	log_set_tool("tcp_inerrs");
	parse_options(argc, argv, &st.opts);
	return tool_run(&ops, &st, &st.opts.common);
}
