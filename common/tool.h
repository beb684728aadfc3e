/*
 * The shape every tool shares, in one place: options parsed by the tool, then
 * cflags → --print-bpf or compile → attach → header → "Tracing" → stream →
 * summary → teardown. A tool states only what is its own, through tool_ops.
 */
#ifndef BCCNET_TOOL_H
#define BCCNET_TOOL_H

#include "btf_query.h"
#include "cflags.h"
#include "cli.h"
#include "loader.h"

/* attach() result: the tool's work is done (e.g. a load-only check); exit 0, no stream. */
#define TOOL_DONE 1

struct tool_ops {
	const char *bpf_text;
	/* The line printed on stderr once attached; tests and scripts wait for it.
	 * tracing_line, when set, makes it from the tool's state instead. */
	const char *tracing;
	const char *(*tracing_line)(void *self);
	/* -D cflags: filters and BTF offsets; 0, or -1 after log_error(). */
	int (*build_cflags)(void *self, struct cflags *cf, struct btf_query *btf);
	/* After load: filter maps, probes, ring buffers; 0, TOOL_DONE or -1 after log_error(). */
	int (*attach)(void *self, struct loader *l);
	void (*print_header)(void *self);                                        /* optional */
	/* Optional own loop (interval tools); 0 or -1. Default: loader__stream(). */
	int (*stream)(void *self, struct loader *l, const struct common_opts *c);
	void (*print_summary)(void *self, struct loader *l); /* optional */
	void (*release)(void *self); /* optional: frees what attach() allocated; always called */
};

/* Runs a tool whose options are parsed; returns its exit status. */
int tool_run(const struct tool_ops *ops, void *self, const struct common_opts *c);

#endif
