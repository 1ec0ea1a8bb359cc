// SPDX-License-Identifier: GPL-2.0
/* The in-kernel histogram slots (vfs_hist_slot, shared with the BPF side) and their
 * Prometheus `le` bounds (anchors.md §2.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vfioscope/tracer/tracer.h"

/* v belongs to the first bucket whose bound is >= v: le semantics */
static void assert_in_le_bucket(uint64_t v)
{
	unsigned int k = vfs_hist_slot(v);

	assert_true(v <= tracer_hist_slot_upper_ns(k));
	if (k > 0)
		assert_true(v > tracer_hist_slot_upper_ns(k - 1));
}

static void test_zero_and_one_ns_go_to_the_first_bucket(void **state)
{
	assert_int_equal(vfs_hist_slot(0), 0);
	assert_int_equal(vfs_hist_slot(1), 0);
	assert_int_equal(tracer_hist_slot_upper_ns(0), 1);
}

static void test_powers_of_two_are_the_upper_bound_of_their_slot(void **state)
{
	for (unsigned int k = 1; k < VFS_HIST_SLOTS - 1; k++) {
		uint64_t p = 1ULL << k;

		assert_int_equal(vfs_hist_slot(p), k);
		assert_int_equal(vfs_hist_slot(p + 1), k + 1 < VFS_HIST_SLOTS ? k + 1 : k);
		assert_int_equal(vfs_hist_slot(p - 1), p - 1 <= 1 ? 0 : k);
		assert_in_le_bucket(p - 1);
		assert_in_le_bucket(p);
		assert_in_le_bucket(p + 1 < (1ULL << (VFS_HIST_SLOTS - 2)) ? p + 1 : p);
	}
}

static void test_values_above_the_top_bound_go_to_inf(void **state)
{
	uint64_t top = tracer_hist_slot_upper_ns(VFS_HIST_SLOTS - 2);

	assert_int_equal(vfs_hist_slot(top), VFS_HIST_SLOTS - 2);
	assert_int_equal(vfs_hist_slot(top + 1), VFS_HIST_SLOTS - 1);
	assert_int_equal(vfs_hist_slot(UINT64_MAX), VFS_HIST_SLOTS - 1);
	assert_true(tracer_hist_slot_upper_ns(VFS_HIST_SLOTS - 1) == UINT64_MAX);
}

static void test_bucket_bounds_span_nanoseconds_to_a_minute(void **state)
{
	assert_int_equal(tracer_hist_slot_upper_ns(10), 1024);
	assert_true(tracer_hist_slot_upper_ns(VFS_HIST_SLOTS - 2) > 60ULL * 1000000000ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_and_one_ns_go_to_the_first_bucket),
		cmocka_unit_test(test_powers_of_two_are_the_upper_bound_of_their_slot),
		cmocka_unit_test(test_values_above_the_top_bound_go_to_inf),
		cmocka_unit_test(test_bucket_bounds_span_nanoseconds_to_a_minute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
