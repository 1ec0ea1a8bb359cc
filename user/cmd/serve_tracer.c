// SPDX-License-Identifier: GPL-2.0
/*
 * serve's tracer source: the BPF tracer (loader.h, mirror.h) loaded and attached during the
 * privileged setup, then read once per scrape by a collector: per-op latency histograms (log2
 * nanoseconds, imported exactly), error counters, lost events, and the mirror (containers,
 * mappings, dirty tracking sessions). The main loop drains the ring buffer (events are not
 * printed here; the maps hold the state) and forgets exited processes.
 *
 * Built when the tracer's headers are part of the tree; otherwise serve runs without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "vfioscope/common/log.h"
#include "vfioscope/common/names.h"

#if __has_include("vfioscope/tracer/tracer.h") &&               \
		  __has_include("vfioscope/tracer/mirror.h") && \
				__has_include("vfioscope/tracer/decode.h")
#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/tracer/mirror.h"
#include "serve_migrations.h"

const bool serve_have_tracer = true;

#define MAX_IDS 1024
/* devices exported at once: as many as containers (the families' bound) */
#define MAX_DEVICES 1024

typedef char device_name[VFS_DEV_NAME + 1];

struct serve_tracer {
	struct tracer *t;
	struct mirror *m;
	struct vfio_metrics *vm;
	/* container ids exported at the previous scrape, to drop the ones that went away */
	unsigned char seen[MAX_IDS], prev[MAX_IDS];
	/* the file of the container serve's own tracker drives (0: none seen) */
	uint64_t own;
	/* device labels exported at this and at the previous scrape */
	device_name devs[MAX_DEVICES], prev_devs[MAX_DEVICES];
	size_t ndevs, nprev_devs;
	/* device DMA logging pages per container id, summed over its devices */
	double dev_pages[MAX_IDS];
};

static struct serve_tracer tracer_state;

static int export_error(void *ctx, unsigned int op, unsigned int err, uint64_t count)
{
	struct serve_tracer *st = ctx;
	const char *name = strerrorname_np(err);
	char num[16];

	if (!name) {
		snprintf(num, sizeof(num), "%u", err);
		name = num;
	}
	vfio_metrics__ioctl_errors(st->vm, decode_op_name(op), name, count);
	return 0;
}

/* Every reason, zeros included: a series that exists from the start makes increase() exact. */
static void export_lost(struct serve_tracer *st)
{
	static const char *const reasons[VFS_LOST_REASONS] = {
		[VFS_LOST_RINGBUF] = "ring_buffer_full",
		[VFS_LOST_MAPPING] = "mapping_map_full",
		[VFS_LOST_INFLIGHT] = "calls_in_flight",
		[VFS_LOST_STATE] = "state_map_full",
	};
	uint64_t lost[VFS_LOST_REASONS];

	if (tracer__lost(st->t, lost))
		return;
	for (int r = 0; r < VFS_LOST_REASONS; r++)
		vfio_metrics__events_lost(st->vm, reasons[r], lost[r]);
}

/* The container a session belongs to: type1 and hwpt sessions are keyed by the container or
 * iommufd file, device sessions by the device file (through its group, or the iommufd a cdev
 * was bound to). */
static const struct mirror_container *session_container(const struct mirror *m,
							const struct mirror_session *ms)
{
	const struct mirror_container *ctrs;
	const struct mirror_file *files;
	size_t nc = mirror__containers(m, &ctrs), nf = mirror__files(m, &files);

	if (ms->key.method == VFS_DIRTY_DEVICE) {
		for (size_t i = 0; i < nf; i++)
			if (files[i].file == ms->key.file)
				return mirror__container_of(m, &files[i]);
		return NULL;
	}
	for (size_t i = 0; i < nc; i++)
		if (ctrs[i].file == ms->key.file)
			return &ctrs[i];
	return NULL;
}

/*
 * serve --track's container, as the tracer sees it: this process's container file, found by
 * the fd the tracker holds (a file's last fd in its last process). One container, one set of
 * numbers: it is exported once, under the tracker's label.
 */
static uint64_t own_container_file(const struct mirror *m)
{
	const struct mirror_file *files;
	size_t nf = mirror__files(m, &files);
	int fd = serve_track_container_fd();

	for (size_t i = 0; fd >= 0 && i < nf; i++)
		if (files[i].f.tgid == (uint32_t)getpid() && files[i].f.fd == fd)
			return files[i].file;
	return 0;
}

static bool is_own(const struct serve_tracer *st, const struct mirror_container *c)
{
	return st->own && c->file == st->own && c->c.tgid == (uint32_t)getpid();
}

static void container_label(const struct serve_tracer *st, const struct mirror_container *c,
			    char *id, size_t len)
{
	if (is_own(st, c))
		snprintf(id, len, "%s", SERVE_TRACK_CONTAINER);
	else
		snprintf(id, len, "%u", c->id);
}

static const struct mirror_file *file_of(const struct mirror *m, uint64_t file)
{
	const struct mirror_file *files;
	size_t nf = mirror__files(m, &files);

	for (size_t i = 0; i < nf; i++)
		if (files[i].file == file)
			return &files[i];
	return NULL;
}

/* A device's DMA logging: its own series under its address, and its pages in the
 * container's vfio_dirty_pages_total{method="device"} (the sum over its devices). */
static void export_device_session(struct serve_tracer *st, const struct mirror_container *c,
				  const struct mirror_session *ms)
{
	const struct mirror_file *mf = file_of(st->m, ms->key.file);
	const struct vfs_session *s = &ms->s;
	uint64_t pages = s->page_size ? s->kern_dirty_bytes / s->page_size : 0;
	char id[16];

	snprintf(id, sizeof(id), "%u", c->id);
	if (c->id < MAX_IDS)
		st->dev_pages[c->id] += pages;
	if (mf && mf->f.device[0])
		vfio_metrics__device_reports(st->vm, id, mf->f.device, s->reports, s->report_ns,
					     pages);
}

static void export_session(struct serve_tracer *st, const struct mirror_session *ms)
{
	const struct mirror_container *c = session_container(st->m, ms);
	const struct vfs_session *s = &ms->s;
	struct vfio_metrics_tracking tr = { .active = s->active != 0 };
	const char *method = dirty_method_name(decode_dirty_method(ms->key.method));
	char id[16];

	/* serve's own tracker exports its session (syncs, pages): counting the driver's pages
	 * here too would count them twice */
	if (!c || is_own(st, c))
		return;
	snprintf(id, sizeof(id), "%u", c->id);
	for (unsigned int i = 0; i < s->nr_ranges && i < VFS_LOG_RANGES; i++) {
		uint64_t iova = s->ranges[2 * i], len = s->ranges[2 * i + 1];

		tr.tracked_bytes += len;
		tr.nranges++;
		if (iova < (1ULL << 32) && !tr.len32)
			tr.start32 = iova, tr.len32 = len;
		else if (iova >= (1ULL << 32) && !tr.len64)
			tr.start64 = iova, tr.len64 = len;
	}
	if (!tr.nranges && tr.active) { /* type1 / hwpt track the whole IOAS */
		tr.tracked_bytes = c->c.mapped_bytes;
		tr.nranges = 1;
	}
	vfio_metrics__tracking(st->vm, id, method, &tr);
	/* two devices of one container have a session each: their pages add up */
	if (ms->key.method == VFS_DIRTY_DEVICE) {
		export_device_session(st, c, ms);
		return;
	}
	/* Pages the driver marked dirty (iova_bitmap_set), when that hook is attached. */
	if (s->kern_dirty_bytes && s->page_size)
		metric_series__set(metric_family__with(st->vm->dirty_pages, id, method),
				   (double)(s->kern_dirty_bytes / s->page_size));
}

static bool device_listed(device_name *list, size_t n, const char *dev)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], dev))
			return true;
	return false;
}

/*
 * vfio_device_info for every device file the tracer knows, under its container's id (an
 * empty container label while none is known: the device was opened before the tracer saw its
 * container). serve --track's devices are the tracker's to export. Devices gone since the
 * previous scrape lose their series.
 */
static void export_devices(struct serve_tracer *st)
{
	const struct mirror_file *files;
	size_t nf = mirror__files(st->m, &files);

	st->ndevs = 0;
	for (size_t i = 0; i < nf && st->ndevs < MAX_DEVICES; i++) {
		const struct vfs_file *f = &files[i].f;
		const struct mirror_container *c;
		char id[16] = "", dev[VFS_DEV_NAME + 1];

		if (f->kind != VFS_KIND_DEVICE || !f->device[0])
			continue;
		c = mirror__container_of(st->m, &files[i]);
		if (c && is_own(st, c))
			continue;
		if (c)
			snprintf(id, sizeof(id), "%u", c->id);
		snprintf(dev, sizeof(dev), "%.*s", VFS_DEV_NAME, f->device);
		if (device_listed(st->devs, st->ndevs, dev))
			continue;
		vfio_metrics__device(st->vm, dev, f->driver[0] ? f->driver : "unknown", id);
		memcpy(st->devs[st->ndevs++], dev, sizeof(dev));
	}
	for (size_t i = 0; i < st->nprev_devs; i++)
		if (!device_listed(st->devs, st->ndevs, st->prev_devs[i]))
			vfio_metrics__device_gone(st->vm, st->prev_devs[i]);
	memcpy(st->prev_devs, st->devs, st->ndevs * sizeof(st->devs[0]));
	st->nprev_devs = st->ndevs;
}

static int tracer_collect(struct metrics_registry *reg, void *ctx)
{
	struct serve_tracer *st = ctx;
	const struct tracer_prog_status *progs;
	const struct mirror_container *ctrs;
	const struct mirror_session *sess;
	size_t nc, ns;
	int n, err;

	n = tracer__programs(st->t, &progs);
	for (int i = 0; i < n; i++)
		vfio_metrics__program(st->vm, progs[i].name,
				      progs[i].role != TRACER_ROLE_KERNEL_HOOK, progs[i].attached);
	for (unsigned int op = 1; op < VFS_OPS; op++) {
		struct vfs_hist h;

		if (!tracer__hist(st->t, op, &h) && h.count)
			vfio_metrics__ioctl_latency(
				st->vm, decode_op_name(op),
				(const uint64_t *)h.slots, /* __u64: same width */
				VFS_HIST_SLOTS, h.sum);
	}
	tracer__errors(st->t, export_error, st);
	export_lost(st);

	err = mirror__load(st->m, st->t);
	if (err)
		return err;
	memset(st->seen, 0, sizeof(st->seen));
	st->own = own_container_file(st->m);
	nc = mirror__containers(st->m, &ctrs);
	for (size_t i = 0; i < nc; i++) {
		char id[16], comm[17];

		container_label(st, &ctrs[i], id, sizeof(id));
		snprintf(comm, sizeof(comm), "%.16s", ctrs[i].c.comm);
		/* untracked (no room in the containers map): its bytes are unknown, not 0 */
		if (!(ctrs[i].c.flags & VFS_CTR_UNTRACKED))
			vfio_metrics__mappings(st->vm, id, ctrs[i].c.mapped_bytes,
					       ctrs[i].c.mappings);
		vfio_metrics__container(st->vm, id, ctrs[i].c.tgid, comm,
					backend_name(ctrs[i].c.iommu_type, ctrs[i].ioas));
		/* not "seen" under its number: series exported before the match go away */
		if (ctrs[i].id < MAX_IDS && !is_own(st, &ctrs[i]))
			st->seen[ctrs[i].id] = 1;
	}
	export_devices(st);
	memset(st->dev_pages, 0, sizeof(st->dev_pages));
	ns = mirror__sessions(st->m, &sess);
	for (size_t i = 0; i < ns; i++)
		export_session(st, &sess[i]);
	for (unsigned int id = 1; id < MAX_IDS; id++) {
		char s[16];

		if (!st->dev_pages[id])
			continue;
		snprintf(s, sizeof(s), "%u", id);
		metric_series__set(metric_family__with(st->vm->dirty_pages, s,
						       dirty_method_name(DIRTY_METHOD_DEVICE)),
				   st->dev_pages[id]);
	}
	for (unsigned int id = 0; id < MAX_IDS; id++) {
		if (st->prev[id] && !st->seen[id]) {
			char s[16];

			snprintf(s, sizeof(s), "%u", id);
			vfio_metrics__container_gone(st->vm, s);
		}
	}
	memcpy(st->prev, st->seen, sizeof(st->prev));
	return 0;
}

int serve_tracer_setup(struct serve *s, struct serve_source *src)
{
	struct tracer_opts opts = { .sz = sizeof(opts),
				    .mode = s->tracer_mode,
				    .ringbuf_size = s->ringbuf_size,
				    .max_mappings = s->max_mappings };
	struct serve_tracer *st = &tracer_state;
	const struct tracer_prog_status *progs;
	int err, n;

	err = tracer__new(&opts, &st->t);
	if (err)
		return err;
	err = mirror__new(&st->m);
	if (err) {
		tracer__free(st->t);
		return err;
	}
	st->vm = &s->vm;
	n = tracer__programs(st->t, &progs);
	for (int i = 0; i < n; i++) {
		vfio_metrics__program(st->vm, progs[i].name,
				      progs[i].role != TRACER_ROLE_KERNEL_HOOK, progs[i].attached);
		if (!progs[i].attached)
			pr_warn("BPF program %s (%s) not attached: %s", progs[i].name,
				progs[i].target, progs[i].why);
	}
	pr_info("tracing with %s (%s)", tracer__mode(st->t), tracer__reason(st->t));
	err = serve_migrations_setup(st->t);
	if (err)
		pr_warn("failed to set up the migration metrics: %s", strerror(-err));
	return metrics_registry__add_collector(s->reg, "tracer", tracer_collect, st);
}

int serve_tracer_step(struct serve *s, struct serve_source *src)
{
	int err = tracer__poll(tracer_state.t, 0, NULL, NULL);

	if (err < 0) {
		pr_warn("failed to poll the tracer's ring buffer: %s", strerror(-err));
		return 0;
	}
	serve_migrations_step();
	mirror_gc(tracer_state.t);
	return 0;
}

void serve_tracer_stop(struct serve *s, struct serve_source *src)
{
	serve_migrations_stop();
	mirror__free(tracer_state.m);
	tracer__free(tracer_state.t);
}

#else /* no tracer in this tree */

const bool serve_have_tracer = false;

int serve_tracer_setup(struct serve *s, struct serve_source *src)
{
	pr_err("this build has no BPF tracer");
	return -EOPNOTSUPP;
}

int serve_tracer_step(struct serve *s, struct serve_source *src)
{
	return 0;
}

void serve_tracer_stop(struct serve *s, struct serve_source *src)
{
}

#endif
