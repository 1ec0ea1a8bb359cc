// SPDX-License-Identifier: GPL-2.0
/*
 * Device DMA logging argument checks. The host has no VFIO device: these check what devlog
 * refuses before the kernel is asked (fd -1 would give EBADF if it were), and the kernel's
 * answer for a non-VFIO fd. The real START/REPORT/STOP run in tests/vm/scenarios/track*.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfioscope/tracker/devlog.h"

static void test_devlog_max_ranges_is_a_page_of_range_structs(void **state)
{
	assert_int_equal(devlog_max_ranges(), (size_t)sysconf(_SC_PAGESIZE) / 16);
}

static void test_devlog_report_refuses_bad_page_sizes_before_the_kernel(void **state)
{
	uint64_t bm[1];

	assert_int_equal(devlog_report(-1, 0, 4096, 0, bm), -EINVAL);
	assert_int_equal(devlog_report(-1, 0, 4096, 3 * 4096, bm), -EINVAL);
	assert_int_equal(devlog_report(-1, 0, 4096, 2048, bm), -EINVAL);
}

static void test_devlog_report_refuses_misaligned_ranges(void **state)
{
	uint64_t bm[1];

	/* the kernel does not check this for REPORT: bits would silently shift */
	assert_int_equal(devlog_report(-1, 0x800, 4096, 4096, bm), -EINVAL);
	assert_int_equal(devlog_report(-1, 0, 4096 + 1, 4096, bm), -EINVAL);
}

static void test_devlog_report_refuses_2pow64_wrap(void **state)
{
	uint64_t bm[1];

	assert_int_equal(devlog_report(-1, UINT64_MAX - 4095, 8192, 4096, bm), -EOVERFLOW);
}

static void test_devlog_report_of_zero_length_sets_nothing(void **state)
{
	uint64_t bm[1] = { 0 };

	assert_int_equal(devlog_report(-1, 0x1000, 0, 4096, bm), 0);
	assert_int_equal(bm[0], 0);
}

static void test_devlog_start_refuses_zero_ranges(void **state)
{
	uint64_t pg = 4096;

	assert_int_equal(devlog_start(-1, NULL, 0, &pg), -EINVAL);
}

static void test_devlog_probe_on_a_non_vfio_fd_is_enotty(void **state)
{
	int fd = open("/dev/null", O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(devlog_probe(fd), -ENOTTY);
	assert_int_equal(devlog_stop(fd), -ENOTTY);
	close(fd);
	assert_int_equal(devlog_probe(-1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devlog_max_ranges_is_a_page_of_range_structs),
		cmocka_unit_test(test_devlog_report_refuses_bad_page_sizes_before_the_kernel),
		cmocka_unit_test(test_devlog_report_refuses_misaligned_ranges),
		cmocka_unit_test(test_devlog_report_refuses_2pow64_wrap),
		cmocka_unit_test(test_devlog_report_of_zero_length_sets_nothing),
		cmocka_unit_test(test_devlog_start_refuses_zero_ranges),
		cmocka_unit_test(test_devlog_probe_on_a_non_vfio_fd_is_enotty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
