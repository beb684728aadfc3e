// linux_net_kernel's statistics: the BPF side's per-CPU counters and per-stage latency
// histograms, read into packets and p50/p99/max per stage; -s's progress line and the
// summary at exit (the seed's totals, the per-stage table, or one JSON object).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lnk_int.h"
#include "log.h"
#include "output.h"
#include "runtime.h"

/* Per stage, summed over CPUs at exit. */
struct stage_stats {
	uint64_t packets;
	uint64_t samples; /* latency samples: the segment was seen at an earlier stage */
	double p50_us, p99_us, max_us;
};

/* ---- reading the maps ---- */

/* Per slot [0, n) of a per-CPU u64 array, the sum over CPUs (or the largest
 * value, with take_max). 0 or -errno. */
static int read_percpu(int fd, uint32_t n, uint64_t *out, bool take_max)
{
	int err = 0;

	for (uint32_t k = 0; !err && k < n; k++)
		err = loader__percpu_u64(fd, k, take_max ? NULL : &out[k], take_max ? &out[k] : NULL);
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

/* One stage's packets and latency from its histogram and largest latency (ns). */
static struct stage_stats stage_stats_of(uint64_t packets, const uint64_t *hist, uint64_t max_ns)
{
	struct stage_stats st = { .packets = packets };

	for (unsigned b = 0; b < LNK_BUCKETS; b++)
		st.samples += hist[b];
	st.max_us = max_ns / 1e3;
	st.p50_us = percentile_us(hist, st.samples, 0.50, (double)max_ns);
	st.p99_us = percentile_us(hist, st.samples, 0.99, (double)max_ns);
	return st;
}

static int read_stats(const struct lnk *t, struct stage_stats *stats, uint64_t *counters)
{
	uint64_t *hist = calloc(LNK_LATENCY_SLOTS, sizeof(*hist)), maxes[LNK_STAGES];
	int err = hist ? 0 : -ENOMEM;

	if (!err)
		err = read_percpu(t->counters_fd, LNK_COUNTERS, counters, false);
	if (!err)
		err = read_percpu(t->latency_fd, LNK_LATENCY_SLOTS, hist, false);
	if (!err)
		err = read_percpu(t->latency_max_fd, LNK_STAGES, maxes, true);
	for (int s = 0; !err && s < LNK_STAGES; s++)
		stats[s] = stage_stats_of(counters[s], hist + (size_t)s * LNK_BUCKETS, maxes[s]);
	free(hist);
	return err;
}

/* Segments that matched the filters, over all stages. */
static uint64_t matched_total(const uint64_t *counters)
{
	uint64_t n = 0;

	for (int s = 0; s < LNK_STAGES; s++)
		n += counters[s];
	return n;
}

/* ---- -s progress ---- */

void lnk_print_progress(const struct lnk *t)
{
	uint64_t counters[LNK_COUNTERS];

	if (read_percpu(t->counters_fd, LNK_COUNTERS, counters, false) == 0)
		printf("Processed %llu events, %llu errors\r",
		       (unsigned long long)matched_total(counters),
		       (unsigned long long)t->short_events);
	fflush(stdout);
}

/* ---- the summary ---- */

static void print_stage_table(const struct lnk *t, const struct stage_stats *stats)
{
	printf("\n%-24s %-11s %10s %10s %10s %10s\n", "STAGE", "HOOK", "PACKETS", "P50_US",
	       "P99_US", "MAX_US");
	for (int s = 0; s < LNK_STAGES; s++) {
		const struct stage_stats *st = &stats[s];
		enum hook_kind hook = t->stage[s].hook;

		if (hook == HOOK_NOT_WANTED)
			continue;
		printf("%-24s %-11s", lnk_stage_name(s), lnk_hook_name(hook));
		if (hook == HOOK_UNAVAILABLE)
			printf(" %10s %10s %10s %10s\n", "-", "-", "-", "-");
		else if (!st->samples)
			printf(" %10llu %10s %10s %10s\n", (unsigned long long)st->packets, "-", "-", "-");
		else
			printf(" %10llu %10.1f %10.1f %10.1f\n", (unsigned long long)st->packets,
			       st->p50_us, st->p99_us, st->max_us);
	}
}

static void print_summary_text(const struct lnk *t, const struct stage_stats *stats,
			       const uint64_t *counters, uint64_t lost)
{
	uint64_t processed = t->opts.stats ? matched_total(counters) : t->events;

	if (bccnet_signal)
		printf("\nReceived signal %d, cleaning up...\n", (int)bccnet_signal);
	printf("\n\nMonitoring Statistics:\n");
	printf("Total events processed: %llu\n", (unsigned long long)processed);
	printf("Error count: %llu\n", (unsigned long long)t->short_events);
	printf("Events suppressed by rate limit: %llu\n",
	       (unsigned long long)counters[LNK_RATE_LIMITED]);
	printf("Events lost: %llu\n", (unsigned long long)lost);
	if (t->opts.stats)
		print_stage_table(t, stats);
	printf("\nDetaching probes...\nCleaning BPF resources...\nMonitoring stopped.\n");
}

/* A kprobe attaches to a function's out-of-line copy only: where the compiler
 * also inlined it into its caller (ip_rcv_finish into ip_rcv on Debian's 6.1),
 * the hot path never reaches the probe. Said when IPv4 segments reached the
 * next stage and none this one. */
static bool inlined_on_path(const struct lnk *t, const struct stage_stats *stats, int s)
{
	return s == LNK_IP_RCV_FINISH && t->stage[s].hook == HOOK_KPROBE && !stats[s].packets &&
	       t->stage[LNK_TCP_V4_DO_RCV].hook == HOOK_KPROBE && stats[LNK_TCP_V4_DO_RCV].packets;
}

static void print_stage_json(const struct lnk *t, const struct stage_stats *stats, int s)
{
	out_object_begin(lnk_stage_name(s));
	out_str("hook", NULL, lnk_hook_name(t->stage[s].hook));
	if (inlined_on_path(t, stats, s))
		out_bool("inlined", true);
	out_uint("packets", NULL, stats[s].packets);
	out_uint("latency_samples", NULL, stats[s].samples);
	out_double("p50_us", NULL, stats[s].p50_us);
	out_double("p99_us", NULL, stats[s].p99_us);
	out_double("max_us", NULL, stats[s].max_us);
	out_object_end();
}

static void print_summary_json(const struct lnk *t, const struct stage_stats *stats,
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
	for (int s = 0; s < LNK_STAGES; s++)
		if (lnk_stage_traced(&t->stage[s]))
			print_stage_json(t, stats, s);
	out_object_end();
	out_end();
}

static void warn_inlined(const struct lnk *t, const struct stage_stats *stats)
{
	if (inlined_on_path(t, stats, LNK_IP_RCV_FINISH))
		log_warn("ip_rcv_finish: no segment reached its kprobe while %llu reached tcp_v4_do_rcv: this kernel inlined it into ip_rcv (the probe sees only its out-of-line copy)",
			 (unsigned long long)stats[LNK_TCP_V4_DO_RCV].packets);
}

void lnk_print_summary(void *self, struct loader *l)
{
	struct lnk *t = self;
	struct stage_stats stats[LNK_STAGES];
	uint64_t counters[LNK_COUNTERS] = { 0 };
	uint64_t lost = loader__lost_events(l) + t->short_events;
	int err = read_stats(t, stats, counters);

	if (err) {
		log_error("read the BPF counters: %s", strerror(-err));
		memset(stats, 0, sizeof(stats));
	}
	warn_inlined(t, stats);
	if (out_is_json())
		print_summary_json(t, stats, counters, lost);
	else
		print_summary_text(t, stats, counters, lost);
	fflush(stdout);
}
