/*
 * Prometheus text exposition format 0.0.4: a growable buffer, families with
 * # HELP and # TYPE, samples with escaped label values. Nothing here prints.
 */
#ifndef BCCNET_METRICS_H
#define BCCNET_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct mbuf {
	char *p;
	size_t len, cap;
	bool failed; /* out of memory: the text is incomplete */
};

struct metrics_label {
	const char *name;
	const char *value;
};

void mbuf_printf(struct mbuf *b, const char *fmt, ...) BCCNET_PRINTF(2, 3);
/* Hands the text over (the caller frees it); the buffer is empty again. NULL if it failed. */
char *mbuf_take(struct mbuf *b, size_t *len);
void mbuf_free(struct mbuf *b);

/* type: "counter", "gauge" or "histogram". */
void metrics_family(struct mbuf *b, const char *name, const char *type, const char *help);
void metrics_u64(struct mbuf *b, const char *name, const struct metrics_label *labels, size_t n,
		 uint64_t value);
void metrics_double(struct mbuf *b, const char *name, const struct metrics_label *labels,
		    size_t n, double value);

/* A histogram's samples: counts[i] observations <= bounds[i] (not cumulative),
 * counts[nbounds] above the last bound; sum of all observations. */
struct metrics_histogram {
	const double *bounds;
	size_t nbounds;
	const uint64_t *counts;
	double sum;
};
void metrics_histogram(struct mbuf *b, const char *name, const struct metrics_label *labels,
		       size_t n, const struct metrics_histogram *h);

#endif
