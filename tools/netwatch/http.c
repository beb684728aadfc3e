// netwatch -i: HTTP/1.x request and status lines in what applications read and write.
// The BPF side sends the first NW_HTTP_CAP bytes of every read/write on a tracked
// connection. A message starts with a method and a space, or with "HTTP/1.";
// anything else is body (however large) and is skipped. A line cut short by the end of
// a read/write is kept per connection and direction and completed by the next ones.
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "netwatch_int.h"

const char *const nw_http_methods[NW_HTTP_METHODS] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

static int method_index(const char *s, size_t n)
{
	for (int i = 0; i < NW_HTTP_METHODS; i++) {
		size_t m = strlen(nw_http_methods[i]);

		if (n > m && memcmp(s, nw_http_methods[i], m) == 0 && s[m] == ' ')
			return i;
	}
	return -1;
}

/* A status line's code ("HTTP/1.1 200 OK"), or -1 when it is not one. */
static int status_code(const char *s, size_t n)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

static bool starts_message(const char *s, size_t n)
{
	if (n >= 7 && memcmp(s, "HTTP/1.", 7) == 0)
		return true;
	for (int i = 0; i < NW_HTTP_METHODS; i++) {
		size_t m = strlen(nw_http_methods[i]);

		if (memcmp(s, nw_http_methods[i], n < m ? n : m) == 0)
			return true; /* a prefix of a method: maybe the first piece of a line */
	}
	return false;
}

static struct nw_http_partial *find_partial(struct nw_http_stats *h, uint64_t sk, uint8_t rx)
{
	for (int i = 0; i < NW_HTTP_PARTIALS; i++)
		if (h->partial[i].sk == sk && h->partial[i].rx == rx)
			return &h->partial[i];
	return NULL;
}

static void keep_partial(struct nw_http_stats *h, const struct nw_data_event *d, const char *s,
			 size_t n)
{
	struct nw_http_partial *p = &h->partial[h->next_partial++ % NW_HTTP_PARTIALS];

	p->sk = d->sk;
	p->rx = d->rx;
	p->len = (uint16_t)n;
	memcpy(p->text, s, n);
}

/* Counts a complete line (text up to CR/LF) if it is a request or status line. */
static bool count_line(struct nw_http_stats *h, uint8_t role, const char *s, size_t n)
{
	int m = method_index(s, n), code = status_code(s, n);

	if (m >= 0 && n > 9 && memmem(s, n, " HTTP/1.", 8)) {
		h->requests[role][m]++;
		return true;
	}
	if (code >= 100 && code < 600) {
		h->responses[role][code]++;
		return true;
	}
	return false;
}

bool nw_http_line(struct netwatch *nw, const struct nw_data_event *d, uint8_t role, char *line,
		  size_t len)
{
	struct nw_http_stats *h = &nw->http;
	struct nw_http_partial *p = find_partial(h, d->sk, d->rx);
	char buf[2 * NW_HTTP_CAP];
	size_t n = 0, cut;
	const char *eol;

	if (p) { /* the rest of a line begun earlier */
		memcpy(buf, p->text, p->len);
		n = p->len;
		p->sk = 0;
	}
	if (d->len > NW_HTTP_CAP || (!n && !starts_message(d->data, d->len)))
		return false;
	memcpy(buf + n, d->data, d->len);
	n += d->len;
	eol = memchr(buf, '\r', n);
	if (!eol)
		eol = memchr(buf, '\n', n);
	if (!eol) {
		if (d->total <= d->len && n < NW_HTTP_CAP)
			keep_partial(h, d, buf, n); /* the whole call seen: the line continues */
		return false;
	}
	cut = (size_t)(eol - buf);
	if (role > NW_ROLE_SERVER || !count_line(h, role, buf, cut))
		return false;
	snprintf(line, len, "%.*s", (int)cut, buf);
	nw->http_lines++;
	return true;
}
