// SPDX-License-Identifier: GPL-2.0
/*
 * dmalog_test: checks the edu-vfio-pci reference device through the plain VFIO uAPI (no
 * libvfioscope), so the device is verified independently of the library under test.
 *
 *   dmalog_test plain BDF     edu bound to vfio-pci: DMA logging is not offered (ENOTTY)
 *   dmalog_test variant BDF   edu bound to edu-vfio-pci: logging, validation, migration
 *
 * Options after BDF: --no-report   the kernel has no iova_bitmap (CONFIG_IOMMUFD_DRIVER=n,
 *                                  Debian 6.12): REPORT must fail with EOPNOTSUPP, and the
 *                                  driver's read-and-clear is read from debugfs instead
 *                                  (same driver code path, different sink).
 *
 * IOVA layout: 4 MiB of anonymous memory mapped at 2 MiB (below edu's default 256 MiB
 * dma_mask and the 4 GiB that pwrite can program, test-device.md 2.4 and 2.6).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define SZ_4K  0x1000ULL
#define SZ_64K 0x10000ULL
#define SZ_2M  0x200000ULL
#define SZ_4G  0x100000000ULL

#define MAP_IOVA  SZ_2M
#define MAP_SIZE  (2 * SZ_2M)
#define HIGH_IOVA (SZ_4G + SZ_2M)

/* edu registers (QEMU hw/misc/edu.c) */
#define EDU_LIVENESS   0x04
#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_CNT    0x90
#define EDU_DMA_CMD    0x98
#define EDU_BUF	       0x40000
#define EDU_CMD_RUN    0x1
#define EDU_CMD_TO_RAM 0x2

static int passed, failed;
static const char *bdf;
static int container = -1, group = -1, dev = -1;
static uint64_t bar0_off, cfg_off;
static uint8_t *mem;
static bool no_report;

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		printf("ok - %s\n", name);
		return;
	}
	failed++;
	printf("FAIL - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void die(const char *step)
{
	fprintf(stderr, "dmalog_test: failed to %s on %s: %s\n", step, bdf, strerror(errno));
	exit(2);
}

/* VFIO_DEVICE_FEATURE with a payload: 0 or -errno. */
static int feature(uint32_t flags, void *data, size_t len)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 64] = { 0 };
	struct vfio_device_feature *f = (void *)buf;

	if (len > 64)
		abort();
	f->argsz = sizeof(*f) + len;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (ioctl(dev, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (len)
		memcpy(data, f->data, len);
	return 0;
}

static int log_start(const struct vfio_device_feature_dma_logging_range *r, uint32_t n,
		     uint64_t *page_size)
{
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = *page_size,
		.num_ranges = n,
		.ranges = (uintptr_t)r,
	};
	int ret = feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl,
			  sizeof(ctl));

	*page_size = ctl.page_size;
	return ret;
}

static int log_start1(uint64_t iova, uint64_t len, uint64_t page_size)
{
	struct vfio_device_feature_dma_logging_range r = { iova, len };

	return log_start(&r, 1, &page_size);
}

static int log_stop(void)
{
	return feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
}

/* REPORT into a zeroed bitmap of 64 words. */
static int report_ioctl(uint64_t iova, uint64_t len, uint64_t page_size, uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova,
		.length = len,
		.page_size = page_size,
		.bitmap = (uintptr_t)bitmap,
	};

	memset(bitmap, 0, 64 * sizeof(uint64_t));
	return feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep,
		       sizeof(rep));
}

/*
 * The driver's read-and-clear through debugfs, as a bitmap like REPORT's: for kernels whose
 * REPORT fails in core (no iova_bitmap). The driver lists 4 KiB pages from the window base.
 */
static int report_debugfs(uint64_t iova, uint64_t len, uint64_t page_size, uint64_t *bitmap)
{
	char path[256], buf[128], *text = NULL, *line, *save;
	size_t cap = 0, n = 0;
	ssize_t got;
	int fd, ret = 0, shift = __builtin_ctzll(page_size);

	memset(bitmap, 0, 64 * sizeof(uint64_t));
	snprintf(path, sizeof(path), "/sys/kernel/debug/edu-vfio-pci/%s/report", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%#" PRIx64 " %#" PRIx64, iova, len);
	if (write(fd, buf, strlen(buf)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		if (n + 4096 > cap)
			text = realloc(text, cap += 65536);
		got = pread(fd, text + n, 4096, n);
		if (got < 0) {
			ret = -errno;
			goto out;
		}
		if (!got)
			break;
		n += got;
	}
	text[n] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t bit = (strtoull(line, NULL, 0) - iova) >> shift;

		if (bit < 64 * 64)
			bitmap[bit / 64] |= 1ULL << (bit % 64);
	}
out:
	free(text);
	close(fd);
	return ret;
}

static int log_report(uint64_t iova, uint64_t len, uint64_t page_size, uint64_t *bitmap)
{
	if (no_report)
		return report_debugfs(iova, len, page_size, bitmap);
	return report_ioctl(iova, len, page_size, bitmap);
}

/* The set bits of a 64-word bitmap as "3,7" for messages and comparisons. */
static const char *bits(const uint64_t *bitmap)
{
	static char s[512];
	size_t n = 0;
	int i;

	s[0] = 0;
	for (i = 0; i < 64 * 64 && n < sizeof(s) - 16; i++)
		if (bitmap[i / 64] >> (i % 64) & 1)
			n += snprintf(s + n, sizeof(s) - n, "%s%d", n ? "," : "", i);
	return n ? s : "none";
}

static uint32_t bar_read(uint32_t reg)
{
	uint32_t v;

	if (pread(dev, &v, 4, bar0_off + reg) != 4)
		die("read BAR0");
	return v;
}

static void bar_write(uint32_t reg, uint32_t v)
{
	if (pwrite(dev, &v, 4, bar0_off + reg) != 4)
		die("write BAR0");
}

static void dma_program(uint32_t src, uint32_t dst, uint32_t cnt, uint32_t cmd)
{
	bar_write(EDU_DMA_SRC, src);
	bar_write(EDU_DMA_DST, dst);
	bar_write(EDU_DMA_CNT, cnt);
	bar_write(EDU_DMA_CMD, cmd);
}

static bool dma_running(void)
{
	return bar_read(EDU_DMA_CMD) & EDU_CMD_RUN;
}

/* Completion is polled, never assumed from elapsed time. */
static void dma_wait(void)
{
	int i;

	for (i = 0; i < 3000 && dma_running(); i++)
		usleep(10000);
	if (dma_running()) {
		errno = ETIMEDOUT;
		die("wait for edu DMA");
	}
}

/* edu->RAM: cnt bytes of edu's buffer to IOVA dst (cnt <= 4095 keeps QEMU 7.2..9.0 alive). */
static void dma_to_ram(uint64_t dst, uint32_t cnt)
{
	dma_program(EDU_BUF, dst, cnt, EDU_CMD_RUN | EDU_CMD_TO_RAM);
	dma_wait();
}

static void open_device(void)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	char path[256], link[256], *p;
	ssize_t n;
	uint16_t cmd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("find the IOMMU group");
	link[n] = 0;
	p = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", p + 1);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio");
	group = open(path, O_RDWR);
	if (group < 0)
		die("open the VFIO group");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("check the group is viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("set the container");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the type1v2 IOMMU");
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		die("get the device fd");

	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("get the config region");
	cfg_off = ri.offset;
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("get the BAR0 region");
	bar0_off = ri.offset;

	/* Memory space and bus master, or edu's DMA goes nowhere. */
	if (pread(dev, &cmd, 2, cfg_off + 4) != 2)
		die("read PCI_COMMAND");
	cmd |= 0x6;
	if (pwrite(dev, &cmd, 2, cfg_off + 4) != 2)
		die("write PCI_COMMAND");
}

static void close_device(void)
{
	close(dev);
	close(group);
	close(container);
	dev = group = container = -1;
}

static void map_memory(void)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = MAP_IOVA,
		.size = MAP_SIZE,
	};

	mem = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("allocate DMA memory");
	map.vaddr = (uintptr_t)mem;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("map DMA memory");
}

static int run_plain(void)
{
	int ret;

	open_device();
	ret = feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		      NULL, 0);
	check(ret == -ENOTTY, "plain_vfio_pci_probe_dma_logging_is_enotty", "got %d", ret);
	ret = feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			      VFIO_DEVICE_FEATURE_MIGRATION,
		      NULL, 0);
	check(ret == -ENOTTY, "plain_vfio_pci_probe_migration_is_enotty", "got %d", ret);
	close_device();
	return 0;
}

static void test_probe_and_trapping(void)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_device_ioeventfd ioe = { .argsz = sizeof(ioe) };
	uint64_t mig_flags = 0;
	void *p;
	int ret;

	ret = feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		      NULL, 0);
	check(ret == 0, "probe_dma_logging_start_succeeds", "got %d", ret);
	ret = feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig_flags,
		      sizeof(mig_flags));
	check(ret == 0 && (mig_flags & VFIO_MIGRATION_STOP_COPY), "migration_offers_stop_copy",
	      "ret %d flags %#" PRIx64, ret, mig_flags);

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("get the BAR0 region");
	check(!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP), "bar0_region_has_no_mmap_flag", "flags %#x",
	      ri.flags);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dev, bar0_off);
	check(p == MAP_FAILED, "bar0_mmap_is_refused", "mmap succeeded");
	if (p != MAP_FAILED)
		munmap(p, 4096);

	ioe.flags = VFIO_DEVICE_IOEVENTFD_32;
	ioe.offset = bar0_off + EDU_DMA_CMD;
	ioe.data = EDU_CMD_RUN | EDU_CMD_TO_RAM;
	ioe.fd = eventfd(0, 0);
	ret = ioctl(dev, VFIO_DEVICE_IOEVENTFD, &ioe) ? -errno : 0;
	check(ret == -EINVAL, "bar0_ioeventfd_is_refused", "got %d", ret);
	close(ioe.fd);
}

static void test_dma_reaches_memory(void)
{
	uint32_t i;
	bool same = true;

	/* RAM -> edu buffer -> another page: proves the DMA path before trusting any bit. */
	for (i = 0; i < 4095; i++)
		mem[i] = (uint8_t)(i * 7 + 1);
	dma_program(MAP_IOVA, EDU_BUF, 4095, EDU_CMD_RUN);
	dma_wait();
	memset(mem + SZ_4K, 0, SZ_4K);
	dma_to_ram(MAP_IOVA + SZ_4K, 4095);
	for (i = 0; i < 4095; i++)
		same &= mem[SZ_4K + i] == mem[i];
	check(same, "edu_dma_lands_in_mapped_memory", "copied bytes differ");
}

/* Checks a REPORT (or, without iova_bitmap, the driver's debugfs log) against expected bits. */
static void expect_report(const char *name, uint64_t iova, uint64_t len, uint64_t pgsize,
			  const char *want)
{
	uint64_t bitmap[64];
	int ret = log_report(iova, len, pgsize, bitmap);

	check(ret == 0 && !strcmp(bits(bitmap), want), name, "ret %d bits %s, want %s", ret,
	      bits(bitmap), want);
}

static void test_one_range(void)
{
	uint64_t pgsize = SZ_4K, bitmap[64];
	int ret;

	ret = log_start1(MAP_IOVA, SZ_2M, SZ_4K);
	check(ret == 0, "start_one_range", "got %d", ret);
	ret = log_start1(MAP_IOVA, SZ_2M, SZ_4K);
	check(ret == -EBUSY, "second_start_without_stop_is_refused", "got %d", ret);

	if (no_report) {
		ret = report_ioctl(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
		check(ret == -EOPNOTSUPP, "kernel_report_is_eopnotsupp_without_iova_bitmap",
		      "got %d", ret);
		printf("# the dirty log is read through the driver's debugfs from here on\n");
	}
	expect_report("report_without_dma_is_empty", MAP_IOVA, SZ_2M, pgsize, "none");
	dma_to_ram(MAP_IOVA + 3 * SZ_4K, 100);
	dma_to_ram(MAP_IOVA + 7 * SZ_4K + 16, 4000);
	expect_report("report_returns_exactly_the_dma_pages", MAP_IOVA, SZ_2M, pgsize, "3,7");
	expect_report("second_report_returns_none", MAP_IOVA, SZ_2M, pgsize, "none");

	dma_to_ram(MAP_IOVA + 10 * SZ_4K + 4000, 200);
	expect_report("dma_across_a_page_boundary_marks_both", MAP_IOVA, SZ_2M, pgsize, "10,11");

	/* Mapped but untracked: the second 2 MiB of the mapping. */
	dma_to_ram(MAP_IOVA + SZ_2M + 5 * SZ_4K, 64);
	expect_report("untracked_pages_are_not_reported", MAP_IOVA, 2 * SZ_2M, pgsize, "none");

	/* REPORT clears only the window it covered. */
	dma_to_ram(MAP_IOVA + 2 * SZ_4K, 8);
	dma_to_ram(MAP_IOVA + 40 * SZ_4K, 8);
	expect_report("report_of_a_subrange_sees_its_page", MAP_IOVA, 16 * SZ_4K, pgsize, "2");
	expect_report("report_leaves_pages_outside_its_window", MAP_IOVA, SZ_2M, pgsize, "40");

	/* Bits are relative to the REPORT iova, at the REPORT page size. */
	dma_to_ram(MAP_IOVA + 9 * SZ_4K, 8);
	expect_report("report_at_a_larger_page_size", MAP_IOVA, SZ_2M, SZ_64K, "0");

	ret = log_stop();
	check(ret == 0, "stop", "got %d", ret);
	ret = log_report(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
	check(ret == -EINVAL, "report_after_stop_fails", "got %d", ret);
	ret = log_stop();
	check(ret == 0, "stop_when_stopped_is_harmless", "got %d", ret);
}

static void test_inflight(void)
{
	uint64_t bitmap[64];
	bool inflight = false;
	int ret, attempt;

	ret = log_start1(MAP_IOVA, SZ_2M, SZ_4K);
	check(ret == 0, "start_for_inflight", "got %d", ret);
	/* A copy lands ~100 ms after the command: REPORT while RUN is still set. */
	for (attempt = 0; attempt < 5 && !inflight; attempt++) {
		dma_program(EDU_BUF, MAP_IOVA + 20 * SZ_4K, 32, EDU_CMD_RUN | EDU_CMD_TO_RAM);
		ret = log_report(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
		inflight =
			dma_running(); /* still running after REPORT returned: it was in flight */
		check(ret == 0 && !strcmp(bits(bitmap), "20"), "report_sees_a_dma_in_flight",
		      "ret %d bits %s", ret, bits(bitmap));
		dma_wait();
		if (!inflight) {
			log_report(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
			printf("# DMA completed before REPORT returned, retrying\n");
		}
	}
	if (inflight) {
		ret = log_report(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
		check(ret == 0 && !strcmp(bits(bitmap), "20"),
		      "inflight_page_is_reported_again_after_landing", "ret %d bits %s", ret,
		      bits(bitmap));
		ret = log_report(MAP_IOVA, SZ_2M, SZ_4K, bitmap);
		check(ret == 0 && !strcmp(bits(bitmap), "none"), "then_cleared", "ret %d bits %s",
		      ret, bits(bitmap));
	} else {
		check(false, "inflight_page_is_reported_again_after_landing",
		      "could not REPORT while a DMA was in flight in 5 attempts");
	}

	/* A transfer started before START and landing after it is still logged. */
	log_stop();
	dma_program(EDU_BUF, MAP_IOVA + 30 * SZ_4K, 32, EDU_CMD_RUN | EDU_CMD_TO_RAM);
	ret = log_start1(MAP_IOVA, SZ_2M, SZ_4K);
	inflight = dma_running();
	dma_wait();
	if (inflight)
		expect_report("dma_started_before_start_is_logged", MAP_IOVA, SZ_2M, SZ_4K, "30");
	else
		printf("# skip dma_started_before_start_is_logged: DMA landed before START\n");
	log_stop();
}

static void test_two_ranges(void)
{
	struct vfio_device_feature_dma_logging_range r[2] = {
		{ HIGH_IOVA, SZ_2M }, /* unsorted on purpose: the kernel's tree sorts them */
		{ MAP_IOVA, SZ_2M },
	};
	uint64_t pgsize = SZ_4K;
	int ret;

	ret = log_start(r, 2, &pgsize);
	check(ret == 0, "start_two_ranges_below_and_above_4gib", "got %d", ret);
	dma_to_ram(MAP_IOVA + 4 * SZ_4K, 8);
	expect_report("low_range_reports_its_dma_page", MAP_IOVA, SZ_2M, SZ_4K, "4");
	expect_report("high_range_reports_nothing", HIGH_IOVA, SZ_2M, SZ_4K, "none");
	/* One REPORT spanning both ranges and the unmapped gap between them. */
	dma_to_ram(MAP_IOVA + 6 * SZ_4K, 8);
	expect_report("report_over_both_ranges", MAP_IOVA, 64 * 64 * SZ_2M, SZ_2M, "0");
	log_stop();
}

static void test_page_size(void)
{
	struct vfio_device_feature_dma_logging_range r = { MAP_IOVA, SZ_2M };
	uint64_t pgsize = SZ_64K;
	int ret;

	ret = log_start(&r, 1, &pgsize);
	check(ret == 0 && pgsize == SZ_64K, "64k_page_size_is_honoured",
	      "ret %d page_size %#" PRIx64, ret, pgsize);
	dma_to_ram(MAP_IOVA + 17 * SZ_4K, 8);
	expect_report("64k_logging_marks_the_whole_64k_page", MAP_IOVA, SZ_2M, SZ_4K,
		      "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31");
	log_stop();

	pgsize = 2048;
	ret = log_start(&r, 1, &pgsize);
	check(ret == 0 && pgsize == SZ_4K, "sub_4k_page_size_is_raised_to_4k",
	      "ret %d page_size %#" PRIx64, ret, pgsize);
	log_stop();
}

static void test_validation(void)
{
	static struct vfio_device_feature_dma_logging_range many[257];
	struct vfio_device_feature_dma_logging_range r[2];
	uint64_t pgsize, bitmap[64];
	int i, ret;

	pgsize = SZ_4K;
	ret = log_start(many, 0, &pgsize);
	check(ret == -EINVAL, "start_with_0_ranges_is_einval", "got %d", ret);

	for (i = 0; i < 257; i++)
		many[i] = (struct vfio_device_feature_dma_logging_range){ MAP_IOVA + i * SZ_4K,
									  SZ_4K };
	ret = log_start(many, 257, &pgsize);
	check(ret == -E2BIG, "start_with_257_ranges_is_e2big", "got %d", ret);
	ret = log_start(many, 256, &pgsize);
	check(ret == 0, "start_with_256_ranges_is_accepted", "got %d", ret);
	log_stop();

	r[0] = (struct vfio_device_feature_dma_logging_range){ MAP_IOVA, 2 * SZ_4K };
	r[1] = (struct vfio_device_feature_dma_logging_range){ MAP_IOVA + SZ_4K, 2 * SZ_4K };
	ret = log_start(r, 2, &pgsize);
	check(ret == -EINVAL, "start_with_overlapping_ranges_is_einval", "got %d", ret);

	r[1] = (struct vfio_device_feature_dma_logging_range){ MAP_IOVA + 2 * SZ_4K, SZ_4K };
	ret = log_start(r, 2, &pgsize);
	check(ret == 0, "start_with_touching_ranges_is_accepted", "got %d", ret);
	log_stop();

	ret = log_start1(MAP_IOVA + 0x800, SZ_4K, SZ_4K);
	check(ret == -EINVAL, "start_with_misaligned_iova_is_einval", "got %d", ret);
	ret = log_start1(MAP_IOVA, SZ_4K + 0x800, SZ_4K);
	check(ret == -EINVAL, "start_with_misaligned_length_is_einval", "got %d", ret);
	ret = log_start1(MAP_IOVA, SZ_4K, 0);
	check(ret == -EINVAL, "start_with_page_size_0_is_einval", "got %d", ret);
	ret = log_start1(3 * SZ_4K, 3 * SZ_4K, 3 * SZ_4K);
	check(ret == -EINVAL, "start_with_page_size_not_power_of_2_is_einval", "got %d", ret);
	ret = log_start1(~0ULL - SZ_4K + 1, 2 * SZ_4K, SZ_4K);
	check(ret == -EOVERFLOW, "start_with_wrapping_range_is_eoverflow", "got %d", ret);

	/* REPORT checks are the core's and run before the driver is asked. */
	ret = log_start1(MAP_IOVA, SZ_2M, SZ_4K);
	check(ret == 0, "start_for_report_validation", "got %d", ret);
	ret = report_ioctl(MAP_IOVA, SZ_2M, 0, bitmap);
	check(ret == -EINVAL, "report_with_page_size_0_is_einval", "got %d", ret);
	ret = report_ioctl(MAP_IOVA, SZ_2M, 3 * SZ_4K, bitmap);
	check(ret == -EINVAL, "report_with_page_size_not_power_of_2_is_einval", "got %d", ret);
	ret = report_ioctl(MAP_IOVA, SZ_2M, 2048, bitmap);
	check(ret == -EINVAL, "report_with_page_size_below_4k_is_einval", "got %d", ret);
	ret = report_ioctl(~0ULL - SZ_4K + 1, 2 * SZ_4K, SZ_4K, bitmap);
	check(ret == -EOVERFLOW, "report_with_wrapping_range_is_eoverflow", "got %d", ret);
	log_stop();
}

/* ---- migration ---- */

static int mig_set(uint32_t state, int *data_fd)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	int ret = feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
			  sizeof(st));

	if (data_fd)
		*data_fd = ret ? -1 : st.data_fd;
	else if (!ret && st.data_fd >= 0)
		close(st.data_fd);
	return ret;
}

static int mig_get(uint32_t *state)
{
	struct vfio_device_feature_mig_state st = { 0 };
	int ret = feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
			  sizeof(st));

	*state = st.device_state;
	return ret;
}

static void test_migration(void)
{
	uint8_t blob[256], extra;
	ssize_t n, len = 0;
	uint32_t state;
	uint64_t size = 0;
	int fd, ret;

	ret = mig_get(&state);
	check(ret == 0 && state == VFIO_DEVICE_STATE_RUNNING, "device_starts_running",
	      "ret %d state %u", ret, state);

	/* Register state to carry across: liveness and the DMA registers (no RUN). */
	bar_write(EDU_LIVENESS, 0x12345678);
	bar_write(EDU_DMA_SRC, 0x40010);
	bar_write(EDU_DMA_DST, MAP_IOVA + 0x3000);
	bar_write(EDU_DMA_CNT, 123);

	ret = mig_set(VFIO_DEVICE_STATE_STOP, NULL);
	check(ret == 0, "running_to_stop", "got %d", ret);
	ret = mig_set(VFIO_DEVICE_STATE_STOP_COPY, &fd);
	check(ret == 0 && fd >= 0, "stop_to_stop_copy_gives_a_data_fd", "ret %d fd %d", ret, fd);
	if (fd < 0)
		return;
	while ((n = read(fd, blob + len, sizeof(blob) - len)) > 0)
		len += n;
	check(n == 0 && len > 0, "data_fd_reads_state_then_eof", "read %zd total %zd", n, len);
	ret = feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &size,
		      sizeof(size));
	if (ret == 0)
		check(size == (uint64_t)len, "mig_data_size_matches_the_stream",
		      "size %" PRIu64 " read %zd", size, len);
	else
		printf("# MIG_DATA_SIZE not offered by this kernel (%s)\n", strerror(-ret));
	ret = mig_set(VFIO_DEVICE_STATE_STOP, NULL);
	check(ret == 0, "stop_copy_to_stop", "got %d", ret);
	n = read(fd, &extra, 1);
	check(n < 0, "data_fd_is_dead_after_leaving_stop_copy", "read returned %zd", n);
	close(fd);

	/* Clobber the registers, then resume the saved state over them. */
	bar_write(EDU_LIVENESS, 0xdeadbeef);
	bar_write(EDU_DMA_SRC, 0x40000);
	bar_write(EDU_DMA_DST, 0);
	bar_write(EDU_DMA_CNT, 1);

	ret = mig_set(VFIO_DEVICE_STATE_RESUMING, &fd);
	check(ret == 0 && fd >= 0, "stop_to_resuming_gives_a_data_fd", "ret %d fd %d", ret, fd);
	if (fd < 0)
		return;
	n = write(fd, blob, len);
	check(n == len, "data_fd_takes_the_state", "wrote %zd of %zd", n, len);
	ret = mig_set(VFIO_DEVICE_STATE_STOP, NULL);
	check(ret == 0, "resuming_to_stop_loads_the_state", "got %d", ret);
	close(fd);
	ret = mig_set(VFIO_DEVICE_STATE_RUNNING, NULL);
	check(ret == 0, "stop_to_running", "got %d", ret);
	check(bar_read(EDU_LIVENESS) == ~0x12345678u && bar_read(EDU_DMA_SRC) == 0x40010 &&
		      bar_read(EDU_DMA_DST) == MAP_IOVA + 0x3000 && bar_read(EDU_DMA_CNT) == 123,
	      "saved_registers_are_restored", "liveness %#x src %#x dst %#x cnt %u",
	      bar_read(EDU_LIVENESS), bar_read(EDU_DMA_SRC), bar_read(EDU_DMA_DST),
	      bar_read(EDU_DMA_CNT));

	/* Multi-arc requests go through vfio_mig_get_next_state(). */
	ret = mig_set(VFIO_DEVICE_STATE_STOP_COPY, &fd);
	check(ret == 0 && fd >= 0, "running_to_stop_copy_in_one_request", "ret %d", ret);
	if (fd >= 0)
		close(fd);
	ret = mig_set(VFIO_DEVICE_STATE_RUNNING, NULL);
	check(ret == 0, "stop_copy_to_running_in_one_request", "got %d", ret);
	ret = mig_set(VFIO_DEVICE_STATE_RUNNING_P2P, NULL);
	check(ret == -EINVAL, "running_p2p_without_p2p_support_is_einval", "got %d", ret);
	ret = mig_get(&state);
	check(ret == 0 && state == VFIO_DEVICE_STATE_RUNNING, "failed_request_keeps_running",
	      "ret %d state %u", ret, state);

	/* Corrupt data: the device refuses it and lands in ERROR until reopened. */
	ret = mig_set(VFIO_DEVICE_STATE_RESUMING, &fd);
	if (ret == 0 && fd >= 0) {
		blob[0] ^= 0xff;
		n = write(fd, blob, len);
		ret = mig_set(VFIO_DEVICE_STATE_STOP, NULL);
		close(fd);
		check(ret == -EINVAL, "corrupt_state_is_refused", "got %d", ret);
		mig_get(&state);
		check(state == VFIO_DEVICE_STATE_ERROR, "refused_state_leaves_error", "state %u",
		      state);
	}
	close_device();
	open_device();
	ret = mig_get(&state);
	check(ret == 0 && state == VFIO_DEVICE_STATE_RUNNING, "reopen_returns_to_running",
	      "ret %d state %u", ret, state);
}

static int run_variant(void)
{
	open_device();
	map_memory();
	test_probe_and_trapping();
	test_dma_reaches_memory();
	test_one_range();
	test_inflight();
	test_two_ranges();
	test_page_size();
	test_validation();
	test_migration();
	close_device();
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s plain|variant BDF [--no-report]\n", argv[0]);
		return 2;
	}
	bdf = argv[2];
	for (i = 3; i < argc; i++)
		if (!strcmp(argv[i], "--no-report"))
			no_report = true;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "plain"))
		run_plain();
	else
		run_variant();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
