/*
 * A small metrics endpoint on libmicrohttpd, served from the library's own
 * thread (epoll), so slow or hostile clients never stall the caller: GET and
 * HEAD of /metrics (the render callback's text) and / (a link); other paths
 * 404, other methods 405. Connection limit and idle timeout bound what
 * clients can hold. Nothing here prints; errors come back in err.
 */
#ifndef BCCNET_HTTP_SERVER_H
#define BCCNET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define HTTP_MAX_CLIENTS 4000 /* concurrent connections; more are refused */
#define HTTP_TIMEOUT_S 10     /* an idle or unfinished request is closed after this */

/* Returns the body (malloc'd, taken over by the server), or NULL (500). Runs in
 * the server's thread. */
typedef char *(*http_render_fn)(void *ctx, size_t *len);

struct http_server;

struct http_server *http_server_start(const struct ip_addr *addr, uint16_t port,
				      http_render_fn render, void *ctx, char *err, size_t errlen);
void http_server_stop(struct http_server *s);

#endif
