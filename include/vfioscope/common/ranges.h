/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IOVA ranges: an interval set of what is DMA-mapped, and QEMU's range algorithm
 * (QEMU "vfio/common: Record DMA mapped IOVA ranges", plus the later pci64 bucket): mapped
 * sections -> at most one range below 4 GiB, one above, and one for 64-bit PCI BARs,
 * host-page aligned, empty ones not sent.
 */
#ifndef VFIOSCOPE_RANGES_H
#define VFIOSCOPE_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A range as the kernel takes it: [iova, iova + length). */
struct iova_range {
	uint64_t iova;
	uint64_t length;
};

/* ---- interval set (inclusive ends, so the last page of the IOVA space is representable) ---- */

struct range_set;

struct range_set *range_set__new(void);
void range_set__free(struct range_set *set);
/* Adds [iova, iova + length), merging with touching or overlapping intervals.
 * -EINVAL for length 0, -EOVERFLOW when iova + length wraps past 2^64. */
int range_set__add(struct range_set *set, uint64_t iova, uint64_t length);
/* Removes [iova, iova + length), splitting intervals as needed. Same errors as add. */
int range_set__remove(struct range_set *set, uint64_t iova, uint64_t length);
size_t range_set__count(const struct range_set *set);
/* Interval i in ascending order: [*first, *last]. -ENOENT past the end. */
int range_set__get(const struct range_set *set, size_t i, uint64_t *first, uint64_t *last);
/* Total bytes covered (saturates at UINT64_MAX for the whole space). */
uint64_t range_set__bytes(const struct range_set *set);
/* Whether [first, last] lies inside one interval of the set. */
bool range_set__contains(const struct range_set *set, uint64_t first, uint64_t last);
/*
 * The exact interval list, reduced to at most max ranges by joining the two neighbours with the
 * smallest gap first (what mlx5 does in the kernel when a device takes few ranges). Each range
 * is aligned outward to page_size. Returns the count written to out, or -errno
 * (-EOVERFLOW when an interval cannot be expressed as [iova, length) below 2^64).
 */
int range_set__to_ranges(const struct range_set *set, uint64_t page_size, struct iova_range *out,
			 size_t max);

/* ---- QEMU's range algorithm ---- */

/* What a section of the VM's address space is (QEMU MemoryRegionSection, reduced). */
enum section_kind {
	SECTION_RAM, /* guest RAM: mapped and tracked */
	SECTION_PCI_BAR, /* a BAR of one of this container's devices (the pci64 rule applies) */
	SECTION_IOMMU, /* behind a vIOMMU: tracked at its IOVA bounds, blocks device tracking */
	SECTION_OTHER, /* neither RAM nor IOMMU (MMIO, ROM device): skipped */
};

struct section {
	uint64_t iova; /* offset_within_address_space */
	uint64_t size;
	uint64_t offset_in_region; /* must agree with iova in the sub-page bits */
	enum section_kind kind;
};

struct dirty_ranges {
	uint64_t min32, max32, min64, max64, minpci64, maxpci64;
};

/* QEMU's initial state: min32 = UINT32_MAX, min64 = minpci64 = UINT64_MAX, maxes 0. */
void dirty_ranges__init(struct dirty_ranges *r);

/*
 * Host-page alignment of a section, as QEMU's listener does it: the start rounds up, the end
 * rounds down. Returns 1 and [*first, *last] when something remains, 0 when the section is
 * empty after alignment or must be skipped (not RAM/IOMMU, or bit 63 set: a spurious mapping
 * while a 64-bit BAR is sized), -EINVAL when iova and offset_in_region differ in sub-page bits,
 * -EOVERFLOW when iova + size wraps past 2^64.
 */
int section_align(const struct section *s, uint64_t page_size, uint64_t *first, uint64_t *last);

/* Widens the bucket the section falls in. Returns 1 if used, 0 if skipped, -errno as above. */
int dirty_ranges__update(struct dirty_ranges *r, const struct section *s, uint64_t page_size);

/*
 * The DMA_LOGGING_START ranges: 32-bit, 64-bit, pci64, each [min, max - min + 1], a bucket
 * with max == 0 counting as empty. Returns the count (0..3) or -EOVERFLOW (a bucket spanning
 * all 2^64 bytes) or -E2BIG (max too small).
 */
int dirty_ranges__build(const struct dirty_ranges *r, struct iova_range *out, size_t max);

/* Whether [first, last] lies inside one of the IOMMU's valid IOVA windows. */
bool ranges_in_windows(const struct iova_range *win, size_t nr_win, uint64_t first, uint64_t last);

/* ---- a VM-like memory layout ---- */

#define LAYOUT_MAX_SECTIONS 16

struct layout {
	struct section sections[LAYOUT_MAX_SECTIONS];
	size_t nr;
	bool viommu; /* the VM has a vIOMMU: device tracking is blocked (QEMU's migration blocker) */
};

/*
 * Parses "256M" (one RAM region at 0; above 3 GiB the rest goes to 4 GiB, like a PC) or a list
 * "SIZE[@ADDR][:ram|:bar|:other],..." plus the word "viommu". Sizes take K/M/G/T suffixes.
 * Returns 0 or -EINVAL (message in err, if given, of errlen bytes).
 */
int layout_parse(const char *spec, struct layout *out, char *err, size_t errlen);

#endif
