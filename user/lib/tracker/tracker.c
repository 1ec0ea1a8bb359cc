// SPDX-License-Identifier: GPL-2.0
/* Dirty tracking policy and lifecycle: device -> IOMMU -> perpetual, start/sync/stop. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vfioscope/common/clock.h"
#include "vfioscope/common/bitmap.h"
#include "vfioscope/tracker/devlog.h"
#include "vfioscope/tracker/iommu_dirty.h"
#include "vfioscope/common/log.h"
#include "vfioscope/common/parse.h"
#include "vfioscope/tracker/tracker.h"
#include "vfioscope/tracker/vfio.h"

/* ---- the real backend ---- */

static int real_dev_probe(void *ctx, struct vfio_dev *dev)
{
	return devlog_probe(vfio_dev__fd(dev));
}

static int real_dev_start(void *ctx, struct vfio_dev *dev, const struct iova_range *ranges,
			  size_t nr, uint64_t *page_size)
{
	return devlog_start(vfio_dev__fd(dev), ranges, nr, page_size);
}

static int real_dev_stop(void *ctx, struct vfio_dev *dev)
{
	return devlog_stop(vfio_dev__fd(dev));
}

static int real_dev_report(void *ctx, struct vfio_dev *dev, uint64_t iova, uint64_t length,
			   uint64_t page_size, uint64_t *bitmap)
{
	return devlog_report(vfio_dev__fd(dev), iova, length, page_size, bitmap);
}

static int real_iommu_probe(void *ctx, struct vfio_container *c, uint64_t page_size,
			    uint64_t max_map_bytes, char *why, size_t len)
{
	return iommu_dirty_probe(c, page_size, max_map_bytes, why, len);
}

static int real_iommu_start(void *ctx, struct vfio_container *c)
{
	return iommu_dirty_start(c);
}

static int real_iommu_stop(void *ctx, struct vfio_container *c)
{
	return iommu_dirty_stop(c);
}

static int real_iommu_report(void *ctx, struct vfio_container *c, uint64_t iova, uint64_t length,
			     uint64_t page_size, uint64_t *bitmap)
{
	return iommu_dirty_report(c, iova, length, page_size, bitmap);
}

const struct tracker_ops tracker_vfio_ops = {
	.dev_probe = real_dev_probe,
	.dev_start = real_dev_start,
	.dev_stop = real_dev_stop,
	.dev_report = real_dev_report,
	.iommu_probe = real_iommu_probe,
	.iommu_start = real_iommu_start,
	.iommu_stop = real_iommu_stop,
	.iommu_report = real_iommu_report,
};

/* ---- fault injector ---- */

static const char *const op_names[TRACKER_OP_COUNT] = {
	[TRACKER_OP_DEV_PROBE] = "dev_probe",	  [TRACKER_OP_DEV_START] = "dev_start",
	[TRACKER_OP_DEV_STOP] = "dev_stop",	  [TRACKER_OP_DEV_REPORT] = "dev_report",
	[TRACKER_OP_IOMMU_PROBE] = "iommu_probe", [TRACKER_OP_IOMMU_START] = "iommu_start",
	[TRACKER_OP_IOMMU_STOP] = "iommu_stop",	  [TRACKER_OP_IOMMU_REPORT] = "iommu_report",
};

const char *tracker_op_name(enum tracker_op op)
{
	return op < TRACKER_OP_COUNT ? op_names[op] : "?";
}

/* Counts the call; true when this is the one that must fail. */
static bool fault_hit(struct tracker_fault *f, enum tracker_op op)
{
	f->calls[op]++;
	if (f->op == op && f->calls[op] == f->nth) {
		f->fired = true;
		return true;
	}
	return false;
}

static int fault_dev_probe(void *ctx, struct vfio_dev *dev)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_DEV_PROBE))
		return f->err;
	return f->inner->dev_probe(f->inner_ctx, dev);
}

static int fault_dev_start(void *ctx, struct vfio_dev *dev, const struct iova_range *ranges,
			   size_t nr, uint64_t *page_size)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_DEV_START))
		return f->err;
	return f->inner->dev_start(f->inner_ctx, dev, ranges, nr, page_size);
}

static int fault_dev_stop(void *ctx, struct vfio_dev *dev)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_DEV_STOP))
		return f->err;
	return f->inner->dev_stop(f->inner_ctx, dev);
}

static int fault_dev_report(void *ctx, struct vfio_dev *dev, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint64_t *bitmap)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_DEV_REPORT))
		return f->err;
	return f->inner->dev_report(f->inner_ctx, dev, iova, length, page_size, bitmap);
}

static int fault_iommu_probe(void *ctx, struct vfio_container *c, uint64_t page_size,
			     uint64_t max_map_bytes, char *why, size_t len)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_IOMMU_PROBE)) {
		snprintf(why, len, "fault injected");
		return f->err;
	}
	return f->inner->iommu_probe(f->inner_ctx, c, page_size, max_map_bytes, why, len);
}

static int fault_iommu_start(void *ctx, struct vfio_container *c)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_IOMMU_START))
		return f->err;
	return f->inner->iommu_start(f->inner_ctx, c);
}

static int fault_iommu_stop(void *ctx, struct vfio_container *c)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_IOMMU_STOP))
		return f->err;
	return f->inner->iommu_stop(f->inner_ctx, c);
}

static int fault_iommu_report(void *ctx, struct vfio_container *c, uint64_t iova, uint64_t length,
			      uint64_t page_size, uint64_t *bitmap)
{
	struct tracker_fault *f = ctx;

	if (fault_hit(f, TRACKER_OP_IOMMU_REPORT))
		return f->err;
	return f->inner->iommu_report(f->inner_ctx, c, iova, length, page_size, bitmap);
}

const struct tracker_ops tracker_fault_ops = {
	.dev_probe = fault_dev_probe,
	.dev_start = fault_dev_start,
	.dev_stop = fault_dev_stop,
	.dev_report = fault_dev_report,
	.iommu_probe = fault_iommu_probe,
	.iommu_start = fault_iommu_start,
	.iommu_stop = fault_iommu_stop,
	.iommu_report = fault_iommu_report,
};

static const struct {
	const char *name;
	int err;
} errnames[] = {
	{ "EIO", EIO },	      { "EINVAL", EINVAL }, { "ENOTTY", ENOTTY },
	{ "E2BIG", E2BIG },   { "ENOMEM", ENOMEM }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY },   { "EOVERFLOW", EOVERFLOW },
	{ "EEXIST", EEXIST }, { "EPERM", EPERM },   { "ENODEV", ENODEV },
};

int tracker_fault_parse(const char *spec, struct tracker_fault *fault)
{
	const char *c1, *c2, *why;
	char buf[64], *nth_s, *e = NULL;
	int nth, i, v;

	memset(fault, 0, sizeof(*fault));
	/* STEP:N[:ERRNO], each part whole (nothing after it) */
	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	c1 = strchr(buf, ':');
	if (!c1)
		return -EINVAL;
	buf[c1 - buf] = '\0';
	nth_s = buf + (c1 - buf) + 1;
	c2 = strchr(nth_s, ':');
	if (c2) {
		nth_s[c2 - nth_s] = '\0';
		e = nth_s + (c2 - nth_s) + 1;
	}
	if (parse_int(nth_s, 1, INT_MAX, &nth, &why))
		return -EINVAL;
	fault->nth = nth;
	for (i = 0; i < TRACKER_OP_COUNT; i++)
		if (!strcmp(buf, op_names[i]))
			break;
	if (i == TRACKER_OP_COUNT)
		return -EINVAL;
	fault->op = i;
	fault->err = -EIO;
	if (!e)
		return 0;
	for (size_t k = 0; k < sizeof(errnames) / sizeof(errnames[0]); k++)
		if (!strcmp(e, errnames[k].name)) {
			fault->err = -errnames[k].err;
			return 0;
		}
	/* a kernel errno is below 4096 */
	if (parse_int(e, 1, 4095, &v, &why))
		return -EINVAL;
	fault->err = -v;
	return 0;
}

/* ---- tracker ---- */

static const char *const method_names[] = {
	[TRACKER_METHOD_AUTO] = "auto",
	[TRACKER_METHOD_DEVICE] = "device",
	[TRACKER_METHOD_IOMMU] = "iommu",
	[TRACKER_METHOD_PERPETUAL] = "perpetual",
};

const char *tracker_method_name(enum tracker_method m)
{
	return m <= TRACKER_METHOD_PERPETUAL ? method_names[m] : "?";
}

int tracker_method_parse(const char *s, enum tracker_method *m)
{
	for (int i = 0; i <= TRACKER_METHOD_PERPETUAL; i++) {
		if (!strcmp(s, method_names[i])) {
			*m = i;
			return 0;
		}
	}
	return -EINVAL;
}

enum dirty_method tracker_dirty_method(enum tracker_method m, bool iommufd)
{
	switch (m) {
	case TRACKER_METHOD_DEVICE:
		return DIRTY_METHOD_DEVICE;
	case TRACKER_METHOD_IOMMU:
		return iommufd ? DIRTY_METHOD_IOMMUFD : DIRTY_METHOD_TYPE1;
	case TRACKER_METHOD_PERPETUAL:
		return DIRTY_METHOD_PERPETUAL;
	default:
		return DIRTY_METHOD_NONE;
	}
}

/* One tracked section: what one query covers, and where it lands in the global bitmap. */
struct tsection {
	uint64_t first, last; /* aligned, inclusive */
	uint64_t pages;
	uint64_t ram_page; /* first page in the global bitmap */
	struct bitmap *bm;
};

#define MAX_RANGES_BUF 4096

struct tracker {
	struct tracker_opts o;
	const struct tracker_ops *ops;
	struct tracker_device *devs;
	struct tsection *secs;
	size_t nr_secs;
	uint64_t page_size;
	uint64_t total_pages;
	uint64_t max_map_bytes;
	struct bitmap *global;
	struct iova_range qemu_ranges[3];
	int nr_qemu_ranges;
	struct iova_range *exact_ranges;
	int nr_exact_ranges;
	const struct iova_range *sent;
	size_t nr_sent;
	enum tracker_method method;
	bool active;
	bool *dev_started;
	struct tracker_totals totals;
	char fallback[256];
	char err[320];
};

static void set_err(struct tracker *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct tracker *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	t->totals.errors++;
	pr_err("%s", t->err);
}

/* The sections to track, page-aligned, each with its bitmap; QEMU's ranges computed over them
 * into t->qemu_ranges, the exact set into @set. */
/* A bitmap of @pages bits, in KiB as it is allocated (whole 64-bit words), for messages. */
static unsigned long long bitmap_kib(uint64_t pages)
{
	return (unsigned long long)((pages + 63) / 64 * 8 / 1024);
}

static int sections_prepare(struct tracker *t, struct range_set *set)
{
	struct dirty_ranges dr;
	int err;

	dirty_ranges__init(&dr);
	for (size_t i = 0; i < t->o.nr_sections; i++) {
		const struct section *s = &t->o.sections[i];
		struct tsection *ts = &t->secs[t->nr_secs];

		err = section_align(s, t->page_size, &ts->first, &ts->last);
		if (err < 0) {
			pr_err("failed to track section [0x%llx, +0x%llx): %s",
			       (unsigned long long)s->iova, (unsigned long long)s->size,
			       strerror(-err));
			return err;
		}
		if (!err)
			continue; /* skipped, as QEMU skips it */
		dirty_ranges__update(&dr, s, t->page_size);
		err = range_set__add(set, ts->first, ts->last - ts->first + 1);
		if (err)
			return err;
		ts->pages = (ts->last - ts->first) / t->page_size + 1;
		ts->ram_page = t->total_pages;
		t->total_pages += ts->pages;
		if (s->size > t->max_map_bytes)
			t->max_map_bytes = s->size;
		ts->bm = bitmap__new(ts->pages);
		if (!ts->bm) {
			pr_err("failed to allocate the dirty bitmap of section [0x%llx, +0x%llx) "
			       "(%llu pages, %llu KiB): %s",
			       (unsigned long long)s->iova, (unsigned long long)s->size,
			       (unsigned long long)ts->pages, bitmap_kib(ts->pages),
			       strerror(ENOMEM));
			return -ENOMEM;
		}
		t->nr_secs++;
	}
	t->global = bitmap__new(t->total_pages);
	if (!t->global) {
		pr_err("failed to allocate the dirty bitmap of the guest's RAM (%llu pages, %llu KiB): "
		       "%s",
		       (unsigned long long)t->total_pages, bitmap_kib(t->total_pages),
		       strerror(ENOMEM));
		return -ENOMEM;
	}
	err = dirty_ranges__build(&dr, t->qemu_ranges, 3);
	if (err < 0)
		return err;
	t->nr_qemu_ranges = err;
	return 0;
}

/* --ranges exact: every mapped range as its own, up to what the devices accept. */
static int exact_ranges_prepare(struct tracker *t, struct range_set *set)
{
	size_t max = t->o.max_ranges ? t->o.max_ranges : devlog_max_ranges();
	int n;

	t->exact_ranges = calloc(max + 1, sizeof(*t->exact_ranges));
	if (!t->exact_ranges)
		return -ENOMEM;
	n = range_set__to_ranges(set, t->page_size, t->exact_ranges, max);
	if (n < 0)
		return n;
	t->nr_exact_ranges = n;
	return 0;
}

int tracker__new(const struct tracker_opts *opts, struct tracker **out)
{
	struct range_set *set = NULL;
	struct tracker *t;
	int err = -ENOMEM;
	long hp;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(&t->o, opts, opts->sz < sizeof(t->o) ? opts->sz : sizeof(t->o));
	t->o.sz = sizeof(t->o);
	t->ops = t->o.ops ? t->o.ops : &tracker_vfio_ops;
	hp = sysconf(_SC_PAGESIZE);
	t->page_size = t->o.page_size ? t->o.page_size : (hp > 0 ? (uint64_t)hp : 4096);
	if (t->page_size & (t->page_size - 1)) {
		free(t);
		return -EINVAL;
	}
	t->devs = calloc(t->o.nr_devices + 1, sizeof(*t->devs));
	t->dev_started = calloc(t->o.nr_devices + 1, sizeof(bool));
	t->secs = calloc(t->o.nr_sections + 1, sizeof(*t->secs));
	set = range_set__new();
	if (!t->devs || !t->dev_started || !t->secs || !set)
		goto fail;
	memcpy(t->devs, t->o.devices, t->o.nr_devices * sizeof(*t->devs));
	t->o.devices = t->devs;

	err = sections_prepare(t, set);
	if (!err && t->o.range_mode == TRACKER_RANGES_EXACT)
		err = exact_ranges_prepare(t, set);
	if (err)
		goto fail;
	range_set__free(set);
	*out = t;
	return 0;
fail:
	range_set__free(set);
	tracker__free(t);
	return err;
}

void tracker__free(struct tracker *t)
{
	if (!t)
		return;
	if (t->active)
		tracker__stop(t);
	for (size_t i = 0; i < t->nr_secs; i++)
		bitmap__free(t->secs[i].bm);
	bitmap__free(t->global);
	free(t->secs);
	free(t->devs);
	free(t->dev_started);
	free(t->exact_ranges);
	free(t);
}

/* Stops every started device; failures only warn (QEMU does the same). First error back. */
static int devices_stop(struct tracker *t)
{
	int first = 0;

	for (size_t i = 0; i < t->o.nr_devices; i++) {
		int err;

		if (!t->dev_started[i])
			continue;
		err = t->ops->dev_stop(t->o.ops_ctx, t->devs[i].dev);
		t->dev_started[i] = false;
		if (err) {
			pr_warn("failed to stop DMA logging on %s: %s", t->devs[i].name,
				strerror(-err));
			if (!first)
				first = err;
		}
	}
	return first;
}

/* Starts every device; on a failure rolls back the started ones and sets *failed. */
static int devices_start(struct tracker *t, const struct iova_range *r, size_t nr, size_t *failed)
{
	for (size_t i = 0; i < t->o.nr_devices; i++) {
		uint64_t pgsz = t->page_size;
		int err;

		err = t->ops->dev_start(t->o.ops_ctx, t->devs[i].dev, r, nr, &pgsz);
		if (err) {
			*failed = i;
			/* roll back the devices already logging */
			devices_stop(t);
			return err;
		}
		t->dev_started[i] = true;
		/* QEMU ignores the written-back page size and reports at the host page;
		 * REPORT accepts any power of two >= 4 KiB, the driver replicates bits. */
		if (pgsz != t->page_size)
			pr_info("%s: DMA logging granularity %llu bytes (asked %llu)",
				t->devs[i].name, (unsigned long long)pgsz,
				(unsigned long long)t->page_size);
	}
	t->sent = r;
	t->nr_sent = nr;
	return 0;
}

static int start_device(struct tracker *t)
{
	size_t failed = 0;
	int err;

	if (!t->nr_secs) {
		set_err(t, "failed to start DMA logging: no mapped RAM to track");
		return -EINVAL;
	}
	if (t->o.range_mode == TRACKER_RANGES_EXACT) {
		err = devices_start(t, t->exact_ranges, t->nr_exact_ranges, &failed);
		if (!err)
			return 0;
		pr_warn("%s refused %d exact ranges (%s); retrying with the %d ranges of QEMU's range algorithm",
			t->devs[failed].name, t->nr_exact_ranges, strerror(-err),
			t->nr_qemu_ranges);
	}
	err = devices_start(t, t->qemu_ranges, t->nr_qemu_ranges, &failed);
	if (err)
		set_err(t, "failed to start DMA logging on %s: %s", t->devs[failed].name,
			strerror(-err));
	return err;
}

/* Picks the method; 0 and t->method set, or -errno when a forced method is impossible. */
static int choose(struct tracker *t)
{
	enum tracker_method want = t->o.method;
	char why[192] = "";
	int err;

	t->fallback[0] = 0;
	if (want == TRACKER_METHOD_PERPETUAL) {
		t->method = want;
		return 0;
	}
	if (want == TRACKER_METHOD_AUTO || want == TRACKER_METHOD_DEVICE) {
		err = 0;
		if (t->o.viommu) {
			/* QEMU's migration blocker: with a vIOMMU, the IOVAs the device will
			 * use are not known when logging starts */
			snprintf(t->fallback, sizeof(t->fallback),
				 "device dirty tracking is blocked with a vIOMMU: the IOVA ranges "
				 "to log are unknowable up front");
			err = -EOPNOTSUPP;
		} else if (!t->o.nr_devices) {
			snprintf(t->fallback, sizeof(t->fallback), "no device to log DMA");
			err = -ENODEV;
		}
		for (size_t i = 0; !err && i < t->o.nr_devices; i++) {
			err = t->ops->dev_probe(t->o.ops_ctx, t->devs[i].dev);
			if (err)
				snprintf(t->fallback, sizeof(t->fallback),
					 "%s does not support DMA logging: %s", t->devs[i].name,
					 strerror(-err));
		}
		if (!err) {
			t->method = TRACKER_METHOD_DEVICE;
			return 0;
		}
		if (want == TRACKER_METHOD_DEVICE) {
			set_err(t, "failed to use device dirty tracking: %s", t->fallback);
			return err;
		}
	}
	err = t->ops->iommu_probe(t->o.ops_ctx, t->o.container, t->page_size, t->max_map_bytes, why,
				  sizeof(why));
	if (!err) {
		t->method = TRACKER_METHOD_IOMMU;
		return 0;
	}
	if (want == TRACKER_METHOD_IOMMU) {
		set_err(t, "failed to use IOMMU dirty tracking: %s", why);
		return err;
	}
	snprintf(t->fallback + strlen(t->fallback), sizeof(t->fallback) - strlen(t->fallback),
		 "%sIOMMU dirty tracking unavailable: %s", t->fallback[0] ? "; " : "", why);
	t->method = TRACKER_METHOD_PERPETUAL;
	pr_warn("falling back to perpetual dirty (every page dirty on every sync): %s",
		t->fallback);
	return 0;
}

int tracker__start(struct tracker *t)
{
	int err;

	if (t->active)
		return -EBUSY;
	t->err[0] = 0;
	err = choose(t);
	if (err)
		return err;
	switch (t->method) {
	case TRACKER_METHOD_DEVICE:
		err = start_device(t);
		break;
	case TRACKER_METHOD_IOMMU:
		err = t->ops->iommu_start(t->o.ops_ctx, t->o.container);
		if (err)
			set_err(t, "failed to start IOMMU dirty tracking on the container: %s",
				strerror(-err));
		break;
	default:
		break;
	}
	if (!err)
		t->active = true;
	return err;
}

int tracker__stop(struct tracker *t)
{
	int err = 0;

	if (!t->active)
		return 0;
	t->active = false;
	if (t->method == TRACKER_METHOD_DEVICE) {
		err = devices_stop(t);
	} else if (t->method == TRACKER_METHOD_IOMMU) {
		err = t->ops->iommu_stop(t->o.ops_ctx, t->o.container);
		if (err)
			pr_warn("failed to stop IOMMU dirty tracking on the container: %s",
				strerror(-err));
	}
	if (err && !t->err[0]) {
		snprintf(t->err, sizeof(t->err), "failed to stop %s dirty tracking: %s",
			 tracker_method_name(t->method), strerror(-err));
		t->totals.errors++;
	}
	return err;
}

void tracker__abort(struct tracker *t, const char *why)
{
	if (!t->err[0]) {
		snprintf(t->err, sizeof(t->err), "%s", why);
		t->totals.errors++;
	}
	tracker__stop(t);
}

static void query_done(struct tracker *t, const char *device, const struct tsection *s, uint64_t t0,
		       int err)
{
	struct tracker_query_stats q = {
		.seq = t->totals.syncs + 1,
		.device = device,
		.iova = s->first,
		.length = s->last - s->first + 1,
		.bitmap_bytes = bitmap__bytes(s->bm),
		.err = err,
	};

	if (!t->o.on_query)
		return;
	q.duration_ns = clock_mono_ns() - t0;
	t->o.on_query(&q, t->o.on_query_ctx);
}

static int sync_section(struct tracker *t, struct tsection *s, struct tracker_sync_stats *st)
{
	uint64_t len = s->last - s->first + 1, *words = bitmap__words(s->bm);
	int64_t n;
	int err;

	if (t->method == TRACKER_METHOD_PERPETUAL) {
		bitmap__fill(s->bm);
	} else if (t->method == TRACKER_METHOD_DEVICE) {
		/* every device ORs into the same zeroed bitmap; the kernel only sets bits */
		bitmap__zero(s->bm);
		for (size_t i = 0; i < t->o.nr_devices; i++) {
			uint64_t q0 = clock_mono_ns();

			err = t->ops->dev_report(t->o.ops_ctx, t->devs[i].dev, s->first, len,
						 t->page_size, words);
			query_done(t, t->devs[i].name, s, q0, err);
			st->queries++;
			st->bitmap_bytes += bitmap__bytes(s->bm);
			if (err) {
				/* 6.7+ built without CONFIG_IOMMUFD_DRIVER (Debian 6.12) has no
				 * iova_bitmap: core fails every REPORT so, before the driver */
				set_err(t,
					"failed to get DMA logging report of %s (iova 0x%llx, size "
					"0x%llx): %s%s",
					t->devs[i].name, (unsigned long long)s->first,
					(unsigned long long)len, strerror(-err),
					err == -EOPNOTSUPP ?
						" (a kernel without "
						"CONFIG_IOMMUFD_DRIVER fails every REPORT "
						"this way)" :
						"");
				return err;
			}
		}
	} else {
		uint64_t q0 = clock_mono_ns();

		bitmap__zero(s->bm);
		err = t->ops->iommu_report(t->o.ops_ctx, t->o.container, s->first, len,
					   t->page_size, words);
		query_done(t, NULL, s, q0, err);
		st->queries++;
		st->bitmap_bytes += bitmap__bytes(s->bm);
		if (err) {
			set_err(t,
				"failed to get the IOMMU dirty bitmap (iova 0x%llx, size 0x%llx): %s",
				(unsigned long long)s->first, (unsigned long long)len,
				strerror(-err));
			return err;
		}
	}
	/* devices already OR-ed into one bitmap, so the count is of distinct pages */
	n = bitmap__merge(t->global, s->ram_page, bitmap__cwords(s->bm), s->pages);
	if (n < 0)
		return (int)n;
	st->dirty_pages += n;
	return 0;
}

int tracker__sync(struct tracker *t, struct tracker_sync_stats *out)
{
	struct tracker_sync_stats st = { .method = t->method, .tracked_pages = t->total_pages };
	uint64_t t0 = clock_mono_ns();
	int err;

	if (!t->active) {
		snprintf(t->err, sizeof(t->err), "failed to sync: dirty tracking is not running");
		return -EINVAL;
	}
	bitmap__zero(t->global);
	for (size_t i = 0; i < t->nr_secs; i++) {
		err = sync_section(t, &t->secs[i], &st);
		if (err) {
			/* the log is now incomplete: QEMU aborts the migration; stop cleanly */
			tracker__stop(t);
			return err;
		}
	}
	st.duration_ns = clock_mono_ns() - t0;
	st.seq = ++t->totals.syncs;
	t->totals.dirty_pages += st.dirty_pages;
	t->totals.bitmap_bytes += st.bitmap_bytes;
	t->totals.queries += st.queries;
	t->totals.duration_ns += st.duration_ns;
	if (st.seq == 1 || st.duration_ns < t->totals.min_duration_ns)
		t->totals.min_duration_ns = st.duration_ns;
	if (st.duration_ns > t->totals.max_duration_ns)
		t->totals.max_duration_ns = st.duration_ns;
	if (out)
		*out = st;
	if (t->o.on_sync)
		t->o.on_sync(&st, t->o.on_sync_ctx);
	return 0;
}

bool tracker__active(const struct tracker *t)
{
	return t->active;
}

enum tracker_method tracker__method(const struct tracker *t)
{
	return t->method;
}

const char *tracker__fallback_reason(const struct tracker *t)
{
	return t->fallback;
}

const char *tracker__error(const struct tracker *t)
{
	return t->err;
}

const struct tracker_totals *tracker__totals(const struct tracker *t)
{
	return &t->totals;
}

size_t tracker__ranges(const struct tracker *t, const struct iova_range **ranges)
{
	if (t->sent) {
		*ranges = t->sent;
		return t->nr_sent;
	}
	*ranges = t->qemu_ranges;
	return t->nr_qemu_ranges;
}

uint64_t tracker__page_size(const struct tracker *t)
{
	return t->page_size;
}

uint64_t tracker__tracked_bytes(const struct tracker *t)
{
	return t->total_pages * t->page_size;
}

const struct bitmap *tracker__bitmap(const struct tracker *t)
{
	return t->global;
}

int tracker__page_iova(const struct tracker *t, uint64_t page, uint64_t *iova)
{
	for (size_t i = 0; i < t->nr_secs; i++) {
		const struct tsection *s = &t->secs[i];

		if (page >= s->ram_page && page - s->ram_page < s->pages) {
			*iova = s->first + (page - s->ram_page) * t->page_size;
			return 0;
		}
	}
	return -ERANGE;
}
