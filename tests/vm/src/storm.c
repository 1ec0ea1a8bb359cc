// SPDX-License-Identifier: GPL-2.0
/*
 * A storm of DMA mappings on a real type1v2 container with the edu device (plain VFIO uAPI, no
 * libvfioscope), for the storm scenario (tests/vm/scenarios/storm.sh): what the tracer loses
 * under it, and whether `vfioscope state` still equals the kernel's truth afterwards.
 *
 *   storm BDF GROUP storm HELD CALLS: map HELD one-page mappings, then unmap one and map it
 *       again at another IOVA, from another page, until CALLS MAP_DMA/UNMAP_DMA calls were made
 *       in all (CALLS - HELD rounded down to an even number); HELD mappings are left.
 *   storm BDF GROUP hold HELD: map HELD one-page mappings (more than the tracer's mappings map
 *       holds, to see that overflow counted and the container marked incomplete).
 *   storm - - ioas N: open /dev/iommu and allocate N IOAS in it (more than the tracer's
 *       containers map holds, 1,024: thousands of containers), and map one page into each;
 *       prints its pid and the IOAS ids instead of mappings.
 *
 * Then it prints one JSON line: its pid, the calls it made, and every mapping it holds (iova,
 * size, vaddr), and holds its files open until a line arrives on stdin (or, once stdin is at its
 * end, until SIGTERM), so that
 * `vfioscope state` can be compared with it. Any failed call ends it with exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ULL
/* below 4 GiB and clear of the MSI window at 0xfee00000: 0x10000000 + 65536 pages */
#define IOVA_BASE  0x10000000ULL
#define IOVA_SLOTS 65536ULL
/* the pages the mappings come from: a remap takes another page than the one it gives back */
#define PAGES 4096ULL

struct held {
	uint64_t iova, vaddr;
	unsigned int gen; /* how many times this slot was mapped again */
};

static uint64_t maps, unmaps;

static void die(const char *step, uint64_t iova)
{
	fprintf(stderr, "storm: failed to %s (iova 0x%llx, after %llu maps and %llu unmaps): %s\n",
		step, (unsigned long long)iova, (unsigned long long)maps,
		(unsigned long long)unmaps, strerror(errno));
	exit(1);
}

static void map(int c, uint64_t iova, uint64_t vaddr)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = vaddr,
		.iova = iova,
		.size = PAGE,
	};

	if (ioctl(c, VFIO_IOMMU_MAP_DMA, &m))
		die("map", iova);
	maps++;
}

static void unmap(int c, uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = PAGE };

	if (ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u))
		die("unmap", iova);
	if (u.size != PAGE) {
		errno = EIO;
		die("unmap exactly one page", iova);
	}
	unmaps++;
}

/* Slot @s of generation @gen: IOVAs never collide with another slot's live one. */
static uint64_t iova_of(uint64_t s, uint64_t gen, uint64_t held)
{
	return IOVA_BASE + ((gen * held + s) % IOVA_SLOTS) * PAGE;
}

static int open_container(const char *bdf, const char *group)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[64];
	int c, g, dev;

	c = open("/dev/vfio/vfio", O_RDWR);
	if (c < 0)
		die("open /dev/vfio/vfio", 0);
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	g = open(path, O_RDWR);
	if (g < 0)
		die("open the group", 0);
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &gs))
		die("get the group status", 0);
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		die("use the group (not viable: a device of it is bound to a host driver)", 0);
	}
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c))
		die("set the container", 0);
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the IOMMU type", 0);
	/* a real device in the container, as a VMM has it */
	dev = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		die("get the device fd", 0);
	return c;
}

static void print_held(const struct held *h, uint64_t n, const char *mode)
{
	printf("{\"pid\":%d,\"mode\":\"%s\",\"calls\":%llu,\"maps\":%llu,\"unmaps\":%llu,"
	       "\"held\":[",
	       getpid(), mode, (unsigned long long)(maps + unmaps), (unsigned long long)maps,
	       (unsigned long long)unmaps);
	for (uint64_t i = 0; i < n; i++)
		printf("%s{\"iova\":\"0x%llx\",\"size\":\"0x%llx\",\"vaddr\":\"0x%llx\"}",
		       i ? "," : "", (unsigned long long)h[i].iova, PAGE,
		       (unsigned long long)h[i].vaddr);
	printf("]}\n");
	fflush(stdout);
}

/* N IOAS in one iommufd, a page mapped into each at an IOVA the kernel picks */
static int ioas_mode(uint64_t n, void *page)
{
	char line[16];
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		die("open /dev/iommu", 0);
	printf("{\"pid\":%d,\"mode\":\"ioas\",\"ioas\":[", getpid());
	for (uint64_t i = 0; i < n; i++) {
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		struct iommu_ioas_map m = { .size = sizeof(m),
					    .flags = IOMMU_IOAS_MAP_READABLE |
						     IOMMU_IOAS_MAP_WRITEABLE,
					    .user_va = (uintptr_t)page,
					    .length = PAGE };

		if (ioctl(fd, IOMMU_IOAS_ALLOC, &a))
			die("allocate an IOAS", 0);
		m.ioas_id = a.out_ioas_id;
		if (ioctl(fd, IOMMU_IOAS_MAP, &m))
			die("map a page into an IOAS", 0);
		maps++;
		printf("%s%u", i ? "," : "", a.out_ioas_id);
	}
	printf("]}\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		for (;;)
			pause();
	return 0;
}

static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || end == s || *end || !*out || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t calls = 0, nheld, remaps = 0;
	struct held *h;
	char *buf, line[16];
	int c;

	if (argc == 5 && !strcmp(argv[3], "ioas")) {
		if (parse_count(argv[4], 100000, &nheld)) {
			fprintf(stderr, "storm: bad IOAS count %s\n", argv[4]);
			return 2;
		}
		buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			die("allocate", 0);
		memset(buf, 0x5a, PAGE);
		return ioas_mode(nheld, buf);
	}
	if (argc < 5 || (strcmp(argv[3], "storm") && strcmp(argv[3], "hold")) ||
	    parse_count(argv[4], IOVA_SLOTS / 2, &nheld) ||
	    (!strcmp(argv[3], "storm") &&
	     (argc != 6 || parse_count(argv[5], 100000000, &calls) || calls < nheld)) ||
	    (!strcmp(argv[3], "hold") && argc != 5)) {
		fprintf(stderr, "usage: storm BDF GROUP storm HELD CALLS | storm BDF GROUP hold "
				"HELD | storm - - ioas N\n");
		return 2;
	}
	if (!strcmp(argv[3], "storm"))
		remaps = (calls - nheld) / 2;
	h = calloc(nheld, sizeof(*h));
	buf = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!h || buf == MAP_FAILED)
		die("allocate", 0);
	memset(buf, 0x5a, PAGES * PAGE);
	c = open_container(argv[1], argv[2]);

	for (uint64_t s = 0; s < nheld; s++) {
		h[s].iova = iova_of(s, 0, nheld);
		h[s].vaddr = (uintptr_t)buf + (s % PAGES) * PAGE;
		map(c, h[s].iova, h[s].vaddr);
	}
	/* unmap one, map it again elsewhere from another page: the next slot each time */
	for (uint64_t k = 0; k < remaps; k++) {
		struct held *e = &h[k % nheld];

		unmap(c, e->iova);
		e->gen++;
		e->iova = iova_of(k % nheld, e->gen, nheld);
		e->vaddr = (uintptr_t)buf + ((k % nheld + 7 * e->gen) % PAGES) * PAGE;
		map(c, e->iova, e->vaddr);
	}
	print_held(h, nheld, argv[3]);

	/* hold every file until told: a line on stdin; at its end, SIGTERM (which closes them) */
	if (!fgets(line, sizeof(line), stdin))
		for (;;)
			pause();
	free(h); /* LeakSanitizer checks the guest programs too (make SANITIZE=1) */
	return 0;
}
