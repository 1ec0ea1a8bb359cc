// SPDX-License-Identifier: GPL-2.0
/*
 * Backend detection on the host, which has no VFIO: opening must fail cleanly with the
 * reason. The working paths run in the VM (tests/vm/scenarios/track*.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfioscope/tracker/vfio.h"

static void test_vfio_backend_names(void **state)
{
	assert_string_equal(vfio_backend_name(VFIO_BACKEND_TYPE1), "type1");
	assert_string_equal(vfio_backend_name(VFIO_BACKEND_IOMMUFD), "iommufd");
}

static void test_vfio_iommufd_absence_is_explained(void **state)
{
	char why[160] = "";

	if (!access("/dev/iommu", F_OK))
		skip();
	assert_int_equal(vfio_iommufd_available(why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "CONFIG_IOMMUFD"));
}

static void test_vfio_type1_open_fails_cleanly_without_vfio(void **state)
{
	struct vfio_container *c = NULL;

	if (!access("/dev/vfio/vfio", F_OK))
		skip();
	assert_int_equal(vfio_container__open(VFIO_BACKEND_TYPE1, &c), -ENOENT);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vfio_backend_names),
		cmocka_unit_test(test_vfio_iommufd_absence_is_explained),
		cmocka_unit_test(test_vfio_type1_open_fails_cleanly_without_vfio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
