// tcp-insight: 15 TCP event types (connection life, data, congestion control), every
// filter applied in the kernel, per-event rows or JSON, and statistics at exit (-T).
// Its parts are in tools/tcp-insight/: options.c, kernel.c, events.c, stats.c.
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "sockbytes.h"
#include "tcp-insight/tcp_insight_int.h"
#include "tool.h"

extern const char tcp_insight_bpf_text[];

static int build_cflags(void *self, struct cflags *cf, struct btf_query *btf)
{
	struct tcp_insight *t = self;
	char err[256];

	if (loader__ensure_tracefs(err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (tcpi_check_hooks(t, cf, btf))
		return -1;
	t->use_sock_tp = sockbytes_tracepoints_exist();
	cflags_sockbytes(cf, t->use_sock_tp, false);
	cflags_add(cf, "-DHAVE_SYS_EXIT_ACCEPT=%d",
		   loader__tracepoint_exists("syscalls", "sys_exit_accept"));
	tcpi_add_filters(cf, &t->opts, t->mask);
	tcpi_add_offsets(cf, btf);
	tcpi_load_reset_reasons(t, btf);
	return 0;
}

/* The events take their bytes from the socket byte counters (sock_bytes.bpf.h). */
static bool need_bytes_hooks(const struct tcp_insight *t)
{
	const struct tcpi_options *o = &t->opts;

	return (t->mask & (TCPI_SEND | TCPI_RECEIVE)) || o->bytes.set_min || o->bytes.set_max ||
	       o->stats;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct tcp_insight *t = ctx;
	struct tcpi_event e;

	if (size < sizeof(e)) {
		t->stats.short_events++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	e.who.comm[TCPI_COMM_LEN - 1] = '\0';
	if (tcpi_type_index(e.type) < 0) {
		t->stats.short_events++;
		return 0;
	}
	tcpi_print_event(t, &e);
	tcpi_count_event(t, &e);
	return 0;
}

static int attach(void *self, struct loader *l)
{
	struct tcp_insight *t = self;

	if (tcpi_stats_start(t))
		return -1;
	t->counters_fd = loader__map_fd(l, "tcpi_counters");
	if (t->counters_fd < 0 || loader__open_ringbuf(l, "events", on_event, t)) {
		log_error("%s", loader__error(l));
		return -1;
	}
	if (tcpi_attach_hooks(t, l))
		return -1;
	if (need_bytes_hooks(t) && sockbytes_attach(l, t->use_sock_tp, false))
		return -1;
	return 0;
}

static void print_header(void *self)
{
	const struct tcp_insight *t = self;

	if (out_is_json())
		return;
	if (t->opts.common.verbose)
		tcpi_print_filters(&t->opts);
	tcpi_print_columns(t->opts.timestamp);
	if (t->opts.common.verbose)
		printf("TCP Insight started. Press Ctrl-C to exit.\n\n");
	fflush(stdout);
}

static void release(void *self)
{
	struct tcp_insight *t = self;

	tcpi_free_reset_reasons(t);
	tcpi_stats_free(t);
}

static const struct tool_ops ops = {
	.bpf_text = tcp_insight_bpf_text,
	.tracing = "Tracing TCP events... Hit Ctrl-C to end.",
	.build_cflags = build_cflags,
	.attach = attach,
	.print_header = print_header,
	.print_summary = tcpi_print_summary,
	.release = release,
};

int main(int argc, char **argv)
{
	static struct tcp_insight t;

	log_set_tool("tcp-insight");
	tcpi_parse_options(argc, argv, &t.opts);
	t.mask = t.opts.mask ? t.opts.mask : TCPI_ALL;
	t.counters_fd = -1;
	return tool_run(&ops, &t, &t.opts.common);
}
