// nic_throughput: packets, bytes and average size per TX and RX queue of one NIC, every interval.
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "netdev.h"
#include "nic_throughput.h"
#include "output.h"
#include "pyfmt.h"
#include "runtime.h"
#include "tool.h"

extern const char nic_throughput_bpf_text[];

#define RULE "------------------------------------------------------------\n"
#define NDIR 2 /* TX, RX */

struct options {
	struct common_opts common;
	const char *name;
	double interval_s;
};

struct device {
	char name[IF_NAMESIZE];
	unsigned ifindex;
	unsigned nqueues[NDIR]; /* real_num_tx_queues, real_num_rx_queues */
	const char *netns_path; /* --netns: the namespace file; NULL: ours */
	uint32_t netns;         /* the device's network namespace inode */
};

/* The raw tracepoints and the arguments (TP_PROTO) the BPF program reads. */
static const struct hook {
	const char *tp;
	const char *args;
	bool optional; /* newer than the oldest kernels we run on */
} hooks[] = {
	{ "net_dev_start_xmit", "sk_buff *,net_device *", false },
	{ "net_dev_xmit", "sk_buff *,int,net_device *,unsigned int", false },
	{ "netif_receive_skb_entry", "sk_buff *", false },
	{ "netif_receive_skb_list_entry", "sk_buff *", true },
	{ "napi_gro_receive_entry", "sk_buff *", false },
	{ "napi_gro_frags_entry", "sk_buff *", true },
	{ "netif_rx_entry", "sk_buff *", false },
};
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

/* Counters summed over CPUs; the kernel never resets them, we report differences. */
struct snapshot {
	struct nt_counts q[NDIR][NT_QUEUE_SLOTS];
	uint64_t ns;
};

struct meter {
	int fd[NDIR];
	int ncpus;
	__u32 *keys;
	struct nt_counts *percpu; /* one batch read: NT_QUEUE_SLOTS x ncpus */
	struct snapshot *prev, *cur;
	struct nt_counts run[NDIR]; /* totals over the whole run */
	unsigned long long intervals;
};

struct nic_throughput {
	struct options opts;
	struct device dev;
	bool present[NHOOKS]; /* which hooks this kernel has */
	struct meter meter;
	char tracing[96];
};

static const char *const dir_key[NDIR] = { "tx", "rx" };
static const char *const dir_total_key[NDIR] = { "tx_total", "rx_total" };
static const char *const dir_label[NDIR] = { "TX", "RX" };

static const char usage[] =
	"Usage: nic_throughput -n NAME [OPTIONS]\n"
	"Packets, bytes, average size, bytes/s and packets/s per TX and RX queue of a network\n"
	"interface, every interval.\n\n"
	"  -n, --name NAME        the network interface (required)\n"
	"  -i, --interval SECS    print period in seconds (default 1)\n" CLI_COMMON_HELP
	"\nEXAMPLES:\n"
	"  nic_throughput -n eth0                  # eth0, every second\n"
	"  nic_throughput -n eth0 -i 5             # every 5 seconds\n"
	"  nic_throughput -n eth0 --json --duration 60   # one JSON object per second for a minute\n"
	"  nic_throughput -n eth0 --netns web      # eth0 of namespace /run/netns/web\n";

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		CLI_COMMON_LONG_OPTS,
		{ 0 },
	};
	int c;

	o->interval_s = 1;
	while ((c = getopt_long(argc, argv, "n:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->name = cli_ifname("--name", optarg); break;
		case 'i': o->interval_s = cli_seconds("--interval", optarg, 0.001, 86400); break;
		default:
			if (!cli_common_option(c, optarg, &o->common, usage))
				cli_bad_option();
		}
	}
	cli_no_extra_args(argc, argv);
	if (!o->name)
		usage_error("missing --name: give the network interface to watch, e.g. -n eth0");
}

/* Name, ifindex and queues of the device (by ifindex once known) in its namespace. */
static int lookup_device(struct device *d)
{
	struct netdev_info info = { .ifindex = d->ifindex };
	int rc;

	snprintf(info.name, sizeof(info.name), "%s", d->name);
	rc = netdev_lookup(d->netns_path, &info);
	if (rc)
		return rc;
	snprintf(d->name, sizeof(d->name), "%s", info.name);
	d->ifindex = info.ifindex;
	/* neither sysfs nor ethtool knows: show queue 0, Total has all */
	d->nqueues[0] = info.tx ? info.tx : 1;
	d->nqueues[1] = info.rx ? info.rx : 1;
	return 0;
}

static void resolve_device(const struct options *o, struct device *d)
{
	int rc;

	snprintf(d->name, sizeof(d->name), "%s", o->name);
	d->netns_path = o->common.netns_ino ? o->common.netns_path : NULL;
	d->netns = o->common.netns_ino ? o->common.netns_ino : netns_inode_self();
	rc = lookup_device(d);
	if (rc == -ENODEV && !d->netns_path)
		usage_error("invalid --name '%s': no such network interface in this network namespace (see: ip link)",
			    o->name);
	if (rc == -ENODEV)
		usage_error("invalid --name '%s': no such network interface in network namespace %s (see: ip -n NS link)",
			    o->name, d->netns_path);
	if (rc) {
		log_error("looking up %s in network namespace %s: %s", o->name,
			  d->netns_path ? d->netns_path : "(ours)", strerror(-rc));
		exit(1);
	}
}

/* The raw tracepoint arguments must be what the program reads; BTF says what they are. */
static int check_hooks(struct btf_query *btf, bool present[NHOOKS])
{
	struct utsname u;
	char args[256];

	uname(&u);
	for (size_t i = 0; i < NHOOKS; i++) {
		int err = btf_query_tp_args(btf, hooks[i].tp, args, sizeof(args));

		present[i] = err == 0;
		if (err == -ENOENT && hooks[i].optional)
			continue;
		if (err) {
			log_error("tracepoint net:%s is not in this kernel's BTF (kernel %s)", hooks[i].tp,
				  u.release);
			return -1;
		}
		if (strcmp(args, hooks[i].args)) {
			log_error("tracepoint net:%s passes (%s) on kernel %s; expected (%s)",
				  hooks[i].tp, args, u.release, hooks[i].args);
			return -1;
		}
	}
	return 0;
}

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct nic_throughput *t = self;

	if (check_hooks(btf, t->present))
		return -1;
	cflags_add(cf, "-DFILTER_IFINDEX=%u", t->dev.ifindex);
	cflags_add(cf, "-DFILTER_NETNS=%u", t->dev.netns);
	cflags_offset(cf, btf, "OFF_SKB_DEV", "sk_buff", "dev");
	cflags_offset(cf, btf, "OFF_SKB_LEN", "sk_buff", "len");
	cflags_offset(cf, btf, "OFF_SKB_QUEUE_MAPPING", "sk_buff", "queue_mapping");
	cflags_offset(cf, btf, "OFF_SKB_MAC_HEADER", "sk_buff", "mac_header");
	cflags_offset(cf, btf, "OFF_SKB_HEAD", "sk_buff", "head");
	cflags_offset(cf, btf, "OFF_SKB_DATA", "sk_buff", "data");
	cflags_offset(cf, btf, "OFF_DEV_IFINDEX", "net_device", "ifindex");
	cflags_offset(cf, btf, "OFF_DEV_ND_NET", "net_device", "nd_net.net");
	cflags_offset(cf, btf, "OFF_NET_NS_INUM", "net", "ns.inum");
	return 0;
}

static int meter_init(struct meter *m, struct loader *l)
{
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0) {
		log_error("cannot read the number of possible CPUs: %s", strerror(-m->ncpus));
		return -1;
	}
	m->keys = calloc(NT_QUEUE_SLOTS, sizeof(*m->keys));
	m->percpu = calloc((size_t)NT_QUEUE_SLOTS * m->ncpus, sizeof(*m->percpu));
	m->prev = calloc(1, sizeof(*m->prev));
	m->cur = calloc(1, sizeof(*m->cur));
	if (!m->keys || !m->percpu || !m->prev || !m->cur) {
		log_error("out of memory");
		return -1;
	}
	m->fd[0] = loader__map_fd(l, "tx_queues");
	m->fd[1] = loader__map_fd(l, "rx_queues");
	if (m->fd[0] < 0 || m->fd[1] < 0) {
		log_error("%s", loader__error(l));
		return -1;
	}
	return 0;
}

static void meter_free(struct meter *m)
{
	free(m->keys);
	free(m->percpu);
	free(m->prev);
	free(m->cur);
}

/* One map into sums per queue: a batch read, or key by key where batches are unsupported. */
static int read_direction(struct meter *m, int dir, struct nt_counts *sums)
{
	__u32 count = NT_QUEUE_SLOTS;

	if (loader__map_lookup_batch(m->fd[dir], m->keys, m->percpu, &count) || count != NT_QUEUE_SLOTS) {
		for (__u32 k = 0; k < NT_QUEUE_SLOTS; k++) {
			int err = loader__map_lookup(m->fd[dir], &k, m->percpu + (size_t)k * m->ncpus);

			if (err)
				return err;
		}
	}
	memset(sums, 0, sizeof(struct nt_counts) * NT_QUEUE_SLOTS);
	for (size_t k = 0; k < NT_QUEUE_SLOTS; k++) {
		for (int cpu = 0; cpu < m->ncpus; cpu++) {
			const struct nt_counts *v = &m->percpu[k * m->ncpus + cpu];

			sums[k].packets += v->packets;
			sums[k].bytes += v->bytes;
			sums[k].dropped += v->dropped;
		}
	}
	return 0;
}

static int take_snapshot(struct meter *m, struct snapshot *s)
{
	s->ns = runtime_mono_ns();
	for (int dir = 0; dir < NDIR; dir++) {
		int err = read_direction(m, dir, s->q[dir]);

		if (err) {
			log_error("read BPF map %s_queues: %s", dir_key[dir], strerror(-err));
			return -1;
		}
	}
	return 0;
}

static struct nt_counts delta(const struct nt_counts *now, const struct nt_counts *before)
{
	return (struct nt_counts){
		.packets = now->packets - before->packets,
		.bytes = now->bytes - before->bytes,
		.dropped = now->dropped - before->dropped,
	};
}

/* avg_size, BPS, PPS as text and JSON; the text as the original's to_str() printed it. */
static void print_values(int dir, const struct nt_counts *c, double secs)
{
	double avg = c->packets ? (double)c->bytes / c->packets : 0;
	double bps = c->bytes / secs, pps = c->packets / secs;
	char text[3][48];

	pyfmt_scaled(avg, c->packets == 0, text[0], sizeof(text[0]));
	pyfmt_scaled(bps, false, text[1], sizeof(text[1]));
	pyfmt_scaled(pps, false, text[2], sizeof(text[2]));
	out_text("%-11s%-11s%-11s\n", text[0], text[1], text[2]);
	out_uint("packets", NULL, c->packets);
	out_uint("bytes", NULL, c->bytes);
	if (dir == 0)
		out_uint("dropped", NULL, c->dropped);
	out_double("avg_size_bytes", NULL, avg);
	out_double("bytes_per_s", NULL, bps);
	out_double("packets_per_s", NULL, pps);
}

/* Queue ids from NT_MAX_QUEUES up share one row, "1024+" (JSON: queue 1024). */
static void print_queue(int dir, unsigned q, const struct nt_counts *c, double secs)
{
	out_object_begin(NULL);
	if (q < NT_MAX_QUEUES) {
		out_uint("queue", " %-11llu", q);
	} else {
		out_uint("queue", NULL, q);
		out_text(" %-11s", "1024+");
	}
	print_values(dir, c, secs);
	out_object_end();
}

static bool has_traffic(const struct nt_counts *c) { return c->packets || c->dropped; }

/* "TX"/"RX", the header, a row per queue of the device (and any other queue id that saw
 * traffic), and the Total of every queue id. */
static void print_direction(struct meter *m, int dir, unsigned nqueues, double secs)
{
	struct nt_counts total = { 0 };

	out_text("%s\n %-11s%-11s%-11s%-11s\n", dir_label[dir], "QueueID", "avg_size", "BPS", "PPS");
	out_array_begin(dir_key[dir]);
	for (unsigned q = 0; q < NT_QUEUE_SLOTS; q++) {
		struct nt_counts c = delta(&m->cur->q[dir][q], &m->prev->q[dir][q]);

		if (q < nqueues || has_traffic(&c))
			print_queue(dir, q, &c, secs);
		total.packets += c.packets;
		total.bytes += c.bytes;
		total.dropped += c.dropped;
	}
	out_array_end();
	out_object_begin(dir_total_key[dir]);
	out_text(" Total      ");
	print_values(dir, &total, secs);
	out_object_end();
	m->run[dir].packets += total.packets;
	m->run[dir].bytes += total.bytes;
	m->run[dir].dropped += total.dropped;
}

/* time.asctime(time.localtime()): "Sat Jul 23 21:50:51 2022", day of month space-padded. */
static void format_asctime(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
}

/* One block (one JSON object): what the counters gained since the last report. */
static void report(struct meter *m, const struct device *d, double secs)
{
	char when[64];

	format_asctime(when, sizeof(when));
	out_begin();
	out_str("type", NULL, "interval");
	out_str("time", "%s\n", when);
	out_double("interval_s", NULL, secs);
	out_str("device", NULL, d->name);
	out_uint("ifindex", NULL, d->ifindex);
	out_uint("netns", NULL, d->netns);
	print_direction(m, 0, d->nqueues[0], secs);
	out_text("\n");
	print_direction(m, 1, d->nqueues[1], secs);
	out_text(RULE);
	out_end();
	m->intervals++;
}

static bool counts_changed(const struct meter *m)
{
	return memcmp(m->cur->q, m->prev->q, sizeof(m->cur->q)) != 0;
}

/* Follows a rename and queue changes; false once the device is gone (a look-up that
 * fails otherwise, e.g. interrupted, keeps what we knew). */
static bool device_still_there(struct device *d) { return lookup_device(d) != -ENODEV; }

static void print_summary(void *self, struct loader *l)
{
	struct meter *m = &((struct nic_throughput *)self)->meter;
	uint64_t missed = loader__prog_misses(l);

	if (missed && !out_is_json())
		log_warn("%llu packet(s) not counted: the kernel skipped the BPF program while it was already running on that CPU",
			 (unsigned long long)missed);
	out_begin();
	out_str("type", NULL, "summary");
	out_uint("intervals", NULL, m->intervals);
	out_uint("tx_packets", NULL, m->run[0].packets);
	out_uint("tx_bytes", NULL, m->run[0].bytes);
	out_uint("tx_dropped", NULL, m->run[0].dropped);
	out_uint("rx_packets", NULL, m->run[1].packets);
	out_uint("rx_bytes", NULL, m->run[1].bytes);
	out_uint("missed_events", NULL, missed);
	out_end();
}

static void swap_snapshots(struct meter *m)
{
	struct snapshot *t = m->prev;

	m->prev = m->cur;
	m->cur = t;
}

/* A snapshot this late (1% of the interval, at least 5 ms) ends its interval itself. */
static uint64_t late_ns(uint64_t step)
{
	return step / 100 > 5000000ull ? step / 100 : 5000000ull;
}

/* Sleeps until the absolute CLOCK_MONOTONIC time (at most 100 ms: signals are seen). */
static void sleep_until(uint64_t when_ns)
{
	uint64_t cap = runtime_mono_ns() + 100000000ull;
	struct timespec ts;

	if (when_ns > cap)
		when_ns = cap;
	ts.tv_sec = (time_t)(when_ns / 1000000000ull);
	ts.tv_nsec = (long)(when_ns % 1000000000ull);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: a signal */
}

/*
 * Reports at fixed deadlines (start + k * interval, so no drift) until a signal or
 * --duration, then the last, partial interval. Rates are over the scheduled interval: the
 * snapshot is taken within microseconds of its deadline (else over the real one).
 */
static int measure(void *self, struct loader *l, const struct common_opts *c)
{
	struct nic_throughput *t = self;
	struct meter *m = &t->meter;
	struct device *d = &t->dev;
	uint64_t step = (uint64_t)(t->opts.interval_s * 1e9), mark = m->prev->ns, next = mark + step;
	uint64_t stop = c->duration_s > 0 ? mark + (uint64_t)(c->duration_s * 1e9) : UINT64_MAX;
	uint64_t end;

	(void)l;
	for (;;) {
		sleep_until(next < stop ? next : stop);
		if (runtime_mono_ns() >= next) {
			if (take_snapshot(m, m->cur))
				return -1;
			/* Late (stopped, overloaded): the interval ends when the snapshot was taken. */
			end = m->cur->ns - next < late_ns(step) ? next : m->cur->ns;
			report(m, d, (double)(end - mark) / 1e9);
			swap_snapshots(m);
			mark = end;
			next += step;
			if (next <= mark) /* no burst of reports after falling behind */
				next = mark + step;
			if (!device_still_there(d)) {
				log_error("device %s (ifindex %u) is gone", d->name, d->ifindex);
				return -1;
			}
		}
		if (bccnet_exiting || runtime_mono_ns() >= stop)
			break;
	}
	if (take_snapshot(m, m->cur))
		return -1;
	/* A real partial interval, or packets after the last deadline (--duration ended on it). */
	if (counts_changed(m) || m->cur->ns - mark >= late_ns(step))
		report(m, d, (double)(m->cur->ns - mark) / 1e9);
	return 0;
}

static int attach_hooks(struct loader *l, const bool present[NHOOKS])
{
	for (size_t i = 0; i < NHOOKS; i++) {
		if (!present[i])
			continue;
		if (loader__attach_raw_tp(l, hooks[i].tp)) {
			log_error("%s", loader__error(l));
			return -1;
		}
	}
	return 0;
}

static int attach(void *self, struct loader *l)
{
	struct nic_throughput *t = self;

	if (attach_hooks(l, t->present) || meter_init(&t->meter, l))
		return -1;
	return take_snapshot(&t->meter, t->meter.prev);
}

static const char *tracing_line(void *self)
{
	struct nic_throughput *t = self;

	snprintf(t->tracing, sizeof(t->tracing), "Tracing TX/RX queues of %s... Hit Ctrl-C to end.",
		 t->dev.name);
	return t->tracing;
}

static void release(void *self) { meter_free(&((struct nic_throughput *)self)->meter); }

static const struct tool_ops ops = {
	.bpf_text = nic_throughput_bpf_text,
	.tracing_line = tracing_line,
	.build_cflags = build_cflags,
	.attach = attach,
	.stream = measure,
	.print_summary = print_summary,
	.release = release,
};

int main(int argc, char **argv)
{
	static struct nic_throughput t;

	log_set_tool("nic_throughput");
	parse_options(argc, argv, &t.opts);
	resolve_device(&t.opts, &t.dev);
	return tool_run(&ops, &t, &t.opts.common);
}
