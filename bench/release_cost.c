// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of closing a VFIO container file, and of unmapping one of its mappings, while other
 * containers hold many mappings (not a test: `make bench`). The tracer runs in this process (the syscall way in, with the test hook:
 * regular files stand in for /dev/vfio/vfio on a host without VFIO); each round opens a
 * container, sets its IOMMU, maps one range and closes it, and the close() is timed: first with
 * no other mapping in the tracer's maps (the baseline), then with OTHER mappings held by 100
 * other containers. Prints the median ns per close() of each and the ratio. The same for
 * UNMAP_DMA of a container's middle mapping of three (deleted by its key) and of its last one
 * (a bound of the container's summary: the tracer walks the map to find the next). And the close
 * of an iommufd whose objects its file record names (deleted by key) against one with more
 * objects than the record holds (the maps walked).
 *
 * usage: release_cost [OTHER]   (root; default 100000)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "vfioscope/tracer/tracer.h"

#define ROUNDS	201
#define HOLDERS 100
#define CHUNK	0x1000ULL

static char dir[64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int open_container(void)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "%s/vfio/vfio", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		fprintf(stderr, "release_cost: failed to open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	return fd;
}

static void map(int fd, uint64_t iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f0000000000ULL + iova,
		.iova = iova,
		.size = CHUNK,
	};

	ioctl(fd, VFIO_IOMMU_MAP_DMA, &m);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* median ns of close() of a container holding one mapping */
static uint64_t close_ns(void)
{
	uint64_t t[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		int fd = open_container();
		uint64_t t0;

		map(fd, 0x100000);
		t0 = now_ns();
		close(fd);
		t[i] = now_ns() - t0;
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_u64);
	return t[ROUNDS / 2];
}

static void unmap(int fd, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = CHUNK };

	ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u);
}

/* median ns of UNMAP_DMA of mapping @which (0..2) of a container holding three */
static uint64_t unmap_ns(int which)
{
	uint64_t t[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		int fd = open_container();
		uint64_t t0;

		for (int m = 0; m < 3; m++)
			map(fd, 0x100000 + m * CHUNK);
		t0 = now_ns();
		unmap(fd, 0x100000 + which * CHUNK);
		t[i] = now_ns() - t0;
		close(fd);
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_u64);
	return t[ROUNDS / 2];
}

/* median ns of close() of an iommufd that made @nioas IOAS (one mapping in the first) and a
 * HWPT with dirty tracking on: up to VFS_FILE_OBJS objects its entries are deleted by key,
 * past that the close walks the containers, sessions and HWPTs maps (as every iommufd close
 * did before). */
static uint64_t iommufd_close_ns(unsigned int nioas)
{
	struct iommu_ioas_map m = { .size = sizeof(m),
				    .flags = IOMMU_IOAS_MAP_FIXED_IOVA,
				    .ioas_id = 1,
				    .user_va = 0x7f0000000000ULL,
				    .length = CHUNK,
				    .iova = 0x100000 };
	struct iommu_hwpt_alloc h = { .size = sizeof(h), .pt_id = 1, .out_hwpt_id = 1000 };
	struct iommu_hwpt_set_dirty_tracking d = { .size = sizeof(d), .flags = 1, .hwpt_id = 1000 };
	uint64_t t[ROUNDS];
	char path[96];

	snprintf(path, sizeof(path), "%s/iommu", dir);
	for (int i = 0; i < ROUNDS; i++) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		uint64_t t0;

		if (fd < 0) {
			fprintf(stderr, "release_cost: failed to open %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
		for (unsigned int id = 1; id <= nioas; id++) {
			struct iommu_ioas_alloc a = { .size = sizeof(a), .out_ioas_id = id };

			ioctl(fd, IOMMU_IOAS_ALLOC, &a);
		}
		ioctl(fd, IOMMU_IOAS_MAP, &m);
		ioctl(fd, IOMMU_HWPT_ALLOC, &h);
		ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &d);
		t0 = now_ns();
		close(fd);
		t[i] = now_ns() - t0;
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_u64);
	return t[ROUNDS / 2];
}

static void row(const char *what, uint64_t base, uint64_t loaded, long other, bool full)
{
	printf("%s: %llu ns alone, %llu ns with %ld mappings in %d other containers (x%.1f)%s\n",
	       what, (unsigned long long)base, (unsigned long long)loaded, other, HOLDERS,
	       base ? (double)loaded / base : 0.0, full ? " [mapping map full: figures void]" : "");
}

int main(int argc, char **argv)
{
	long other = argc > 1 ? atol(argv[1]) : 100000;
	struct tracer_opts o = { .sz = sizeof(o),
				 .mode = "tp_btf",
				 .test_hook = true,
				 .no_events = true,
				 .no_kernel_hooks = true,
				 .no_migration = true,
				 .max_mappings = other + 4096 };
	int holders[HOLDERS];
	uint64_t base, loaded, mid0, mid1, last0, last1, lost[VFS_LOST_REASONS] = { 0 };
	uint64_t fd_by_key, fd_walk;
	struct tracer *t;
	char path[96];
	int err;

	snprintf(dir, sizeof(dir), "/dev/shm/vfsrc-%d", getpid());
	snprintf(path, sizeof(path), "%s/vfio", dir);
	if (mkdir(dir, 0700) || mkdir(path, 0700)) {
		fprintf(stderr, "release_cost: failed to make %s: %s\n", path, strerror(errno));
		return 1;
	}
	err = tracer__new(&o, &t);
	if (err) {
		fprintf(stderr, "release_cost: failed to start the tracer: %s\n", strerror(-err));
		return 1;
	}
	base = close_ns();
	mid0 = unmap_ns(1);
	last0 = unmap_ns(2);
	for (int h = 0; h < HOLDERS; h++) {
		holders[h] = open_container();
		for (long i = 0; i < other / HOLDERS; i++)
			map(holders[h], 0x100000 + i * CHUNK);
	}
	loaded = close_ns();
	mid1 = unmap_ns(1);
	last1 = unmap_ns(2);
	/* the containers map holds HOLDERS + 1 entries: each walk visits them all */
	fd_by_key = iommufd_close_ns(1);
	fd_walk = iommufd_close_ns(VFS_FILE_OBJS + 1);
	tracer__lost(t, lost);
	row("close() of a container with 1 mapping", base, loaded, other, lost[VFS_LOST_MAPPING]);
	row("UNMAP_DMA of the middle one of 3 mappings", mid0, mid1, other, lost[VFS_LOST_MAPPING]);
	row("UNMAP_DMA of the last of 3 mappings (a bound: walks the map)", last0, last1, other,
	    lost[VFS_LOST_MAPPING]);
	printf("close() of an iommufd with an IOAS and a dirty-tracking HWPT, %d other containers:"
	       " %llu ns by key; with %d IOAS more (past what its record holds: walks the maps,"
	       " as every iommufd close did before) %llu ns (x%.1f)\n",
	       HOLDERS, (unsigned long long)fd_by_key, VFS_FILE_OBJS, (unsigned long long)fd_walk,
	       fd_by_key ? (double)fd_walk / fd_by_key : 0.0);
	for (int h = 0; h < HOLDERS; h++)
		close(holders[h]);
	tracer__free(t);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) == 0 ? 0 : 1;
}
