// SPDX-License-Identifier: GPL-2.0
/*
 * What a user sees on a bad command line of `trace`, `state` and the top level: exactly one
 * line on stderr, naming the option and the value, and exit status 2. Every case is refused
 * before anything is loaded, so these run unprivileged and without VFIO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../lib/cli.h"

/* Runs vfioscope with @argv and checks the one line it prints: it must be @line exactly. */
static void expect_usage_error(const char *const *argv, const char *line)
{
	struct cli_result r;

	assert_int_equal(cli_run(argv, &r), 0);
	assert_string_equal(r.err, line);
	assert_int_equal(r.err_lines, 1);
	assert_int_equal(r.status, 2);
}

#define EXPECT(line, ...) expect_usage_error((const char *const[]){ __VA_ARGS__, NULL }, line "\n")

static void test_trace_pid_not_a_number(void **state)
{
	EXPECT("vfioscope trace: invalid --pid 'abc': not a number", "trace", "--pid", "abc");
}

static void test_trace_pid_negative(void **state)
{
	EXPECT("vfioscope trace: invalid --pid '-1': negative", "trace", "--pid", "-1");
}

static void test_trace_pid_too_large(void **state)
{
	EXPECT("vfioscope trace: invalid --pid '99999999999999999999': too large", "trace", "--pid",
	       "99999999999999999999");
}

static void test_trace_pid_above_pid_max_limit(void **state)
{
	EXPECT("vfioscope trace: invalid --pid '4194305': too large", "trace", "--pid", "4194305");
}

static void test_trace_pid_zero(void **state)
{
	EXPECT("vfioscope trace: invalid --pid '0': must be at least 1", "trace", "--pid", "0");
}

static void test_trace_pid_with_trailing_garbage(void **state)
{
	EXPECT("vfioscope trace: invalid --pid '12x': not a number", "trace", "--pid=12x");
}

static void test_trace_duration_not_a_duration(void **state)
{
	EXPECT("vfioscope trace: invalid --duration 'x': not a duration", "trace", "--duration",
	       "x");
}

static void test_trace_duration_negative(void **state)
{
	EXPECT("vfioscope trace: invalid --duration '-1': negative", "trace", "--duration", "-1");
}

static void test_trace_duration_zero(void **state)
{
	EXPECT("vfioscope trace: invalid --duration '0': must be more than zero", "trace",
	       "--duration", "0");
}

static void test_trace_count_zero(void **state)
{
	EXPECT("vfioscope trace: invalid --count '0': must be at least 1", "trace", "--count", "0");
}

static void test_trace_count_not_a_number(void **state)
{
	EXPECT("vfioscope trace: invalid --count '1e3': not a number", "trace", "-n", "1e3");
}

static void test_trace_comm_longer_than_15_characters(void **state)
{
	EXPECT("vfioscope trace: invalid --comm 'qemu-system-x86_': longer than 15 characters",
	       "trace", "--comm", "qemu-system-x86_");
}

static void test_trace_comm_empty(void **state)
{
	EXPECT("vfioscope trace: invalid --comm '': empty", "trace", "--comm", "");
}

static void test_trace_unknown_mode(void **state)
{
	EXPECT("vfioscope trace: invalid --mode 'ebpf': not one of fentry, kprobe, tp_btf, raw_tp",
	       "trace", "--mode", "ebpf");
}

static void test_trace_unknown_long_option(void **state)
{
	EXPECT("vfioscope trace: unknown option '--bogus'", "trace", "--bogus");
}

static void test_trace_unknown_short_option(void **state)
{
	EXPECT("vfioscope trace: unknown option '-x'", "trace", "-x");
}

static void test_trace_option_without_its_value(void **state)
{
	EXPECT("vfioscope trace: option '--pid' needs a value", "trace", "--pid");
}

static void test_trace_stray_argument(void **state)
{
	EXPECT("vfioscope trace: unexpected argument 'qemu'", "trace", "--json", "qemu");
}

static void test_trace_ringbuf_size_not_a_power_of_two(void **state)
{
	EXPECT("vfioscope trace: invalid --ringbuf-size '12K': not a power of two from the page "
	       "size to 1G",
	       "trace", "--ringbuf-size", "12K");
}

static void test_trace_ringbuf_size_below_the_page_size(void **state)
{
	EXPECT("vfioscope trace: invalid --ringbuf-size '2048': not a power of two from the page "
	       "size to 1G",
	       "trace", "--ringbuf-size", "2048");
}

static void test_trace_ringbuf_size_above_1g(void **state)
{
	EXPECT("vfioscope trace: invalid --ringbuf-size '2G': not a power of two from the page "
	       "size to 1G",
	       "trace", "--ringbuf-size", "2G");
}

static void test_trace_ringbuf_size_not_a_size(void **state)
{
	EXPECT("vfioscope trace: invalid --ringbuf-size 'big': not a number", "trace",
	       "--ringbuf-size", "big");
}

static void test_trace_max_mappings_zero(void **state)
{
	EXPECT("vfioscope trace: invalid --max-mappings '0': must be at least 1", "trace",
	       "--max-mappings", "0");
}

static void test_trace_max_mappings_too_large(void **state)
{
	EXPECT("vfioscope trace: invalid --max-mappings '4194305': more than 4194304", "trace",
	       "--max-mappings", "4194305");
}

static void test_state_max_mappings_not_a_number(void **state)
{
	EXPECT("vfioscope state: invalid --max-mappings '1k': not a number", "state",
	       "--max-mappings", "1k");
}

static void test_state_wait_zero(void **state)
{
	EXPECT("vfioscope state: invalid --wait '0': must be more than zero", "state", "--wait",
	       "0");
}

static void test_state_wait_garbage(void **state)
{
	EXPECT("vfioscope state: invalid --wait '10x': unknown unit (use ns, us, ms, s or m)",
	       "state", "--wait", "10x");
}

static void test_state_wait_negative(void **state)
{
	EXPECT("vfioscope state: invalid --wait '-5': negative", "state", "-w", "-5");
}

static void test_state_pin_dir_empty(void **state)
{
	EXPECT("vfioscope state: invalid --pin-dir '': empty", "state", "--pin-dir", "");
}

static void test_state_unknown_option(void **state)
{
	EXPECT("vfioscope state: unknown option '--interval'", "state", "--interval", "1s");
}

static void test_state_stray_argument(void **state)
{
	EXPECT("vfioscope state: unexpected argument 'all'", "state", "all");
}

static void test_top_level_unknown_option(void **state)
{
	EXPECT("vfioscope: unknown option '--bogus' (see vfioscope --help)", "--bogus", "trace");
}

static void test_top_level_unknown_command(void **state)
{
	EXPECT("vfioscope: unknown command 'tarce' (see vfioscope --help)", "tarce");
}

static void test_top_level_no_command(void **state)
{
	EXPECT("vfioscope: no command given (see vfioscope --help)", "-v");
}

static void test_help_is_not_an_error(void **state)
{
	const char *const argv[] = { "trace", "--help", NULL };
	struct cli_result r;

	assert_int_equal(cli_run(argv, &r), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.err_lines, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_pid_not_a_number),
		cmocka_unit_test(test_trace_pid_negative),
		cmocka_unit_test(test_trace_pid_too_large),
		cmocka_unit_test(test_trace_pid_above_pid_max_limit),
		cmocka_unit_test(test_trace_pid_zero),
		cmocka_unit_test(test_trace_pid_with_trailing_garbage),
		cmocka_unit_test(test_trace_duration_not_a_duration),
		cmocka_unit_test(test_trace_duration_negative),
		cmocka_unit_test(test_trace_duration_zero),
		cmocka_unit_test(test_trace_count_zero),
		cmocka_unit_test(test_trace_count_not_a_number),
		cmocka_unit_test(test_trace_comm_longer_than_15_characters),
		cmocka_unit_test(test_trace_comm_empty),
		cmocka_unit_test(test_trace_unknown_mode),
		cmocka_unit_test(test_trace_unknown_long_option),
		cmocka_unit_test(test_trace_unknown_short_option),
		cmocka_unit_test(test_trace_option_without_its_value),
		cmocka_unit_test(test_trace_stray_argument),
		cmocka_unit_test(test_trace_ringbuf_size_not_a_power_of_two),
		cmocka_unit_test(test_trace_ringbuf_size_below_the_page_size),
		cmocka_unit_test(test_trace_ringbuf_size_above_1g),
		cmocka_unit_test(test_trace_ringbuf_size_not_a_size),
		cmocka_unit_test(test_trace_max_mappings_zero),
		cmocka_unit_test(test_trace_max_mappings_too_large),
		cmocka_unit_test(test_state_max_mappings_not_a_number),
		cmocka_unit_test(test_state_wait_zero),
		cmocka_unit_test(test_state_wait_garbage),
		cmocka_unit_test(test_state_wait_negative),
		cmocka_unit_test(test_state_pin_dir_empty),
		cmocka_unit_test(test_state_unknown_option),
		cmocka_unit_test(test_state_stray_argument),
		cmocka_unit_test(test_top_level_unknown_option),
		cmocka_unit_test(test_top_level_unknown_command),
		cmocka_unit_test(test_top_level_no_command),
		cmocka_unit_test(test_help_is_not_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
