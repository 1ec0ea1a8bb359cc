// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_test_domain: the tracker's own iommufd dirty-tracking calls (iommu_dirty.h:
 * iommufd_hwpt_dirty_set, iommufd_hwpt_dirty_read, linked from libvfioscope-tracker.a) run
 * against the kernel's IOMMUFD_TEST mock domain (CONFIG_IOMMUFD_TEST), the way the kernel's
 * own tools/testing/selftests/iommu do it.
 *
 * This is the kernel's test domain, not hardware: no IOMMU we can run (QEMU's VT-d included)
 * tracks dirty pages, so HWPT dirty tracking runs for real only here. The mock marks pages
 * dirty on request (IOMMU_TEST_OP_DIRTY) and answers GET_DIRTY_BITMAP through the same iommufd
 * core (iova_bitmap, IOAS checks) a real IOMMU driver sits under.
 *
 * Built with `make kmod` against the build tree of the project's own kernel, for
 * drivers/iommu/iommufd/iommufd_test.h (not uAPI). Prints one "ok:"/"FAIL:" line per check
 * and exits 1 if any failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "iommufd_test.h"

#include "vfioscope/tracker/iommu_dirty.h"

/*
 * The mock's IO page: MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2 in drivers/iommu/iommufd/selftest.c
 * (not in iommufd_test.h). IOMMU_TEST_OP_DIRTY indexes the mock's page table by iova / its
 * page_size, so pages are marked at this size; the tracker reads at the host page.
 */
#define PAGE	     4096UL
#define MOCK_IO_PAGE (PAGE / 2)
#define BUF_PAGES    256UL /* 1 MiB mapped at the start of the mock's aperture */
#define BASE	     ((uint64_t)MOCK_APERTURE_START)
#define MAX_WORDS    (BUF_PAGES / 64 + 2)

static int fails, passes;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	ok ? passes++ : fails++;
}

/* "EINVAL (Invalid argument)" for -EINVAL, "0" for 0: the kernel's answer, named */
static const char *ename(int err)
{
	static char buf[4][96];
	static int i;
	char *b = buf[i++ % 4];

	if (!err)
		return "0";
	snprintf(b, sizeof(buf[0]), "%s (%s)", strerrorname_np(-err) ?: "?", strerror(-err));
	return b;
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return xioctl(fd, IOMMU_TEST_CMD, cmd);
}

/* A mock device on pt (an IOAS or an HWPT), with the mock's device flags. */
static int mock_device(int fd, uint32_t pt, uint32_t dev_flags, uint32_t *idev, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int err = test_cmd(fd, &cmd);

	if (!err) {
		if (idev)
			*idev = cmd.mock_domain_flags.out_idev_id;
		if (hwpt)
			*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	}
	return err;
}

/* Marks the host pages listed dirty in the mock (their first MOCK_IO_PAGE half only). */
static int mark(int fd, uint32_t hwpt, const uint64_t *pages, size_t n, uint64_t *nr_dirty)
{
	uint64_t bits[2 * MAX_WORDS] = {};
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt,
		.dirty = {
			.iova = BASE,
			.length = BUF_PAGES * PAGE,
			.page_size = MOCK_IO_PAGE,
			.uptr = (uintptr_t)bits,
		},
	};
	int err;

	for (size_t i = 0; i < n; i++) {
		uint64_t b = pages[i] * (PAGE / MOCK_IO_PAGE);

		bits[b / 64] |= 1ULL << (b % 64);
	}
	err = test_cmd(fd, &cmd);
	if (!err && nr_dirty)
		*nr_dirty = cmd.dirty.out_nr_dirty;
	return err;
}

/* The set bits of a bitmap of n pages, as "p1 p2 ..." (at most 80 listed). */
static const char *bits_str(const uint64_t *bm, size_t words)
{
	static char s[512];
	size_t len = 0, listed = 0;

	s[0] = 0;
	for (size_t p = 0; p < words * 64 && listed < 80; p++)
		if (bm[p / 64] >> (p % 64) & 1) {
			len += snprintf(s + len, sizeof(s) - len, "%s%zu", listed ? " " : "", p);
			listed++;
		}
	return s[0] ? s : "none";
}

static bool same(const uint64_t *a, const uint64_t *b, size_t words)
{
	return !memcmp(a, b, words * sizeof(*a));
}

static bool clean(const uint64_t *bm, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (bm[i])
			return false;
	return true;
}

/* N-page reads: pages 0, N-1, every 5th, and page N just past the range are dirty. */
static void check_read_of(int fd, uint32_t hwpt, uint64_t n)
{
	uint64_t pages[BUF_PAGES], nr = 0, marked = 0, got[MAX_WORDS] = {}, want[MAX_WORDS] = {};
	uint64_t past[1] = {};
	int err;

	for (uint64_t p = 0; p < n; p++)
		if (p == 0 || p == n - 1 || p % 5 == 0) {
			pages[nr++] = p;
			want[p / 64] |= 1ULL << (p % 64);
		}
	pages[nr++] = n; /* outside the range read below: must stay out of the bitmap */
	err = mark(fd, hwpt, pages, nr, &marked);
	check(!err && marked == nr, "%llu-page range: IOMMU_TEST_OP_DIRTY marked %llu pages: %s",
	      (unsigned long long)n, (unsigned long long)marked, ename(err));
	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE, n * PAGE, PAGE, 0, got);
	check(!err && same(got, want, MAX_WORDS),
	      "%llu-page range: GET_DIRTY_BITMAP reports exactly the %llu dirty pages in it "
	      "(got %s; want %s): %s",
	      (unsigned long long)n, (unsigned long long)nr - 1, bits_str(got, MAX_WORDS),
	      bits_str(want, MAX_WORDS), ename(err));
	memset(got, 0, sizeof(got));
	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE, n * PAGE, PAGE, 0, got);
	check(!err && clean(got, MAX_WORDS),
	      "%llu-page range: the read cleared them, a second read is clean (got %s): %s",
	      (unsigned long long)n, bits_str(got, MAX_WORDS), ename(err));
	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE + n * PAGE, PAGE, PAGE, 0, past);
	check(!err && past[0] == 1,
	      "%llu-page range: page %llu past it was neither reported nor cleared (got %s): %s",
	      (unsigned long long)n, (unsigned long long)n, bits_str(past, 1), ename(err));
}

static void check_no_clear(int fd, uint32_t hwpt)
{
	const uint64_t pages[] = { 3, 7, 200 };
	uint64_t want[MAX_WORDS] = {}, got[MAX_WORDS];
	int err;

	for (size_t i = 0; i < 3; i++)
		want[pages[i] / 64] |= 1ULL << (pages[i] % 64);
	err = mark(fd, hwpt, pages, 3, NULL);
	check(!err, "NO_CLEAR: pages 3 7 200 marked dirty: %s", ename(err));
	for (int round = 1; round <= 2; round++) {
		memset(got, 0, sizeof(got));
		err = iommufd_hwpt_dirty_read(fd, hwpt, BASE, BUF_PAGES * PAGE, PAGE,
					      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, got);
		check(!err && same(got, want, MAX_WORDS),
		      "NO_CLEAR read %d reports pages 3 7 200 and keeps them (got %s): %s", round,
		      bits_str(got, MAX_WORDS), ename(err));
	}
	memset(got, 0, sizeof(got));
	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE, BUF_PAGES * PAGE, PAGE, 0, got);
	check(!err && same(got, want, MAX_WORDS),
	      "default read after NO_CLEAR still reports them (got %s): %s",
	      bits_str(got, MAX_WORDS), ename(err));
	memset(got, 0, sizeof(got));
	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE, BUF_PAGES * PAGE, PAGE, 0, got);
	check(!err && clean(got, MAX_WORDS),
	      "and cleared them: the next default read is clean (got %s): %s",
	      bits_str(got, MAX_WORDS), ename(err));
}

static void check_refusals(int fd, uint32_t ioas, uint32_t hwpt, uint32_t auto_hwpt)
{
	const uint64_t last[] = { BUF_PAGES - 1 };
	uint64_t got[MAX_WORDS] = {};
	uint32_t idev_nd = 0;
	int err;

	err = iommufd_hwpt_dirty_read(fd, hwpt, BASE + MOCK_IO_PAGE, 4 * PAGE, PAGE, 0, got);
	check(err == -EINVAL, "a range not aligned to the page: the kernel refuses it with %s",
	      ename(err));
	/*
	 * Not refused on 6.12: the walk covers the mapped areas only and returns 0, so the part
	 * past the mapping simply reads clean. Asserted so a kernel that changes this is seen.
	 */
	err = mark(fd, hwpt, last, 1, NULL);
	memset(got, 0, sizeof(got));
	if (!err)
		err = iommufd_hwpt_dirty_read(fd, hwpt, BASE + (BUF_PAGES - 1) * PAGE, 2 * PAGE,
					      PAGE, 0, got);
	check(!err && got[0] == 1,
	      "a range running one page past the mapping: 6.12 returns %s and reports the mapped "
	      "part only (got %s; want 0)",
	      ename(err), bits_str(got, MAX_WORDS));
	err = iommufd_hwpt_dirty_read(fd, hwpt, UINT64_MAX - PAGE + 1, 2 * PAGE, PAGE, 0, got);
	check(err == -EOVERFLOW, "a range that wraps: %s, before the kernel", ename(err));
	err = iommufd_hwpt_dirty_set(fd, auto_hwpt, true);
	check(err == -EOPNOTSUPP,
	      "SET_DIRTY_TRACKING on the mock's HWPT made without DIRTY_TRACKING: %s", ename(err));

	err = mock_device(fd, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &idev_nd, NULL);
	check(!err, "a mock device without dirty tracking (MOCK_FLAGS_DEVICE_NO_DIRTY): %s",
	      ename(err));
	if (!err) {
		struct iommu_hwpt_alloc ha = {
			.size = sizeof(ha),
			.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			.dev_id = idev_nd,
			.pt_id = ioas,
		};

		err = xioctl(fd, IOMMU_HWPT_ALLOC, &ha);
		check(err == -EOPNOTSUPP,
		      "HWPT_ALLOC with DIRTY_TRACKING for it: the kernel refuses with %s",
		      ename(err));
	}
	err = mock_device(fd, hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL, NULL);
	check(err == -EINVAL, "attaching it to the dirty-tracking HWPT: refused with %s",
	      ename(err));
}

int main(void)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha),
				       .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING };
	uint32_t idev = 0, auto_hwpt = 0;
	uint64_t bm[MAX_WORDS];
	const uint64_t one[] = { 9 };
	void *buf;
	int fd, err;

	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("FAIL: open /dev/iommu: %s\n", ename(-errno));
		return 1;
	}
	err = xioctl(fd, IOMMU_IOAS_ALLOC, &ia);
	check(!err, "IOAS_ALLOC: %s", ename(err));
	err = mock_device(fd, ia.out_ioas_id, 0, &idev, &auto_hwpt);
	check(!err,
	      "a mock device on the IOAS (IOMMU_TEST_OP_MOCK_DOMAIN; CONFIG_IOMMUFD_TEST): %s",
	      ename(err));
	if (err)
		return 1;
	buf = mmap(NULL, BUF_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (buf == MAP_FAILED)
		return 1;
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ia.out_ioas_id,
		.user_va = (uintptr_t)buf,
		.length = BUF_PAGES * PAGE,
		.iova = BASE,
	};
	err = xioctl(fd, IOMMU_IOAS_MAP, &m);
	check(!err, "IOAS_MAP of 1 MiB at the aperture's start 0x%llx: %s",
	      (unsigned long long)BASE, ename(err));
	ha.dev_id = idev;
	ha.pt_id = ia.out_ioas_id;
	err = xioctl(fd, IOMMU_HWPT_ALLOC, &ha);
	check(!err, "HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING: %s", ename(err));
	if (err)
		return 1;
	err = mock_device(fd, ha.out_hwpt_id, 0, NULL, NULL);
	check(!err, "a second mock device attached to the dirty-tracking HWPT %u: %s",
	      ha.out_hwpt_id, ename(err));

	err = mark(fd, ha.out_hwpt_id, one, 1, NULL);
	check(err == -EINVAL, "marking pages dirty while tracking is off: the mock refuses with %s",
	      ename(err));
	err = iommufd_hwpt_dirty_set(fd, ha.out_hwpt_id, true);
	check(!err, "iommufd_hwpt_dirty_set(enable): %s", ename(err));

	memset(bm, 0xa5, sizeof(bm));
	err = iommufd_hwpt_dirty_read(fd, ha.out_hwpt_id, BASE, 0, PAGE, 0, bm);
	check(!err && bm[0] == 0xa5a5a5a5a5a5a5a5ULL,
	      "a 0-page read returns 0 and leaves the bitmap alone: %s", ename(err));
	memset(bm, 0, sizeof(bm));
	err = iommufd_hwpt_dirty_read(fd, ha.out_hwpt_id, BASE, BUF_PAGES * PAGE, PAGE, 0, bm);
	check(!err && clean(bm, MAX_WORDS),
	      "nothing marked: the whole 256-page range reads clean (got %s): %s",
	      bits_str(bm, MAX_WORDS), ename(err));
	check_read_of(fd, ha.out_hwpt_id, 1);
	check_read_of(fd, ha.out_hwpt_id, 63);
	check_read_of(fd, ha.out_hwpt_id, 64);
	check_read_of(fd, ha.out_hwpt_id, 65);
	check_no_clear(fd, ha.out_hwpt_id);

	/* the kernel clears every dirty bit when tracking is enabled: a clean snapshot */
	err = mark(fd, ha.out_hwpt_id, one, 1, NULL);
	if (!err)
		err = iommufd_hwpt_dirty_set(fd, ha.out_hwpt_id, true);
	memset(bm, 0, sizeof(bm));
	if (!err)
		err = iommufd_hwpt_dirty_read(fd, ha.out_hwpt_id, BASE, BUF_PAGES * PAGE, PAGE, 0,
					      bm);
	check(!err && clean(bm, MAX_WORDS),
	      "enabling again clears page 9 marked before (got %s): %s", bits_str(bm, MAX_WORDS),
	      ename(err));

	check_refusals(fd, ia.out_ioas_id, ha.out_hwpt_id, auto_hwpt);

	err = iommufd_hwpt_dirty_set(fd, ha.out_hwpt_id, false);
	check(!err, "iommufd_hwpt_dirty_set(disable): %s", ename(err));
	err = mark(fd, ha.out_hwpt_id, one, 1, NULL);
	check(err == -EINVAL, "after disable the mock refuses to mark pages again: %s", ename(err));

	close(fd);
	munmap(buf, BUF_PAGES * PAGE);
	printf("%d passed, %d failed (the kernel's IOMMUFD_TEST domain, not hardware)\n", passes,
	       fails);
	return fails ? 1 : 0;
}
