#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool json_mode;
static bool first_field;
static bool batching;

void out_set_json(bool json)
{
	static char buf[1 << 16];

	json_mode = json;
	/* Rows are flushed by out_end() or at the end of a batch, not per line. */
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
}

void out_batch(bool on)
{
	batching = on;
	if (!on)
		fflush(stdout);
}

bool out_is_json(void) { return json_mode; }

void out_begin(void)
{
	first_field = true;
	if (json_mode)
		fputc('{', stdout);
}

void out_end(void)
{
	if (json_mode)
		fputs("}\n", stdout);
	if (!batching)
		fflush(stdout);
}

static void json_key(const char *key)
{
	char buf[128];

	json_escape(key, buf, sizeof(buf));
	printf("%s\"%s\":", first_field ? "" : ",", buf);
	first_field = false;
}

size_t json_escape(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		char tmp[8];
		const char *piece = tmp;

		if (*p >= 0x20 && *p != 0x7f && *p != '"' && *p != '\\') {
			/* the usual byte, copied as is: no printf per character (JSON output speed) */
			if (n + 1 < outlen)
				out[n] = (char)*p;
			n++;
			continue;
		}
		if (*p == '"' || *p == '\\')
			snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p == '\n')
			piece = "\\n";
		else if (*p == '\t')
			piece = "\\t";
		else
			snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
		for (const char *c = piece; *c; c++, n++)
			if (n + 1 < outlen)
				out[n] = *c;
	}
	if (outlen)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

void out_str(const char *key, const char *fmt, const char *value)
{
	if (!json_mode) {
		if (fmt)
			printf(fmt, value);
		return;
	}
	if (!key)
		return;
	size_t need = json_escape(value, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf)
		return;
	json_escape(value, buf, need + 1);
	json_key(key);
	printf("\"%s\"", buf);
	free(buf);
}

void out_uint(const char *key, const char *fmt, unsigned long long value)
{
	if (!json_mode) {
		if (fmt)
			printf(fmt, value);
	} else if (key) {
		json_key(key);
		printf("%llu", value);
	}
}

void out_int(const char *key, const char *fmt, long long value)
{
	if (!json_mode) {
		if (fmt)
			printf(fmt, value);
	} else if (key) {
		json_key(key);
		printf("%lld", value);
	}
}

void out_double(const char *key, const char *fmt, double value)
{
	if (!json_mode) {
		if (fmt)
			printf(fmt, value);
	} else if (key) {
		char buf[32];

		json_key(key);
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, value);
			if (strtod(buf, NULL) == value)
				break;
		}
		fputs(buf, stdout);
	}
}

void out_ptr(const char *key, const char *fmt, unsigned long long value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", value);
	out_str(key, fmt, buf);
}

void out_bool(const char *key, bool value)
{
	if (json_mode && key) {
		json_key(key);
		fputs(value ? "true" : "false", stdout);
	}
}

/* An array element gets only the separator; a field gets its key. */
static void json_open(const char *key, char bracket)
{
	if (!json_mode)
		return;
	if (key)
		json_key(key);
	else if (!first_field)
		fputc(',', stdout);
	fputc(bracket, stdout);
	first_field = true;
}

static void json_close(char bracket)
{
	if (!json_mode)
		return;
	fputc(bracket, stdout);
	first_field = false;
}

void out_object_begin(const char *key) { json_open(key, '{'); }
void out_object_end(void) { json_close('}'); }
void out_array_begin(const char *key) { json_open(key, '['); }
void out_array_end(void) { json_close(']'); }

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void out_null(const char *key, const char *fmt)
{
	if (!json_mode) {
		if (fmt)
			printf(fmt, "-");
	} else if (key) {
		json_key(key);
		fputs("null", stdout);
	}
}
