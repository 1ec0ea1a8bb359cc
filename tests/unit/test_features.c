// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prog_status_names_load_refusal_with_errno_text),
		cmocka_unit_test(test_prog_status_names_attach_refusal),
		cmocka_unit_test(test_prog_status_untried_and_ok),
		cmocka_unit_test(test_vfio_present_from_module_or_device_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
