// SPDX-License-Identifier: GPL-2.0
/*
 * Tracker policy, rollback and error handling. The host has no VFIO, so the backend here is a
 * SIMULATOR of devices and an IOMMU (sim_ops), always wrapped by the library's real fault
 * injector (tracker_fault_ops). The same paths run against real devices in the VM tests
 * (tests/vm/scenarios/track*.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vfioscope/common/bitmap.h"
#include "vfioscope/common/log.h"
#include "vfioscope/tracker/tracker.h"

#define PG  4096ULL
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* ---- the simulator ---- */

struct sim_dev {
	bool supports; /* has DMA logging */
	bool logging;
	size_t max_ranges; /* 0: any */
	unsigned int starts, stops, reports;
	struct iova_range ranges[8];
	size_t nr_ranges;
	uint64_t written[16]; /* IOVAs the "device" DMA-wrote since the last report */
	size_t nr_written;
};

struct sim {
	struct sim_dev dev[4];
	bool iommu_supported;
	bool iommu_tracking;
	unsigned int iommu_starts, iommu_stops;
};

static struct sim_dev *sd(struct vfio_dev *d)
{
	return (struct sim_dev *)d;
}

static int sim_dev_probe(void *ctx, struct vfio_dev *dev)
{
	return sd(dev)->supports ? 0 : -ENOTTY;
}

static int sim_dev_start(void *ctx, struct vfio_dev *dev, const struct iova_range *r, size_t nr,
			 uint64_t *page_size)
{
	struct sim_dev *d = sd(dev);

	if (!d->supports)
		return -ENOTTY;
	if (d->logging)
		return -EINVAL; /* a second START without STOP, as mlx5 answers */
	if (d->max_ranges && nr > d->max_ranges)
		return -E2BIG;
	d->starts++;
	d->logging = true;
	d->nr_ranges = nr < 8 ? nr : 8;
	memcpy(d->ranges, r, d->nr_ranges * sizeof(*r));
	return 0;
}

static int sim_dev_stop(void *ctx, struct vfio_dev *dev)
{
	sd(dev)->stops++;
	sd(dev)->logging = false;
	return 0;
}

static int sim_dev_report(void *ctx, struct vfio_dev *dev, uint64_t iova, uint64_t length,
			  uint64_t page_size, uint64_t *bitmap)
{
	struct sim_dev *d = sd(dev);
	size_t keep = 0;

	if (!d->logging)
		return -EINVAL;
	d->reports++;
	for (size_t i = 0; i < d->nr_written; i++) {
		uint64_t a = d->written[i];

		if (a >= iova && a - iova < length) {
			uint64_t bit = (a - iova) / page_size;

			bitmap[bit / 64] |= 1ULL << (bit % 64);
		} else {
			d->written[keep++] = a; /* outside this query: stays logged */
		}
	}
	d->nr_written = keep;
	return 0;
}

static int sim_iommu_probe(void *ctx, struct vfio_container *c, uint64_t page_size,
			   uint64_t max_map_bytes, char *why, size_t len)
{
	struct sim *s = ctx;

	if (!s->iommu_supported) {
		snprintf(why, len, "the type1 container has no MIGRATION capability");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int sim_iommu_start(void *ctx, struct vfio_container *c)
{
	struct sim *s = ctx;

	s->iommu_starts++;
	s->iommu_tracking = true;
	return 0;
}

static int sim_iommu_stop(void *ctx, struct vfio_container *c)
{
	struct sim *s = ctx;

	s->iommu_stops++;
	s->iommu_tracking = false;
	return 0;
}

/* type1 semantics on passthrough: every mapped page is dirty */
static int sim_iommu_report(void *ctx, struct vfio_container *c, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint64_t *bitmap)
{
	struct sim *s = ctx;

	if (!s->iommu_tracking)
		return -EINVAL;
	for (uint64_t p = 0; p < length / page_size; p++)
		bitmap[p / 64] |= 1ULL << (p % 64);
	return 0;
}

static const struct tracker_ops sim_ops = {
	.dev_probe = sim_dev_probe,
	.dev_start = sim_dev_start,
	.dev_stop = sim_dev_stop,
	.dev_report = sim_dev_report,
	.iommu_probe = sim_iommu_probe,
	.iommu_start = sim_iommu_start,
	.iommu_stop = sim_iommu_stop,
	.iommu_report = sim_iommu_report,
};

/* ---- fixture ---- */

struct fx {
	struct sim sim;
	struct tracker_fault fault;
	struct tracker_device devs[4];
	struct section secs[4];
	struct tracker_opts opts;
	struct tracker *t;
	char last_log[512];
};

static void capture_log(enum vfioscope_log_level level, const char *msg, void *ctx)
{
	struct fx *f = ctx;

	if (level <= VFIOSCOPE_LOG_WARN)
		snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
}

static const char *const names[] = { "0000:00:02.0", "0000:00:03.0", "0000:00:04.0",
				     "0000:00:05.0" };

/* Two devices with logging, IOMMU tracking available, 64 MiB low + 32 MiB high. */
static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	for (int i = 0; i < 2; i++) {
		f.sim.dev[i].supports = true;
		f.devs[i].dev = (struct vfio_dev *)&f.sim.dev[i];
		f.devs[i].name = names[i];
	}
	f.sim.iommu_supported = true;
	f.secs[0] = (struct section){ 0, 64 * MIB, 0, SECTION_RAM };
	f.secs[1] = (struct section){ 4 * GIB, 32 * MIB, 4 * GIB, SECTION_RAM };
	/* no fault unless a test sets one: nth 0 never matches */
	f.fault.inner = &sim_ops;
	f.fault.inner_ctx = &f.sim;
	f.opts = (struct tracker_opts){
		.sz = sizeof(f.opts),
		.ops = &tracker_fault_ops,
		.ops_ctx = &f.fault,
		.devices = f.devs,
		.nr_devices = 2,
		.sections = f.secs,
		.nr_sections = 2,
		.page_size = PG,
	};
	vfioscope_log_set(capture_log, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tracker__free(f->t);
	vfioscope_log_set(NULL, NULL);
	return 0;
}

static void fail_nth(struct fx *f, enum tracker_op op, unsigned int nth, int err)
{
	f->fault.op = op;
	f->fault.nth = nth;
	f->fault.err = err;
}

static void new_tracker(struct fx *f)
{
	assert_int_equal(tracker__new(&f->opts, &f->t), 0);
}

/* ---- tests ---- */

static void test_tracker_uses_device_method_when_all_devices_support_it(void **state)
{
	struct fx *f = *state;
	const struct iova_range *r;

	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__method(f->t), TRACKER_METHOD_DEVICE);
	assert_true(f->sim.dev[0].logging && f->sim.dev[1].logging);
	/* the seed's ranges: one below 4 GiB, one above */
	assert_int_equal(f->sim.dev[0].nr_ranges, 2);
	assert_int_equal(f->sim.dev[1].ranges[1].iova, 4 * GIB);
	assert_int_equal(f->sim.dev[1].ranges[1].length, 32 * MIB);
	assert_int_equal(tracker__ranges(f->t, &r), 2);
	assert_int_equal(f->sim.iommu_starts, 0);
	assert_int_equal(tracker__stop(f->t), 0);
	assert_false(f->sim.dev[0].logging || f->sim.dev[1].logging);
}

static void test_tracker_sync_reports_exactly_the_written_pages(void **state)
{
	struct fx *f = *state;
	struct tracker_sync_stats st;
	uint64_t iova, page;

	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	f->sim.dev[0].written[f->sim.dev[0].nr_written++] = 0x100000;
	f->sim.dev[0].written[f->sim.dev[0].nr_written++] = 4 * GIB + 0x3000;
	f->sim.dev[1].written[f->sim.dev[1].nr_written++] = 0x100010; /* same page as dev 0 */
	f->sim.dev[1].written[f->sim.dev[1].nr_written++] = 0x200000;
	assert_int_equal(tracker__sync(f->t, &st), 0);
	assert_int_equal(st.dirty_pages, 3);
	assert_int_equal(st.queries, 4); /* 2 sections x 2 devices */
	/* 64 MiB = 16384 pages = 2048 bytes, 32 MiB = 1024 bytes, handed to 2 devices each */
	assert_int_equal(st.bitmap_bytes, 2 * (2048 + 1024));
	assert_int_equal(st.tracked_pages, 16384 + 8192);
	page = bitmap__next_set(tracker__bitmap(f->t), 0);
	assert_int_equal(tracker__page_iova(f->t, page, &iova), 0);
	assert_int_equal(iova, 0x100000);
	page = bitmap__next_set(tracker__bitmap(f->t), page + 1);
	assert_int_equal(tracker__page_iova(f->t, page, &iova), 0);
	assert_int_equal(iova, 0x200000);
	page = bitmap__next_set(tracker__bitmap(f->t), page + 1);
	assert_int_equal(tracker__page_iova(f->t, page, &iova), 0);
	assert_int_equal(iova, 4 * GIB + 0x3000);
	/* read-and-clear: the next sync is clean */
	assert_int_equal(tracker__sync(f->t, &st), 0);
	assert_int_equal(st.dirty_pages, 0);
	assert_int_equal(tracker__totals(f->t)->syncs, 2);
	assert_int_equal(tracker__totals(f->t)->dirty_pages, 3);
}

static void test_tracker_falls_back_to_iommu_when_one_device_lacks_logging(void **state)
{
	struct fx *f = *state;
	struct tracker_sync_stats st;

	f->sim.dev[1].supports = false;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__method(f->t), TRACKER_METHOD_IOMMU);
	assert_non_null(strstr(tracker__fallback_reason(f->t),
			       "0000:00:03.0 does not support DMA logging"));
	assert_false(f->sim.dev[0].logging);
	assert_int_equal(f->sim.dev[0].starts, 0); /* none started: all or nothing */
	assert_int_equal(tracker__sync(f->t, &st), 0);
	assert_int_equal(st.dirty_pages, st.tracked_pages); /* type1: every mapped page */
	assert_int_equal(st.queries, 2);
	assert_int_equal(tracker__stop(f->t), 0);
	assert_false(f->sim.iommu_tracking);
}

static void test_tracker_falls_back_to_perpetual_when_nothing_tracks(void **state)
{
	struct fx *f = *state;
	struct tracker_sync_stats st;

	f->sim.dev[0].supports = false;
	f->sim.iommu_supported = false;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__method(f->t), TRACKER_METHOD_PERPETUAL);
	assert_non_null(strstr(f->last_log, "falling back to perpetual dirty"));
	assert_non_null(strstr(tracker__fallback_reason(f->t), "no MIGRATION capability"));
	assert_int_equal(tracker__sync(f->t, &st), 0);
	assert_int_equal(st.method, TRACKER_METHOD_PERPETUAL);
	assert_int_equal(st.dirty_pages, 16384 + 8192);
	assert_int_equal(st.queries, 0);
	assert_int_equal(st.bitmap_bytes, 0);
}

static void test_tracker_refuses_forced_device_method_with_viommu(void **state)
{
	struct fx *f = *state;

	f->opts.viommu = true;
	f->opts.method = TRACKER_METHOD_DEVICE;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EOPNOTSUPP);
	assert_non_null(strstr(tracker__error(f->t), "blocked with a vIOMMU"));
	assert_false(tracker__active(f->t));
	assert_int_equal(f->fault.calls[TRACKER_OP_DEV_PROBE], 0);
	assert_int_equal(f->fault.calls[TRACKER_OP_DEV_START], 0);
}

static void test_tracker_auto_with_viommu_uses_iommu(void **state)
{
	struct fx *f = *state;

	f->opts.viommu = true;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__method(f->t), TRACKER_METHOD_IOMMU);
	assert_false(f->sim.dev[0].logging);
}

static void test_devlog_start_rolls_back_on_second_device_failure(void **state)
{
	struct fx *f = *state;

	fail_nth(f, TRACKER_OP_DEV_START, 2, -EIO);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EIO);
	assert_string_equal(tracker__error(f->t),
			    "failed to start DMA logging on 0000:00:03.0: Input/output error");
	/* the first device was started, then stopped again: nothing is left logging */
	assert_int_equal(f->sim.dev[0].starts, 1);
	assert_int_equal(f->sim.dev[0].stops, 1);
	assert_false(f->sim.dev[0].logging);
	assert_false(f->sim.dev[1].logging);
	assert_int_equal(f->sim.dev[1].stops, 0); /* never started, never stopped */
	assert_false(tracker__active(f->t));
	/* no silent fallback to another method after a start failure */
	assert_int_equal(f->sim.iommu_starts, 0);
	assert_int_equal(tracker__totals(f->t)->errors, 1);
}

static void test_devlog_start_failure_on_first_device_stops_nothing(void **state)
{
	struct fx *f = *state;

	fail_nth(f, TRACKER_OP_DEV_START, 1, -EINVAL);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EINVAL);
	assert_int_equal(f->fault.calls[TRACKER_OP_DEV_STOP], 0);
	assert_int_equal(f->fault.calls[TRACKER_OP_DEV_START], 1);
}

static void test_tracker_sync_failure_stops_every_device(void **state)
{
	struct fx *f = *state;
	struct tracker_sync_stats st;

	fail_nth(f, TRACKER_OP_DEV_REPORT, 2, -EFAULT);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__sync(f->t, &st), -EFAULT);
	assert_string_equal(tracker__error(f->t),
			    "failed to get DMA logging report of 0000:00:03.0 (iova 0x0, size "
			    "0x4000000): Bad address");
	assert_false(tracker__active(f->t));
	assert_false(f->sim.dev[0].logging || f->sim.dev[1].logging);
	assert_int_equal(tracker__totals(f->t)->syncs, 0);
	/* and no further sync is possible */
	assert_int_equal(tracker__sync(f->t, &st), -EINVAL);
}

static void test_tracker_stop_tries_every_device_and_reports_the_failure(void **state)
{
	struct fx *f = *state;

	fail_nth(f, TRACKER_OP_DEV_STOP, 1, -EIO);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__stop(f->t), -EIO);
	assert_int_equal(f->fault.calls[TRACKER_OP_DEV_STOP], 2);
	assert_false(f->sim.dev[1].logging);
	assert_non_null(strstr(f->last_log, "failed to stop DMA logging on 0000:00:02.0"));
	assert_non_null(strstr(tracker__error(f->t), "failed to stop device dirty tracking"));
	assert_false(tracker__active(f->t));
}

static void test_tracker_iommu_start_failure_is_an_error(void **state)
{
	struct fx *f = *state;

	f->opts.method = TRACKER_METHOD_IOMMU;
	fail_nth(f, TRACKER_OP_IOMMU_START, 1, -EACCES);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EACCES);
	assert_string_equal(tracker__error(f->t), "failed to start IOMMU dirty tracking on the "
						  "container: Permission denied");
	assert_false(tracker__active(f->t));
}

static void test_tracker_iommu_report_failure_stops_tracking(void **state)
{
	struct fx *f = *state;

	f->opts.method = TRACKER_METHOD_IOMMU;
	fail_nth(f, TRACKER_OP_IOMMU_REPORT, 2, -EINVAL);
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__sync(f->t, NULL), -EINVAL);
	assert_non_null(strstr(tracker__error(f->t), "(iova 0x100000000, size 0x2000000)"));
	assert_int_equal(f->sim.iommu_stops, 1);
	assert_false(f->sim.iommu_tracking);
}

static void test_tracker_forced_iommu_fails_when_unsupported(void **state)
{
	struct fx *f = *state;

	f->opts.method = TRACKER_METHOD_IOMMU;
	f->sim.iommu_supported = false;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EOPNOTSUPP);
	assert_non_null(strstr(tracker__error(f->t), "failed to use IOMMU dirty tracking"));
}

static void test_tracker_forced_device_fails_when_a_device_lacks_logging(void **state)
{
	struct fx *f = *state;

	f->opts.method = TRACKER_METHOD_DEVICE;
	f->sim.dev[0].supports = false;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -ENOTTY);
	assert_string_equal(tracker__error(f->t),
			    "failed to use device dirty tracking: 0000:00:02.0 does not support "
			    "DMA logging: Inappropriate ioctl for device");
}

static void test_tracker_exact_ranges_fall_back_to_seed_when_device_refuses(void **state)
{
	struct fx *f = *state;
	const struct iova_range *r;

	/* three separate low sections: exact = 4 ranges, the seed = 2 */
	f->secs[1] = (struct section){ 128 * MIB, 16 * MIB, 128 * MIB, SECTION_RAM };
	f->secs[2] = (struct section){ 512 * MIB, 16 * MIB, 512 * MIB, SECTION_RAM };
	f->secs[3] = (struct section){ 8 * GIB, 16 * MIB, 8 * GIB, SECTION_RAM };
	f->opts.nr_sections = 4;
	f->opts.range_mode = TRACKER_RANGES_EXACT;
	f->sim.dev[1].max_ranges = 2;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__ranges(f->t, &r), 2);
	assert_int_equal(r[0].iova, 0);
	assert_int_equal(r[0].length, 528 * MIB);
	assert_int_equal(f->sim.dev[0].starts, 2); /* exact, rolled back, then seed */
	assert_int_equal(f->sim.dev[0].stops, 1);
	assert_true(f->sim.dev[0].logging && f->sim.dev[1].logging);
	assert_string_equal(tracker__error(f->t), "");
}

static void test_tracker_exact_ranges_sent_when_device_accepts(void **state)
{
	struct fx *f = *state;
	const struct iova_range *r;

	f->secs[1] = (struct section){ 128 * MIB, 16 * MIB, 128 * MIB, SECTION_RAM };
	f->opts.range_mode = TRACKER_RANGES_EXACT;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__ranges(f->t, &r), 2);
	assert_int_equal(r[1].iova, 128 * MIB);
	assert_int_equal(r[1].length, 16 * MIB);
}

static void test_tracker_skips_non_ram_sections(void **state)
{
	struct fx *f = *state;

	f->secs[2] = (struct section){ 0xfe000000, MIB, 0xfe000000, SECTION_OTHER };
	f->opts.nr_sections = 3;
	new_tracker(f);
	assert_int_equal(tracker__tracked_bytes(f->t), 96 * MIB);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(f->sim.dev[0].ranges[0].length, 64 * MIB);
}

static void test_tracker_without_memory_refuses_device_start(void **state)
{
	struct fx *f = *state;

	f->opts.nr_sections = 0;
	f->opts.method = TRACKER_METHOD_DEVICE;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), -EINVAL);
	assert_non_null(strstr(tracker__error(f->t), "no mapped RAM"));
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Virtual memory in use by this process, in bytes (/proc/self/statm's first field). */
static unsigned long long vm_size(void)
{
	unsigned long long pages = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%llu", &pages) != 1)
			pages = 0;
		fclose(fp);
	}
	return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/*
 * Memory exhausted for a large bitmap: 8 TiB of RAM needs a 256 MiB bitmap, and the address
 * space is limited to what the process uses plus 64 MiB (RLIMIT_AS, in a child). The real
 * allocation fails; the error names the bitmap and its size, and no device logs. In a guest the
 * RAM a layout describes is mapped before its bitmaps, so memory runs out there first
 * (track_faults checks that case); only the simulator can hold 8 TiB it never maps.
 */
static void test_tracker_memory_exhausted_for_a_large_bitmap_starts_nothing(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

#ifdef UNDER_ASAN
	skip(); /* AddressSanitizer reserves terabytes of address space for its shadow */
#endif
	f->secs[0].size = 8ULL << 40;
	f->opts.nr_sections = 1;
	f->opts.method = TRACKER_METHOD_DEVICE;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		int err;

		rl.rlim_cur = rl.rlim_max = vm_size() + (64ULL << 20);
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(10);
		err = tracker__new(&f->opts, &f->t);
		if (err != -ENOMEM)
			_exit(11);
		if (!strstr(f->last_log, "failed to allocate the dirty bitmap of section [0x0, "
					 "+0x80000000000) (2147483648 pages, 262144 KiB): Cannot "
					 "allocate memory")) {
			fprintf(stderr, "log: %s\n", f->last_log);
			_exit(12);
		}
		if (f->sim.dev[0].starts || f->sim.dev[1].starts || f->sim.iommu_starts)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* without the limit the same tracker is built (the limit is what failed it) */
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_true(f->sim.dev[0].logging);
}

static void test_tracker_free_stops_active_tracking(void **state)
{
	struct fx *f = *state;

	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	tracker__free(f->t);
	f->t = NULL;
	assert_false(f->sim.dev[0].logging || f->sim.dev[1].logging);
}

static void sync_cb(const struct tracker_sync_stats *s, void *ctx)
{
	uint64_t *seqs = ctx;

	seqs[s->seq] = s->dirty_pages + 1;
}

static void test_tracker_calls_the_sync_callback_with_each_sync(void **state)
{
	struct fx *f = *state;
	uint64_t seqs[4] = {};

	f->opts.on_sync = sync_cb;
	f->opts.on_sync_ctx = seqs;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	f->sim.dev[0].written[f->sim.dev[0].nr_written++] = 0x5000;
	assert_int_equal(tracker__sync(f->t, NULL), 0);
	assert_int_equal(tracker__sync(f->t, NULL), 0);
	assert_int_equal(seqs[1], 2);
	assert_int_equal(seqs[2], 1);
}

struct qlog {
	unsigned int n, failed;
	uint64_t bytes;
	const char *last_device;
};

static void query_cb(const struct tracker_query_stats *q, void *ctx)
{
	struct qlog *l = ctx;

	l->n++;
	l->bytes += q->bitmap_bytes;
	l->failed += q->err != 0;
	l->last_device = q->device;
}

static void test_tracker_reports_each_query_including_the_failed_one(void **state)
{
	struct fx *f = *state;
	struct tracker_sync_stats st;
	struct qlog l = {};

	f->opts.on_query = query_cb;
	f->opts.on_query_ctx = &l;
	new_tracker(f);
	assert_int_equal(tracker__start(f->t), 0);
	assert_int_equal(tracker__sync(f->t, &st), 0);
	assert_int_equal(l.n, st.queries);
	assert_int_equal(l.bytes, st.bitmap_bytes);
	assert_string_equal(l.last_device, "0000:00:03.0");
	f->fault.op = TRACKER_OP_DEV_REPORT;
	f->fault.nth = f->fault.calls[TRACKER_OP_DEV_REPORT] + 1;
	f->fault.err = -EIO;
	assert_int_equal(tracker__sync(f->t, &st), -EIO);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.failed, 1);
	assert_string_equal(l.last_device, "0000:00:02.0");
}

static void test_tracker_fault_spec_parses(void **state)
{
	struct tracker_fault fl;

	assert_int_equal(tracker_fault_parse("dev_start:2:EIO", &fl), 0);
	assert_int_equal(fl.op, TRACKER_OP_DEV_START);
	assert_int_equal(fl.nth, 2);
	assert_int_equal(fl.err, -EIO);
	assert_int_equal(tracker_fault_parse("iommu_report:1", &fl), 0);
	assert_int_equal(fl.err, -EIO);
	assert_int_equal(tracker_fault_parse("dev_report:3:22", &fl), 0);
	assert_int_equal(fl.err, -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start:0", &fl), -EINVAL);
	assert_int_equal(tracker_fault_parse("bogus:1", &fl), -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start", &fl), -EINVAL);
	/* each part whole: no trailing text, no errno beyond the kernel's (found by fuzz_cmdline) */
	assert_int_equal(tracker_fault_parse("dev_start:1x", &fl), -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start:1:EINVALX", &fl), -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start:1:22222222222222222222222222222222", &fl),
			 -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start:1:4096", &fl), -EINVAL);
	assert_int_equal(tracker_fault_parse("dev_start:1:", &fl), -EINVAL);
}

static void test_tracker_method_names_round_trip(void **state)
{
	enum tracker_method m;

	for (int i = TRACKER_METHOD_AUTO; i <= TRACKER_METHOD_PERPETUAL; i++) {
		assert_int_equal(tracker_method_parse(tracker_method_name(i), &m), 0);
		assert_int_equal(m, i);
	}
	assert_int_equal(tracker_method_parse("dirty", &m), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static void test_tracker_dirty_method_names_iommu_by_backend(void **state)
{
	assert_string_equal(dirty_method_name(tracker_dirty_method(TRACKER_METHOD_IOMMU, false)),
			    "type1");
	assert_string_equal(dirty_method_name(tracker_dirty_method(TRACKER_METHOD_IOMMU, true)),
			    "iommufd");
	assert_string_equal(dirty_method_name(tracker_dirty_method(TRACKER_METHOD_DEVICE, true)),
			    "device");
	assert_string_equal(
		dirty_method_name(tracker_dirty_method(TRACKER_METHOD_PERPETUAL, false)),
		"perpetual");
	assert_int_equal(tracker_dirty_method(TRACKER_METHOD_AUTO, false), DIRTY_METHOD_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tracker_uses_device_method_when_all_devices_support_it),
		T(test_tracker_sync_reports_exactly_the_written_pages),
		T(test_tracker_falls_back_to_iommu_when_one_device_lacks_logging),
		T(test_tracker_falls_back_to_perpetual_when_nothing_tracks),
		T(test_tracker_refuses_forced_device_method_with_viommu),
		T(test_tracker_auto_with_viommu_uses_iommu),
		T(test_devlog_start_rolls_back_on_second_device_failure),
		T(test_devlog_start_failure_on_first_device_stops_nothing),
		T(test_tracker_sync_failure_stops_every_device),
		T(test_tracker_stop_tries_every_device_and_reports_the_failure),
		T(test_tracker_iommu_start_failure_is_an_error),
		T(test_tracker_iommu_report_failure_stops_tracking),
		T(test_tracker_forced_iommu_fails_when_unsupported),
		T(test_tracker_forced_device_fails_when_a_device_lacks_logging),
		T(test_tracker_exact_ranges_fall_back_to_seed_when_device_refuses),
		T(test_tracker_exact_ranges_sent_when_device_accepts),
		T(test_tracker_skips_non_ram_sections),
		T(test_tracker_without_memory_refuses_device_start),
		T(test_tracker_memory_exhausted_for_a_large_bitmap_starts_nothing),
		T(test_tracker_free_stops_active_tracking),
		T(test_tracker_calls_the_sync_callback_with_each_sync),
		T(test_tracker_reports_each_query_including_the_failed_one),
		T(test_tracker_fault_spec_parses),
		T(test_tracker_method_names_round_trip),
		T(test_tracker_dirty_method_names_iommu_by_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
