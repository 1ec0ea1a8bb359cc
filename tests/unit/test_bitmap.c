// SPDX-License-Identifier: GPL-2.0
/* Dirty bitmap geometry, merge, popcount and iteration against a naive bit-by-bit reference. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vfioscope/common/bitmap.h"

static const uint64_t sizes[] = { 0, 1, 63, 64, 65, 127, 128, 129, 300, 1000 };

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_bitmap_bytes_round_to_64bit_words(void **state)
{
	assert_int_equal(bitmap_bytes_for_pages(0), 0);
	assert_int_equal(bitmap_bytes_for_pages(1), 8);
	assert_int_equal(bitmap_bytes_for_pages(63), 8);
	assert_int_equal(bitmap_bytes_for_pages(64), 8);
	assert_int_equal(bitmap_bytes_for_pages(65), 16);
	/* QEMU's worked example: a 255 MiB section is 65,280 pages, 8,160 bytes */
	assert_int_equal(bitmap_bytes_for_pages(65280), 8160);
}

static void test_bitmap_new_for_size_rounds_size_up_to_a_page(void **state)
{
	struct bitmap *b;

	assert_int_equal(bitmap__new_for_size(4097, 4096, &b), 0);
	assert_int_equal(bitmap__pages(b), 2);
	assert_int_equal(bitmap__bytes(b), 8);
	bitmap__free(b);
	assert_int_equal(bitmap__new_for_size(0, 4096, &b), 0);
	assert_int_equal(bitmap__pages(b), 0);
	assert_int_equal(bitmap__bytes(b), 0);
	bitmap__free(b);
	assert_int_equal(bitmap__new_for_size(4096, 0, &b), -EINVAL);
	assert_int_equal(bitmap__new_for_size(4096, 3000, &b), -EINVAL);
}

static void test_bitmap_fill_and_popcount_at_edge_sizes(void **state)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct bitmap *b = bitmap__new(sizes[i]);

		assert_non_null(b);
		assert_int_equal(bitmap__popcount(b), 0);
		bitmap__fill(b);
		assert_int_equal(bitmap__popcount(b), sizes[i]);
		assert_int_equal(bitmap__next_set(b, sizes[i]), sizes[i]);
		bitmap__free(b);
	}
}

static void test_bitmap_popcount_ignores_bits_past_last_page(void **state)
{
	struct bitmap *b = bitmap__new(65);

	/* a kernel that wrote garbage in the tail must not inflate the count */
	memset(bitmap__words(b), 0xff, bitmap__bytes(b));
	assert_int_equal(bitmap__popcount(b), 65);
	bitmap__free(b);
}

static int collect(uint64_t page, void *ctx)
{
	uint64_t **p = ctx;

	*(*p)++ = page;
	return 0;
}

static void test_bitmap_for_each_set_visits_exactly_set_pages(void **state)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t n = sizes[i], got[1024], *p = got, nset = 0;
		struct bitmap *b = bitmap__new(n);
		uint64_t expect[1024];

		for (uint64_t pg = 0; pg < n; pg++) {
			if (rnd() % 3 == 0) {
				bitmap__set(b, pg);
				expect[nset++] = pg;
			}
		}
		assert_int_equal(bitmap__for_each_set(b, collect, &p), 0);
		assert_int_equal(p - got, nset);
		for (uint64_t k = 0; k < nset; k++)
			assert_int_equal(got[k], expect[k]);
		/* next_set walks the same list */
		for (uint64_t k = 0, pg = bitmap__next_set(b, 0); k < nset;
		     k++, pg = bitmap__next_set(b, pg + 1))
			assert_int_equal(pg, expect[k]);
		assert_int_equal(bitmap__popcount(b), nset);
		bitmap__free(b);
	}
}

static int stop_at_third(uint64_t page, void *ctx)
{
	int *n = ctx;

	return ++(*n) == 3 ? 42 : 0;
}

static void test_bitmap_for_each_set_stops_on_nonzero(void **state)
{
	struct bitmap *b = bitmap__new(200);
	int n = 0;

	bitmap__fill(b);
	assert_int_equal(bitmap__for_each_set(b, stop_at_third, &n), 42);
	assert_int_equal(n, 3);
	bitmap__free(b);
}

/* naive reference: bit by bit */
static void ref_merge(uint8_t *dst, uint64_t dst_first, const uint64_t *src, uint64_t pages,
		      uint64_t *count)
{
	*count = 0;
	for (uint64_t i = 0; i < pages; i++) {
		if ((src[i / 64] >> (i % 64)) & 1) {
			dst[dst_first + i] = 1;
			(*count)++;
		}
	}
}

static void test_bitmap_merge_matches_naive_reference_at_every_offset(void **state)
{
	const uint64_t dst_pages = 700;

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		uint64_t pages = sizes[si];

		if (pages > 500)
			continue;
		for (uint64_t off = 0; off + pages <= dst_pages && off < 140; off++) {
			struct bitmap *dst = bitmap__new(dst_pages);
			uint64_t src[16], count;
			uint8_t ref[700];

			for (int w = 0; w < 16; w++)
				src[w] = rnd() & rnd();
			/* junk past the source's last page must be ignored */
			memset(ref, 0, sizeof(ref));
			for (uint64_t pg = 0; pg < dst_pages; pg++) {
				if (rnd() % 7 == 0) {
					bitmap__set(dst, pg);
					ref[pg] = 1;
				}
			}
			ref_merge(ref, off, src, pages, &count);
			assert_int_equal(bitmap__merge(dst, off, src, pages), (int64_t)count);
			for (uint64_t pg = 0; pg < dst_pages; pg++)
				if (bitmap__test(dst, pg) != ref[pg])
					fail_msg("pages %lu off %lu: page %lu is %d, expected %d",
						 (unsigned long)pages, (unsigned long)off,
						 (unsigned long)pg, bitmap__test(dst, pg), ref[pg]);
			/* and never a bit past the destination's last page */
			assert_int_equal(bitmap__cwords(dst)[dst_pages / 64] >> (dst_pages % 64),
					 0);
			bitmap__free(dst);
		}
	}
}

static void test_bitmap_merge_refuses_source_past_end(void **state)
{
	struct bitmap *dst = bitmap__new(100);
	uint64_t src[2] = { ~0ULL, ~0ULL };

	assert_int_equal(bitmap__merge(dst, 50, src, 51), -ERANGE);
	assert_int_equal(bitmap__merge(dst, 101, src, 0), 0);
	assert_int_equal(bitmap__merge(dst, 50, src, 50), 50);
	assert_int_equal(bitmap__popcount(dst), 50);
	bitmap__free(dst);
}

static void test_bitmap_large_merge_counts_every_word(void **state)
{
	/* exercises the 4-word unrolled paths, aligned and shifted */
	const uint64_t pages = 64 * 1000 + 17;
	uint64_t *src = calloc((pages + 63) / 64, 8), expect = 0;
	struct bitmap *a = bitmap__new(pages + 64), *b = bitmap__new(pages + 64);

	for (uint64_t w = 0; w < (pages + 63) / 64; w++)
		src[w] = (w % 5 == 0) ? 0 : rnd();
	src[pages / 64] &= (1ULL << (pages % 64)) - 1;
	for (uint64_t w = 0; w < (pages + 63) / 64; w++)
		expect += __builtin_popcountll(src[w]);
	assert_int_equal(bitmap__merge(a, 0, src, pages), (int64_t)expect);
	assert_int_equal(bitmap__merge(b, 13, src, pages), (int64_t)expect);
	assert_int_equal(bitmap__popcount(a), expect);
	assert_int_equal(bitmap__popcount(b), expect);
	for (uint64_t pg = 0; pg < pages; pg += 97)
		assert_int_equal(bitmap__test(a, pg), bitmap__test(b, pg + 13));
	free(src);
	bitmap__free(a);
	bitmap__free(b);
}

static void test_bitmap_must_be_zeroed_before_reuse(void **state)
{
	/* the kernel only sets bits: a bitmap reused without zeroing reports stale pages */
	struct bitmap *b = bitmap__new(128);

	memset(bitmap__words(b), 0xff, bitmap__bytes(b));
	assert_int_equal(bitmap__popcount(b), 128);
	bitmap__zero(b);
	bitmap__set(b, 5);
	assert_int_equal(bitmap__popcount(b), 1);
	bitmap__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes_round_to_64bit_words),
		cmocka_unit_test(test_bitmap_new_for_size_rounds_size_up_to_a_page),
		cmocka_unit_test(test_bitmap_fill_and_popcount_at_edge_sizes),
		cmocka_unit_test(test_bitmap_popcount_ignores_bits_past_last_page),
		cmocka_unit_test(test_bitmap_for_each_set_visits_exactly_set_pages),
		cmocka_unit_test(test_bitmap_for_each_set_stops_on_nonzero),
		cmocka_unit_test(test_bitmap_merge_matches_naive_reference_at_every_offset),
		cmocka_unit_test(test_bitmap_merge_refuses_source_past_end),
		cmocka_unit_test(test_bitmap_large_merge_counts_every_word),
		cmocka_unit_test(test_bitmap_must_be_zeroed_before_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
