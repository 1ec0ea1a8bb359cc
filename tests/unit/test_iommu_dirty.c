// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU dirty tracking argument checks. The host has no VFIO container; the real type1
 * START / GET_BITMAP / STOP run in tests/vm/scenarios/track*.sh.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iommu_dirty_report_checks_range_before_the_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
