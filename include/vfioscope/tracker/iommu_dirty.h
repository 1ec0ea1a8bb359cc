/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IOMMU dirty tracking for a container: type1 VFIO_IOMMU_DIRTY_PAGES, or iommufd
 * IOMMU_HWPT_SET_DIRTY_TRACKING / IOMMU_HWPT_GET_DIRTY_BITMAP on every dirty-tracking HWPT.
 * Calls return 0 or -errno and print nothing; the tracker names the step.
 */
#ifndef VFIOSCOPE_IOMMU_DIRTY_H
#define VFIOSCOPE_IOMMU_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vfio_container;

/*
 * Whether the container can track dirty pages at page_size for mappings of at most
 * max_map_bytes each. type1: the MIGRATION capability must be present (-EOPNOTSUPP), list
 * page_size in its pgsize_bitmap (-EINVAL) and allow a bitmap of max_map_bytes in one call
 * (-E2BIG: the 256 MiB bitmap = 8 TiB cap). iommufd: every device must sit on a
 * dirty-tracking HWPT (-EOPNOTSUPP, naming the first that does not and why). A short reason
 * goes to why.
 */
int iommu_dirty_probe(struct vfio_container *c, uint64_t page_size, uint64_t max_map_bytes,
		      char *why, size_t len);
int iommu_dirty_start(struct vfio_container *c);
int iommu_dirty_stop(struct vfio_container *c);
/*
 * Reads (and clears) the dirty bits of [iova, iova + length) into bitmap. type1 requires the
 * range to cover whole mappings. The caller zeroes the bitmap first; iommufd HWPTs OR into it.
 */
int iommu_dirty_report(struct vfio_container *c, uint64_t iova, uint64_t length, uint64_t page_size,
		       uint64_t *bitmap);

/*
 * One iommufd HWPT, the calls the container-level ones above make for each of its HWPTs:
 * IOMMU_HWPT_SET_DIRTY_TRACKING (enabling clears the HWPT's dirty bits first, in the kernel).
 */
int iommufd_hwpt_dirty_set(int iommufd, uint32_t hwpt, bool enable);
/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) at page_size into bitmap, which the
 * kernel only ORs into. flags 0 reads and clears; IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR reads
 * and keeps (QEMU's last read before an unmap). Length 0 reads nothing and returns 0; a range
 * that wraps is -EOVERFLOW; alignment and coverage are the kernel's to check (EINVAL).
 */
int iommufd_hwpt_dirty_read(int iommufd, uint32_t hwpt, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint32_t flags, uint64_t *bitmap);

#endif
