// SPDX-License-Identifier: GPL-2.0
/* Device DMA logging uAPI (include/uapi/linux/vfio.h, VFIO_DEVICE_FEATURE_DMA_LOGGING_*). */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "vfioscope/tracker/devlog.h"

static int feature(int devfd, struct vfio_device_feature *f)
{
	return ioctl(devfd, VFIO_DEVICE_FEATURE, f) ? (errno ? -errno : -EIO) : 0;
}

int devlog_probe(int devfd)
{
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
	};

	return feature(devfd, &f);
}

int devlog_start(int devfd, const struct iova_range *ranges, size_t nr, uint64_t *page_size)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_control ctl;
	} __attribute__((packed, aligned(8))) arg = {};
	struct vfio_device_feature_dma_logging_range *r;
	int err;

	if (!nr)
		return -EINVAL;
	if (nr > UINT32_MAX)
		return -E2BIG;
	/* struct iova_range is laid out as the uAPI's range, but do not rely on it */
	r = calloc(nr, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		r[i].iova = ranges[i].iova;
		r[i].length = ranges[i].length;
	}
	arg.f.argsz = sizeof(arg);
	arg.f.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	arg.ctl.page_size = *page_size;
	arg.ctl.num_ranges = nr;
	arg.ctl.ranges = (uintptr_t)r;
	err = feature(devfd, &arg.f);
	if (!err)
		*page_size = arg.ctl.page_size;
	free(r);
	return err;
}

int devlog_stop(int devfd)
{
	struct vfio_device_feature f = {
		.argsz = sizeof(f),
		.flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
	};

	return feature(devfd, &f);
}

int devlog_report(int devfd, uint64_t iova, uint64_t length, uint64_t page_size, uint64_t *bitmap)
{
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_report rep;
	} __attribute__((packed, aligned(8))) arg = {};
	uint64_t end;

	/* checked here too: the kernel does not check REPORT alignment (vfio-uapi.md §3.4) */
	if (!page_size || (page_size & (page_size - 1)) || page_size < 4096)
		return -EINVAL;
	if ((iova | length) & (page_size - 1))
		return -EINVAL;
	if (!length)
		return 0;
	if (__builtin_add_overflow(iova, length - 1, &end))
		return -EOVERFLOW;
	arg.f.argsz = sizeof(arg);
	arg.f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
	arg.rep.iova = iova;
	arg.rep.length = length;
	arg.rep.page_size = page_size;
	arg.rep.bitmap = (uintptr_t)bitmap;
	return feature(devfd, &arg.f);
}

size_t devlog_max_ranges(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	return (pg > 0 ? (size_t)pg : 4096) / sizeof(struct vfio_device_feature_dma_logging_range);
}
