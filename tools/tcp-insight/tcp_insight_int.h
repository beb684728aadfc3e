/* tcp-insight: the state the frontend's files share (tools/tcp-insight.c, tools/tcp-insight/). */
#ifndef TCP_INSIGHT_INT_H
#define TCP_INSIGHT_INT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "btf_query.h"
#include "cflags.h"
#include "cli.h"
#include "loader.h"
#include "tcp-insight.h"

#define TCPI_RESET_REASONS 64 /* enum sk_rst_reason values named (RESET details) */
#define TCPI_MAX_HOOKS 16     /* room for kernel.c's tracepoint list */

/* --min-X / --max-X of one quantity. */
struct tcpi_range {
	bool set_min, set_max;
	unsigned long long min, max;
};

struct tcpi_options {
	struct common_opts common;
	uint32_t pid;
	const char *comm;
	const char *saddr_arg, *daddr_arg; /* as given, for -v */
	struct ip_addr saddr, daddr;
	uint16_t sport, dport;
	unsigned mask; /* 0: all */
	struct tcpi_range duration_ms, bytes, rtt_us;
	unsigned state;
	bool timestamp, stats;
};

/* Running sum, count, minimum and maximum of a quantity. */
struct tcpi_samples {
	uint64_t sum, n, min, max;
};

struct tcpi_conn_stat; /* stats.c */

/* Sums of the events printed (-T, and the exit summary). */
struct tcpi_stats {
	uint64_t events, by_type[TCPI_NTYPES], short_events;
	uint64_t tx_bytes, rx_bytes, retrans_segs, retrans_bytes;
	struct tcpi_samples rtt_us, cwnd;
	uint64_t conns_dropped; /* connections the -T table had no room for */
	struct tcpi_conn_stat *conns; /* -T: the per-connection table (stats.c) */
};

struct tcp_insight {
	struct tcpi_options opts;
	unsigned mask; /* effective: opts.mask or all */
	bool use_sock_tp;
	bool hook_present[TCPI_MAX_HOOKS]; /* kernel.c's tracepoints this kernel has */
	char *reset_reasons[TCPI_RESET_REASONS]; /* enum sk_rst_reason names from BTF */
	int counters_fd;
	struct tcpi_stats stats;
};

/* options.c: the command line, validated (bad input: one line, exit 2); the same options as
 * -D filter numbers for the BPF program, and as the -v "Filter rules configured" block. */
void tcpi_parse_options(int argc, char **argv, struct tcpi_options *o);
void tcpi_add_filters(struct cflags *cf, const struct tcpi_options *o, unsigned mask);
void tcpi_print_filters(const struct tcpi_options *o);

/* kernel.c: what the program needs from the running kernel. Which tracepoints it has, with
 * their argument variants as -D flags (0, or -1 after log_error() when one that socket
 * tracking needs is missing); struct offsets and enum values from BTF; attaching. */
int tcpi_check_hooks(struct tcp_insight *t, struct cflags *cf, struct btf_query *btf);
void tcpi_add_offsets(struct cflags *cf, struct btf_query *btf);
void tcpi_load_reset_reasons(struct tcp_insight *t, struct btf_query *btf);
void tcpi_free_reset_reasons(struct tcp_insight *t);
/* The tracepoints of the selected events (a missing one is reported); 0 or -1. */
int tcpi_attach_hooks(const struct tcp_insight *t, struct loader *l);

/* events.c: one event as a console row or a JSON object, from the same calls. */
extern const char *const tcpi_event_names[TCPI_NTYPES];
/* The index of a TCPI_* bit in tcpi_event_names, or -1. */
int tcpi_type_index(uint32_t type);
void tcpi_print_columns(bool timestamp);
void tcpi_print_event(const struct tcp_insight *t, const struct tcpi_event *e);

/* stats.c: -T statistics and the exit summary (a tool_ops print_summary). */
int tcpi_stats_start(struct tcp_insight *t); /* 0, or -1 after log_error() */
void tcpi_stats_free(struct tcp_insight *t);
void tcpi_count_event(struct tcp_insight *t, const struct tcpi_event *e);
void tcpi_print_summary(void *self, struct loader *l);

#endif
