// SPDX-License-Identifier: GPL-2.0
/* Dirty bitmaps: VFIOBitmap geometry, word-at-a-time merge, popcount and iteration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/common/bitmap.h"

struct bitmap {
	uint64_t *words;
	uint64_t pages;
	uint64_t nwords;
};

struct bitmap *bitmap__new(uint64_t pages)
{
	struct bitmap *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->pages = pages;
	b->nwords = (pages + 63) / 64;
	if (b->nwords) {
		/* 64-byte alignment: whole cache lines for the merge loop and the kernel pins */
		if (posix_memalign((void **)&b->words, 64, b->nwords * 8)) {
			free(b);
			return NULL;
		}
		memset(b->words, 0, b->nwords * 8);
	}
	return b;
}

int bitmap__new_for_size(uint64_t size, uint64_t page_size, struct bitmap **out)
{
	uint64_t pages;

	if (!page_size || (page_size & (page_size - 1)))
		return -EINVAL;
	/* REAL_HOST_PAGE_ALIGN(size) / page_size, without overflowing near 2^64 */
	pages = size / page_size + !!(size & (page_size - 1));
	*out = bitmap__new(pages);
	return *out ? 0 : -ENOMEM;
}

void bitmap__free(struct bitmap *b)
{
	if (!b)
		return;
	free(b->words);
	free(b);
}

uint64_t bitmap__pages(const struct bitmap *b)
{
	return b->pages;
}

uint64_t bitmap__bytes(const struct bitmap *b)
{
	return b->nwords * 8;
}

uint64_t *bitmap__words(struct bitmap *b)
{
	return b->words;
}

const uint64_t *bitmap__cwords(const struct bitmap *b)
{
	return b->words;
}

void bitmap__zero(struct bitmap *b)
{
	if (b->nwords)
		memset(b->words, 0, b->nwords * 8);
}

static inline uint64_t tail_mask(uint64_t pages)
{
	unsigned int r = pages % 64;

	return r ? (1ULL << r) - 1 : ~0ULL;
}

void bitmap__fill(struct bitmap *b)
{
	if (!b->nwords)
		return;
	memset(b->words, 0xff, b->nwords * 8);
	b->words[b->nwords - 1] &= tail_mask(b->pages);
}

void bitmap__set(struct bitmap *b, uint64_t page)
{
	if (page < b->pages)
		b->words[page / 64] |= 1ULL << (page % 64);
}

bool bitmap__test(const struct bitmap *b, uint64_t page)
{
	return page < b->pages && (b->words[page / 64] >> (page % 64)) & 1;
}

/*
 * The hot loops are compiled for several targets and picked at load time (ifunc): without
 * -mpopcnt, __builtin_popcountll is a libgcc call per word, several times slower than the
 * instruction that every x86-64 of the last decade has.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_CLONES __attribute__((target_clones("avx2", "popcnt", "default")))
#else
#define HOT_CLONES
#endif

HOT_CLONES
uint64_t bitmap_words_popcount(const uint64_t *w, uint64_t nwords)
{
	uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, i = 0;

	for (; i + 4 <= nwords; i += 4) {
		c0 += __builtin_popcountll(w[i]);
		c1 += __builtin_popcountll(w[i + 1]);
		c2 += __builtin_popcountll(w[i + 2]);
		c3 += __builtin_popcountll(w[i + 3]);
	}
	for (; i < nwords; i++)
		c0 += __builtin_popcountll(w[i]);
	return c0 + c1 + c2 + c3;
}

uint64_t bitmap__popcount(const struct bitmap *b)
{
	uint64_t n;

	if (!b->nwords)
		return 0;
	n = bitmap_words_popcount(b->words, b->nwords - 1);
	return n + __builtin_popcountll(b->words[b->nwords - 1] & tail_mask(b->pages));
}

/* dst[i] |= src[i] for whole words, returning the popcount of src. */
HOT_CLONES
static uint64_t merge_aligned(uint64_t *restrict dst, const uint64_t *restrict src, uint64_t n)
{
	uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, i = 0;

	for (; i + 4 <= n; i += 4) {
		uint64_t a = src[i], b = src[i + 1], c = src[i + 2], d = src[i + 3];

		/* empty words dominate a dirty bitmap: skip the store when all four are 0 */
		if (!(a | b | c | d))
			continue;
		dst[i] |= a;
		dst[i + 1] |= b;
		dst[i + 2] |= c;
		dst[i + 3] |= d;
		c0 += __builtin_popcountll(a);
		c1 += __builtin_popcountll(b);
		c2 += __builtin_popcountll(c);
		c3 += __builtin_popcountll(d);
	}
	for (; i < n; i++) {
		dst[i] |= src[i];
		c0 += __builtin_popcountll(src[i]);
	}
	return c0 + c1 + c2 + c3;
}

/*
 * dst words from dst[0] on receive src shifted left by s (0 < s < 64) bits. Each output word
 * is computed from two input words, with no carry between iterations, so it vectorises.
 */
HOT_CLONES
static uint64_t merge_shifted(uint64_t *restrict dst, const uint64_t *restrict src, uint64_t n,
			      unsigned int s)
{
	uint64_t c0 = 0, c1 = 0, i;

	if (!n)
		return 0;
	dst[0] |= src[0] << s;
	c0 += __builtin_popcountll(src[0]);
	for (i = 1; i + 2 <= n; i += 2) {
		dst[i] |= (src[i] << s) | (src[i - 1] >> (64 - s));
		dst[i + 1] |= (src[i + 1] << s) | (src[i] >> (64 - s));
		c0 += __builtin_popcountll(src[i]);
		c1 += __builtin_popcountll(src[i + 1]);
	}
	for (; i < n; i++) {
		dst[i] |= (src[i] << s) | (src[i - 1] >> (64 - s));
		c0 += __builtin_popcountll(src[i]);
	}
	/* the bits of the last word that spill past it */
	if (src[n - 1] >> (64 - s))
		dst[n] |= src[n - 1] >> (64 - s);
	return c0 + c1;
}

int64_t bitmap__merge(struct bitmap *dst, uint64_t dst_first, const uint64_t *src, uint64_t pages)
{
	uint64_t full = pages / 64, rem = pages % 64, count, last = 0;
	uint64_t *d;
	unsigned int s;

	if (!pages)
		return 0;
	if (dst_first > dst->pages || pages > dst->pages - dst_first)
		return -ERANGE;
	d = dst->words + dst_first / 64;
	s = dst_first % 64;
	if (rem)
		last = src[full] & ((1ULL << rem) - 1);
	if (!s) {
		count = merge_aligned(d, src, full);
		if (rem)
			d[full] |= last;
	} else {
		count = merge_shifted(d, src, full, s);
		if (rem) {
			/* the partial last source word: its bits may spill into one more word */
			d[full] |= last << s;
			if (s + rem > 64)
				d[full + 1] |= last >> (64 - s);
		}
	}
	return (int64_t)(count + __builtin_popcountll(last));
}

uint64_t bitmap__next_set(const struct bitmap *b, uint64_t from)
{
	uint64_t i, w;

	if (from >= b->pages)
		return b->pages;
	i = from / 64;
	w = b->words[i] & (~0ULL << (from % 64));
	for (;;) {
		if (w) {
			uint64_t page = i * 64 + __builtin_ctzll(w);

			return page < b->pages ? page : b->pages;
		}
		if (++i >= b->nwords)
			return b->pages;
		w = b->words[i];
	}
}

int bitmap__for_each_set(const struct bitmap *b, int (*fn)(uint64_t page, void *ctx), void *ctx)
{
	for (uint64_t i = 0; i < b->nwords; i++) {
		uint64_t w = b->words[i];

		if (i == b->nwords - 1)
			w &= tail_mask(b->pages);
		while (w) {
			int ret = fn(i * 64 + __builtin_ctzll(w), ctx);

			if (ret)
				return ret;
			w &= w - 1;
		}
	}
	return 0;
}
