// netwatch: TCP connections with their process, every segment they send and receive,
// bad segments, retransmits, HTTP/1.x lines and per-layer times; console, JSON,
// the original's data files and a Prometheus exporter (-l).
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "cflags.h"
#include "cli.h"
#include "http_server.h"
#include "netfmt.h"
#include "netwatch/netwatch_int.h"
#include "output.h"
#include "runtime.h"
#include "tcp_badseg.h"
#include "tool.h"

extern const char netwatch_bpf_text[];

#define MAX_CONNS_LIMIT 1048576u
#define HEADER_FMT "%-22s %-10s %-10s %-10s %-10s %-10s %-5s %s\n"
#define CONNECTS_EVERY_NS 1000000000ull

enum { OPT_DATA_DIR = 2000, OPT_MAX_CONNS, OPT_USAGE, OPT_TCP_PROBE };

static const char usage[] =
	"Usage: netwatch [OPTIONS]\n"
	"Watch TCP connections, their segments, errors, HTTP/1.x and layer times.\n\n"
	"  -a, --all              keep closed connections (connects.log, /metrics)\n"
	"  -d, --dport DPORT      only connections whose remote port is DPORT\n"
	"  -s, --sport SPORT      only connections whose local port is SPORT\n"
	"  -e, --err              report segments with an invalid SEQ or a bad checksum\n"
	"  -i, --http             report HTTP/1.x request and status lines\n"
	"  -r, --retrans          count fast and timeout retransmits per connection\n"
	"  -t, --time             time each segment between hooks, in us\n"
	"  -x, --extra            show backlog, windows, buffers, bytes, srtt and duration\n"
	"  -l, --listen [ADDR:]PORT  serve Prometheus metrics on /metrics (bare PORT: 127.0.0.1)\n"
	"      --data-dir DIR     write connects.log, packets.log and err.log into DIR\n"
	"      --max-conns N      connections tracked at once (default 10240); more are counted\n"
	"      --tcp-probe        -e: find a bad segment's socket through tcp:tcp_probe even where\n"
	"                         skb:kfree_skb has rx_sk (the way of kernels before 6.8)\n"
	"      --usage            a short usage message (-? is --help)\n" CLI_COMMON_HELP
	"\nSOCK is the kernel's struct sock; RX is 1 for received segments. With -t,\n"
	"received: IP_TIME netif_receive_skb->tcp_probe, TCP_TIME tcp_probe->copy to the\n"
	"application; sent: MAC_TIME net_dev_queue->net_dev_start_xmit; '-' where no hook.\n"
	"\nEXAMPLES:\n"
	"  netwatch                    # every TCP connection and each of its segments\n"
	"  netwatch -s 80 -i           # connections on local port 80, with HTTP lines\n"
	"  netwatch -x -r -l 9100      # extra fields and retransmits, metrics on :9100\n"
	"  netwatch -e --data-dir data # bad segments; the original's log files in data/\n";

static const char short_usage[] =
	"Usage: netwatch [-aeirtx?] [-d DPORT] [-s SPORT] [-l [ADDR:]PORT] [--data-dir DIR]\n"
	"                [--max-conns N] [--json] [--duration SECS] [--netns NS] [--print-bpf]\n";

static uint32_t parse_max_conns(const char *arg)
{
	unsigned long long v;

	if (parse_uint_range(arg, 1, MAX_CONNS_LIMIT, &v))
		usage_error("invalid --max-conns '%s': expected a number of connections 1-%u", arg,
			    MAX_CONNS_LIMIT);
	return (uint32_t)v;
}

/* [ADDR:]PORT; an IPv6 address in brackets. A bare port binds 127.0.0.1 only. */
static void parse_listen(const char *arg, struct nw_options *o)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;

	o->listen = true;
	o->listen_port = cli_port("--listen", colon ? colon + 1 : arg);
	if (!colon) {
		parse_ip_addr("127.0.0.1", &o->listen_addr);
		return;
	}
	if (n >= sizeof(host) || n == 0)
		usage_error("invalid --listen '%s': expected [ADDR:]PORT", arg);
	if (arg[0] == '[' && arg[n - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)n - 2, arg + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)n, arg);
	if (parse_ip_addr(host, &o->listen_addr))
		usage_error("invalid --listen '%s': expected [ADDR:]PORT, an IPv6 address in brackets",
			    arg);
}

static void help_if_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-?") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
}

static void parse_options(int argc, char **argv, struct nw_options *o)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },	    { "dport", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 's' }, { "err", no_argument, NULL, 'e' },
		{ "http", no_argument, NULL, 'i' },	    { "retrans", no_argument, NULL, 'r' },
		{ "time", no_argument, NULL, 't' },	    { "extra", no_argument, NULL, 'x' },
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "usage", no_argument, NULL, OPT_USAGE },
		{ "tcp-probe", no_argument, NULL, OPT_TCP_PROBE },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	o->max_conns = NW_MAX_CONNS;
	help_if_asked(argc, argv);
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":ad:s:eirtxl:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->all = true; break;
		case 'd': o->dport = cli_port("--dport", optarg); break;
		case 's': o->sport = cli_port("--sport", optarg); break;
		case 'e': o->err = true; break;
		case 'i': o->http = true; break;
		case 'r': o->retrans = true; break;
		case 't': o->time = true; break;
		case 'x': o->extra = true; break;
		case 'l': parse_listen(optarg, o); break;
		case OPT_DATA_DIR: o->data_dir = optarg; break;
		case OPT_MAX_CONNS: o->max_conns = parse_max_conns(optarg); break;
		case OPT_USAGE: fputs(short_usage, stdout); exit(0);
		case OPT_TCP_PROBE: o->tcp_probe = true; break;
		case ':': usage_error("option '%s' needs a value; try 'netwatch --help'", argv[optind - 1]);
		case '?': usage_error("unknown option '%s'; try 'netwatch --help'", argv[optind - 1]);
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

/* ---- kernel side ---- */

static void add_layout(struct cflags *cf, struct btf_query *btf)
{
	static const char *const tp[][2] = {
		{ "OFF_TP_BYTES_ACKED", "bytes_acked" },   { "OFF_TP_BYTES_RECEIVED", "bytes_received" },
		{ "OFF_TP_SND_CWND", "snd_cwnd" },	   { "OFF_TP_RCV_WND", "rcv_wnd" },
		{ "OFF_TP_SND_SSTHRESH", "snd_ssthresh" }, { "OFF_TP_TOTAL_RETRANS", "total_retrans" },
		{ "OFF_TP_SRTT_US", "srtt_us" },
	};
	static const char *const skb[][2] = {
		{ "OFF_SKB_HEAD", "head" },
		{ "OFF_SKB_DATA", "data" },
		{ "OFF_SKB_NETWORK_HEADER", "network_header" },
		{ "OFF_SKB_TRANSPORT_HEADER", "transport_header" },
		{ "OFF_SKB_SK", "sk" },
		{ "OFF_SKB_DEV", "dev" },
		{ "OFF_SKB_PROTOCOL", "protocol" },
	};

	for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++)
		cflags_offset(cf, btf, tp[i][0], "tcp_sock", tp[i][1]);
	for (size_t i = 0; i < sizeof(skb) / sizeof(skb[0]); i++)
		cflags_offset(cf, btf, skb[i][0], "sk_buff", skb[i][1]);
	cflags_offset(cf, btf, "OFF_SK_SNDBUF", "sock", "sk_sndbuf");
	cflags_offset(cf, btf, "OFF_SK_SHUTDOWN", "sock", "sk_shutdown");
	cflags_offset(cf, btf, "OFF_SK_WMEM_QUEUED", "sock", "sk_wmem_queued");
	cflags_offset(cf, btf, "OFF_SK_ACK_BACKLOG", "sock", "sk_ack_backlog");
	cflags_offset(cf, btf, "OFF_SK_MAX_ACK_BACKLOG", "sock", "sk_max_ack_backlog");
	cflags_offset(cf, btf, "OFF_NETDEV_ND_NET", "net_device", "nd_net.net");
	cflags_offset(cf, btf, "OFF_SKB_CB", "sk_buff", "cb");
	cflags_offset(cf, btf, "OFF_TCB_END_SEQ", "tcp_skb_cb", "end_seq");
	cflags_sock_common(cf, btf);
	cflags_fd_walk(cf, btf);
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct netwatch *nw = self;
	const struct nw_options *o = &nw->opts;

	cflags_add(cf, "-DFILTER_SPORT=%u", o->sport);
	cflags_add(cf, "-DFILTER_DPORT=%u", o->dport);
	cflags_add(cf, "-DFILTER_NETNS=%u", o->common.netns_ino);
	cflags_add(cf, "-DMAX_CONNS=%u", o->max_conns);
	cflags_add(cf, "-DWANT_TIME=%d", o->time);
	if (o->err) {
		long off;

		nw->rx_sk = !o->tcp_probe &&
			    btf_query_offset(btf, "trace_event_raw_kfree_skb", "rx_sk", &off) == 0;
		cflags_enum(cf, btf, "REASON_TCP_CSUM", "skb_drop_reason", "SKB_DROP_REASON_TCP_CSUM");
		cflags_add(cf, "-DHAVE_RX_SK=%d", nw->rx_sk);
		cflags_add(cf, "-DERR_SOCK_FROM_PROBE=%d", !nw->rx_sk);
	}
	add_layout(cf, btf);
	return 0;
}

/* -e: the kernel's own verdicts: these drop reasons (BTF values), tcp:tcp_bad_csum. */
static int fill_reasons(struct loader *l)
{
	static const char *const names[] = {
		"SKB_DROP_REASON_TCP_INVALID_SEQUENCE", "SKB_DROP_REASON_TCP_OLD_SEQUENCE",
		"SKB_DROP_REASON_TCP_CSUM",
	};
	char err[256];
	struct btf_query *btf = btf_query_open(NULL, err, sizeof(err));
	int fd = loader__map_fd(l, "badseg_reasons"), found = 0;
	uint8_t one = 1;
	long long v;

	for (size_t i = 0; btf && fd >= 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		if (btf_query_enum_value(btf, "skb_drop_reason", names[i], &v) || v < 0 ||
		    v >= BADSEG_MAX_REASONS)
			continue;
		uint32_t key = (uint32_t)v;

		found += loader__map_update(fd, &key, &one) == 0;
	}
	btf_query_free(btf);
	if (!found)
		log_error("-e: enum skb_drop_reason has no TCP sequence or checksum reasons in this kernel's BTF (older than 6.0?)");
	return found ? 0 : -1;
}

static int attach_raw(struct loader *l, const char *category, const char *tp)
{
	if (!loader__tracepoint_exists(category, tp)) {
		log_error("tracepoint %s:%s is missing on this kernel", category, tp);
		return -1;
	}
	if (loader__attach_raw_tp(l, tp)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static int attach_tp(struct loader *l, const char *category, const char *event)
{
	if (loader__attach_tp(l, category, event)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static int attach_base(struct loader *l)
{
	if (attach_tp(l, "sock", "inet_sock_set_state") || attach_raw(l, "net", "net_dev_queue") ||
	    attach_raw(l, "net", "netif_receive_skb"))
		return -1;
	if (!loader__tracepoint_exists("syscalls", "sys_exit_accept4")) {
		log_warn("tracepoint syscalls:sys_exit_accept4 missing (kernel without CONFIG_FTRACE_SYSCALLS): server connections show PID 0");
		return 0;
	}
	if (attach_tp(l, "syscalls", "sys_exit_accept4"))
		return -1;
	if (loader__tracepoint_exists("syscalls", "sys_exit_accept"))
		return attach_tp(l, "syscalls", "sys_exit_accept");
	return 0;
}

static int attach_retrans(struct netwatch *nw, struct loader *l)
{
	if (attach_raw(l, "tcp", "tcp_retransmit_skb"))
		return -1;
	nw->cong_state_tp = loader__tracepoint_exists("tcp", "tcp_cong_state_set");
	if (!nw->cong_state_tp) {
		log_warn("-r: tracepoint tcp:tcp_cong_state_set is missing (kernel older than 5.19): fast and timeout retransmit counts are unavailable ('-'); retransmitted segments are counted");
		return 0;
	}
	return attach_raw(l, "tcp", "tcp_cong_state_set");
}

static int attach_http(struct loader *l)
{
	static const char *const events[] = {
		"sys_enter_write", "sys_enter_sendto", "sys_enter_read",
		"sys_exit_read",   "sys_enter_recvfrom", "sys_exit_recvfrom",
	};

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (attach_tp(l, "syscalls", events[i]))
			return -1;
	return 0;
}

static int attach_time(struct loader *l)
{
	if (attach_raw(l, "net", "net_dev_start_xmit") || attach_raw(l, "net", "net_dev_xmit") ||
	    attach_raw(l, "skb", "skb_copy_datagram_iovec"))
		return -1;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size);

static int open_maps(struct netwatch *nw, struct loader *l)
{
	nw->loader = l;
	nw->conns_fd = loader__map_fd(l, "conns");
	nw->totals_fd = loader__map_fd(l, "totals");
	nw->lost_fd = loader__map_fd(l, "bccnet_lost");
	if (nw->conns_fd < 0 || nw->totals_fd < 0 || nw->lost_fd < 0 ||
	    loader__open_ringbuf(l, "events", on_event, nw)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

/* Many scrapers and hostile clients: allow more descriptors than the default 1024. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int start_outputs(struct netwatch *nw)
{
	char err[256];

	if (nw->opts.data_dir && nw_files_open(&nw->files, nw->opts.data_dir))
		return -1;
	if (!nw->opts.listen)
		return 0;
	raise_fd_limit();
	nw->server = http_server_start(&nw->opts.listen_addr, nw->opts.listen_port,
				       nw_render_metrics, nw, err, sizeof(err));
	if (!nw->server) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static int attach(void *self, struct loader *l)
{
	struct netwatch *nw = self;
	const struct nw_options *o = &nw->opts;

	if (open_maps(nw, l) || attach_base(l))
		return -1;
	if (o->err && (fill_reasons(l) || attach_raw(l, "skb", "kfree_skb") ||
		       attach_raw(l, "tcp", "tcp_bad_csum")))
		return -1;
	if ((o->retrans && attach_retrans(nw, l)) || (o->http && attach_http(l)) ||
	    (o->time && attach_time(l)))
		return -1;
	/* -t stamps there; -e finds the socket there where kfree_skb has no rx_sk. */
	if ((o->time || (o->err && !nw->rx_sk)) && attach_raw(l, "tcp", "tcp_probe"))
		return -1;
	return start_outputs(nw);
}

/* ---- events ---- */

long long nw_layer_ns(const struct nw_packet_event *p, int layer)
{
	unsigned need = 3u << layer;

	if ((p->stamped & need) != need || p->stamp[layer + 1] < p->stamp[layer])
		return -1;
	return (long long)(p->stamp[layer + 1] - p->stamp[layer]);
}

static void us_or_dash(long long ns, char *buf)
{
	if (ns < 0)
		snprintf(buf, 24, "-");
	else
		snprintf(buf, 24, "%lld", ns / 1000);
}

void nw_time_columns(const struct nw_packet_event *p, bool timed, char out[3][24])
{
	for (int i = 0; i < 3; i++)
		snprintf(out[i], 24, "-");
	if (!timed)
		return;
	if (p->rx) {
		us_or_dash(nw_layer_ns(p, 0), out[1]);
		us_or_dash(nw_layer_ns(p, 1), out[2]);
	} else {
		us_or_dash(nw_layer_ns(p, 0), out[0]);
	}
}

static void print_header(void *self)
{
	(void)self;
	if (!out_is_json())
		printf(HEADER_FMT, "SOCK", "SEQ", "ACK", "MAC_TIME", "IP_TIME", "TCP_TIME", "RX",
		       "HTTP");
}

static void observe_layers(struct netwatch *nw, const struct nw_packet_event *p)
{
	for (int layer = 0; layer < NW_LAYERS; layer++) {
		long long ns = nw_layer_ns(p, layer);
		int b = 0;

		if (ns < 0)
			continue;
		while (b < NW_HIST_BUCKETS && ns / 1e9 > nw_hist_bounds[b])
			b++;
		nw->hist.counts[p->rx ? 1 : 0][layer][b]++;
		nw->hist.sum[p->rx ? 1 : 0][layer] += ns / 1e9;
	}
}

static void print_layers(const struct nw_packet_event *p)
{
	out_object_begin("layers_us");
	for (int layer = 0; layer < NW_LAYERS; layer++) {
		long long ns = nw_layer_ns(p, layer);

		if (ns >= 0)
			out_double(nw_layer_name(p->rx, layer), NULL, ns / 1000.0);
	}
	out_object_end();
}

static void print_packet(struct netwatch *nw, const struct nw_packet_event *p)
{
	char cols[3][24];

	if (nw->opts.time) {
		pthread_mutex_lock(&nw->lock);
		observe_layers(nw, p);
		pthread_mutex_unlock(&nw->lock);
	}
	nw->packets_seen++;
	nw_time_columns(p, nw->opts.time, cols);
	out_begin();
	out_str("type", NULL, "packet");
	out_ptr("sock", "%-22s ", p->sk);
	out_uint("seq", "%-10llu ", p->seq);
	out_uint("ack", "%-10llu ", p->ack);
	out_str(NULL, "%-10s ", cols[0]);
	out_str(NULL, "%-10s ", cols[1]);
	out_str(NULL, "%-10s ", cols[2]);
	out_uint("rx", "%-5llu ", p->rx);
	out_str(NULL, "%s\n", "-");
	out_str("direction", NULL, p->rx ? "rx" : "tx");
	out_uint("flags", NULL, p->flags);
	out_uint("payload_bytes", NULL, p->payload);
	out_uint("netns", NULL, p->netns);
	out_uint("ts_ns", NULL, p->ts_ns);
	if (nw->opts.time)
		print_layers(p);
	out_end();
	nw_files_packet(nw, p, NULL);
}

/* Prints and forgets held segment i. */
static void release_held(struct netwatch *nw, size_t i)
{
	print_packet(nw, &nw->held[i]);
	memmove(&nw->held[i], &nw->held[i + 1], (nw->nheld - i - 1) * sizeof(*nw->held));
	nw->nheld--;
}

/* -t: received data waits for the copy to the application (NW_EV_COPY). */
static void on_packet(struct netwatch *nw, const struct nw_packet_event *p)
{
	if (!(p->stamped & NW_AWAITS_COPY)) {
		print_packet(nw, p);
		return;
	}
	if (!nw->held)
		nw->held = calloc(NW_HELD_MAX, sizeof(*nw->held));
	if (nw->held && nw->nheld == NW_HELD_MAX)
		release_held(nw, 0);
	if (!nw->held) {
		print_packet(nw, p);
		return;
	}
	nw->held[nw->nheld++] = *p;
}

/* The copy of data up to end_seq: every held segment of that socket ending there or before. */
static void on_copy(struct netwatch *nw, const struct nw_copy_event *c)
{
	for (size_t i = 0; i < nw->nheld;) {
		struct nw_packet_event *p = &nw->held[i];

		if (p->sk != c->sk || (int32_t)(p->seq + p->payload - c->end_seq) > 0) {
			i++;
			continue;
		}
		p->stamp[2] = c->ts_ns;
		p->stamped |= 4;
		release_held(nw, i);
	}
}

/* Held segments older than NW_HOLD_NS (or all: now 0) are printed without a copy time. */
static void release_old(struct netwatch *nw, uint64_t now_ns)
{
	while (nw->nheld && (!now_ns || nw->held[0].ts_ns + NW_HOLD_NS < now_ns))
		release_held(nw, 0);
}

static void on_error(struct netwatch *nw, const struct nw_error_event *e)
{
	bool csum = e->error == NW_ERR_CSUM;

	nw->errors_seen++;
	if (!out_is_json() && csum)
		printf("[X] invalid checksum: sock = %p\n", (void *)(uintptr_t)e->sk);
	else if (!out_is_json())
		printf("[X] invalid SEQ: sock = %p,seq= %u,ack = %u\n", (void *)(uintptr_t)e->sk,
		       e->seq, e->ack);
	out_begin();
	out_str("type", NULL, "error");
	out_str("reason", NULL, csum ? "bad_checksum" : "invalid_seq");
	out_ptr("sock", NULL, e->sk);
	out_uint("seq", NULL, e->seq);
	out_uint("ack", NULL, e->ack);
	out_uint("netns", NULL, e->netns);
	out_end();
	nw_files_error(nw, e);
}

static void print_conn_fields(const struct nw_conn *c)
{
	const struct nw_extra *x = &c->extra;
	char ip[64];

	out_uint("family", NULL, c->tuple.family == AF_INET6 ? 6 : 4);
	format_ip(c->tuple.family, c->tuple.saddr, ip, sizeof(ip));
	out_str("saddr", NULL, ip);
	out_uint("sport", NULL, c->tuple.sport);
	format_ip(c->tuple.family, c->tuple.daddr, ip, sizeof(ip));
	out_str("daddr", NULL, ip);
	out_uint("dport", NULL, c->tuple.dport);
	out_uint("netns", NULL, c->netns);
	out_uint("rx_bytes", NULL, x->bytes_received);
	out_uint("acked_bytes", NULL, x->bytes_acked);
	out_uint("cwnd", NULL, x->snd_cwnd);
	out_uint("ssthresh", NULL, x->snd_ssthresh);
	out_uint("rwnd", NULL, x->rcv_wnd);
	out_uint("sndbuf", NULL, x->sndbuf);
	out_uint("wmem_queued", NULL, x->wmem_queued);
	out_uint("srtt_us", NULL, x->srtt_us);
	out_uint("backlog", NULL, x->backlog);
	out_uint("max_backlog", NULL, x->max_backlog);
	out_uint("total_retrans", NULL, x->total_retrans);
	out_uint("rx_packets", NULL, c->counts.rx_packets);
	out_uint("tx_packets", NULL, c->counts.tx_packets);
	out_uint("fast_retrans", NULL, c->counts.fast_retrans);
	out_uint("timeout_retrans", NULL, c->counts.timeout_retrans);
	out_uint("retrans_segs", NULL, c->counts.retrans_segs);
	if (c->end_ns)
		out_uint("duration_us", NULL, (c->end_ns - c->start_ns) / 1000);
}

static void print_conn(const struct nw_conn_event *e)
{
	static const char *const what[] = { [NW_EV_OPEN] = "open", [NW_EV_OWNER] = "accept",
					    [NW_EV_CLOSE] = "close" };
	const struct nw_conn *c = &e->conn;
	char comm[NW_COMM_LEN + 1], src[64], dst[64];

	snprintf(comm, sizeof(comm), "%.*s", NW_COMM_LEN, c->comm[0] ? c->comm : "-");
	nw_endpoint(&c->tuple, true, false, src, sizeof(src));
	nw_endpoint(&c->tuple, false, false, dst, sizeof(dst));
	if (!out_is_json())
		printf("[%c] %s: sock = %p, pid = %u, comm = %s, role = %s, src = %s, dst = %s\n",
		       e->type == NW_EV_CLOSE ? '-' : '+', what[e->type], (void *)(uintptr_t)c->sk,
		       c->pid, comm, nw_role_name(c->role), src, dst);
	out_begin();
	out_str("type", NULL, "connection");
	out_str("event", NULL, what[e->type]);
	out_ptr("sock", NULL, c->sk);
	out_uint("pid", NULL, c->pid);
	out_uint("tid", NULL, c->tid);
	out_str("comm", NULL, comm);
	out_str("role", NULL, nw_role_name(c->role));
	out_str("src", NULL, src);
	out_str("dst", NULL, dst);
	print_conn_fields(c);
	out_end();
}

/* Closed connections stay for the next scrape (or for good with -a, up to --max-conns). */
static void keep_closed(struct netwatch *nw, const struct nw_conn *c)
{
	if (!nw->server && !nw->opts.all)
		return;
	pthread_mutex_lock(&nw->lock);
	if (nw->nclosed == nw->opts.max_conns) {
		memmove(nw->closed, nw->closed + 1, (nw->nclosed - 1) * sizeof(*nw->closed));
		nw->nclosed--;
		nw->closed_dropped++;
	}
	if (!nw->closed)
		nw->closed = calloc(nw->opts.max_conns, sizeof(*nw->closed));
	if (nw->closed)
		nw->closed[nw->nclosed++] = *c;
	pthread_mutex_unlock(&nw->lock);
}

static void on_conn(struct netwatch *nw, const struct nw_conn_event *e)
{
	if (e->type == NW_EV_CLOSE) {
		keep_closed(nw, &e->conn);
		pthread_mutex_lock(&nw->lock);
		nw->closes_seen++;
		pthread_mutex_unlock(&nw->lock);
	}
	print_conn(e);
}

static void on_data(struct netwatch *nw, const struct nw_data_event *d)
{
	char line[2 * NW_HTTP_CAP + 1];
	uint8_t role = d->role;
	struct nw_packet_event p = { .sk = d->sk, .rx = d->rx };
	bool found;

	pthread_mutex_lock(&nw->lock);
	found = nw_http_line(nw, d, role, line, sizeof(line));
	pthread_mutex_unlock(&nw->lock);
	if (!found)
		return;
	if (!out_is_json())
		printf("%-22p %-10s %-10s %-10s %-10s %-10s %-5d %s\n", (void *)(uintptr_t)d->sk,
		       "-", "-", "-", "-", "-", d->rx, line);
	out_begin();
	out_str("type", NULL, "http");
	out_ptr("sock", NULL, d->sk);
	out_uint("rx", NULL, d->rx);
	out_str("role", NULL, nw_role_name(role));
	out_str("line", NULL, line);
	out_uint("sport", NULL, d->lport);
	out_uint("dport", NULL, d->rport);
	out_uint("netns", NULL, d->netns);
	out_end();
	nw_files_packet(nw, &p, line);
}

static const size_t event_sizes[] = {
	[NW_EV_OPEN] = sizeof(struct nw_conn_event),	 [NW_EV_OWNER] = sizeof(struct nw_conn_event),
	[NW_EV_CLOSE] = sizeof(struct nw_conn_event),	 [NW_EV_PACKET] = sizeof(struct nw_packet_event),
	[NW_EV_ERROR] = sizeof(struct nw_error_event), [NW_EV_DATA] = sizeof(struct nw_data_event),
	[NW_EV_COPY] = sizeof(struct nw_copy_event),
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct netwatch *nw = ctx;
	uint32_t type;

	memcpy(&type, data, size < sizeof(type) ? 0 : sizeof(type));
	if (size < sizeof(type) || type < NW_EV_OPEN || type > NW_EV_COPY ||
	    size < event_sizes[type]) {
		nw->short_events++;
		return 0;
	}
	if (type == NW_EV_PACKET)
		on_packet(nw, data);
	else if (type == NW_EV_ERROR)
		on_error(nw, data);
	else if (type == NW_EV_DATA)
		on_data(nw, data);
	else if (type == NW_EV_COPY)
		on_copy(nw, data);
	else
		on_conn(nw, data);
	return 0;
}

/* ---- the loop ---- */

static int stream(void *self, struct loader *l, const struct common_opts *c)
{
	struct netwatch *nw = self;
	uint64_t next_connects = runtime_mono_ns();

	runtime_set_duration(c->duration_s);
	while (!runtime_should_stop()) {
		out_batch(true);
		if (loader__poll(l, 100) < 0)
			break;
		release_old(nw, runtime_mono_ns());
		out_batch(false);
		pthread_mutex_lock(&nw->lock);
		nw->polls++;
		pthread_cond_broadcast(&nw->polled);
		pthread_mutex_unlock(&nw->lock);
		nw_files_flush(&nw->files);
		if (nw->opts.data_dir && runtime_mono_ns() >= next_connects) {
			nw_files_connects(nw);
			next_connects = runtime_mono_ns() + CONNECTS_EVERY_NS;
		}
	}
	out_batch(true);
	loader__poll(l, 0);
	release_old(nw, 0);
	out_batch(false);
	http_server_stop(nw->server); /* its thread reads the maps: before they go */
	nw->server = NULL;
	if (nw->opts.data_dir)
		nw_files_connects(nw);
	return 0;
}

static void print_summary(void *self, struct loader *l)
{
	struct netwatch *nw = self;
	uint64_t lost = loader__lost_events(l) + nw->short_events;

	if (!out_is_json()) {
		if (lost)
			log_warn("%llu events lost (ring buffer full)", (unsigned long long)lost);
		return;
	}
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("packets", NULL, nw->packets_seen);
	out_uint("errors", NULL, nw->errors_seen);
	out_uint("http_lines", NULL, nw->http_lines);
	out_uint("lost_events", NULL, lost);
	out_end();
}

static void release(void *self)
{
	struct netwatch *nw = self;

	http_server_stop(nw->server);
	nw->server = NULL;
	nw_files_close(&nw->files);
	free(nw->closed);
	nw->closed = NULL;
	free(nw->held);
	nw->held = NULL;
}

static const char *tracing_line(void *self)
{
	struct netwatch *nw = self;
	static char line[256];

	if (nw->opts.listen) {
		char ip[64];

		format_ip(nw->opts.listen_addr.family, nw->opts.listen_addr.bytes, ip, sizeof(ip));
		snprintf(line, sizeof(line),
			 "Tracing TCP connections; metrics on http://%s%s%s:%u/metrics ... Hit Ctrl-C to end.",
			 nw->opts.listen_addr.family == AF_INET6 ? "[" : "", ip,
			 nw->opts.listen_addr.family == AF_INET6 ? "]" : "", nw->opts.listen_port);
		return line;
	}
	return "Tracing TCP connections... Hit Ctrl-C to end.";
}

static const struct tool_ops netwatch_ops = {
	.bpf_text = netwatch_bpf_text,
	.tracing_line = tracing_line,
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.stream = stream,
	.print_summary = print_summary,
	.release = release,
};

int main(int argc, char **argv)
{
	static struct netwatch nw; /* large: the HTTP tables */

	log_set_tool("netwatch");
	parse_options(argc, argv, &nw.opts);
	pthread_mutex_init(&nw.lock, NULL);
	pthread_cond_init(&nw.polled, NULL);
	return tool_run(&netwatch_ops, &nw, &nw.opts.common);
}
