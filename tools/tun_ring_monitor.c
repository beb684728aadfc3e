// tun_ring_monitor: TUN/TAP ptr_ring state per queue and ring-full detection.
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"
#include "netdev.h"
#include "output.h"
#include "runtime.h"
#include "tool.h"
#include "tun_ring_monitor.h"

extern const char tun_ring_monitor_bpf_text[];

#define RULE "================================================================================\n"

struct options {
	struct common_opts common;
	const char *device;
	struct ip_addr src, dst;
	const char *src_arg, *dst_arg;
	uint16_t sport, dport;
	uint8_t protocol;
	bool all;
	uint32_t netns; /* the only namespace watched (FILTER_NETNS); 0: every one */
};

struct layout {
	long tfiles_size, numqueues_off;
};

struct totals {
	struct options opts;
	uint64_t events, full_events, short_events;
	struct layout layout;
};

static const char usage[] =
	"Usage: tun_ring_monitor [OPTIONS]\n"
	"Watch the ptr_ring of TUN/TAP transmit queues and report when a ring is full.\n\n"
	"  -d, --device DEV       only this TUN/TAP device (default: every TUN/TAP device)\n"
	"      --src-ip ADDR      only packets from this IPv4/IPv6 address\n"
	"      --dst-ip ADDR      only packets to this IPv4/IPv6 address\n"
	"      --src-port PORT    only packets from this TCP/UDP port\n"
	"      --dst-port PORT    only packets to this TCP/UDP port\n"
	"      --protocol PROTO   only tcp or udp packets\n"
	"      --all              report every transmit, not only ring-full ones\n"
	"  -v, --verbose          show filter values, struct layout and validation info\n" CLI_COMMON_HELP
	"\nFilters combine with AND.\n"
	"\nEXAMPLES:\n"
	"  tun_ring_monitor --device vnet12                  # ring-full events on vnet12\n"
	"  tun_ring_monitor --device vnet12 --all            # every transmit on vnet12\n"
	"  tun_ring_monitor -d vnet12 --src-ip 10.0.0.1 --dst-port 443 --protocol tcp --all\n"
	"  tun_ring_monitor -d tap0 --netns pid:4242        # tap0 of process 4242's namespace\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "src-ip", required_argument, NULL, 'S' },
		{ "dst-ip", required_argument, NULL, 'D' },
		{ "src-port", required_argument, NULL, 's' },
		{ "dst-port", required_argument, NULL, 'p' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "all", no_argument, NULL, 'a' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->device = cli_ifname("--device", optarg); break;
		case 'S': o->src = cli_ip("--src-ip", optarg); o->src_arg = optarg; break;
		case 'D': o->dst = cli_ip("--dst-ip", optarg); o->dst_arg = optarg; break;
		case 's': o->sport = cli_port("--src-port", optarg); break;
		case 'p': o->dport = cli_port("--dst-port", optarg); break;
		case 'P': o->protocol = cli_protocol("--protocol", optarg, false); break;
		case 'a': o->all = true; break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
}

/*
 * The namespace to watch: --netns, else ours when the device is here. A device that is not in
 * our namespace is watched by name in every namespace, as the original did (one line says
 * so). A device missing from --netns's namespace is a warning (VMs come and go); one that
 * exists but is not TUN/TAP is an error.
 */
static uint32_t check_device(const struct options *o)
{
	const struct common_opts *c = &o->common;
	struct netdev_info d = { 0 };
	int rc;

	if (!o->device)
		return c->netns_ino;
	snprintf(d.name, sizeof(d.name), "%s", o->device);
	rc = netdev_lookup(c->netns_ino ? c->netns_path : NULL, &d);
	if (rc == -ENODEV && !c->netns_ino) {
		log_warn("device %s is not in this network namespace: watching %s in every namespace (--netns NS: only in NS)",
			 o->device, o->device);
		return 0;
	}
	if (rc == -ENODEV) {
		log_warn("device %s does not exist (yet) in network namespace %s; watching for it",
			 o->device, c->netns_path);
		return c->netns_ino;
	}
	if (rc) {
		log_error("looking up device %s: %s", o->device, strerror(-rc));
		exit(1);
	}
	/* The tun driver answers ethtool's driver query with "tun"; lo answers nothing. */
	if (strcmp(d.driver, "tun") != 0)
		usage_error("invalid --device '%s': not a TUN/TAP device", o->device);
	return c->netns_ino ? c->netns_ino : netns_inode_self();
}

static void add_filter_cflags(struct cflags *cf, const struct options *o)
{
	uint64_t w[2];

	if (o->device) {
		ifname_to_words(o->device, w);
		cflags_add(cf, "-DFILTER_DEV=1");
		cflags_add(cf, "-DFILTER_DEV_W0=0x%" PRIx64 "ULL", w[0]);
		cflags_add(cf, "-DFILTER_DEV_W1=0x%" PRIx64 "ULL", w[1]);
	}
	cflags_add(cf, "-DFILTER_NETNS=%u", o->netns);
	if (o->src_arg) {
		ip_addr_to_words(&o->src, w);
		cflags_add(cf, "-DFILTER_SRC_FAMILY=%d", o->src.family == AF_INET ? 4 : 6);
		cflags_add(cf, "-DFILTER_SRC_W0=0x%" PRIx64 "ULL", w[0]);
		cflags_add(cf, "-DFILTER_SRC_W1=0x%" PRIx64 "ULL", w[1]);
	}
	if (o->dst_arg) {
		ip_addr_to_words(&o->dst, w);
		cflags_add(cf, "-DFILTER_DST_FAMILY=%d", o->dst.family == AF_INET ? 4 : 6);
		cflags_add(cf, "-DFILTER_DST_W0=0x%" PRIx64 "ULL", w[0]);
		cflags_add(cf, "-DFILTER_DST_W1=0x%" PRIx64 "ULL", w[1]);
	}
	cflags_add(cf, "-DFILTER_SPORT=%u", o->sport);
	cflags_add(cf, "-DFILTER_DPORT=%u", o->dport);
	cflags_add(cf, "-DFILTER_PROTO=%u", o->protocol);
	cflags_add(cf, "-DSHOW_ALL=%d", o->all);
}

/* netdev_priv(): since 6.12 (commit "net: add flexible array priv to net_device")
 * the private area is dev->priv; before it, ALIGN(sizeof(net_device), NETDEV_ALIGN=32). */
static void add_priv_offset(struct cflags *cf, struct btf_query *btf)
{
	long off, size;

	if (btf_query_offset(btf, "net_device", "priv", &off) == 0) {
		cflags_add(cf, "-DOFF_DEV_PRIV=%ld", off);
	} else if (btf_query_sizeof(btf, "net_device", &size) == 0) {
		cflags_add(cf, "-DOFF_DEV_PRIV=%ld", (size + 31) & ~31L);
	} else {
		cflags_sizeof(cf, btf, "OFF_DEV_PRIV", "net_device"); /* records the error */
	}
}

static void add_layout_cflags(struct cflags *cf, struct btf_query *btf, struct layout *lay)
{
	cflags_offset(cf, btf, "OFF_SKB_DEV", "sk_buff", "dev");
	cflags_offset(cf, btf, "OFF_SKB_DATA", "sk_buff", "data");
	cflags_offset(cf, btf, "OFF_DEV_NAME", "net_device", "name");
	cflags_offset(cf, btf, "OFF_DEV_NETDEV_OPS", "net_device", "netdev_ops");
	cflags_offset(cf, btf, "OFF_DEV_ND_NET", "net_device", "nd_net.net");
	cflags_offset(cf, btf, "OFF_NET_NS_INUM", "net", "ns.inum");
	cflags_offset(cf, btf, "OFF_OPS_START_XMIT", "net_device_ops", "ndo_start_xmit");
	add_priv_offset(cf, btf);
	cflags_offset(cf, btf, "OFF_TUN_TFILES", "tun_struct", "tfiles");
	cflags_offset(cf, btf, "OFF_TUN_NUMQUEUES", "tun_struct", "numqueues");
	cflags_offset(cf, btf, "OFF_TFILE_TX_RING", "tun_file", "tx_ring");
	cflags_offset(cf, btf, "OFF_TFILE_QUEUE_INDEX", "tun_file", "queue_index");
	cflags_offset(cf, btf, "OFF_RING_PRODUCER", "ptr_ring", "producer");
	cflags_offset(cf, btf, "OFF_RING_CONSUMER_HEAD", "ptr_ring", "consumer_head");
	cflags_offset(cf, btf, "OFF_RING_CONSUMER_TAIL", "ptr_ring", "consumer_tail");
	cflags_offset(cf, btf, "OFF_RING_SIZE", "ptr_ring", "size");
	cflags_offset(cf, btf, "OFF_RING_QUEUE", "ptr_ring", "queue");
	if (btf_query_member_size(btf, "tun_struct", "tfiles", &lay->tfiles_size) ||
	    btf_query_offset(btf, "tun_struct", "numqueues", &lay->numqueues_off))
		return; /* cflags_offset above already recorded the error */
	cflags_add(cf, "-DTUN_TFILES_LEN=%ld", lay->tfiles_size / 8);
}

static void print_verbose_filters(const struct cflags *cf)
{
	fprintf(stderr, "Loading BPF program with filters (-D numbers):\n");
	for (int i = 0; i < cf->n; i++)
		if (strncmp(cf->argv[i], "-DFILTER_", 9) == 0 || strncmp(cf->argv[i], "-DSHOW", 6) == 0)
			fprintf(stderr, "  %s\n", cf->argv[i] + 2);
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct totals *t = self;
	uint64_t xmit;
	int rc = kallsyms_text_addr("tun_net_xmit", &xmit);

	if (rc) {
		log_error("tun_net_xmit not in /proc/kallsyms: %s (load the tun driver: modprobe tun; run as root)",
			  rc == -EPERM ? "addresses hidden" : strerror(-rc));
		return -1;
	}
	cflags_add(cf, "-DTUN_XMIT_ADDR=0x%" PRIx64 "ULL", xmit);
	add_filter_cflags(cf, &t->opts);
	add_layout_cflags(cf, btf, &t->layout);
	if (t->opts.common.verbose && !t->opts.common.print_bpf)
		print_verbose_filters(cf);
	return 0;
}

static void format_addr(const struct trm_tuple *t, const __u64 *addr, char *buf, size_t len)
{
	if (!inet_ntop(t->family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* "10.0.0.1:80", "[fd00::1]:80"; no port for protocols without one. */
static void format_endpoint(const struct trm_tuple *t, const __u64 *addr, uint16_t port,
			    char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool has_port = t->protocol == 6 || t->protocol == 17;

	format_addr(t, addr, a, sizeof(a));
	if (!has_port)
		snprintf(buf, len, "%s", a);
	else if (t->family == 6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static void print_tuple(const struct trm_tuple *t)
{
	char src[64], dst[64], addr[INET6_ADDRSTRLEN], proto[8];
	const char *name = protocol_name(t->protocol);

	out_text("5-Tuple Info:\n");
	if (!t->family) {
		out_text("  📋 Packet headers not parsed (may be non-IP or parsing failed)\n");
		out_text("  Source: N/A:N/A\n  Destination: N/A:N/A\n  Protocol: N/A\n\n");
		return;
	}
	format_endpoint(t, t->saddr, t->sport, src, sizeof(src));
	format_endpoint(t, t->daddr, t->dport, dst, sizeof(dst));
	snprintf(proto, sizeof(proto), "%u", t->protocol);
	out_str(NULL, "  Source: %s\n", src);
	out_str(NULL, "  Destination: %s\n", dst);
	out_str("protocol", "  Protocol: %s\n\n", name ? name : proto);
	out_uint("family", NULL, t->family);
	format_addr(t, t->saddr, addr, sizeof(addr));
	out_str("saddr", NULL, addr);
	out_uint("sport", NULL, t->sport);
	format_addr(t, t->daddr, addr, sizeof(addr));
	out_str("daddr", NULL, addr);
	out_uint("dport", NULL, t->dport);
}

/* The original's debugging blocks, kept for --verbose. */
static void print_layout(const struct trm_event *e, const struct layout *lay)
{
	out_text("Struct Layout Analysis:\n");
	out_text("  tfiles array size: %ld bytes\n", lay->tfiles_size);
	out_text("  numqueues offset: %ld bytes\n", lay->numqueues_off);
	out_text("  Expected tfiles size: %ld bytes (%ld pointers * 8)\n", lay->tfiles_size,
		 lay->tfiles_size / 8);
	if (lay->tfiles_size == lay->numqueues_off)
		out_text("  ✅ Layout correct: tfiles takes exactly %ld bytes\n", lay->tfiles_size);
	else
		out_text("  ⚠️ Layout mismatch: tfiles size %ld != numqueues offset %ld\n",
			 lay->tfiles_size, lay->numqueues_off);
	out_text("  📍 Array access: queue_mapping=%u -> tfiles[%u]\n\n", e->queue, e->queue);
	out_text("Validation Info:\n");
	out_ptr("tun_struct", "  TUN struct: %s\n", e->ring.tun);
	out_uint("tun_numqueues", "  TUN numqueues: %llu\n", e->ring.numqueues);
	out_ptr("tfile", "  TFile ptr: %s\n", e->ring.tfile);
	out_uint("tfile_queue_index", "  TFile queue_index: %llu\n\n", e->ring.tfile_queue_index);
}

/* Ring occupancy as the original computes it: producer - consumer_tail, floored %. */
static unsigned used_percent(const struct trm_ring *r)
{
	unsigned used = r->producer >= r->consumer_tail ? r->producer - r->consumer_tail
						       : r->size - r->consumer_tail + r->producer;

	return r->size ? (unsigned)((unsigned long long)used * 100 / r->size) : 0;
}

static void print_ring(const struct trm_ring *r)
{
	out_text("PTR Ring Details:\n");
	out_bool("ring_found", r->found);
	if (!r->found) {
		out_text("  Status: ❌ Not found (no tun_file or ring on this queue)\n");
		return;
	}
	out_uint("ring_size", "  Size: %llu\n", r->size);
	out_uint("producer", "  Producer: %llu\n", r->producer);
	out_uint("consumer_head", "  Consumer Head: %llu\n", r->consumer_head);
	out_uint("consumer_tail", "  Consumer Tail: %llu\n", r->consumer_tail);
	out_ptr("queue_producer_ptr", "  Queue[Producer] Ptr: %s\n", r->slot);
	if (r->full) {
		out_text("  Status: ⚠️ FULL (queue[producer] != NULL)\n");
		return;
	}
	out_uint("used_pct", "  Status: ✅ Available (queue[producer] == NULL), %llu%% used\n",
		 used_percent(r));
}

static void print_event(const struct trm_event *e, const struct totals *t)
{
	char when[32];

	runtime_format_ktime(e->ts_ns, when, sizeof(when));
	out_begin();
	out_str("type", NULL, "event");
	out_text(RULE "%s\n", e->ring.full ? "🚨 TUN RING FULL DETECTED! 🚨" : "📊 TUN Ring Status");
	out_str("event", NULL, e->ring.full ? "ring_full" : "status");
	out_bool("ring_full", e->ring.full);
	out_str("time", "Time: %s\n", when);
	out_uint("ts_ns", NULL, e->ts_ns);
	out_str("comm", "Process: %s ", e->comm);
	out_uint("pid", "(PID: %llu)\n", e->pid);
	out_uint("tid", NULL, e->tid);
	out_str("device", "Device: %s\n", e->dev);
	out_uint("netns", NULL, e->netns);
	out_uint("queue", "Queue: %llu\n", e->queue);
	out_ptr("skb", "SKB Address: %s\n\n", e->skb);
	if (t->opts.common.verbose)
		print_layout(e, &t->layout);
	print_tuple(&e->tuple);
	print_ring(&e->ring);
	out_text(RULE "\n");
	out_end();
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct totals *t = ctx;
	struct trm_event e;

	if (size < sizeof(e)) {
		t->short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	t->events++;
	t->full_events += e.ring.full;
	print_event(&e, t);
	return 0;
}

static void print_banner(const struct options *o)
{
	char ip[INET6_ADDRSTRLEN];
	const char *sep = "";

	if (out_is_json())
		return;
	if (o->device)
		printf("📡 Device filter: %s (using verified logic)\n", o->device);
	else
		printf("📡 Device filter: All TUN devices\n");
	printf("🔍 TUN Ring Monitor Started with BPF Maps Filters...\n");
	printf(o->all ? "📈 Mode: Monitoring ALL TUN transmit events\n"
		      : "⚠️ Mode: Monitoring ptr_ring FULL conditions only\n");
	if (o->src_arg || o->dst_arg || o->sport || o->dport || o->protocol) {
		printf("🔍 5-tuple filters: ");
		if (o->src_arg && inet_ntop(o->src.family, o->src.bytes, ip, sizeof(ip)))
			printf("%ssrc-ip=%s", sep, ip), sep = ", ";
		if (o->dst_arg && inet_ntop(o->dst.family, o->dst.bytes, ip, sizeof(ip)))
			printf("%sdst-ip=%s", sep, ip), sep = ", ";
		if (o->sport)
			printf("%ssrc-port=%u", sep, o->sport), sep = ", ";
		if (o->dport)
			printf("%sdst-port=%u", sep, o->dport), sep = ", ";
		if (o->protocol)
			printf("%sprotocol=%s", sep, protocol_name(o->protocol));
		printf("\n");
	}
	printf("\nWaiting for TUN device events... Press Ctrl+C to stop\n");
}

static void print_queue_row(const struct trm_queue_key *k, const struct trm_queue_stats *s)
{
	out_begin();
	out_str("type", NULL, "queue_summary");
	out_str("device", "  %-16s", k->dev);
	out_uint("netns", NULL, k->netns);
	out_uint("queue", " %5llu", k->queue);
	out_uint("packets", " %12llu", s->packets);
	out_uint("ring_full", " %12llu\n", s->ring_full);
	out_end();
}

static void print_summary(void *self, struct loader *l)
{
	const struct totals *t = self;
	int fd = loader__map_fd(l, "queue_stats");
	struct trm_queue_key key, next;
	struct trm_queue_stats st;
	void *prev = NULL;

	out_text("\n👋 Monitoring stopped.\n\nSummary (packets that passed the filters):\n");
	out_text("  %-16s %5s %12s %12s\n", "DEVICE", "QUEUE", "PACKETS", "RING_FULL");
	while (fd >= 0 && loader__map_next_key(fd, prev, &next) == 0) {
		if (loader__map_lookup(fd, &next, &st) == 0)
			print_queue_row(&next, &st);
		key = next;
		prev = &key;
	}
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("events", "Events reported: %llu", t->events);
	out_uint("ring_full_events", " (ring full: %llu)\n", t->full_events);
	out_uint("lost_events", "Lost events: %llu\n", loader__lost_events(l) + t->short_events);
	out_end();
}

static int attach(void *self, struct loader *l)
{
	if (loader__attach_tp(l, "net", "net_dev_start_xmit") ||
	    loader__open_ringbuf(l, "events", on_event, self) ||
	    loader__map_fd(l, "queue_stats") < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static void print_header(void *self) { print_banner(&((struct totals *)self)->opts); }

static const struct tool_ops ops = {
	.bpf_text = tun_ring_monitor_bpf_text,
	.tracing = "Tracing TUN/TAP transmit rings... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.print_summary = print_summary,
};

int main(int argc, char **argv)
{
	static struct totals t;

	log_set_tool("tun_ring_monitor");
	parse_options(argc, argv, &t.opts);
	t.opts.netns = check_device(&t.opts);
	return tool_run(&ops, &t, &t.opts.common);
}
