// SPDX-License-Identifier: GPL-2.0
/* IOVA interval set and QEMU's range algorithm (hw/vfio, vfio_dirty_tracking_update). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/common/parse.h"
#include "vfioscope/common/ranges.h"

struct interval {
	uint64_t first, last; /* inclusive */
};

struct range_set {
	struct interval *iv;
	size_t nr, cap;
};

struct range_set *range_set__new(void)
{
	return calloc(1, sizeof(struct range_set));
}

void range_set__free(struct range_set *set)
{
	if (!set)
		return;
	free(set->iv);
	free(set);
}

static int to_inclusive(uint64_t iova, uint64_t length, uint64_t *last)
{
	if (!length)
		return -EINVAL;
	if (__builtin_add_overflow(iova, length - 1, last))
		return -EOVERFLOW;
	return 0;
}

static int reserve(struct range_set *set, size_t n)
{
	struct interval *iv;
	size_t cap;

	if (n <= set->cap)
		return 0;
	cap = set->cap ? set->cap * 2 : 8;
	while (cap < n)
		cap *= 2;
	iv = realloc(set->iv, cap * sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	set->iv = iv;
	set->cap = cap;
	return 0;
}

int range_set__add(struct range_set *set, uint64_t iova, uint64_t length)
{
	uint64_t first = iova, last;
	size_t lo, hi;
	int err;

	err = to_inclusive(iova, length, &last);
	if (err)
		return err;
	/* lo: first interval that touches or follows [first, last] */
	for (lo = 0; lo < set->nr; lo++)
		if (set->iv[lo].last == UINT64_MAX || set->iv[lo].last + 1 >= first)
			break;
	/* hi: first interval that starts strictly after last + 1 */
	for (hi = lo; hi < set->nr; hi++)
		if (last != UINT64_MAX && set->iv[hi].first > last + 1)
			break;
	if (lo == hi) {
		err = reserve(set, set->nr + 1);
		if (err)
			return err;
		memmove(&set->iv[lo + 1], &set->iv[lo], (set->nr - lo) * sizeof(set->iv[0]));
		set->iv[lo] = (struct interval){ first, last };
		set->nr++;
		return 0;
	}
	if (set->iv[lo].first < first)
		first = set->iv[lo].first;
	if (set->iv[hi - 1].last > last)
		last = set->iv[hi - 1].last;
	set->iv[lo] = (struct interval){ first, last };
	memmove(&set->iv[lo + 1], &set->iv[hi], (set->nr - hi) * sizeof(set->iv[0]));
	set->nr -= hi - lo - 1;
	return 0;
}

int range_set__remove(struct range_set *set, uint64_t iova, uint64_t length)
{
	uint64_t first = iova, last;
	size_t i;
	int err;

	err = to_inclusive(iova, length, &last);
	if (err)
		return err;
	for (i = 0; i < set->nr;) {
		struct interval *v = &set->iv[i];

		if (v->last < first || v->first > last) {
			i++;
			continue;
		}
		if (v->first < first && v->last > last) {
			/* split in two */
			err = reserve(set, set->nr + 1);
			if (err)
				return err;
			v = &set->iv[i];
			memmove(&set->iv[i + 1], &set->iv[i], (set->nr - i) * sizeof(*v));
			set->iv[i].last = first - 1;
			set->iv[i + 1].first = last + 1;
			set->nr++;
			return 0;
		}
		if (v->first < first) {
			v->last = first - 1;
			i++;
		} else if (v->last > last) {
			v->first = last + 1;
			i++;
		} else {
			memmove(&set->iv[i], &set->iv[i + 1], (set->nr - i - 1) * sizeof(*v));
			set->nr--;
		}
	}
	return 0;
}

size_t range_set__count(const struct range_set *set)
{
	return set->nr;
}

int range_set__get(const struct range_set *set, size_t i, uint64_t *first, uint64_t *last)
{
	if (i >= set->nr)
		return -ENOENT;
	*first = set->iv[i].first;
	*last = set->iv[i].last;
	return 0;
}

uint64_t range_set__bytes(const struct range_set *set)
{
	uint64_t sum = 0, len;

	for (size_t i = 0; i < set->nr; i++) {
		len = set->iv[i].last - set->iv[i].first;
		if (__builtin_add_overflow(sum, len, &sum) || __builtin_add_overflow(sum, 1, &sum))
			return UINT64_MAX;
	}
	return sum;
}

bool range_set__contains(const struct range_set *set, uint64_t first, uint64_t last)
{
	for (size_t i = 0; i < set->nr; i++)
		if (set->iv[i].first <= first && last <= set->iv[i].last)
			return true;
	return false;
}

int range_set__to_ranges(const struct range_set *set, uint64_t page_size, struct iova_range *out,
			 size_t max)
{
	struct interval *iv;
	size_t n = set->nr;

	if (!page_size || (page_size & (page_size - 1)))
		return -EINVAL;
	if (!n)
		return 0;
	if (!max)
		return -E2BIG;
	iv = malloc(n * sizeof(*iv));
	if (!iv)
		return -ENOMEM;
	memcpy(iv, set->iv, n * sizeof(*iv));
	while (n > max) {
		/* join the neighbours with the smallest gap */
		size_t best = 0;
		uint64_t gap = UINT64_MAX;

		for (size_t i = 0; i + 1 < n; i++) {
			uint64_t g = iv[i + 1].first - iv[i].last;

			if (g < gap) {
				gap = g;
				best = i;
			}
		}
		iv[best].last = iv[best + 1].last;
		memmove(&iv[best + 1], &iv[best + 2], (n - best - 2) * sizeof(*iv));
		n--;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t first = iv[i].first & ~(page_size - 1);
		uint64_t last = iv[i].last | (page_size - 1);

		out[i].iova = first;
		out[i].length = last - first + 1;
		if (!out[i].length) {
			free(iv);
			return -EOVERFLOW;
		}
	}
	free(iv);
	/* Outward alignment may have made neighbours overlap; the kernel refuses overlap. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (out[i].iova + out[i].length > out[i + 1].iova) {
			uint64_t end = out[i + 1].iova + out[i + 1].length;

			out[i].length = end - out[i].iova;
			memmove(&out[i + 1], &out[i + 2], (n - i - 2) * sizeof(*out));
			n--;
			i--;
		}
	}
	return (int)n;
}

/* ---- QEMU's range algorithm ---- */

void dirty_ranges__init(struct dirty_ranges *r)
{
	memset(r, 0, sizeof(*r));
	r->min32 = UINT32_MAX;
	r->min64 = UINT64_MAX;
	r->minpci64 = UINT64_MAX;
}

int section_align(const struct section *s, uint64_t page_size, uint64_t *first, uint64_t *last)
{
	uint64_t mask = page_size - 1, end, start;

	if (!page_size || (page_size & mask))
		return -EINVAL;
	if (s->kind != SECTION_RAM && s->kind != SECTION_PCI_BAR && s->kind != SECTION_IOMMU)
		return 0;
	/* QEMU: "Sizing an enabled 64-bit BAR can cause spurious mappings" */
	if (s->iova & (1ULL << 63))
		return 0;
	if ((s->iova & mask) != (s->offset_in_region & mask))
		return -EINVAL;
	if (!s->size)
		return 0;
	if (__builtin_add_overflow(s->iova, s->size - 1, &end))
		return -EOVERFLOW;
	/* start rounds up; an overflow here means nothing whole remains */
	if (__builtin_add_overflow(s->iova, mask, &start))
		return 0;
	start &= ~mask;
	/* end rounds down to the last whole page: llend = (end + 1) & ~mask, computed without
	 * the 2^64 wrap when the section ends on the last byte of the space */
	if (end != UINT64_MAX) {
		uint64_t llend = (end + 1) & ~mask;

		if (!llend)
			return 0;
		end = llend - 1;
	}
	if (start > end)
		return 0;
	*first = start;
	*last = end;
	return 1;
}

int dirty_ranges__update(struct dirty_ranges *r, const struct section *s, uint64_t page_size)
{
	uint64_t first, last, *min, *max;
	int ret;

	ret = section_align(s, page_size, &first, &last);
	if (ret <= 0)
		return ret;
	if (s->kind == SECTION_PCI_BAR && first >= UINT32_MAX) {
		min = &r->minpci64;
		max = &r->maxpci64;
	} else if (last <= UINT32_MAX) {
		min = &r->min32;
		max = &r->max32;
	} else {
		/* a section that crosses 4 GiB lands here, whole */
		min = &r->min64;
		max = &r->max64;
	}
	if (first < *min)
		*min = first;
	if (last > *max)
		*max = last;
	return 1;
}

int dirty_ranges__build(const struct dirty_ranges *r, struct iova_range *out, size_t max)
{
	const uint64_t pairs[3][2] = {
		{ r->min32, r->max32 },
		{ r->min64, r->max64 },
		{ r->minpci64, r->maxpci64 },
	};
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		uint64_t min = pairs[i][0], maxv = pairs[i][1];

		if (!maxv)
			continue;
		if (n >= max)
			return -E2BIG;
		out[n].iova = min;
		out[n].length = maxv - min + 1;
		if (!out[n].length)
			return -EOVERFLOW;
		n++;
	}
	return (int)n;
}

bool ranges_in_windows(const struct iova_range *win, size_t nr_win, uint64_t first, uint64_t last)
{
	for (size_t i = 0; i < nr_win; i++) {
		uint64_t wlast;

		if (to_inclusive(win[i].iova, win[i].length, &wlast))
			wlast = UINT64_MAX;
		if (win[i].iova <= first && last <= wlast)
			return true;
	}
	return false;
}

/* ---- layout ---- */

#define GIB (1ULL << 30)
/* Like a PC: RAM up to 3 GiB stays low, the rest moves above the 4 GiB hole. */
#define LOWMEM_MAX (3 * GIB)

static int layout_err(char *err, size_t errlen, const char *fmt, const char *tok)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, tok);
	return -EINVAL;
}

static int layout_add(struct layout *l, uint64_t iova, uint64_t size, enum section_kind kind)
{
	uint64_t last;

	if (l->nr >= LAYOUT_MAX_SECTIONS)
		return -E2BIG;
	if (to_inclusive(iova, size, &last))
		return -EOVERFLOW;
	for (size_t i = 0; i < l->nr; i++) {
		const struct section *o = &l->sections[i];

		if (iova <= o->iova + (o->size - 1) && o->iova <= last)
			return -EEXIST;
	}
	l->sections[l->nr++] = (struct section){ iova, size, iova, kind };
	return 0;
}

/* One SIZE[@ADDR][:KIND] of a layout. */
static int section_parse(const char *tok, uint64_t *size, uint64_t *addr, bool *has_addr,
			 enum section_kind *kind, char *err, size_t errlen)
{
	const char *p;

	*kind = SECTION_RAM;
	*addr = 0;
	*has_addr = false;
	if (parse_size_prefix(tok, &p, size, NULL) || !*size)
		return layout_err(err, errlen, "bad size in '%s'", tok);
	if (*p == '@') {
		if (parse_size_prefix(p + 1, &p, addr, NULL))
			return layout_err(err, errlen, "bad address in '%s'", tok);
		*has_addr = true;
	}
	if (*p == ':') {
		if (!strcmp(p + 1, "ram"))
			*kind = SECTION_RAM;
		else if (!strcmp(p + 1, "bar"))
			*kind = SECTION_PCI_BAR;
		else if (!strcmp(p + 1, "other"))
			*kind = SECTION_OTHER;
		else
			return layout_err(err, errlen, "unknown kind in '%s' (ram, bar, other)",
					  tok);
		p += strlen(p);
	}
	if (*p)
		return layout_err(err, errlen, "trailing characters in '%s'", tok);
	return 0;
}

/* Adds one parsed section; a lone size above the low-memory limit splits around the PCI hole
 * as a VM's RAM does. */
static int section_add(struct layout *out, const char *tok, uint64_t size, uint64_t addr,
		       bool has_addr, enum section_kind kind, char *err, size_t errlen)
{
	int ret;

	if (!has_addr && out->nr == 0 && kind == SECTION_RAM && size > LOWMEM_MAX) {
		ret = layout_add(out, 0, LOWMEM_MAX, SECTION_RAM);
		if (!ret)
			ret = layout_add(out, 4 * GIB, size - LOWMEM_MAX, SECTION_RAM);
	} else {
		ret = layout_add(out, addr, size, kind);
	}
	if (!ret)
		return 0;
	return layout_err(err, errlen,
			  ret == -EEXIST ? "'%s' overlaps an earlier section" :
			  ret == -E2BIG	 ? "too many sections at '%s'" :
					   "'%s' wraps past the end of the IOVA space",
			  tok);
}

int layout_parse(const char *spec, struct layout *out, char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		enum section_kind kind;
		uint64_t size, addr;
		bool has_addr;

		if (!strcmp(tok, "viommu")) {
			out->viommu = true;
			continue;
		}
		ret = section_parse(tok, &size, &addr, &has_addr, &kind, err, errlen);
		if (!ret)
			ret = section_add(out, tok, size, addr, has_addr, kind, err, errlen);
	}
	free(copy);
	if (!ret && !out->nr)
		ret = layout_err(err, errlen, "no memory section in '%s'", spec);
	return ret;
}
