#include "pyfmt.h"

#include <stdio.h>
#include <string.h>

void pyfmt_round2(double x, char *buf, size_t len)
{
	char *end;

	/*
	 * printf rounds the exact binary value, ties to even, as CPython's round() does; a
	 * decimal of at most 15 significant digits is also the shortest text of the double it
	 * rounds to, which is what str() prints. Only the trailing zeros go.
	 */
	snprintf(buf, len, "%.2f", x);
	end = buf + strlen(buf);
	if (!strchr(buf, '.'))
		return;
	while (end > buf + 1 && end[-1] == '0' && end[-2] != '.')
		*--end = '\0';
}

void pyfmt_scaled(double x, bool is_int, char *buf, size_t len)
{
	const char *unit = "";

	if (x > 1000000) {
		x /= 1048576.0;
		unit = "M";
	} else if (x > 1000) {
		x /= 1024.0;
		unit = "K";
	} else if (is_int) {
		snprintf(buf, len, "%.0f", x);
		return;
	}
	pyfmt_round2(x, buf, len);
	if (strlen(buf) + strlen(unit) < len)
		strcat(buf, unit);
}
