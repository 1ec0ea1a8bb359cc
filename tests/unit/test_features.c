// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>
#include <linux/iommufd.h>

#include "vfioscope/tracer/features.h"

static void test_prog_status_names_load_refusal_with_errno_text(void **state)
{
	struct vfioscope_prog_probe p = { .kind = "fentry", .tried = true, .load_err = -EPERM };
	char buf[96];

	assert_string_equal(vfioscope_prog_probe__status(&p, buf, sizeof(buf)),
			    "refused at load: Operation not permitted");
}

static void test_prog_status_names_attach_refusal(void **state)
{
	struct vfioscope_prog_probe p = { .kind = "kprobe", .tried = true, .attach_err = -ENOENT };
	char buf[96];

	assert_string_equal(vfioscope_prog_probe__status(&p, buf, sizeof(buf)),
			    "loads, refused at attach: No such file or directory");
}

static void test_prog_status_untried_and_ok(void **state)
{
	struct vfioscope_prog_probe p = {};
	char buf[96];

	assert_string_equal(vfioscope_prog_probe__status(&p, buf, sizeof(buf)), "not tried");
	p.tried = true;
	assert_string_equal(vfioscope_prog_probe__status(&p, buf, sizeof(buf)), "attaches");
}

static void test_vfio_present_from_module_or_device_node(void **state)
{
	struct vfioscope_features f = {};

	assert_false(vfioscope_features__vfio_present(&f));
	f.vfio_container_dev = true;
	assert_true(vfioscope_features__vfio_present(&f));
	f.vfio_container_dev = false;
	f.modules[VFIOSCOPE_MOD_VFIO].loaded = true;
	assert_true(vfioscope_features__vfio_present(&f));
	assert_false(vfioscope_features__iommufd_present(&f));
}

static void test_vfio_builtin_from_the_vfio_module_row(void **state)
{
	struct vfioscope_features f = {};

	assert_false(vfioscope_features__vfio_builtin(&f));
	f.modules[VFIOSCOPE_MOD_VFIO_PCI].builtin = true;
	assert_false(vfioscope_features__vfio_builtin(&f));
	f.modules[VFIOSCOPE_MOD_VFIO].builtin = true;
	assert_true(vfioscope_features__vfio_builtin(&f));
}

static void test_device_dirty_tracking_answers(void **state)
{
	struct vfioscope_device_info d = { .cdev = "vfio0", .dirty_tracking = 0 };
	char buf[160];

	assert_string_equal(vfioscope_device_info__dirty(&d, buf, sizeof(buf)), "no");
	d.dirty_tracking = 1;
	assert_string_equal(vfioscope_device_info__dirty(&d, buf, sizeof(buf)), "yes");
}

static void test_device_dirty_tracking_unknown_names_the_failed_step(void **state)
{
	struct vfioscope_device_info d = { .cdev = "vfio0",
					   .dirty_tracking = -EBUSY,
					   .failed_step = "bind the device cdev to an iommufd" };
	char buf[160];

	assert_string_equal(vfioscope_device_info__dirty(&d, buf, sizeof(buf)),
			    "unknown (failed to bind the device cdev to an iommufd: "
			    "Device or resource busy)");
}

static void test_device_without_cdev_says_the_kernel_has_none(void **state)
{
	struct vfioscope_device_info d = { .dirty_tracking = -ENODEV,
					   .failed_step = "find the device cdev" };
	char buf[160];

	assert_string_equal(vfioscope_device_info__dirty(&d, buf, sizeof(buf)),
			    "unknown (no VFIO device cdev in this kernel)");
}

static void test_hw_info_type_names_from_uapi_values(void **state)
{
	char buf[32];

	assert_string_equal(vfioscope_hw_info_type_name(IOMMU_HW_INFO_TYPE_INTEL_VTD, buf,
							sizeof(buf)),
			    "intel_vtd");
	assert_string_equal(vfioscope_hw_info_type_name(IOMMU_HW_INFO_TYPE_NONE, buf, sizeof(buf)),
			    "none");
	assert_string_equal(vfioscope_hw_info_type_name(4242, buf, sizeof(buf)), "4242");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prog_status_names_load_refusal_with_errno_text),
		cmocka_unit_test(test_prog_status_names_attach_refusal),
		cmocka_unit_test(test_prog_status_untried_and_ok),
		cmocka_unit_test(test_vfio_present_from_module_or_device_node),
		cmocka_unit_test(test_vfio_builtin_from_the_vfio_module_row),
		cmocka_unit_test(test_device_dirty_tracking_answers),
		cmocka_unit_test(test_device_dirty_tracking_unknown_names_the_failed_step),
		cmocka_unit_test(test_device_without_cdev_says_the_kernel_has_none),
		cmocka_unit_test(test_hw_info_type_names_from_uapi_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
