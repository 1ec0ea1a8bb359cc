// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_ops: the "VMM" the tracer's iommufd test watches (plain uAPI, no libvfioscope). It
 * does every iommufd operation the tracer decodes and mirrors, and prints what it did, phase by
 * phase, as one JSON line each; after each line it waits for a line on stdin, so `vfioscope
 * state` can be compared with it while it holds its files.
 *
 *   iommufd_ops BDF     edu (bound to vfio-pci) behind QEMU's emulated VT-d, through
 *                       /dev/iommu and its VFIO cdev /dev/vfio/devices/vfioN:
 *     "mapped":   BIND, GET_HW_INFO, two IOAS (ALLOC), ALLOW_IOVAS, ATTACH to an IOAS,
 *                 IOVA_RANGES, MAP at fixed IOVAs and at one the kernel chooses, COPY (fixed and
 *                 kernel-chosen destination), HWPT_ALLOC without dirty tracking and ATTACH to
 *                 it, HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (VT-d refuses it:
 *                 QEMU does not emulate second-stage dirty bits)
 *     "unmapped": UNMAP of one mapping, of several in one call, of all (IOAS 2), DESTROY of
 *                 IOAS 2, ATTACH back to IOAS 1, DESTROY of the HWPT
 *     "closed":   DETACH, close of the device, DESTROY of IOAS 1 (/dev/iommu still open)
 *   iommufd_ops --test-domain   the kernel's IOMMUFD_TEST mock domain (CONFIG_IOMMUFD_TEST;
 *                       boot with intel_iommu=off), the one place HWPT dirty tracking runs:
 *     "tracking": IOAS, a mock device, MAP, HWPT_ALLOC with DIRTY_TRACKING, a mock device on
 *                 it, SET_DIRTY_TRACKING(enable), pages marked (IOMMU_TEST_OP_DIRTY),
 *                 GET_DIRTY_BITMAP twice (NO_CLEAR, then clearing)
 *     "stopped":  SET_DIRTY_TRACKING(disable)
 *     "destroyed": DESTROY of the mock device on it, then of the HWPT
 * Then it closes /dev/iommu and exits. Exit 1 when a call that must work failed (the line says
 * which), with what was done so far printed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "iommufd_test.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

static int iommufd = -1;

static void die(const char *step)
{
	printf("{\"phase\":\"error\",\"step\":\"%s\",\"errno\":\"%s\"}\n", step,
	       strerrorname_np(errno) ?: "?");
	fprintf(stderr, "iommufd_ops: failed to %s: %s\n", step, strerror(errno));
	exit(1);
}

/* The end of a phase: its JSON line is out; wait for the scenario's go-ahead. */
static void hold(void)
{
	char line[16];

	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
}

static const char *ename(int err)
{
	return err ? strerrorname_np(err) ?: "?" : "0";
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static void *buffer(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap a buffer");
	return p;
}

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &a))
		die("allocate an IOAS");
	return a.out_ioas_id;
}

/* IOAS_MAP of a fresh buffer; @fixed: at @iova, else where the kernel chooses (returned). */
static uint64_t map(uint32_t ioas, uint64_t iova, uint64_t len, bool fixed)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.ioas_id = ioas,
		.user_va = (uintptr_t)buffer(len),
		.length = len,
		.iova = fixed ? iova : 0,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP, &m))
		die("map into an IOAS");
	return m.iova;
}

static uint64_t copy(uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len, uint64_t dst_iova,
		     bool fixed)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = fixed ? dst_iova : 0,
		.src_iova = src_iova,
	};

	if (ioctl(iommufd, IOMMU_IOAS_COPY, &c))
		die("copy between IOAS");
	return c.dst_iova;
}

/* The bytes the kernel says it unmapped. */
static uint64_t unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len
	};

	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &u))
		die("unmap from an IOAS");
	return u.length;
}

static void destroy(uint32_t id, const char *what)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	if (ioctl(iommufd, IOMMU_DESTROY, &d))
		die(what);
}

/* 0 or the errno of an HWPT_ALLOC for @dev_id on @pt_id. */
static int hwpt_alloc(uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = flags, .dev_id = dev_id, .pt_id = pt_id
	};
	int err = xioctl(iommufd, IOMMU_HWPT_ALLOC, &h);

	*hwpt = err ? 0 : h.out_hwpt_id;
	return err;
}

/* ATTACH; returns the HWPT the kernel writes back (for an IOAS: the one it made for it). */
static uint32_t attach(int dev, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = pt_id };

	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a))
		die("attach the device");
	return a.pt_id;
}

static int cdev_open(const char *bdf)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		die("find the VFIO cdev (no vfio-dev in sysfs)");
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
			fd = open(path, O_RDWR | O_CLOEXEC);
			break;
		}
	closedir(dir);
	if (fd < 0)
		die("open the VFIO cdev");
	return fd;
}

static void print_pairs(const char *name, const uint64_t (*p)[2], int n)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s[%llu,%llu]", i ? "," : "", (unsigned long long)p[i][0],
		       (unsigned long long)p[i][1]);
	printf("]");
}

static int with_device(const char *bdf)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	/* everything but the x86 MSI window, which VT-d reserves: allowing it fails the attach */
	struct iommu_iova_range allow[] = { { 0, 0xfedfffffULL }, { 4 * GIB, (1ULL << 39) - 1 } };
	struct iommu_ioas_allow_iovas aw = { .size = sizeof(aw),
					     .num_iovas = 2,
					     .allowed_iovas = (uintptr_t)allow };
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges rq = { .size = sizeof(rq),
					     .num_iovas = 16,
					     .allowed_iovas = (uintptr_t)ranges };
	uint64_t maps1[6][2], maps2[2][2], left[6][2], un_one, un_several, un_all, kiova, ciova;
	uint32_t ioas1, ioas2, auto_hwpt, hwpt, dirty_hwpt, back;
	int dev, dirty_err, n1 = 0, nleft = 0;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	dev = cdev_open(bdf);
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("bind the device to iommufd");
	hw.dev_id = bind.out_devid;
	if (ioctl(iommufd, IOMMU_GET_HW_INFO, &hw))
		die("get the IOMMU's hw info");
	ioas1 = ioas_alloc();
	ioas2 = ioas_alloc();
	aw.ioas_id = ioas1;
	if (ioctl(iommufd, IOMMU_IOAS_ALLOW_IOVAS, &aw))
		die("allow IOVAs");
	auto_hwpt = attach(dev, ioas1);
	rq.ioas_id = ioas1;
	if (ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &rq))
		die("get the IOVA ranges");
	/* as a VM lays out RAM: below 4 GiB with a hole, and above */
	const uint64_t fixed[][2] = {
		{ 0, 0xc0000 }, { 0x100000, 0x100000 }, { 0x200000, 0x100000 }, { 4 * GIB, 2 * MIB }
	};
	for (int i = 0; i < 4; i++) {
		map(ioas1, fixed[i][0], fixed[i][1], true);
		maps1[n1][0] = fixed[i][0];
		maps1[n1++][1] = fixed[i][1];
	}
	kiova = map(ioas1, 0, 64 * KIB, false);
	maps1[n1][0] = kiova;
	maps1[n1++][1] = 64 * KIB;
	maps2[0][0] = copy(ioas2, ioas1, 0x100000, 0x100000, 0x400000, true);
	maps2[0][1] = 0x100000;
	ciova = copy(ioas2, ioas1, 4 * GIB, 2 * MIB, 0, false);
	maps2[1][0] = ciova;
	maps2[1][1] = 2 * MIB;
	if (hwpt_alloc(bind.out_devid, ioas1, 0, &hwpt))
		die("allocate a HWPT");
	back = attach(dev, hwpt);
	dirty_err = hwpt_alloc(bind.out_devid, ioas1, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty_hwpt);
	printf("{\"phase\":\"mapped\",\"pid\":%d,\"iommufd_fd\":%d,\"device_fd\":%d,"
	       "\"devid\":%u,\"ioas\":[%u,%u],\"hw_info\":{\"data_type\":%u,\"capabilities\":%llu},"
	       "\"auto_hwpt\":%u,\"hwpt\":%u,\"attached\":%u,\"dirty_hwpt_errno\":\"%s\","
	       "\"kernel_iova\":%llu,\"copy_iova\":%llu,\"iova_alignment\":%llu,",
	       getpid(), iommufd, dev, bind.out_devid, ioas1, ioas2, hw.out_data_type,
	       (unsigned long long)hw.out_capabilities, auto_hwpt, hwpt, back, ename(dirty_err),
	       (unsigned long long)kiova, (unsigned long long)ciova,
	       (unsigned long long)rq.out_iova_alignment);
	printf("\"num_iova_ranges\":%u,", rq.num_iovas);
	print_pairs("maps1", (const uint64_t(*)[2])maps1, n1);
	printf(",");
	print_pairs("maps2", (const uint64_t(*)[2])maps2, 2);
	printf("}\n");
	hold();

	un_one = unmap(ioas1, 0x200000, 0x100000);
	un_several = unmap(ioas1, 0, 0x200000); /* 0 + 0xc0000 and 0x100000 + 0x100000 */
	un_all = unmap(ioas2, 0, UINT64_MAX);
	destroy(ioas2, "destroy IOAS 2");
	back = attach(dev, ioas1);
	destroy(hwpt, "destroy the HWPT");
	printf("{\"phase\":\"unmapped\",\"unmapped_one\":%llu,\"unmapped_several\":%llu,"
	       "\"unmapped_all\":%llu,\"attached\":%u,",
	       (unsigned long long)un_one, (unsigned long long)un_several,
	       (unsigned long long)un_all, back);
	/* what is left: the unmaps take whole mappings inside their range (the kernel-chosen
	 * IOVA may have landed in one) */
	for (int i = 0; i < n1; i++)
		if (maps1[i][0] + maps1[i][1] > 0x300000)
			memcpy(left[nleft++], maps1[i], sizeof(maps1[i]));
	print_pairs("maps1", (const uint64_t(*)[2])left, nleft);
	printf("}\n");
	hold();

	if (ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		die("detach the device");
	close(dev);
	destroy(ioas1, "destroy IOAS 1");
	printf("{\"phase\":\"closed\"}\n");
	hold();
	close(iommufd);
	return 0;
}

/* ---- the kernel's IOMMUFD_TEST mock domain (not hardware) ---- */

#define MOCK_PAGES 256UL /* 1 MiB at the start of the mock's aperture */
#define PAGE	   4096UL

static int test_cmd(struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return xioctl(iommufd, IOMMU_TEST_CMD, cmd);
}

static void mock_device(uint32_t pt, uint32_t *stdev, uint32_t *idev)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt };

	errno = test_cmd(&cmd);
	if (errno)
		die("add a mock device (IOMMU_TEST_OP_MOCK_DOMAIN)");
	*stdev = cmd.mock_domain.out_stdev_id;
	if (idev)
		*idev = cmd.mock_domain.out_idev_id;
}

static void set_dirty(uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking s = { .size = sizeof(s),
						   .flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE :
								 0,
						   .hwpt_id = hwpt };

	if (ioctl(iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s))
		die("set dirty tracking");
}

static int with_test_domain(void)
{
	uint64_t marks[MOCK_PAGES / 32] = { 0 }, bm[MOCK_PAGES / 64];
	uint32_t ioas, stdev, idev, stdev2, hwpt, pages[] = { 3, 7, 200 };
	struct iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g),
		.iova = MOCK_APERTURE_START,
		.length = MOCK_PAGES * PAGE,
		.page_size = PAGE,
		.data = (uintptr_t)bm,
	};
	struct iommu_test_cmd dirty = {
		.op = IOMMU_TEST_OP_DIRTY,
		.dirty = { .iova = MOCK_APERTURE_START,
			   .length = MOCK_PAGES * PAGE,
			   .page_size = PAGE / 2, /* the mock's IO page: PAGE_SIZE / 2 */
			   .uptr = (uintptr_t)marks },
	};
	uint64_t nr_dirty[2];
	int err;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	ioas = ioas_alloc();
	mock_device(ioas, &stdev, &idev);
	map(ioas, MOCK_APERTURE_START, MOCK_PAGES * PAGE, true);
	err = hwpt_alloc(idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
	if ((errno = err))
		die("allocate a dirty-tracking HWPT on the test domain");
	mock_device(hwpt, &stdev2, NULL);
	set_dirty(hwpt, true);
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		uint64_t b = pages[i] * 2; /* host page -> the mock's first half-page of it */

		marks[b / 64] |= 1ULL << (b % 64);
	}
	dirty.id = hwpt;
	if ((errno = test_cmd(&dirty)))
		die("mark pages dirty (IOMMU_TEST_OP_DIRTY)");
	g.hwpt_id = hwpt;
	for (int i = 0; i < 2; i++) {
		memset(bm, 0, sizeof(bm));
		g.flags = i ? 0 : IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
		if (ioctl(iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g))
			die("get the dirty bitmap");
		nr_dirty[i] = 0;
		for (size_t w = 0; w < MOCK_PAGES / 64; w++)
			nr_dirty[i] += __builtin_popcountll(bm[w]);
	}
	printf("{\"phase\":\"tracking\",\"pid\":%d,\"iommufd_fd\":%d,\"ioas\":%u,"
	       "\"mock_idev\":%u,\"mock_stdev\":[%u,%u],\"hwpt\":%u,\"map\":[%llu,%llu],"
	       "\"marked\":%llu,\"dirty_read\":[%llu,%llu],\"reports\":2,\"bitmap_bytes\":%lu,"
	       "\"report\":{\"iova\":%llu,\"length\":%llu,\"page_size\":%lu}}\n",
	       getpid(), iommufd, ioas, idev, stdev, stdev2, hwpt,
	       (unsigned long long)MOCK_APERTURE_START, (unsigned long long)(MOCK_PAGES * PAGE),
	       (unsigned long long)dirty.dirty.out_nr_dirty, (unsigned long long)nr_dirty[0],
	       (unsigned long long)nr_dirty[1], 2 * (MOCK_PAGES / 8),
	       (unsigned long long)MOCK_APERTURE_START, (unsigned long long)(MOCK_PAGES * PAGE),
	       PAGE);
	hold();
	set_dirty(hwpt, false);
	printf("{\"phase\":\"stopped\"}\n");
	hold();
	destroy(stdev2, "destroy the mock device on the HWPT");
	destroy(hwpt, "destroy the HWPT");
	printf("{\"phase\":\"destroyed\"}\n");
	hold();
	close(iommufd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: iommufd_ops BDF | iommufd_ops --test-domain\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return !strcmp(argv[1], "--test-domain") ? with_test_domain() : with_device(argv[1]);
}
