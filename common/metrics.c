#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool mbuf_reserve(struct mbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!mbuf_reserve(b, 64))
		return;
	va_start(ap, fmt); /* first straight into the free space; most lines fit */
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!mbuf_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *mbuf_take(struct mbuf *b, size_t *len)
{
	char *p = b->failed ? NULL : b->p;

	if (!p && !b->failed && mbuf_reserve(b, 0))
		p = b->p;
	if (!p) {
		mbuf_free(b);
		return NULL;
	}
	p[b->len] = '\0';
	*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

void mbuf_free(struct mbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void metrics_family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
	if (!mbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Label values escape backslash, double quote and newline. */
static void put_label_value(struct mbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			mbuf_put(b, "\\", 1);
		mbuf_put(b, *v == '\n' ? "n" : v, 1);
	}
}

static void put_labels(struct mbuf *b, const struct metrics_label *labels, size_t n,
		       const char *le)
{
	if (!n && !le)
		return;
	mbuf_printf(b, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			mbuf_put(b, ",", 1);
		mbuf_put(b, labels[i].name, strlen(labels[i].name));
		mbuf_put(b, "=\"", 2);
		put_label_value(b, labels[i].value);
		mbuf_put(b, "\"", 1);
	}
	if (le)
		mbuf_printf(b, "%sle=\"%s\"", n ? "," : "", le);
	mbuf_printf(b, "}");
}

void metrics_u64(struct mbuf *b, const char *name, const struct metrics_label *labels, size_t n,
		 uint64_t value)
{
	mbuf_printf(b, "%s", name);
	put_labels(b, labels, n, NULL);
	mbuf_printf(b, " %llu\n", (unsigned long long)value);
}

void metrics_double(struct mbuf *b, const char *name, const struct metrics_label *labels,
		    size_t n, double value)
{
	mbuf_printf(b, "%s", name);
	put_labels(b, labels, n, NULL);
	mbuf_printf(b, " %.17g\n", value);
}

void metrics_histogram(struct mbuf *b, const char *name, const struct metrics_label *labels,
		       size_t n, const struct metrics_histogram *h)
{
	uint64_t cumulative = 0;
	char le[32];

	for (size_t i = 0; i <= h->nbounds; i++) {
		cumulative += h->counts[i];
		if (i < h->nbounds)
			snprintf(le, sizeof(le), "%g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		mbuf_printf(b, "%s_bucket", name);
		put_labels(b, labels, n, le);
		mbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
	}
	mbuf_printf(b, "%s_sum", name);
	put_labels(b, labels, n, NULL);
	mbuf_printf(b, " %.17g\n%s_count", h->sum, name);
	put_labels(b, labels, n, NULL);
	mbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
}
