// SPDX-License-Identifier: GPL-2.0
/*
 * serve --track: the tracker run in-process, through the same track_session as `vfioscope
 * track`, exported as container "track". Setup (devices opened, memory pinned, tracking
 * started) runs before serve drops its capabilities: the device and container fds and the
 * pinned memory stay usable afterwards, so the syncs in step() need no privilege.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "track_session.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"

struct serve_track {
	struct track_args args;
	struct track_session ts;
	struct vfio_metrics *vm;
	struct vfio_metrics_tracking state;
	const char *method; /* the tracking session's method label, once started */
	uint64_t start_ns, syncs;
	bool done; /* count or duration reached, or a sync failed: tracking is over */
};

static struct serve_track track_state;

int serve_track_parse(int argc, char **argv)
{
	return track_args_parse(&track_state.args, "serve", argc, argv);
}

unsigned int serve_track_step_ms(void)
{
	uint64_t ms = track_state.args.interval_ns / 1000000;

	return ms ? ms : 1;
}

int serve_track_container_fd(void)
{
	return track_state.ts.c ? vfio_container__fd(track_state.ts.c) : -1;
}

static void device_driver(const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(out, len, "none");
		return;
	}
	link[n] = 0;
	base = strrchr(link, '/');
	snprintf(out, len, "%.63s", base ? base + 1 : link);
}

static void on_sync(const struct tracker_sync_stats *st, void *ctx)
{
	struct serve_track *x = ctx;

	vfio_metrics__sync(x->vm, SERVE_TRACK_CONTAINER, track_session_method(&x->ts, st->method),
			   st->duration_ns, st->dirty_pages, st->bitmap_bytes);
}

/* What tracking covers: the ranges sent to the devices, or the whole mapped space. */
static void tracking_state(struct serve_track *x)
{
	struct vfio_metrics_tracking *t = &x->state;
	struct tracker *tr = x->ts.t;
	const struct iova_range *r;
	size_t n = tracker__method(tr) == TRACKER_METHOD_DEVICE ? tracker__ranges(tr, &r) : 0;

	*t = (struct vfio_metrics_tracking){ .active = tracker__active(tr),
					     .tracked_bytes = tracker__tracked_bytes(tr) };
	for (size_t i = 0; i < n; i++) {
		if (r[i].iova < (1ULL << 32) && !t->len32)
			t->start32 = r[i].iova, t->len32 = r[i].length;
		else if (r[i].iova >= (1ULL << 32) && !t->len64)
			t->start64 = r[i].iova, t->len64 = r[i].length;
	}
	t->nranges = n ? (int)n : t->tracked_bytes ? 1 : 0;
}

static void export_start(struct serve_track *x)
{
	char driver[64];

	vfio_metrics__container(x->vm, SERVE_TRACK_CONTAINER, getpid(), "vfioscope",
				track_session_backend(&x->ts));
	for (size_t i = 0; i < x->args.nr_devices; i++) {
		device_driver(x->args.devices[i], driver, sizeof(driver));
		vfio_metrics__device(x->vm, x->args.devices[i], driver, SERVE_TRACK_CONTAINER);
	}
	x->method = track_session_method(&x->ts, tracker__method(x->ts.t));
	tracking_state(x);
	vfio_metrics__tracking(x->vm, SERVE_TRACK_CONTAINER, x->method, &x->state);
}

int serve_track_setup(struct serve *s, struct serve_source *src)
{
	struct serve_track *x = &track_state;
	int err;

	x->vm = &s->vm;
	err = track_session_setup(&x->ts, &x->args, on_sync, x);
	if (err) {
		track_session_teardown(&x->ts);
		return err;
	}
	export_start(x);
	pr_info("tracking with %s dirty tracking (%s backend)", x->method,
		track_session_backend(&x->ts));
	x->start_ns = clock_mono_ns();
	return 0;
}

/* Tracking is over: say so in the metrics (tracking_active 0). */
static void finish(struct serve_track *x, struct serve_source *src, int err)
{
	if (!err)
		err = tracker__stop(x->ts.t);
	x->state.active = false;
	vfio_metrics__tracking(x->vm, SERVE_TRACK_CONTAINER, x->method, &x->state);
	x->done = true;
	if (err) /* the tracker has logged why; serve keeps serving and exits 1 */
		src->failed = true;
	else
		pr_info("tracking finished after %llu syncs", (unsigned long long)x->syncs);
}

int serve_track_step(struct serve *s, struct serve_source *src)
{
	struct serve_track *x = &track_state;
	const struct track_args *a = &x->args;
	int err;

	if (x->done)
		return 0;
	if ((a->count && x->syncs >= a->count) ||
	    (a->duration_ns && clock_mono_ns() - x->start_ns >= a->duration_ns)) {
		finish(x, src, 0);
		return 0;
	}
	err = track_session_check_requests(&x->ts);
	if (err) { /* let the removal go on: release the devices now, keep serving */
		finish(x, src, err);
		track_session_teardown(&x->ts);
		return 0;
	}
	err = track_session_sync(&x->ts);
	if (err) /* tracking has stopped */
		finish(x, src, err);
	else
		x->syncs++;
	return 0;
}

void serve_track_stop(struct serve *s, struct serve_source *src)
{
	struct serve_track *x = &track_state;

	if (!x->done)
		finish(x, src, 0);
	track_session_teardown(&x->ts);
}
