/* ccdiag: only the errors of clang's diagnostics, as libbcc lets clang print them
 * (texts as printed on Debian's 6.12 and 6.1 kernels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ccdiag.h"

static const char warnings_612[] =
	"In file included from <built-in>:4:\n"
	"In file included from include/linux/linkage.h:8:\n"
	"arch/x86/include/asm/ibt.h:77:8: warning: 'nocf_check' attribute ignored; use -fcf-protection to enable the attribute [-Wignored-attributes]\n"
	"extern __noendbr u64 ibt_save(bool disable);\n"
	"       ^\n"
	"arch/x86/include/asm/ibt.h:32:34: note: expanded from macro '__noendbr'\n"
	"#define __noendbr       __attribute__((nocf_check))\n"
	"                                       ^\n";

static const char error_61[] =
	"/virtual/main.c:237:12: error: no member named 'rx_sk' in 'struct tracepoint__skb__kfree_skb'\n"
	"        if (args->rx_sk)\n"
	"            ~~~~  ^\n"
	"/virtual/main.c:58:61: note: expanded from macro 'READ_AT'\n";

static int errors_of(const char *text, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int n = ccdiag_print_errors(text, f);

	fclose(f);
	return n;
}

static void warnings_only_print_nothing(void **state)
{
	char text[4096], *out;

	(void)state;
	snprintf(text, sizeof(text), "%s%s2 warnings generated.\n", warnings_612, warnings_612);
	assert_int_equal(0, errors_of(text, &out));
	assert_string_equal("", out);
	free(out);
}

static void errors_keep_their_lines_and_notes(void **state)
{
	char text[4096], expected[4096], *out;

	(void)state;
	snprintf(text, sizeof(text), "%s%s%s1 warning and 1 error generated.\n", warnings_612,
		 error_61, warnings_612);
	snprintf(expected, sizeof(expected), "%s1 warning and 1 error generated.\n", error_61);
	assert_int_equal(1, errors_of(text, &out));
	assert_string_equal(expected, out);
	free(out);
}

static void include_stack_of_an_error_is_kept(void **state)
{
	const char text[] = "In file included from /virtual/main.c:3:\n"
			    "bpf_src/x.h:1:1: fatal error: 'y.h' file not found\n"
			    "#include \"y.h\"\n";
	char *out;

	(void)state;
	assert_int_equal(1, errors_of(text, &out));
	assert_string_equal(text, out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(warnings_only_print_nothing),
		cmocka_unit_test(errors_keep_their_lines_and_notes),
		cmocka_unit_test(include_stack_of_an_error_is_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
