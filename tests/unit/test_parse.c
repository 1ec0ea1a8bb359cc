// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/common/parse.h"

static void test_parse_u64_accepts_decimal_and_hex(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("42", 0, 100, &v, NULL), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0x1f", 0, 100, &v, NULL), 0);
	assert_int_equal(v, 31);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v, NULL), 0);
	assert_true(v == UINT64_MAX);
}

static void test_parse_u64_refuses_what_strtoull_takes(void **state)
{
	static const char *const bad[] = { "", "abc", "12x", " 1", "1 ", "+1", "0x", "1.5" };
	const char *why = NULL;
	uint64_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_u64(bad[i], 0, UINT64_MAX, &v, &why), -EINVAL);
		assert_non_null(why);
	}
	assert_int_equal(parse_u64("-1", 0, UINT64_MAX, &v, &why), -ERANGE);
	assert_string_equal(why, "negative");
	assert_int_equal(v, 7); /* untouched on failure */
}

static void test_parse_u64_refuses_overflow_and_bounds(void **state)
{
	const char *why;
	uint64_t v;

	assert_int_equal(parse_u64("99999999999999999999", 0, UINT64_MAX, &v, &why), -ERANGE);
	assert_string_equal(why, "too large");
	assert_int_equal(parse_u64("0", 1, 10, &v, &why), -ERANGE);
	assert_string_equal(why, "must be at least 1");
	assert_int_equal(parse_u64("11", 1, 10, &v, &why), -ERANGE);
}

static void test_parse_int_bounds(void **state)
{
	const char *why;
	int v;

	assert_int_equal(parse_int("2147483647", 0, 2147483647, &v, NULL), 0);
	assert_int_equal(v, 2147483647);
	assert_int_equal(parse_int("2147483648", 0, 2147483647, &v, &why), -ERANGE);
	assert_int_equal(parse_int("-1", 1, 100, &v, &why), -ERANGE);
	assert_string_equal(why, "negative");
}

static void test_parse_duration_units(void **state)
{
	uint64_t ns;

	assert_int_equal(parse_duration_ns("2", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 2000000000ULL);
	assert_int_equal(parse_duration_ns("1.5s", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 1500000000ULL);
	assert_int_equal(parse_duration_ns("500ms", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 500000000ULL);
	assert_int_equal(parse_duration_ns("100us", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 100000ULL);
	assert_int_equal(parse_duration_ns("7ns", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 7);
	assert_int_equal(parse_duration_ns("2m", 1000000000ULL, 0, UINT64_MAX, &ns, NULL), 0);
	assert_true(ns == 120000000000ULL);
	assert_int_equal(parse_duration_ns("0.000000001", 1000000000ULL, 0, UINT64_MAX, &ns, NULL),
			 0);
	assert_true(ns == 1);
}

static void test_parse_duration_refuses_bad_text(void **state)
{
	static const char *const bad[] = { "",	   "x",	  "1x",	 "1.",	".5", "1 s",
					   "0x10", "inf", "nan", "1e3", "s" };
	const char *why;
	uint64_t ns;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_duration_ns(bad[i], 1000000000ULL, 0, UINT64_MAX, &ns, &why),
				 -EINVAL);
	assert_int_equal(parse_duration_ns("-1", 1000000000ULL, 0, UINT64_MAX, &ns, &why), -ERANGE);
	assert_int_equal(parse_duration_ns("0", 1000000000ULL, 1, UINT64_MAX, &ns, &why), -ERANGE);
	assert_string_equal(why, "must be more than zero");
	assert_int_equal(parse_duration_ns("99999999999999999999", 1000000000ULL, 0, UINT64_MAX,
					   &ns, &why),
			 -ERANGE);
	assert_int_equal(parse_duration_ns("600000000000s", 1000000000ULL, 0, UINT64_MAX, &ns,
					   &why),
			 -ERANGE); /* 6e11 s overflows 64-bit nanoseconds */
}

static void test_parse_size_suffixes(void **state)
{
	const char *end, *why;
	uint64_t v;

	assert_int_equal(parse_size("4K", &v, NULL), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("3g", &v, NULL), 0);
	assert_true(v == 3ULL << 30);
	assert_int_equal(parse_size("0x1000", &v, NULL), 0);
	assert_true(v == 4096);
	assert_int_equal(parse_size("1T", &v, NULL), 0);
	assert_true(v == 1ULL << 40);
	assert_int_equal(parse_size("16777216T", &v, &why), -ERANGE);
	assert_int_equal(parse_size("3G@", &v, &why), -EINVAL);
	assert_int_equal(parse_size_prefix("3G@4G", &end, &v, NULL), 0);
	assert_string_equal(end, "@4G");
	assert_int_equal(parse_size_prefix("", &end, &v, &why), -EINVAL);
	assert_int_equal(parse_size_prefix("-4K", &end, &v, &why), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64_accepts_decimal_and_hex),
		cmocka_unit_test(test_parse_u64_refuses_what_strtoull_takes),
		cmocka_unit_test(test_parse_u64_refuses_overflow_and_bounds),
		cmocka_unit_test(test_parse_int_bounds),
		cmocka_unit_test(test_parse_duration_units),
		cmocka_unit_test(test_parse_duration_refuses_bad_text),
		cmocka_unit_test(test_parse_size_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
