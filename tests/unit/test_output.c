/* JSON escaping and the text/JSON output calls of common/output.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

static void test_escape(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(json_escape("plain", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "plain");
	json_escape("a\"b\\c", buf, sizeof(buf));
	assert_string_equal(buf, "a\\\"b\\\\c");
	json_escape("l1\nl2\tx\x01\x1f\x7f", buf, sizeof(buf));
	assert_string_equal(buf, "l1\\nl2\\tx\\u0001\\u001f\\u007f");
	json_escape("caf\xc3\xa9", buf, sizeof(buf)); /* UTF-8 passes through */
	assert_string_equal(buf, "caf\xc3\xa9");
}

static void test_escape_truncates_safely(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(json_escape("\"\"\"", buf, sizeof(buf)), 6); /* needed length */
	assert_int_equal(strlen(buf), 3);
	assert_int_equal(json_escape("abc", NULL, 0), 3);
}

/* Runs the same calls in one mode and returns what they printed. */
static char *capture(bool json)
{
	static char out[512];
	FILE *f = tmpfile();
	int saved = dup(STDOUT_FILENO);

	fflush(stdout);
	dup2(fileno(f), STDOUT_FILENO);
	out_set_json(json);
	out_begin();
	out_str("comm", "%-6s|", "a\"b");
	out_uint("pid", "%5llu|", 42);
	out_int(NULL, "%lld|", -1);
	out_double("bps", "%.1f\n", 0.5);
	out_ptr("skb", NULL, 0xffff8881);
	out_bool("full", true);
	out_text("text only\n");
	out_end();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void test_text_and_json_from_same_calls(void **state)
{
	(void)state;
	assert_string_equal(capture(false), "a\"b   |   42|-1|0.5\ntext only\n");
	assert_string_equal(capture(true),
			    "{\"comm\":\"a\\\"b\",\"pid\":42,\"bps\":0.5,\"skb\":\"0xffff8881\",\"full\":true}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncates_safely),
		cmocka_unit_test(test_text_and_json_from_same_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
