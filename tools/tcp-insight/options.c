// tcp-insight's options: the command line parsed and validated (bad input: one line, exit 2),
// the same options as -D filter numbers for the BPF program, and the -v listing of them.
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "netfmt.h"
#include "parse.h"
#include "tcp_insight_int.h"

#define MAX_MS 1000000000000ULL /* ~31 years */
#define MAX_BYTES (1ULL << 62)
#define MAX_RTT_US 0xffffffffULL /* tcp_sock.srtt_us is a u32 */

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

static void parse_bound(struct tcpi_range *r, bool is_max, const char *opt, const char *arg,
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

static void check_range(const struct tcpi_range *r, const char *name)
{
	if (r->set_min && r->set_max && r->min > r->max)
		usage_error("invalid range: --min-%s %llu is greater than --max-%s %llu", name, r->min,
			    name, r->max);
}

/* --min-X / --max-X: the bound, its largest value and unit. */
static const struct bound_opt {
	int id;
	const char *name;
	bool is_max;
	unsigned long long max;
	const char *unit;
} bound_opts[] = {
	{ OPT_MIN_DURATION, "--min-duration", false, MAX_MS, "milliseconds" },
	{ OPT_MAX_DURATION, "--max-duration", true, MAX_MS, "milliseconds" },
	{ OPT_MIN_BYTES, "--min-bytes", false, MAX_BYTES, "bytes" },
	{ OPT_MAX_BYTES, "--max-bytes", true, MAX_BYTES, "bytes" },
	{ OPT_MIN_RTT, "--min-rtt", false, MAX_RTT_US, "microseconds" },
	{ OPT_MAX_RTT, "--max-rtt", true, MAX_RTT_US, "microseconds" },
};

/* The range a --min-X / --max-X option bounds. */
static struct tcpi_range *range_of(struct tcpi_options *o, int id)
{
	switch (id) {
	case OPT_MIN_DURATION:
	case OPT_MAX_DURATION:
		return &o->duration_ms;
	case OPT_MIN_BYTES:
	case OPT_MAX_BYTES:
		return &o->bytes;
	default:
		return &o->rtt_us;
	}
}

static void parse_long_option(int c, struct tcpi_options *o)
{
	for (size_t i = 0; i < sizeof(bound_opts) / sizeof(bound_opts[0]); i++) {
		const struct bound_opt *b = &bound_opts[i];

		if (b->id == c) {
			parse_bound(range_of(o, c), b->is_max, b->name, optarg, b->max, b->unit);
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

void tcpi_parse_options(int argc, char **argv, struct tcpi_options *o)
{
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

/* ---- the filters as -D numbers for the BPF program ---- */

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

static void add_comm_filter(struct cflags *cf, const char *comm)
{
	uint64_t w[2];

	ifname_to_words(comm, w); /* 16 bytes, NUL padded, as two words */
	cflags_add(cf, "-DFILTER_COMM_LEN=%zu", strlen(comm));
	cflags_add(cf, "-DFILTER_COMM_W0=0x%llxULL", (unsigned long long)w[0]);
	cflags_add(cf, "-DFILTER_COMM_W1=0x%llxULL", (unsigned long long)w[1]);
}

static void add_range(struct cflags *cf, const char *name, const struct tcpi_range *r,
		      unsigned long long scale, unsigned long long top)
{
	if (!r->set_min && !r->set_max)
		return;
	cflags_add(cf, "-DFILTER_%s=1", name);
	cflags_add(cf, "-DFILTER_MIN_%s=%lluULL", name, r->set_min ? r->min * scale : 0);
	cflags_add(cf, "-DFILTER_MAX_%s=%lluULL", name, r->set_max ? r->max * scale : top);
}

void tcpi_add_filters(struct cflags *cf, const struct tcpi_options *o, unsigned mask)
{
	cflags_add(cf, "-DEVENT_MASK=0x%x", mask);
	cflags_add(cf, "-DFILTER_PID=%u", o->pid);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	if (o->comm)
		add_comm_filter(cf, o->comm);
	add_addr_filter(cf, "SADDR", &o->saddr);
	add_addr_filter(cf, "DADDR", &o->daddr);
	cflags_add(cf, "-DFILTER_SPORT=%u", o->sport);
	cflags_add(cf, "-DFILTER_DPORT=%u", o->dport);
	cflags_add(cf, "-DFILTER_STATE=%u", o->state);
	add_range(cf, "AGE", &o->duration_ms, 1000000ULL, ~0ULL);
	add_range(cf, "BYTES", &o->bytes, 1, ~0ULL);
	add_range(cf, "RTT", &o->rtt_us, 1, MAX_RTT_US);
}

/* ---- -v ---- */

static void print_text_filter(const char *label, const char *value)
{
	if (value)
		printf("  %s: %s\n", label, value);
}

static void print_number_filter(const char *label, unsigned long long value)
{
	if (value)
		printf("  %s: %llu\n", label, value);
}

static void print_range(const char *label, const struct tcpi_range *r, const char *unit)
{
	if (r->set_min)
		printf("  Min %s: %llu%s\n", label, r->min, unit);
	if (r->set_max)
		printf("  Max %s: %llu%s\n", label, r->max, unit);
}

/* -v: the original's "Filter rules configured:" block. */
void tcpi_print_filters(const struct tcpi_options *o)
{
	printf("Filter rules configured:\n");
	print_number_filter("PID", o->pid);
	print_text_filter("Command", o->comm);
	print_text_filter("Source address", o->saddr_arg);
	print_text_filter("Destination address", o->daddr_arg);
	print_number_filter("Source port", o->sport);
	print_number_filter("Destination port", o->dport);
	if (o->mask)
		printf("  Event mask: 0x%x\n", o->mask);
	print_range("duration", &o->duration_ms, " ms");
	print_range("bytes", &o->bytes, "");
	print_range("RTT", &o->rtt_us, " us");
	print_text_filter("TCP state", o->state ? tcp_state_name(o->state) : NULL);
	printf("\n");
}
