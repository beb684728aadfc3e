/* pyfmt against values printed by CPython 3.11 (the seed's to_str and str(round(x, 2))). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pyfmt.h"

static const struct {
	double x;
	bool is_int;
	const char *python;
} cases[] = {
	{ 0.0, true, "0" },
	{ 0.0, false, "0.0" },
	{ 384.0, false, "384.0" },
	{ 6.0, false, "6.0" },
	{ 64.0, false, "64.0" },
	{ 50.0, false, "50.0" },
	{ 1000.0, false, "1000.0" },
	{ 1000.5, false, "0.98K" },
	{ 1024.0, false, "1.0K" },
	{ 1000000.0, false, "976.56K" },
	{ 1000001.0, false, "0.95M" },
	{ 1048576.0, false, "1.0M" },
	{ 0.125, false, "0.12" },
	{ 0.375, false, "0.38" },
	{ 2.675, false, "2.67" },
	{ 1.005, false, "1.0" },
	{ 999.995, false, "1000.0" },
	{ 1234.5678, false, "1.21K" },
	{ 123456789.0, false, "117.74M" },
	{ 106.0, false, "106.0" },
	{ 98.33333333333333, false, "98.33" },
	{ 0.005, false, "0.01" },
	{ 1049600.0, false, "1.0M" },
	{ 5000000000000.0, false, "4768371.58M" },
	{ 695425564.0, false, "663.21M" },
	{ 349.84367985399064, false, "349.84" },
	{ 423938499.0, false, "404.3M" },
	{ 621.1052574517804, false, "621.11" },
	{ 777778680.0, false, "741.75M" },
	{ 90.31661381215534, false, "90.32" },
	{ 1010713640.0, false, "963.89M" },
	{ 263.58214435667475, false, "263.58" },
	{ 622758690.0, false, "593.91M" },
	{ 65.2859426728756, false, "65.29" },
	{ 230530419.0, false, "219.85M" },
	{ 5863.22852128796, false, "5.73K" },
	{ 465623510.0, false, "444.05M" },
	{ 1061.8891139055752, false, "1.04K" },
	{ 2584099290.0, false, "2464.39M" },
	{ 2716.6729289318755, false, "2.65K" },
	{ 4558240090.0, false, "4347.08M" },
	{ 7354.135216675809, false, "7.18K" },
	{ 265862672.0, false, "253.55M" },
	{ 133.8045444571272, false, "133.8" },
	{ 6771294220.0, false, "6457.61M" },
	{ 1029.209714977079, false, "1.01K" },
	{ 664238680.0, false, "633.47M" },
	{ 109.7666611031882, false, "109.77" },
};

static void scaled_matches_python(void **state)
{
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pyfmt_scaled(cases[i].x, cases[i].is_int, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].python);
	}
}

static void round2_keeps_one_decimal(void **state)
{
	char buf[64];

	(void)state;
	pyfmt_round2(7.0, buf, sizeof(buf));
	assert_string_equal(buf, "7.0");
	pyfmt_round2(0.1 + 0.2, buf, sizeof(buf));
	assert_string_equal(buf, "0.3");
	pyfmt_round2(12.5, buf, sizeof(buf));
	assert_string_equal(buf, "12.5");
}

static void small_buffer_is_terminated(void **state)
{
	char buf[4];

	(void)state;
	pyfmt_scaled(123456789.0, false, buf, sizeof(buf));
	assert_int_equal(buf[3], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scaled_matches_python),
		cmocka_unit_test(round2_keeps_one_decimal),
		cmocka_unit_test(small_buffer_is_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
