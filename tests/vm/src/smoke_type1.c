// SPDX-License-Identifier: GPL-2.0
/*
 * VM smoke test through the plain VFIO uAPI (no libvfioscope): a type1v2 container with the edu
 * device, 1 MiB mapped, edu DMA RAM->edu->RAM, the bytes checked where they landed, and
 * VFIO_IOMMU_DIRTY_PAGES reporting every mapped page dirty (vfio-uapi.md §4.3).
 *
 * usage: smoke_type1 BDF GROUP
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
#include <time.h>
#include <unistd.h>

#define MAP_IOVA 0x100000ULL
#define MAP_SIZE (1ULL << 20)
#define PAGE	 4096ULL
#define EDU_BUF	 0x40000ULL

static int passed, failed;

#define CHECK(cond, ...)                  \
	do {                              \
		if (cond) {               \
			passed++;         \
			printf("ok: ");   \
		} else {                  \
			failed++;         \
			printf("FAIL: "); \
		}                         \
		printf(__VA_ARGS__);      \
		printf("\n");             \
	} while (0)

static void die(const char *step)
{
	printf("FAIL: %s: %s\n", step, strerror(errno));
	printf("%d passed, %d failed\n", passed, failed + 1);
	exit(1);
}

static uint64_t bar0_off, cfg_off;
static int devfd;

static uint32_t bar_read(uint64_t reg)
{
	uint32_t v = 0;

	if (pread(devfd, &v, 4, bar0_off + reg) != 4)
		die("read edu BAR0");
	return v;
}

static void bar_write(uint64_t reg, uint32_t v)
{
	if (pwrite(devfd, &v, 4, bar0_off + reg) != 4)
		die("write edu BAR0");
}

/* Run one edu DMA and wait for RUN to clear (the copy lands ~100 ms of virtual time later). */
static int edu_dma(uint32_t src, uint32_t dst, uint32_t cnt, uint32_t cmd)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	bar_write(0x80, src);
	bar_write(0x88, dst);
	bar_write(0x90, cnt);
	bar_write(0x98, cmd);
	for (int i = 0; i < 1000; i++) {
		if (!(bar_read(0x98) & 1))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static uint64_t region_offset(uint32_t index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return ri.offset;
}

int main(int argc, char **argv)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	char path[64];
	uint8_t *buf;
	int container, group, n;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BDF GROUP\n", argv[0]);
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio");
	CHECK(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO API version %d",
	      VFIO_API_VERSION);
	CHECK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1, "type1v2 supported");
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[2]);
	group = open(path, O_RDWR);
	if (group < 0)
		die("open the group");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs))
		die("VFIO_GROUP_GET_STATUS");
	CHECK(gs.flags & VFIO_GROUP_FLAGS_VIABLE, "group %s viable", argv[2]);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	devfd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (devfd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");

	buf = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	memset(buf, 0, MAP_SIZE);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = MAP_IOVA;
	map.size = MAP_SIZE;
	CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0, "map 1 MiB at IOVA 0x%llx",
	      MAP_IOVA);

	bar0_off = region_offset(VFIO_PCI_BAR0_REGION_INDEX);
	cfg_off = region_offset(VFIO_PCI_CONFIG_REGION_INDEX);
	CHECK((bar_read(0x00) & 0xff) == 0xed, "edu identifies itself (0x%08x)", bar_read(0x00));
	{
		uint16_t cmd;

		if (pread(devfd, &cmd, 2, cfg_off + 4) != 2)
			die("read PCI command");
		cmd |= 0x6; /* memory space + bus master: without it edu's DMA goes nowhere */
		if (pwrite(devfd, &cmd, 2, cfg_off + 4) != 2)
			die("enable bus master");
	}

	/* pattern into page 0, RAM -> edu buffer, then edu buffer -> page 8 */
	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	CHECK(edu_dma(MAP_IOVA, EDU_BUF, 64, 0x1) == 0, "edu DMA RAM->edu completes");
	CHECK(edu_dma(EDU_BUF, MAP_IOVA + 8 * PAGE, 64, 0x3) == 0, "edu DMA edu->RAM completes");
	CHECK(memcmp(buf, buf + 8 * PAGE, 64) == 0, "the 64 bytes edu wrote arrived at IOVA 0x%llx",
	      MAP_IOVA + 8 * PAGE);

	/* type1 dirty tracking: every mapped page is reported (no group pinned pages) */
	{
		struct vfio_iommu_type1_dirty_bitmap start = {
			.argsz = sizeof(start), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START
		};
		struct vfio_iommu_type1_dirty_bitmap stop = {
			.argsz = sizeof(stop), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP
		};
		size_t npages = MAP_SIZE / PAGE;
		uint64_t bits[(MAP_SIZE / PAGE + 63) / 64];
		struct {
			struct vfio_iommu_type1_dirty_bitmap hdr;
			struct vfio_iommu_type1_dirty_bitmap_get get;
		} gb = {};

		CHECK(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &start) == 0, "DIRTY_PAGES START");
		memset(bits, 0, sizeof(bits));
		gb.hdr.argsz = sizeof(gb);
		gb.hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		gb.get.iova = MAP_IOVA;
		gb.get.size = MAP_SIZE;
		gb.get.bitmap.pgsize = PAGE;
		gb.get.bitmap.size = sizeof(bits);
		gb.get.bitmap.data = (__u64 *)bits;
		CHECK(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &gb) == 0, "DIRTY_PAGES GET_BITMAP");
		n = 0;
		for (size_t i = 0; i < sizeof(bits) / 8; i++)
			n += __builtin_popcountll(bits[i]);
		CHECK((size_t)n == npages, "GET_BITMAP reports all %zu mapped pages dirty (got %d)",
		      npages, n);
		CHECK(ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &stop) == 0, "DIRTY_PAGES STOP");
	}

	unmap.iova = MAP_IOVA;
	unmap.size = MAP_SIZE;
	CHECK(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == MAP_SIZE,
	      "unmap 1 MiB");
	close(devfd);
	close(group);
	close(container);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
