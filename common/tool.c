#include "tool.h"

#include <stdio.h>

#include "kallsyms.h"
#include "log.h"
#include "output.h"
#include "runtime.h"

static int make_cflags(const struct tool_ops *ops, void *self, struct cflags *cf)
{
	char err[256];
	struct btf_query *btf = btf_query_open(NULL, err, sizeof(err));
	int rc;

	if (!btf) {
		log_error("%s", err);
		return -1;
	}
	rc = ops->build_cflags(self, cf, btf);
	btf_query_free(btf);
	if (rc == 0 && cf->failed) {
		log_error("kernel layout: %s", cf->err);
		rc = -1;
	}
	return rc;
}

static int trace(const struct tool_ops *ops, void *self, struct loader *l,
		 const struct common_opts *c)
{
	int rc = ops->attach(self, l);

	if (rc)
		return rc == TOOL_DONE ? 0 : 1;
	loader__drop_compiler(l);
	if (ops->print_header)
		ops->print_header(self);
	fprintf(stderr, "%s\n", ops->tracing_line ? ops->tracing_line(self) : ops->tracing);
	if (ops->stream)
		rc = ops->stream(self, l, c) ? 1 : 0;
	else
		loader__stream(l, c->duration_s);
	if (ops->print_summary)
		ops->print_summary(self, l);
	return rc;
}

static int load_and_trace(const struct tool_ops *ops, void *self, const struct cflags *cf,
			  const struct common_opts *c)
{
	char err[512];
	struct loader *l;
	int rc;

	runtime_install_signals();
	loader__set_verbose(c->verbose);
	loader__set_cache(!c->no_cache);
	l = loader__open(ops->bpf_text, cf->argv, cf->n, err, sizeof(err));
	if (!l) {
		log_error("%s", err);
		return 1;
	}
	rc = trace(ops, self, l, c);
	loader__free(l);
	if (ops->release)
		ops->release(self);
	return rc;
}

int tool_run(const struct tool_ops *ops, void *self, const struct common_opts *c)
{
	struct cflags cf = { 0 };
	int rc = 1;

	out_set_json(c->json);
	kallsyms_use_bpf(!c->print_bpf);
	if (make_cflags(ops, self, &cf))
		goto out_free_cflags;
	if (c->print_bpf) {
		cflags_print_program(&cf, ops->bpf_text);
		rc = 0;
		goto out_free_cflags;
	}
	rc = load_and_trace(ops, self, &cf, c);
out_free_cflags:
	cflags_free(&cf);
	return rc;
}
