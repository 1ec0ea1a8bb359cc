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

/* A type1 GET_INFO answer as 6.1 gives it: the IOVA range capability at 0x144 (aligned to 4
 * bytes only), two windows, then the migration capability. The same bytes are the fuzz
 * corpus's regress-misaligned-cap, which the replay runs under UBSan. */
static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

static void test_vfio_type1_caps_at_a_4_byte_offset(void **state)
{
	uint8_t b[0x194] = { 0 };
	struct vfio_iommu_info info = { 0 };

	put32(b, 0, sizeof(b));
	put32(b, 4, 1 | 2); /* PGSIZES | CAPS */
	put64(b, 8, 0x1000);
	put32(b, 16, 0x144);
	put32(b, 0x144, 1 | 1 << 16); /* IOVA_RANGE, version 1 */
	put32(b, 0x148, 0x174);
	put32(b, 0x14c, 2);
	put64(b, 0x154, 0);
	put64(b, 0x15c, 0xfedfffff);
	put64(b, 0x164, 0xfef00000);
	put64(b, 0x16c, UINT64_MAX);
	put32(b, 0x174, 2 | 1 << 16); /* MIGRATION, version 1, last */
	put64(b, 0x184, 0x1000);
	put64(b, 0x18c, 256 << 20);
	vfio_type1_caps(b, sizeof(b), &info);
	assert_int_equal(info.nr_windows, 2);
	assert_int_equal(info.windows[0].iova, 0);
	assert_int_equal(info.windows[0].length, 0xfee00000);
	assert_int_equal(info.windows[1].iova, 0xfef00000);
	assert_true(info.has_migration);
	assert_int_equal(info.mig_pgsize_bitmap, 0x1000);
	assert_int_equal(info.max_dirty_bitmap_size, 256 << 20);
	/* cut short inside the second window: only the first is read */
	memset(&info, 0, sizeof(info));
	vfio_type1_caps(b, 0x16c, &info);
	assert_int_equal(info.nr_windows, 1);
	assert_false(info.has_migration);
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
		cmocka_unit_test(test_vfio_type1_caps_at_a_4_byte_offset),
		cmocka_unit_test(test_vfio_iommufd_absence_is_explained),
		cmocka_unit_test(test_vfio_type1_open_fails_cleanly_without_vfio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
