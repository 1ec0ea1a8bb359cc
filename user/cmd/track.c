// SPDX-License-Identifier: GPL-2.0
/*
 * vfioscope track: the controller. Takes VFIO devices into one container, maps memory laid
 * out like a VM's RAM, runs dirty tracking (device -> IOMMU -> perpetual) and syncs on an
 * interval, printing one line per sync and a summary. The session itself (options, setup,
 * syncs, teardown) is track_session.c, shared with serve --track.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "track_session.h"
#include "vfioscope/common/bitmap.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/json.h"
#include "vfioscope/common/log.h"

#define MAX_LISTED_IOVAS 64

static volatile sig_atomic_t stop_requested, sync_requested;

struct track_out {
	struct json_writer *jw;
	struct track_session ts;
};

static void track_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope track --device BDF [--device BDF ...] [options]\n\n"
		"Runs real dirty tracking against VFIO devices, the way QEMU does for live\n"
		"migration: one container, memory mapped like a VM's RAM, device DMA logging when\n"
		"every device supports it, else the IOMMU's dirty tracking, else every page dirty.\n\n");
	track_options_usage(out);
	fprintf(out,
		"\nSIGUSR1 makes a sync at once (on demand); SIGINT/SIGTERM stop tracking and exit.\n"
		"A device the kernel asks back (removed or unbound) stops tracking: the devices are\n"
		"released so the removal completes, and the exit status is 1.\n"
		"Exit status: 0 when tracking started, every sync worked and tracking stopped\n"
		"cleanly (also after SIGINT/SIGTERM); 1 on any failure, named by step and device;\n"
		"2 on a usage error.\n");
}

/* ---- output ---- */

static void print_start(struct track_out *o, const struct track_args *a)
{
	const struct iova_range *r;
	size_t n = tracker__ranges(o->ts.t, &r);
	enum tracker_method m = tracker__method(o->ts.t);
	const char *why = tracker__fallback_reason(o->ts.t);

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "start");
		json_kv_string(o->jw, "backend", track_session_backend(&o->ts));
		json_kv_string(o->jw, "method", track_session_method(&o->ts, m));
		json_kv_bool(o->jw, "perpetual_fallback",
			     m == TRACKER_METHOD_PERPETUAL && a->method != m);
		if (why[0])
			json_kv_string(o->jw, "fallback_reason", why);
		json_kv_u64(o->jw, "page_size", tracker__page_size(o->ts.t));
		json_kv_u64(o->jw, "tracked_bytes", tracker__tracked_bytes(o->ts.t));
		json_name(o->jw, "devices");
		json_start_array(o->jw);
		for (size_t i = 0; i < a->nr_devices; i++)
			json_string(o->jw, a->devices[i]);
		json_end_array(o->jw);
		json_name(o->jw, "ranges");
		json_start_array(o->jw);
		for (size_t i = 0; m == TRACKER_METHOD_DEVICE && i < n; i++) {
			json_start_object(o->jw);
			json_kv_hex(o->jw, "iova", r[i].iova);
			json_kv_hex(o->jw, "length", r[i].length);
			json_end_object(o->jw);
		}
		json_end_array(o->jw);
		json_end_object(o->jw);
		return;
	}
	printf("tracking %llu MiB on %zu device(s) with %s dirty tracking (%s backend, %llu-byte "
	       "pages)\n",
	       (unsigned long long)(tracker__tracked_bytes(o->ts.t) >> 20), a->nr_devices,
	       track_session_method(&o->ts, m), track_session_backend(&o->ts),
	       (unsigned long long)tracker__page_size(o->ts.t));
	if (m == TRACKER_METHOD_PERPETUAL)
		printf("  PERPETUAL DIRTY: no tracker available, every page is reported dirty on "
		       "every sync\n");
	if (why[0])
		printf("  not %s: %s\n", m == TRACKER_METHOD_IOMMU ? "device" : "better", why);
	for (size_t i = 0; m == TRACKER_METHOD_DEVICE && i < n; i++)
		printf("  range %zu: iova 0x%llx length 0x%llx\n", i, (unsigned long long)r[i].iova,
		       (unsigned long long)r[i].length);
	fflush(stdout);
}

static void on_sync(const struct tracker_sync_stats *s, void *ctx)
{
	struct track_out *o = ctx;
	const struct bitmap *b = tracker__bitmap(o->ts.t);
	uint64_t page, iova, listed = 0;

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "sync");
		json_kv_u64(o->jw, "seq", s->seq);
		json_kv_string(o->jw, "method", track_session_method(&o->ts, s->method));
		json_kv_u64(o->jw, "duration_ns", s->duration_ns);
		json_kv_u64(o->jw, "bitmap_bytes", s->bitmap_bytes);
		json_kv_u64(o->jw, "queries", s->queries);
		json_kv_u64(o->jw, "dirty_pages", s->dirty_pages);
		json_kv_u64(o->jw, "tracked_pages", s->tracked_pages);
		json_name(o->jw, "dirty_iovas");
		json_start_array(o->jw);
		for (page = bitmap__next_set(b, 0);
		     page < bitmap__pages(b) && listed < MAX_LISTED_IOVAS;
		     page = bitmap__next_set(b, page + 1), listed++)
			if (!tracker__page_iova(o->ts.t, page, &iova)) {
				char hex[24];

				/* hex strings: IOVAs exceed the 2^53 a JSON number holds */
				snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)iova);
				json_string(o->jw, hex);
			}
		json_end_array(o->jw);
		json_kv_bool(o->jw, "dirty_iovas_truncated", s->dirty_pages > listed);
		json_end_object(o->jw);
		return;
	}
	printf("sync %llu: %s, %llu dirty pages of %llu, bitmap %llu bytes in %llu queries, "
	       "%.3f ms\n",
	       (unsigned long long)s->seq, track_session_method(&o->ts, s->method),
	       (unsigned long long)s->dirty_pages, (unsigned long long)s->tracked_pages,
	       (unsigned long long)s->bitmap_bytes, (unsigned long long)s->queries,
	       s->duration_ns / 1e6);
	if (s->dirty_pages && s->dirty_pages <= 16) {
		printf("  dirty:");
		for (page = bitmap__next_set(b, 0); page < bitmap__pages(b);
		     page = bitmap__next_set(b, page + 1))
			if (!tracker__page_iova(o->ts.t, page, &iova))
				printf(" 0x%llx", (unsigned long long)iova);
		printf("\n");
	}
	fflush(stdout);
}

static void print_summary(struct track_out *o, int err, bool interrupted)
{
	const struct tracker_totals *tt = tracker__totals(o->ts.t);
	uint64_t mean = tt->syncs ? tt->duration_ns / tt->syncs : 0;

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "summary");
		json_kv_string(o->jw, "result", err ? "error" : "ok");
		if (err)
			json_kv_string(o->jw, "error", tracker__error(o->ts.t));
		json_kv_bool(o->jw, "interrupted", interrupted);
		json_kv_string(o->jw, "method",
			       track_session_method(&o->ts, tracker__method(o->ts.t)));
		json_kv_u64(o->jw, "syncs", tt->syncs);
		json_kv_u64(o->jw, "dirty_pages_total", tt->dirty_pages);
		json_kv_u64(o->jw, "bitmap_bytes_total", tt->bitmap_bytes);
		json_kv_u64(o->jw, "queries_total", tt->queries);
		json_kv_u64(o->jw, "duration_ns_total", tt->duration_ns);
		json_kv_u64(o->jw, "duration_ns_min", tt->min_duration_ns);
		json_kv_u64(o->jw, "duration_ns_mean", mean);
		json_kv_u64(o->jw, "duration_ns_max", tt->max_duration_ns);
		json_kv_u64(o->jw, "errors", tt->errors);
		json_kv_bool(o->jw, "tracking_active", tracker__active(o->ts.t));
		json_end_object(o->jw);
		return;
	}
	printf("summary: %s%s, %llu syncs with %s tracking, %llu dirty pages, %llu bitmap bytes, "
	       "sync min/mean/max %.3f/%.3f/%.3f ms\n",
	       err ? "FAILED" : "ok", interrupted ? " (interrupted)" : "",
	       (unsigned long long)tt->syncs,
	       track_session_method(&o->ts, tracker__method(o->ts.t)),
	       (unsigned long long)tt->dirty_pages, (unsigned long long)tt->bitmap_bytes,
	       tt->min_duration_ns / 1e6, mean / 1e6, tt->max_duration_ns / 1e6);
	if (err)
		printf("  error: %s\n", tracker__error(o->ts.t));
}

/* ---- main loop ---- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sync_requested = 1;
	else
		stop_requested = 1;
}

/* Sleeps until deadline, a stop, an on-demand sync or the kernel asking for a device back. */
static void sleep_until(const struct track_session *s, uint64_t deadline)
{
	struct pollfd pfd[TRACK_MAX_DEVICES];

	for (size_t i = 0; i < s->nr_req_fds; i++)
		pfd[i] = (struct pollfd){ .fd = s->req_fds[i], .events = POLLIN };
	while (!stop_requested && !sync_requested) {
		uint64_t now = clock_mono_ns();
		struct timespec ts;
		int n;

		if (now >= deadline)
			return;
		ts.tv_sec = (deadline - now) / 1000000000ULL;
		ts.tv_nsec = (deadline - now) % 1000000000ULL;
		n = ppoll(pfd, s->nr_req_fds, &ts, NULL);
		if (n > 0 || (n < 0 && errno != EINTR))
			return;
	}
}

/* Syncs on the interval until the count, the duration or a signal. 0 or -errno. */
static int sync_loop(struct track_session *ts)
{
	const struct track_args *a = ts->a;
	uint64_t start = clock_mono_ns(), next = start;
	int err;

	for (uint64_t n = 0; !stop_requested; n++) {
		if (a->count && n >= a->count)
			break;
		next += a->interval_ns;
		if (a->duration_ns && next - start > a->duration_ns)
			break;
		sleep_until(ts, next);
		if (stop_requested)
			break;
		err = track_session_check_requests(ts);
		if (err)
			return err;
		if (sync_requested) {
			/* on demand: sync now, the next one an interval from now */
			sync_requested = 0;
			next = clock_mono_ns();
		}
		err = track_session_sync(ts);
		if (err)
			return err;
	}
	return 0;
}

static void catch_signals(void)
{
	struct sigaction sa = {};

	sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends the sleep at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

static int track_run(struct track_args *a)
{
	struct track_out out = { .ts.stop = &stop_requested };
	bool interrupted = false;
	int err;

	catch_signals();
	if (a->json) {
		out.jw = json_writer__new(stdout);
		if (!out.jw)
			return 1;
	}
	err = track_session_setup(&out.ts, a, on_sync, &out);
	if (!err) {
		print_start(&out, a);
		err = sync_loop(&out.ts);
		interrupted = stop_requested;
		if (!err) /* after a failed sync the tracker has stopped itself */
			err = tracker__stop(out.ts.t);
	}
	/* A summary once a tracker exists (a failed start included), for the record. */
	if (out.ts.t)
		print_summary(&out, err, interrupted);
	track_session_teardown(&out.ts);
	json_writer__free(out.jw);
	return err ? 1 : 0;
}

int cmd_track(int argc, char **argv)
{
	static struct track_args a;
	int ret;

	ret = track_args_parse(&a, "track", argc, argv);
	if (ret < 0) {
		track_usage(stdout);
		return 0;
	}
	if (ret)
		return ret;
	return track_run(&a);
}
