// SPDX-License-Identifier: GPL-2.0
/* QEMU's range algorithm and the interval set. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vfioscope/common/ranges.h"

#define PG  4096ULL
#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static int compute(const struct section *s, size_t n, struct iova_range *out, size_t max)
{
	struct dirty_ranges r;

	dirty_ranges__init(&r);
	for (size_t i = 0; i < n; i++)
		if (dirty_ranges__update(&r, &s[i], PG) < 0)
			return -1000;
	return dirty_ranges__build(&r, out, max);
}

static struct section ram(uint64_t iova, uint64_t size)
{
	return (struct section){ iova, size, iova, SECTION_RAM };
}

static void test_ranges_split_at_4gib(void **state)
{
	struct section s[] = { ram(0, 3 * GIB), ram(4 * GIB, 2 * GIB) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 2, r, 3), 2);
	assert_int_equal(r[0].iova, 0);
	assert_int_equal(r[0].length, 3 * GIB);
	assert_int_equal(r[1].iova, 4 * GIB);
	assert_int_equal(r[1].length, 2 * GIB);
}

static void test_ranges_qemu_256m_vm_gives_one_range_of_4gib(void **state)
{
	/* the five sections nested QEMU 10 maps with -m 256 (test-device.md §6.8) */
	struct section s[] = { ram(0x0, 0xc0000), ram(0xc0000, 0x20000), ram(0xe0000, 0x20000),
			       ram(0x100000, 0xff00000), ram(0xfffc0000, 0x40000) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 5, r, 3), 1);
	assert_int_equal(r[0].iova, 0);
	assert_int_equal(r[0].length, 0x100000000ULL);
}

static void test_ranges_section_ending_at_4gib_stays_32bit(void **state)
{
	struct section s[] = { ram(4 * GIB - PG, PG) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 1, r, 3), 1);
	assert_int_equal(r[0].iova, 4 * GIB - PG);
	assert_int_equal(r[0].length, PG);
}

static void test_ranges_straddling_section_goes_whole_to_64bit(void **state)
{
	struct section s[] = { ram(0, MIB), ram(4 * GIB - MIB, 2 * MIB) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 2, r, 3), 2);
	assert_int_equal(r[0].iova, 0);
	assert_int_equal(r[0].length, MIB);
	assert_int_equal(r[1].iova, 4 * GIB - MIB);
	assert_int_equal(r[1].length, 2 * MIB);
}

static void test_ranges_empty_low_side_not_sent(void **state)
{
	struct section s[] = { ram(8 * GIB, GIB) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 1, r, 3), 1);
	assert_int_equal(r[0].iova, 8 * GIB);
	assert_int_equal(r[0].length, GIB);
}

static void test_ranges_empty_high_side_not_sent(void **state)
{
	struct section s[] = { ram(MIB, MIB), ram(16 * MIB, MIB) };
	struct iova_range r[3];

	assert_int_equal(compute(s, 2, r, 3), 1);
	assert_int_equal(r[0].iova, MIB);
	assert_int_equal(r[0].length, 16 * MIB);
}

static void test_ranges_no_sections_gives_no_ranges(void **state)
{
	struct iova_range r[3];

	assert_int_equal(compute(NULL, 0, r, 3), 0);
}

static void test_ranges_start_rounds_up_end_rounds_down(void **state)
{
	struct section s = ram(0x1234, 0x3000); /* [0x1234, 0x4234) */
	uint64_t first, last;

	s.offset_in_region = 0x234;
	assert_int_equal(section_align(&s, PG, &first, &last), 1);
	assert_int_equal(first, 0x2000);
	assert_int_equal(last, 0x3fff);
}

static void test_ranges_sub_page_section_is_skipped(void **state)
{
	struct section s = ram(0x1100, 0x800);
	uint64_t first, last;

	s.offset_in_region = 0x100;
	assert_int_equal(section_align(&s, PG, &first, &last), 0);
}

static void test_ranges_misaligned_offset_in_region_is_an_error(void **state)
{
	struct section s = ram(0x1000, 0x2000);
	uint64_t first, last;

	s.offset_in_region = 0x800;
	assert_int_equal(section_align(&s, PG, &first, &last), -EINVAL);
}

static void test_ranges_bit63_and_non_ram_sections_are_skipped(void **state)
{
	struct section spurious = ram(1ULL << 63, GIB);
	struct section mmio = { MIB, MIB, MIB, SECTION_OTHER };
	struct dirty_ranges r;
	struct iova_range out[3];

	dirty_ranges__init(&r);
	assert_int_equal(dirty_ranges__update(&r, &spurious, PG), 0);
	assert_int_equal(dirty_ranges__update(&r, &mmio, PG), 0);
	assert_int_equal(dirty_ranges__build(&r, out, 3), 0);
}

static void test_ranges_section_wrapping_2pow64_is_refused(void **state)
{
	struct section s = ram(0x7000000000000000ULL, 0x9000000000001000ULL);
	uint64_t first, last;

	assert_int_equal(section_align(&s, PG, &first, &last), -EOVERFLOW);
}

static void test_ranges_last_page_of_iova_space_is_skipped_without_wrapping(void **state)
{
	/* ends on the last byte of 2^64: no overflow in the end rounding, and QEMU's bit-63
	 * rule skips it; the section just below 2^63 is kept whole */
	struct section top = ram(UINT64_MAX - PG + 1, PG);
	struct section below = ram((1ULL << 63) - PG, PG);
	uint64_t first, last;

	assert_int_equal(section_align(&top, PG, &first, &last), 0);
	assert_int_equal(section_align(&below, PG, &first, &last), 1);
	assert_int_equal(first, (1ULL << 63) - PG);
	assert_int_equal(last, (1ULL << 63) - 1);
}

static void test_ranges_bucket_spanning_2pow64_is_eoverflow(void **state)
{
	struct dirty_ranges r;
	struct iova_range out[3];

	dirty_ranges__init(&r);
	r.min64 = 0;
	r.max64 = UINT64_MAX;
	assert_int_equal(dirty_ranges__build(&r, out, 3), -EOVERFLOW);
}

static void test_ranges_pci64_bar_gets_its_own_range(void **state)
{
	struct section s[] = { ram(0, GIB),
			       ram(4 * GIB, GIB),
			       { 0x380000000000ULL, 16 * MIB, 0x380000000000ULL,
				 SECTION_PCI_BAR } };
	struct iova_range r[3];

	assert_int_equal(compute(s, 3, r, 3), 3);
	assert_int_equal(r[1].iova, 4 * GIB);
	assert_int_equal(r[1].length, GIB);
	assert_int_equal(r[2].iova, 0x380000000000ULL);
	assert_int_equal(r[2].length, 16 * MIB);
}

static void test_ranges_pci_bar_below_4gib_stays_32bit(void **state)
{
	struct section s[] = { ram(0, GIB), { 0xe0000000, MIB, 0xe0000000, SECTION_PCI_BAR } };
	struct iova_range r[3];

	assert_int_equal(compute(s, 2, r, 3), 1);
	assert_int_equal(r[0].length, 0xe0100000ULL);
}

static void test_ranges_build_refuses_too_small_output(void **state)
{
	struct section s[] = { ram(0, GIB), ram(4 * GIB, GIB) };
	struct iova_range r[1];

	assert_int_equal(compute(s, 2, r, 1), -E2BIG);
}

static void test_ranges_windows_validate_sections(void **state)
{
	struct iova_range win[] = { { 0, 0xfee00000 }, { 0xfef00000, (1ULL << 39) - 0xfef00000 } };

	assert_true(ranges_in_windows(win, 2, 0, GIB - 1));
	assert_false(ranges_in_windows(win, 2, 0xfee00000, 0xfee00fff)); /* MSI window */
	assert_false(ranges_in_windows(win, 2, 0xfed00000, 0xfef00fff)); /* straddles it */
	assert_true(ranges_in_windows(win, 2, 4 * GIB, 8 * GIB - 1));
	assert_false(ranges_in_windows(win, 2, 1ULL << 39, (1ULL << 39) + PG - 1));
}

static void test_range_set_merges_touching_and_overlapping(void **state)
{
	struct range_set *s = range_set__new();
	uint64_t f, l;

	assert_int_equal(range_set__add(s, 0x1000, 0x1000), 0);
	assert_int_equal(range_set__add(s, 0x5000, 0x1000), 0);
	assert_int_equal(range_set__add(s, 0x2000, 0x1000), 0); /* touches the first */
	assert_int_equal(range_set__count(s), 2);
	assert_int_equal(range_set__add(s, 0x2800, 0x3000), 0); /* bridges both */
	assert_int_equal(range_set__count(s), 1);
	assert_int_equal(range_set__get(s, 0, &f, &l), 0);
	assert_int_equal(f, 0x1000);
	assert_int_equal(l, 0x5fff);
	assert_int_equal(range_set__bytes(s), 0x5000);
	range_set__free(s);
}

static void test_range_set_remove_splits(void **state)
{
	struct range_set *s = range_set__new();
	uint64_t f, l;

	assert_int_equal(range_set__add(s, 0, 0x10000), 0);
	assert_int_equal(range_set__remove(s, 0x4000, 0x1000), 0);
	assert_int_equal(range_set__count(s), 2);
	assert_int_equal(range_set__get(s, 1, &f, &l), 0);
	assert_int_equal(f, 0x5000);
	assert_int_equal(l, 0xffff);
	assert_int_equal(range_set__remove(s, 0, 0x5000), 0);
	assert_int_equal(range_set__count(s), 1);
	assert_int_equal(range_set__get(s, 1, &f, &l), -ENOENT);
	range_set__free(s);
}

static void test_range_set_refuses_wrap_and_zero_length(void **state)
{
	struct range_set *s = range_set__new();

	assert_int_equal(range_set__add(s, UINT64_MAX - PG + 1, 2 * PG), -EOVERFLOW);
	assert_int_equal(range_set__add(s, 0x1000, 0), -EINVAL);
	assert_int_equal(range_set__add(s, UINT64_MAX - PG + 1, PG), 0); /* last page: fine */
	assert_true(range_set__contains(s, UINT64_MAX, UINT64_MAX));
	range_set__free(s);
}

static void test_range_set_more_ranges_than_device_takes_joins_smallest_gaps(void **state)
{
	struct range_set *s = range_set__new();
	struct iova_range r[4];
	int n;

	/* gaps: 1 page, 100 pages, 3 pages */
	assert_int_equal(range_set__add(s, 0 * PG, PG), 0);
	assert_int_equal(range_set__add(s, 2 * PG, PG), 0);
	assert_int_equal(range_set__add(s, 103 * PG, PG), 0);
	assert_int_equal(range_set__add(s, 107 * PG, PG), 0);
	n = range_set__to_ranges(s, PG, r, 4);
	assert_int_equal(n, 4);
	n = range_set__to_ranges(s, PG, r, 2);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].iova, 0);
	assert_int_equal(r[0].length, 3 * PG);
	assert_int_equal(r[1].iova, 103 * PG);
	assert_int_equal(r[1].length, 5 * PG);
	n = range_set__to_ranges(s, PG, r, 1);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].length, 108 * PG);
	range_set__free(s);
}

static void test_range_set_to_ranges_handles_a_page_of_ranges(void **state)
{
	/* the kernel guarantees PAGE_SIZE / 16 = 256 ranges; 300 intervals must come down to 256 */
	struct range_set *s = range_set__new();
	struct iova_range r[256];

	for (int i = 0; i < 300; i++)
		assert_int_equal(range_set__add(s, (uint64_t)i * 4 * PG, PG), 0);
	assert_int_equal(range_set__count(s), 300);
	assert_int_equal(range_set__to_ranges(s, PG, r, 256), 256);
	for (int i = 0; i + 1 < 256; i++)
		assert_true(r[i].iova + r[i].length < r[i + 1].iova);
	range_set__free(s);
}

static void test_range_set_outward_alignment_never_overlaps(void **state)
{
	struct range_set *s = range_set__new();
	struct iova_range r[4];

	/* sub-page pieces in the same page must become one page, not two overlapping ones */
	assert_int_equal(range_set__add(s, 0x1100, 0x100), 0);
	assert_int_equal(range_set__add(s, 0x1800, 0x100), 0);
	assert_int_equal(range_set__to_ranges(s, PG, r, 4), 1);
	assert_int_equal(r[0].iova, 0x1000);
	assert_int_equal(r[0].length, PG);
	range_set__free(s);
}

static void test_layout_single_size_below_3g_is_one_region(void **state)
{
	struct layout l;

	assert_int_equal(layout_parse("256M", &l, NULL, 0), 0);
	assert_int_equal(l.nr, 1);
	assert_int_equal(l.sections[0].iova, 0);
	assert_int_equal(l.sections[0].size, 256 * MIB);
	assert_false(l.viommu);
}

static void test_layout_single_size_above_3g_splits_around_hole(void **state)
{
	struct layout l;

	assert_int_equal(layout_parse("4G", &l, NULL, 0), 0);
	assert_int_equal(l.nr, 2);
	assert_int_equal(l.sections[0].size, 3 * GIB);
	assert_int_equal(l.sections[1].iova, 4 * GIB);
	assert_int_equal(l.sections[1].size, GIB);
}

static void test_layout_list_with_kinds_and_viommu(void **state)
{
	struct layout l;
	char err[128];

	assert_int_equal(
		layout_parse("3G@0,1G@4G,16M@0x380000000000:bar,viommu", &l, err, sizeof(err)), 0);
	assert_int_equal(l.nr, 3);
	assert_int_equal(l.sections[2].kind, SECTION_PCI_BAR);
	assert_true(l.viommu);
	assert_int_equal(layout_parse("1G@0,1G@512M", &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'1G@512M' overlaps an earlier section");
	assert_int_equal(layout_parse("8K@0xfffffffffffff000", &l, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'8K@0xfffffffffffff000' wraps past the end of the IOVA space");
	assert_int_equal(layout_parse("4K@0xfffffffffffff000", &l, err, sizeof(err)), 0);
	assert_int_equal(layout_parse("1Q", &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(layout_parse("viommu", &l, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_split_at_4gib),
		cmocka_unit_test(test_ranges_qemu_256m_vm_gives_one_range_of_4gib),
		cmocka_unit_test(test_ranges_section_ending_at_4gib_stays_32bit),
		cmocka_unit_test(test_ranges_straddling_section_goes_whole_to_64bit),
		cmocka_unit_test(test_ranges_empty_low_side_not_sent),
		cmocka_unit_test(test_ranges_empty_high_side_not_sent),
		cmocka_unit_test(test_ranges_no_sections_gives_no_ranges),
		cmocka_unit_test(test_ranges_start_rounds_up_end_rounds_down),
		cmocka_unit_test(test_ranges_sub_page_section_is_skipped),
		cmocka_unit_test(test_ranges_misaligned_offset_in_region_is_an_error),
		cmocka_unit_test(test_ranges_bit63_and_non_ram_sections_are_skipped),
		cmocka_unit_test(test_ranges_section_wrapping_2pow64_is_refused),
		cmocka_unit_test(test_ranges_last_page_of_iova_space_is_skipped_without_wrapping),
		cmocka_unit_test(test_ranges_bucket_spanning_2pow64_is_eoverflow),
		cmocka_unit_test(test_ranges_pci64_bar_gets_its_own_range),
		cmocka_unit_test(test_ranges_pci_bar_below_4gib_stays_32bit),
		cmocka_unit_test(test_ranges_build_refuses_too_small_output),
		cmocka_unit_test(test_ranges_windows_validate_sections),
		cmocka_unit_test(test_range_set_merges_touching_and_overlapping),
		cmocka_unit_test(test_range_set_remove_splits),
		cmocka_unit_test(test_range_set_refuses_wrap_and_zero_length),
		cmocka_unit_test(test_range_set_more_ranges_than_device_takes_joins_smallest_gaps),
		cmocka_unit_test(test_range_set_to_ranges_handles_a_page_of_ranges),
		cmocka_unit_test(test_range_set_outward_alignment_never_overlaps),
		cmocka_unit_test(test_layout_single_size_below_3g_is_one_region),
		cmocka_unit_test(test_layout_single_size_above_3g_splits_around_hole),
		cmocka_unit_test(test_layout_list_with_kinds_and_viommu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
