// SPDX-License-Identifier: GPL-2.0
/*
 * The "VMM" the tracer's VM test watches (plain VFIO uAPI, no libvfioscope): a type1v2
 * container with the edu device, mappings below and above 4 GiB, an unmap, a refused partial
 * unmap, and a type1 dirty tracking session. It prints what it did as one JSON line, then
 * holds its files open until a line arrives on stdin (so `vfioscope state` can be checked
 * against it), then closes everything (so the state's disappearance can be checked).
 *
 * usage: tracer_type1 BDF GROUP
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static void die(const char *step)
{
	fprintf(stderr, "tracer_type1: failed to %s: %s\n", step, strerror(errno));
	exit(1);
}

struct region {
	uint64_t iova, size;
	void *buf;
};

static struct region regions[] = {
	{ 0x0, 0xc0000 },
	{ 0x100000, 0x100000 },
	{ 0x200000, 0x100000 }, /* unmapped again below */
	{ 0x100000000ULL, 0x200000 },
};

static int map(int c, struct region *r)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = r->iova,
		.size = r->size,
	};

	r->buf = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf == MAP_FAILED)
		die("mmap a buffer");
	m.vaddr = (uintptr_t)r->buf;
	return ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(int c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	return ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

static int dirty(int c, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static int get_bitmap(int c, uint64_t iova, uint64_t size)
{
	uint64_t bitmap[64] = { 0 };
	struct {
		struct vfio_iommu_type1_dirty_bitmap h;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} gb = {
		{ .argsz = sizeof(gb), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		{ .iova = iova,
		  .size = size,
		  .bitmap = { .pgsize = 4096,
			      .size = (size / 4096 + 63) / 64 * 8,
			      .data = (__u64 *)bitmap } },
	};

	return ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &gb);
}

/* Map BAR0 of the device at @iova as QEMU maps BARs for peer-to-peer DMA: an mmap of the
 * device fd's region. Returns 0 or an errno. */
static void *bar;

static int map_bar0(int c, int dev, uint64_t iova, uint64_t *size)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = iova,
	};

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return errno;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return ENODEV;
	bar = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, ri.offset);
	if (bar == MAP_FAILED) {
		bar = NULL;
		return errno;
	}
	m.vaddr = (uintptr_t)bar;
	m.size = *size = ri.size;
	return ioctl(c, VFIO_IOMMU_MAP_DMA, &m) ? errno : 0;
}

int main(int argc, char **argv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	int c, g, dev, partial_err, bar_err;
	uint64_t bar_size = 0;
	char path[64], line[16];

	if (argc != 3) {
		fprintf(stderr, "usage: tracer_type1 BDF GROUP\n");
		return 2;
	}
	c = open("/dev/vfio/vfio", O_RDWR);
	if (c < 0)
		die("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[2]);
	g = open(path, O_RDWR);
	if (g < 0)
		die("open the group");
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &gs))
		die("get the group status");
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c))
		die("set the container");
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the IOMMU type");
	dev = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev < 0)
		die("get the device fd");
	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (map(c, &regions[i]))
			die("map DMA");
	if (unmap(c, 0x200000, 0x100000))
		die("unmap DMA");
	/* type1v2 refuses to split a mapping: EINVAL, and the mirror must not change */
	partial_err = unmap(c, 0x100000, 0x80000) ? errno : 0;
	/* above 4 GiB: QEMU's rule puts it in the PCI-64 range */
	bar_err = map_bar0(c, dev, 0x200000000ULL, &bar_size);
	if (dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START))
		die("start dirty tracking");
	if (get_bitmap(c, 0x100000, 0x100000) || get_bitmap(c, 0x100000, 0x100000))
		die("get the dirty bitmap");
	if (dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP))
		die("stop dirty tracking");
	printf("{\"pid\":%d,\"container_fd\":%d,\"group_fd\":%d,\"device_fd\":%d,"
	       "\"partial_unmap_errno\":%d,\"maps\":[[0,786432],[1048576,1048576],"
	       "[4294967296,2097152]],\"bar_map_errno\":%d,\"bar\":[8589934592,%llu],"
	       "\"reports\":2,\"bitmap_bytes\":64}\n",
	       getpid(), c, g, dev, partial_err, bar_err, (unsigned long long)bar_size);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	if (bar) /* the mmap holds the device open, and with it the group */
		munmap(bar, bar_size);
	close(dev);
	if (ioctl(g, VFIO_GROUP_UNSET_CONTAINER))
		die("unset the container");
	close(g);
	close(c);
	return 0;
}
