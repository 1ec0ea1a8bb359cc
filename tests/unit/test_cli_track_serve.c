// SPDX-License-Identifier: GPL-2.0
/*
 * What a user sees on a bad command line for track and serve: exit status 2 and exactly one
 * line on stderr naming the option and the value, said once (not by both library and command).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/cli.h"

/* Runs argv and checks: status 2, one stderr line with "invalid OPT 'VALUE'". */
static void assert_rejected(const char *const *argv, const char *opt, const char *value)
{
	struct cli_result r;
	char want[256];

	snprintf(want, sizeof(want), "invalid %s '%s'", opt, value);
	assert_int_equal(cli_run(argv, &r), 0);
	if (r.status != 2 || r.err_lines != 1 || !strstr(r.err, want))
		fail_msg("%s %s: status %d, %d stderr lines, want one with \"%s\":\n%s", argv[0],
			 opt, r.status, r.err_lines, want, r.err);
}

#define TRACK(...)                                                     \
	(const char *const[])                                          \
	{                                                              \
		"track", "--device", "0000:00:02.0", __VA_ARGS__, NULL \
	}
#define SERVE(...)                                        \
	(const char *const[])                             \
	{                                                 \
		"serve", "--no-tracer", __VA_ARGS__, NULL \
	}
#define SERVE_TRACK(...)                                                                          \
	(const char *const[])                                                                     \
	{                                                                                         \
		"serve", "--no-tracer", "--track", "--", "--device", "0000:00:02.0", __VA_ARGS__, \
			NULL                                                                      \
	}

static void test_track_interval_zero_is_rejected(void **state)
{
	assert_rejected(TRACK("--interval", "0"), "--interval", "0");
}

static void test_track_count_too_large_is_rejected(void **state)
{
	assert_rejected(TRACK("--count", "99999999999999999999"), "--count",
			"99999999999999999999");
}

static void test_track_count_negative_is_rejected(void **state)
{
	assert_rejected(TRACK("--count", "-1"), "--count", "-1");
}

static void test_track_count_zero_is_rejected(void **state)
{
	assert_rejected(TRACK("--count", "0"), "--count", "0");
}

static void test_track_duration_not_a_duration_is_rejected(void **state)
{
	assert_rejected(TRACK("--duration", "x"), "--duration", "x");
}

static void test_track_layout_without_address_is_rejected(void **state)
{
	assert_rejected(TRACK("--layout", "3G@"), "--layout", "3G@");
}

static void test_track_workload_bad_iova_is_rejected(void **state)
{
	assert_rejected(TRACK("--workload", "edu:zz"), "--workload", "edu:zz");
}

static void test_track_workload_length_past_edu_buffer_is_rejected(void **state)
{
	assert_rejected(TRACK("--workload", "edu:0x1000+4096"), "--workload", "edu:0x1000+4096");
}

static void test_track_workload_above_4gib_is_rejected(void **state)
{
	assert_rejected(TRACK("--workload", "edu:0x100000000"), "--workload", "edu:0x100000000");
}

static void test_track_method_unknown_is_rejected(void **state)
{
	assert_rejected(TRACK("--method", "magic"), "--method", "magic");
}

static void test_track_ranges_unknown_is_rejected(void **state)
{
	assert_rejected(TRACK("--ranges", "some"), "--ranges", "some");
}

static void test_track_backend_unknown_is_rejected(void **state)
{
	assert_rejected(TRACK("--backend", "type2"), "--backend", "type2");
}

static void test_track_fault_malformed_is_rejected(void **state)
{
	assert_rejected(TRACK("--inject-fault", "dev_start"), "--inject-fault", "dev_start");
}

static void test_track_unknown_option_is_one_line(void **state)
{
	assert_rejected(TRACK("--bogus"), "option", "--bogus");
}

static void test_serve_max_conns_not_a_number_is_rejected(void **state)
{
	assert_rejected(SERVE("--max-conns", "abc"), "--max-conns", "abc");
}

static void test_serve_http_timeout_negative_is_rejected(void **state)
{
	assert_rejected(SERVE("--http-timeout", "-1"), "--http-timeout", "-1");
}

static void test_serve_simulate_not_a_number_is_rejected(void **state)
{
	assert_rejected(SERVE("--simulate", "x"), "--simulate", "x");
}

static void test_serve_simulate_interval_too_small_is_rejected(void **state)
{
	assert_rejected(SERVE("--simulate", "1", "--simulate-interval", "5"), "--simulate-interval",
			"5");
}

static void test_serve_duration_not_a_duration_is_rejected(void **state)
{
	assert_rejected(SERVE("--duration", "soon"), "--duration", "soon");
}

static void test_serve_keep_caps_unknown_is_rejected(void **state)
{
	assert_rejected(SERVE("--keep-caps", "cap_magic"), "--keep-caps", "cap_magic");
}

static void test_serve_tracer_mode_unknown_is_rejected(void **state)
{
	assert_rejected(SERVE("--tracer-mode", "uprobe"), "--tracer-mode", "uprobe");
}

static void test_serve_track_options_are_checked_before_setup(void **state)
{
	assert_rejected(SERVE_TRACK("--count", "-1"), "--count", "-1");
	assert_rejected(SERVE_TRACK("--workload", "edu:zz"), "--workload", "edu:zz");
	assert_rejected(SERVE_TRACK("--interval", "0"), "--interval", "0");
}

static void test_serve_ringbuf_size_not_a_power_of_two_is_rejected(void **state)
{
	assert_rejected(SERVE("--ringbuf-size", "5000"), "--ringbuf-size", "5000");
}

static void test_serve_max_mappings_zero_is_rejected(void **state)
{
	assert_rejected(SERVE("--max-mappings", "0"), "--max-mappings", "0");
}

static void test_serve_argument_without_track_is_rejected(void **state)
{
	assert_rejected(SERVE("stray"), "argument", "stray");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_track_interval_zero_is_rejected),
		cmocka_unit_test(test_track_count_too_large_is_rejected),
		cmocka_unit_test(test_track_count_negative_is_rejected),
		cmocka_unit_test(test_track_count_zero_is_rejected),
		cmocka_unit_test(test_track_duration_not_a_duration_is_rejected),
		cmocka_unit_test(test_track_layout_without_address_is_rejected),
		cmocka_unit_test(test_track_workload_bad_iova_is_rejected),
		cmocka_unit_test(test_track_workload_length_past_edu_buffer_is_rejected),
		cmocka_unit_test(test_track_workload_above_4gib_is_rejected),
		cmocka_unit_test(test_track_method_unknown_is_rejected),
		cmocka_unit_test(test_track_ranges_unknown_is_rejected),
		cmocka_unit_test(test_track_backend_unknown_is_rejected),
		cmocka_unit_test(test_track_fault_malformed_is_rejected),
		cmocka_unit_test(test_track_unknown_option_is_one_line),
		cmocka_unit_test(test_serve_max_conns_not_a_number_is_rejected),
		cmocka_unit_test(test_serve_http_timeout_negative_is_rejected),
		cmocka_unit_test(test_serve_simulate_not_a_number_is_rejected),
		cmocka_unit_test(test_serve_simulate_interval_too_small_is_rejected),
		cmocka_unit_test(test_serve_duration_not_a_duration_is_rejected),
		cmocka_unit_test(test_serve_keep_caps_unknown_is_rejected),
		cmocka_unit_test(test_serve_tracer_mode_unknown_is_rejected),
		cmocka_unit_test(test_serve_track_options_are_checked_before_setup),
		cmocka_unit_test(test_serve_argument_without_track_is_rejected),
		cmocka_unit_test(test_serve_ringbuf_size_not_a_power_of_two_is_rejected),
		cmocka_unit_test(test_serve_max_mappings_zero_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
