// SPDX-License-Identifier: GPL-2.0
/* IOMMU dirty tracking: type1 VFIO_IOMMU_DIRTY_PAGES and iommufd HWPT dirty tracking. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfioscope/common/bitmap.h"
#include "vfioscope/tracker/iommu_dirty.h"
#include "vfioscope/tracker/vfio.h"

#define MAX_HWPTS 16

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? (errno ? -errno : -EIO) : 0;
}

/* Every device must sit on a dirty-tracking HWPT; the first that does not is named, with why. */
static int iommufd_probe(struct vfio_container *c, const struct vfio_iommu_info *info, char *why,
			 size_t len)
{
	size_t n = vfio_container__nr_devices(c);
	const char *no;

	if (!n) {
		snprintf(why, len, "no device, so no dirty-tracking HWPT");
		return -ENODEV;
	}
	for (size_t i = 0; i < n; i++) {
		struct vfio_dev *d = vfio_container__device(c, i);

		if (!vfio_dev__iommu_dirty(d, &no)) {
			snprintf(why, len, "%s is on no dirty-tracking HWPT: %s", vfio_dev__name(d),
				 no);
			return -EOPNOTSUPP;
		}
	}
	if (!info->hw_dirty) {
		snprintf(why, len, "the IOAS has no dirty-tracking HWPT");
		return -EOPNOTSUPP;
	}
	return 0;
}

int iommu_dirty_probe(struct vfio_container *c, uint64_t page_size, uint64_t max_map_bytes,
		      char *why, size_t len)
{
	struct vfio_iommu_info info;
	int err;

	err = vfio_container__info(c, &info);
	if (err) {
		snprintf(why, len, "cannot read the IOMMU info: %s", strerror(-err));
		return err;
	}
	if (vfio_container__backend(c) == VFIO_BACKEND_IOMMUFD)
		return iommufd_probe(c, &info, why, len);
	if (!info.has_migration) {
		snprintf(why, len, "the type1 container has no MIGRATION capability");
		return -EOPNOTSUPP;
	}
	if (!(info.mig_pgsize_bitmap & page_size)) {
		snprintf(why, len, "page size %llu not in the dirty page sizes 0x%llx",
			 (unsigned long long)page_size, (unsigned long long)info.mig_pgsize_bitmap);
		return -EINVAL;
	}
	if (bitmap_bytes_for_pages(max_map_bytes / page_size) > info.max_dirty_bitmap_size) {
		snprintf(why, len,
			 "a mapping of %llu bytes needs a bitmap larger than the type1 "
			 "cap of %llu bytes (%llu GiB of IOVA per query)",
			 (unsigned long long)max_map_bytes,
			 (unsigned long long)info.max_dirty_bitmap_size,
			 (unsigned long long)(info.max_dirty_bitmap_size * 8 * page_size >> 30));
		return -E2BIG;
	}
	return 0;
}

static int type1_dirty(struct vfio_container *c, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return xioctl(vfio_container__fd(c), VFIO_IOMMU_DIRTY_PAGES, &d);
}

int iommufd_hwpt_dirty_set(int iommufd, uint32_t hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking s = {
		.size = sizeof(s),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return xioctl(iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s);
}

int iommufd_hwpt_dirty_read(int iommufd, uint32_t hwpt, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint32_t flags, uint64_t *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g),
		.hwpt_id = hwpt,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};
	uint64_t end;

	/* the kernel takes length 0 as an overflow of iova + length - 1: nothing to read */
	if (!length)
		return 0;
	if (__builtin_add_overflow(iova, length - 1, &end))
		return -EOVERFLOW;
	return xioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
}

static int hwpt_set(struct vfio_container *c, uint32_t hwpt, bool enable)
{
	return iommufd_hwpt_dirty_set(vfio_container__fd(c), hwpt, enable);
}

int iommu_dirty_start(struct vfio_container *c)
{
	uint32_t ids[MAX_HWPTS];
	size_t n;
	int err;

	if (vfio_container__backend(c) == VFIO_BACKEND_TYPE1)
		return type1_dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	n = vfio_container__hwpts(c, ids, MAX_HWPTS);
	if (!n)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < n; i++) {
		err = hwpt_set(c, ids[i], true);
		if (err) {
			/* roll back the HWPTs already enabled, as QEMU does */
			while (i--)
				hwpt_set(c, ids[i], false);
			return err;
		}
	}
	return 0;
}

int iommu_dirty_stop(struct vfio_container *c)
{
	uint32_t ids[MAX_HWPTS];
	int err = 0, e;
	size_t n;

	if (vfio_container__backend(c) == VFIO_BACKEND_TYPE1)
		return type1_dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
	n = vfio_container__hwpts(c, ids, MAX_HWPTS);
	for (size_t i = 0; i < n; i++) {
		e = hwpt_set(c, ids[i], false);
		if (e && !err)
			err = e;
	}
	return err;
}

int iommu_dirty_report(struct vfio_container *c, uint64_t iova, uint64_t length, uint64_t page_size,
		       uint64_t *bitmap)
{
	uint32_t ids[MAX_HWPTS];
	uint64_t end;
	size_t n;
	int err;

	if (!length)
		return 0;
	if (__builtin_add_overflow(iova, length - 1, &end))
		return -EOVERFLOW;
	if (vfio_container__backend(c) == VFIO_BACKEND_TYPE1) {
		struct {
			struct vfio_iommu_type1_dirty_bitmap d;
			struct vfio_iommu_type1_dirty_bitmap_get g;
		} __attribute__((packed, aligned(8))) arg = {};

		arg.d.argsz = sizeof(arg);
		arg.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		arg.g.iova = iova;
		arg.g.size = length;
		arg.g.bitmap.pgsize = page_size;
		arg.g.bitmap.size = bitmap_bytes_for_pages(length / page_size);
		arg.g.bitmap.data = (__u64 *)bitmap;
		return xioctl(vfio_container__fd(c), VFIO_IOMMU_DIRTY_PAGES, &arg);
	}
	n = vfio_container__hwpts(c, ids, MAX_HWPTS);
	for (size_t i = 0; i < n; i++) {
		/* read and clear: each sync starts a clean round, as QEMU's syncs do */
		err = iommufd_hwpt_dirty_read(vfio_container__fd(c), ids[i], iova, length,
					      page_size, 0, bitmap);
		if (err)
			return err;
	}
	return 0;
}
