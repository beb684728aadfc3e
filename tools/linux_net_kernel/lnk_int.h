/* linux_net_kernel: the state the frontend's files share (tools/linux_net_kernel*.c). */
#ifndef LNK_INT_H
#define LNK_INT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "btf_query.h"
#include "cli.h"
#include "linux_net_kernel.h"
#include "loader.h"

#define LNK_MAX_REASONS 1024 /* drop reasons named; larger values print as codes */
#define LNK_REASON_LEN 48

struct lnk_options {
	struct common_opts common;
	struct ip_addr ip;
	bool have_ip;
	uint16_t port; /* 0: any */
	bool stats, debug, tx;
	unsigned long long rate_limit;
};

enum hook_kind { HOOK_NOT_WANTED, HOOK_UNAVAILABLE, HOOK_TP, HOOK_KPROBE };

/* How this run serves one stage. */
struct stage_state {
	enum hook_kind hook;
	char why[64];     /* unavailable: the short reason */
	char detail[256]; /* the hook, or why not (-v) */
};

struct lnk {
	struct lnk_options opts;
	struct stage_state stage[LNK_STAGES];
	/* drop reason names without the SKB_DROP_REASON_ prefix, by value ("": unnamed) */
	char reasons[LNK_MAX_REASONS][LNK_REASON_LEN];
	uint64_t events, short_events;
	int counters_fd, latency_fd, latency_max_fd;
};

/* linux_net_kernel/stages.c: the stage table, the hook that serves each stage on this
 * kernel, and the report of which stages are traced. */
const char *lnk_stage_name(unsigned stage); /* "?" out of range */
const char *lnk_hook_name(enum hook_kind hook);
/* A tracepoint or kprobe serves the stage. */
bool lnk_stage_traced(const struct stage_state *st);
/* Per stage: not wanted (a --tx stage without --tx), its tracepoint, its kprobe, or
 * unavailable and why. */
void lnk_choose_hooks(struct lnk *t, struct btf_query *btf);
/* Attaches every stage that has a hook; a failure marks the stage unavailable.
 * Returns how many stages were attached. */
int lnk_attach_stages(struct lnk *t, struct loader *l);
/* stderr: one line naming the traced stages and the unavailable ones grouped by
 * reason; with -v one more line per stage. */
void lnk_print_stage_availability(const struct lnk *t);
/* --json: the start object with every wanted stage's hook. */
void lnk_print_stages_json(const struct lnk *t);

/* linux_net_kernel/events.c: one segment at one stage, as the seed's table row or a
 * JSON object. */
/* The names of enum skb_drop_reason from BTF (none on kernels without it: codes only). */
void lnk_load_drop_reasons(struct lnk *t, struct btf_query *btf);
void lnk_print_table_header(void);
/* The ring buffer's callback (ctx: struct lnk). */
int lnk_on_event(void *ctx, void *data, size_t size);

/* linux_net_kernel/stats.c: the BPF side's per-stage counters and latency histograms. */
/* -s: the seed's "Processed N events" line, rewritten in place. */
void lnk_print_progress(const struct lnk *t);
/* At exit: the totals, with -s the per-stage table (tool_ops.print_summary). */
void lnk_print_summary(void *self, struct loader *l);

#endif
