// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vfioscope/tracer/mirror.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* QEMU's ranges of @n mappings at 4 KiB pages: 32-bit and 64-bit start and length each. */
static struct mirror_ranges expect_ranges(const struct mirror_mapping *m, size_t n, uint64_t iova32,
					  uint64_t len32, uint64_t iova64, uint64_t len64)
{
	struct mirror_ranges r;

	mirror_qemu_ranges(m, n, 4096, &r);
	assert_int_equal(r.iova32, iova32);
	assert_int_equal(r.len32, len32);
	assert_int_equal(r.iova64, iova64);
	assert_int_equal(r.len64, len64);
	return r;
}

static void test_ranges_split_at_4gib(void **state)
{
	struct mirror_mapping m[] = { { 0x0, 0xa0000 },
				      { 0x100000, 0x7ff00000 },
				      { 0x100000000ULL, 0x80000000ULL } };
	expect_ranges(m, N(m), 0, 0x80000000ULL, 0x100000000ULL, 0x80000000ULL);
}

static void test_mapping_straddling_4gib_goes_to_the_64bit_range(void **state)
{
	struct mirror_mapping m[] = { { 0xfff00000ULL, 0x200000 } };
	expect_ranges(m, N(m), 0, 0, 0xfff00000ULL, 0x200000);
}

static void test_mapping_ending_at_4gib_minus_one_stays_32bit(void **state)
{
	struct mirror_mapping m[] = { { 0xfffc0000ULL, 0x40000 } };
	expect_ranges(m, N(m), 0xfffc0000ULL, 0x40000, 0, 0);
}

static void test_qemu_256m_guest_sections_give_one_range_of_4gib(void **state)
{
	/* the nested QEMU's sections (test-device.md §6.8) */
	struct mirror_mapping m[] = { { 0x0, 0xc0000 },
				      { 0xc0000, 0x20000 },
				      { 0xe0000, 0x20000 },
				      { 0x100000, 0xff00000 },
				      { 0xfffc0000ULL, 0x40000 } };
	expect_ranges(m, N(m), 0, 0x100000000ULL, 0, 0);
}

static void test_own_bars_above_4gib_get_the_pci64_range(void **state)
{
	/* RAM below and above 4 GiB; a 32-bit BAR (stays in range32, as in QEMU); two own 64-bit
	 * BARs at the top (pci64); another container's BAR above 4 GiB (plain range64) */
	struct mirror_mapping m[] = {
		{ .iova = 0x0, .size = 0x80000000ULL },
		{ .iova = 0xfe000000ULL, .size = 0x100000, .bar = true, .device = 1 },
		{ .iova = 0x100000000ULL, .size = 0x40000000ULL },
		{ .iova = 0x380000000000ULL, .size = 0x1000000, .bar = true, .device = 1 },
		{ .iova = 0x380001000000ULL, .size = 0x4000, .bar = true, .device = 2 },
		{ .iova = 0x200000000ULL, .size = 0x10000, .device = 3 },
	};
	struct mirror_ranges r =
		expect_ranges(m, N(m), 0, 0xfe100000ULL, 0x100000000ULL, 0x100010000ULL);

	assert_int_equal(r.iovapci64, 0x380000000000ULL);
	assert_int_equal(r.lenpci64, 0x1004000);
}

static void test_unaligned_edges_round_inwards_and_sub_page_mappings_vanish(void **state)
{
	struct mirror_mapping m[] = { { 0x1800, 0x3000 }, { 0x10000800, 0x100 } };
	expect_ranges(m, N(m), 0x2000, 0x2000, 0, 0);
}

static void test_no_mappings_no_ranges(void **state)
{
	struct mirror_ranges r = { 1, 1, 1, 1 };

	mirror_qemu_ranges(NULL, 0, 4096, &r);
	assert_int_equal(r.len32, 0);
	assert_int_equal(r.len64, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_split_at_4gib),
		cmocka_unit_test(test_mapping_straddling_4gib_goes_to_the_64bit_range),
		cmocka_unit_test(test_mapping_ending_at_4gib_minus_one_stays_32bit),
		cmocka_unit_test(test_qemu_256m_guest_sections_give_one_range_of_4gib),
		cmocka_unit_test(test_own_bars_above_4gib_get_the_pci64_range),
		cmocka_unit_test(test_unaligned_edges_round_inwards_and_sub_page_mappings_vanish),
		cmocka_unit_test(test_no_mappings_no_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
