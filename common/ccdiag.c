#include "ccdiag.h"

#include <stdbool.h>
#include <string.h>

enum line_kind { LINE_INCLUDE, LINE_ERROR, LINE_WARNING, LINE_NOTE, LINE_TOTAL, LINE_OTHER };

static bool contains(const char *line, size_t len, const char *s)
{
	return memmem(line, len, s, strlen(s)) != NULL;
}

/* "a.h:77:8: warning: ...", "<built-in>:4:10: error: ..." or "error: ..." at the start. */
static bool has_severity(const char *line, size_t len, const char *word)
{
	char tag[32];
	size_t n = strlen(word);

	snprintf(tag, sizeof(tag), ": %s: ", word);
	return contains(line, len, tag) || (len > n && strncmp(line, word, n) == 0 && line[n] == ':');
}

static enum line_kind classify(const char *line, size_t len)
{
	static const char total[] = " generated.";
	size_t tn = sizeof(total) - 1;

	if (strncmp(line, "In file included from ", 22) == 0)
		return LINE_INCLUDE;
	if (len >= tn && strncmp(line + len - tn, total, tn) == 0)
		return LINE_TOTAL;
	if (has_severity(line, len, "error") || has_severity(line, len, "fatal error"))
		return LINE_ERROR;
	if (has_severity(line, len, "warning"))
		return LINE_WARNING;
	if (has_severity(line, len, "note"))
		return LINE_NOTE;
	return LINE_OTHER;
}

int ccdiag_print_errors(const char *text, FILE *out)
{
	const char *pending = NULL; /* start of a run of "In file included from" lines */
	bool keep = false;
	int errors = 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *next = nl ? nl + 1 : line + len;
		enum line_kind kind = classify(line, len);

		if (kind == LINE_INCLUDE) {
			pending = pending ? pending : line;
		} else {
			const char *from = pending ? pending : line;

			if (kind == LINE_ERROR || kind == LINE_WARNING)
				keep = kind == LINE_ERROR;
			if (kind == LINE_TOTAL)
				keep = contains(line, len, "error");
			errors += kind == LINE_ERROR;
			if (keep)
				fwrite(from, 1, (size_t)(next - from), out);
			pending = NULL;
		}
		line = next;
	}
	return errors;
}
