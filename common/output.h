/*
 * One call prints a text column or a JSON field (iproute2's print_* idea), so
 * the text row and the JSON object cannot drift apart. A NULL key means
 * "text only", a NULL fmt means "JSON only". Rows go to stdout, which carries
 * only data; each row is flushed.
 */
#ifndef BCCNET_OUTPUT_H
#define BCCNET_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

void out_set_json(bool json);
bool out_is_json(void);

/* While on, out_end() leaves rows in the buffer; turning it off flushes
 * them: one write per batch of events instead of one per event. */
void out_batch(bool on);
void out_begin(void);
void out_end(void);
void out_str(const char *key, const char *fmt, const char *value);
void out_uint(const char *key, const char *fmt, unsigned long long value);
void out_int(const char *key, const char *fmt, long long value);
/* JSON: the shortest text that reads back as the same double (0.1, not 0.10000000000000001). */
void out_double(const char *key, const char *fmt, double value);
/* A kernel address: "0x..." text, a "0x..." JSON string (JSON numbers lose 64-bit precision). */
void out_ptr(const char *key, const char *fmt, unsigned long long value);
void out_bool(const char *key, bool value);
/* A value that does not apply: fmt with "-" in text, null in JSON. */
void out_null(const char *key, const char *fmt);
/* Nested JSON (no-ops in text mode): an object or array under key (NULL: an array element);
 * every begin has its end. */
void out_object_begin(const char *key);
void out_object_end(void);
void out_array_begin(const char *key);
void out_array_end(void);
/* Text-only output (labels, separators); nothing in JSON mode. */
void out_text(const char *fmt, ...) BCCNET_PRINTF(1, 2);

/* JSON string escaping; returns the length needed (excluding NUL), like snprintf. */
size_t json_escape(const char *in, char *out, size_t outlen);

#endif
