// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU dirty tracking argument checks. The host has no VFIO container; the real type1
 * START / GET_BITMAP / STOP run in tests/vm/scenarios/track*.sh, the iommufd HWPT calls on
 * the kernel's IOMMUFD_TEST domain in track_iommufd_test_domain.host.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vfioscope/tracker/iommu_dirty.h"

static void test_iommu_dirty_report_checks_range_before_the_kernel(void **state)
{
	uint64_t bm[1] = { 0 };

	/* NULL container: reaching it would crash, so these return before any call */
	assert_int_equal(iommu_dirty_report(NULL, 0x1000, 0, 4096, bm), 0);
	assert_int_equal(iommu_dirty_report(NULL, UINT64_MAX - 4095, 8192, 4096, bm), -EOVERFLOW);
}

static void test_iommufd_hwpt_dirty_read_of_no_pages_is_a_no_op(void **state)
{
	uint64_t bm[1] = { 0xa5a5a5a5a5a5a5a5ULL };

	/* the kernel would call length 0 an overflow; -1 is no fd, so no ioctl happened */
	assert_int_equal(iommufd_hwpt_dirty_read(-1, 1, 0x1000000, 0, 4096, 0, bm), 0);
	assert_int_equal(bm[0], 0xa5a5a5a5a5a5a5a5ULL);
}

static void test_iommufd_hwpt_dirty_read_refuses_a_wrapping_range(void **state)
{
	uint64_t bm[1] = { 0 };

	assert_int_equal(iommufd_hwpt_dirty_read(-1, 1, UINT64_MAX - 4095, 8192, 4096, 0, bm),
			 -EOVERFLOW);
}

static void test_iommufd_hwpt_dirty_calls_return_the_kernels_errno(void **state)
{
	uint64_t bm[1] = { 0 };

	assert_int_equal(iommufd_hwpt_dirty_set(-1, 1, true), -EBADF);
	assert_int_equal(iommufd_hwpt_dirty_read(-1, 1, 0x1000000, 4096, 4096, 0, bm), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommu_dirty_report_checks_range_before_the_kernel),
		cmocka_unit_test(test_iommufd_hwpt_dirty_read_of_no_pages_is_a_no_op),
		cmocka_unit_test(test_iommufd_hwpt_dirty_read_refuses_a_wrapping_range),
		cmocka_unit_test(test_iommufd_hwpt_dirty_calls_return_the_kernels_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
