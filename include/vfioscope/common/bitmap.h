/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty bitmaps, sized like QEMU's VFIOBitmap: pages = ALIGN(size, page) / page and
 * bytes = ROUND_UP(pages, 64) / 8, in little-endian u64 words (bit i = page i), as every
 * VFIO and iommufd dirty ioctl expects. The merge, popcount and iteration work a word at a time.
 */
#ifndef VFIOSCOPE_BITMAP_H
#define VFIOSCOPE_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bitmap;

/* Bytes for n pages: DIV_ROUND_UP(n, 64) * 8, never n / 8. */
static inline uint64_t bitmap_bytes_for_pages(uint64_t pages)
{
	return ((pages + 63) / 64) * 8;
}

/* A zeroed bitmap of n pages (n may be 0: no words). NULL on allocation failure. */
struct bitmap *bitmap__new(uint64_t pages);
/* A zeroed bitmap for size bytes of IOVA at page_size (size rounded up to a page).
 * -EINVAL for a page_size that is 0 or not a power of two. */
int bitmap__new_for_size(uint64_t size, uint64_t page_size, struct bitmap **out);
void bitmap__free(struct bitmap *b);

uint64_t bitmap__pages(const struct bitmap *b);
uint64_t bitmap__bytes(const struct bitmap *b);
/* The words, to hand to the kernel. */
uint64_t *bitmap__words(struct bitmap *b);
const uint64_t *bitmap__cwords(const struct bitmap *b);

void bitmap__zero(struct bitmap *b);
/* Sets every page bit (perpetually dirty); bits past the last page stay clear. */
void bitmap__fill(struct bitmap *b);
void bitmap__set(struct bitmap *b, uint64_t page);
bool bitmap__test(const struct bitmap *b, uint64_t page);
/* Pages set. Bits past the last page are not counted. */
uint64_t bitmap__popcount(const struct bitmap *b);

/*
 * ORs pages [0, pages) of the word array src into dst starting at page dst_first (any bit
 * offset), and returns how many of those source pages were set (QEMU's
 * physical_memory_set_dirty_lebitmap returns the same count). Source bits at or past pages
 * are ignored. -ERANGE (as a negative value) when the source does not fit in dst.
 */
int64_t bitmap__merge(struct bitmap *dst, uint64_t dst_first, const uint64_t *src, uint64_t pages);

/*
 * Calls fn(page, ctx) for each set page in ascending order; stops and returns fn's value when
 * it is non-zero. Returns 0 after the last.
 */
int bitmap__for_each_set(const struct bitmap *b, int (*fn)(uint64_t page, void *ctx), void *ctx);
/* The first set page >= from, or bitmap__pages(b) when there is none. */
uint64_t bitmap__next_set(const struct bitmap *b, uint64_t from);

/* Word-array helpers used by the above (exposed for tests and benchmarks). */
uint64_t bitmap_words_popcount(const uint64_t *w, uint64_t nwords);

#endif
