// SPDX-License-Identifier: GPL-2.0
/*
 * What a user sees on a bad command line of `migrations` and `record`: one line on stderr
 * naming the option and the value, exit status 2, before anything is loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../lib/cli.h"

static void expect_usage_error(const char *const *argv, const char *line)
{
	struct cli_result r;

	assert_int_equal(cli_run(argv, &r), 0);
	assert_string_equal(r.err, line);
	assert_int_equal(r.err_lines, 1);
	assert_int_equal(r.status, 2);
}

#define EXPECT(line, ...) expect_usage_error((const char *const[]){ __VA_ARGS__, NULL }, line "\n")

static void test_migrations_count_zero(void **state)
{
	EXPECT("vfioscope migrations: invalid --count '0': must be at least 1", "migrations",
	       "--count", "0");
}

static void test_migrations_duration_not_a_duration(void **state)
{
	EXPECT("vfioscope migrations: invalid --duration 'abc': not a duration", "migrations",
	       "--duration", "abc");
}

static void test_migrations_unknown_mode(void **state)
{
	EXPECT("vfioscope migrations: invalid --mode 'foo': not one of fentry, kprobe, tp_btf, "
	       "raw_tp",
	       "migrations", "--mode", "foo");
}

static void test_migrations_stray_argument(void **state)
{
	EXPECT("vfioscope migrations: unexpected argument 'extra'", "migrations", "extra");
}

static void test_record_needs_an_output_file(void **state)
{
	EXPECT("vfioscope record: no output file given (-o FILE)", "record");
}

static void test_record_output_needs_a_value(void **state)
{
	EXPECT("vfioscope record: option '-o' needs a value", "record", "-o");
}

static void test_record_count_negative(void **state)
{
	EXPECT("vfioscope record: invalid --count '-1': negative", "record", "-o", "x", "--count",
	       "-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrations_count_zero),
		cmocka_unit_test(test_migrations_duration_not_a_duration),
		cmocka_unit_test(test_migrations_unknown_mode),
		cmocka_unit_test(test_migrations_stray_argument),
		cmocka_unit_test(test_record_needs_an_output_file),
		cmocka_unit_test(test_record_output_needs_a_value),
		cmocka_unit_test(test_record_count_negative),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
