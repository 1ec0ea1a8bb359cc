// SPDX-License-Identifier: GPL-2.0
/*
 * The landing page's migration timeline (include/vfioscope/tracer/migration_timeline.h): the
 * migration view as bounded series, for a browser to draw while a migration runs.
 */
#include <errno.h>
#include <stdbool.h>

#include "vfioscope/common/json.h"
#include "vfioscope/tracer/migration_timeline.h"

#define P MIGRATION_TIMELINE_POINTS

/* Milliseconds from the timeline's origin (records may begin a little before it). */
static void kv_ms(struct json_writer *jw, const char *name, uint64_t t, uint64_t origin)
{
	json_name(jw, name);
	json_fixed(jw, ((double)t - (double)origin) / 1e6, 3);
}

/*
 * Point i of n closes a bucket when it is the last of the P buckets n points are split into:
 * exactly min(n, P) points close one, the last point always does.
 */
static bool closes_bucket(size_t i, size_t n)
{
	return n <= P || (i * P) / n != ((i + 1) * P) / n;
}

static void phases(struct json_writer *jw, const struct migration *m, uint64_t origin, uint64_t now)
{
	json_name(jw, "phases");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nphases; i++) {
		const struct migration_phase *p = &m->phases[i];
		uint64_t end = p->end_ns ? p->end_ns : m->end_ns ? m->end_ns : now;

		json_start_object(jw);
		json_kv_string(jw, "state", migration_state_name(p->state));
		json_kv_string(jw, "from",
			       p->prev_state == VFS_MIG_STATE_UNKNOWN ?
				       "?" :
				       migration_state_name(p->prev_state));
		kv_ms(jw, "start_ms", p->start_ns, origin);
		kv_ms(jw, "end_ms", end > p->start_ns ? end : p->start_ns, origin);
		json_kv_bool(jw, "current", !p->end_ns && !m->end_ns && p->ret == 0);
		json_kv_s64(jw, "ret", p->ret);
		json_kv_u64(jw, "bytes", p->bytes);
		json_kv_u64(jw, "calls", p->calls);
		json_end_object(jw);
	}
	json_end_array(jw);
}

static bool data_record(const struct vfs_mig_event *e, const struct migration *m)
{
	uint64_t end = m->end_ns ? m->end_ns : UINT64_MAX;

	return e->device == m->device_file && e->ts_ns >= m->start_ns && e->ts_ns <= end &&
	       (e->type == VFS_MIG_READ || e->type == VFS_MIG_WRITE) && e->ret > 0;
}

/* Cumulative data-fd bytes over time: [t_ms, bytes] at most P points, the last one exact. */
static void data_series(struct json_writer *jw, const struct migrations *ms,
			const struct migration *m, uint64_t origin)
{
	size_t nev, n = 0, k = 0;
	const struct vfs_mig_event *ev = migrations__events(ms, &nev);
	uint64_t total = 0;

	for (size_t i = 0; i < nev; i++)
		n += data_record(&ev[i], m);
	json_name(jw, "data");
	json_start_array(jw);
	for (size_t i = 0; i < nev; i++) {
		if (!data_record(&ev[i], m))
			continue;
		total += (uint64_t)ev[i].ret;
		if (closes_bucket(k++, n)) {
			json_start_array(jw);
			json_fixed(jw, ((double)ev[i].ts_ns - (double)origin) / 1e6, 3);
			json_u64(jw, total);
			json_end_array(jw);
		}
	}
	json_end_array(jw);
}

/* Precopy answers [t_ms, initial, dirty]: a subset of at most P, the last one included. */
static void precopy_series(struct json_writer *jw, const struct migration *m, uint64_t origin)
{
	json_name(jw, "precopy");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nprecopy; i++) {
		if (!closes_bucket(i, m->nprecopy))
			continue;
		json_start_array(jw);
		json_fixed(jw, ((double)m->precopy[i].ts_ns - (double)origin) / 1e6, 3);
		json_u64(jw, m->precopy[i].initial_bytes);
		json_u64(jw, m->precopy[i].dirty_bytes);
		json_end_array(jw);
	}
	json_end_array(jw);
}

/*
 * Dirty syncs [t_ms, pages (null unknown), latency_ms, syncs]: at most P buckets of
 * consecutive syncs, each with its pages summed, its longest latency and the time of its last
 * sync. Failed syncs are counted in "errors" only.
 */
static void sync_series(struct json_writer *jw, const struct migration *m,
			const struct migration_summary *s, uint64_t origin)
{
	uint64_t pages = 0, lat = 0, syncs = 0;
	bool known = true;

	json_name(jw, "syncs");
	json_start_object(jw);
	json_kv_u64(jw, "count", s->syncs);
	json_kv_u64(jw, "errors", s->sync_errors);
	json_name(jw, "pages");
	if (s->pages_known)
		json_u64(jw, s->dirty_pages);
	else
		json_null(jw);
	json_kv_u64(jw, "page_size", m->log_page_size);
	json_kv_double(jw, "dirty_pages_per_s", s->dirty_pages_per_s);
	json_name(jw, "list");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nsyncs; i++) {
		const struct migration_sync *y = &m->syncs[i];

		if (!y->ret) {
			pages += y->pages;
			known = known && y->pages_known;
			lat = y->latency_ns > lat ? y->latency_ns : lat;
			syncs++;
		}
		if (!closes_bucket(i, m->nsyncs) || !syncs)
			continue;
		json_start_array(jw);
		json_fixed(jw, ((double)y->ts_ns - (double)origin) / 1e6, 3);
		if (known)
			json_u64(jw, pages);
		else
			json_null(jw);
		json_fixed(jw, (double)lat / 1e6, 3);
		json_u64(jw, syncs);
		json_end_array(jw);
		pages = lat = syncs = 0;
		known = true;
	}
	json_end_array(jw);
	json_end_object(jw);
}

/* The device's part of the pause as a segment (see migration__summary for the rule). */
static void downtime(struct json_writer *jw, const struct migration *m,
		     const struct migration_summary *s, uint64_t origin)
{
	uint64_t start = m->role == MIGRATION_SOURCE ? m->downtime_start_ns : m->resuming_ns;

	json_name(jw, "downtime");
	if (!s->downtime_known) {
		json_null(jw);
		return;
	}
	json_start_object(jw);
	kv_ms(jw, "start_ms", start, origin);
	kv_ms(jw, "end_ms", start + s->downtime_ns, origin);
	json_name(jw, "ms");
	json_fixed(jw, (double)s->downtime_ns / 1e6, 3);
	json_end_object(jw);
}

static void convergence(struct json_writer *jw, const struct migration *m,
			const struct migration_summary *s)
{
	json_name(jw, "convergence");
	json_start_object(jw);
	json_name(jw, "converges");
	if (s->converges < 0)
		json_null(jw);
	else
		json_bool(jw, s->converges);
	json_kv_double(jw, "data_bytes_per_s", s->data_bytes_per_s);
	json_name(jw, "state_growth_bytes_per_s");
	if (s->growth_known)
		json_double(jw, s->state_growth_bytes_per_s);
	else
		json_null(jw);
	json_kv_u64(jw, "stop_copy_bytes", s->stop_copy_bytes);
	json_kv_bool(jw, "stop_copy_estimated", s->stop_copy_estimated);
	json_kv_double(jw, "stop_copy_s", s->stop_copy_s);
	json_name(jw, "data_size_bytes");
	if (m->data_size_queries)
		json_u64(jw, m->data_size);
	else
		json_null(jw);
	json_end_object(jw);
}

static void one(struct json_writer *jw, const struct migrations *ms, const struct migration *m,
		uint64_t origin, uint64_t now)
{
	struct migration_summary s;
	const char *state = "RUNNING";

	migration__summary(m, &s);
	for (unsigned int i = 0; i < m->nphases; i++)
		if (m->phases[i].ret == 0)
			state = migration_state_name(m->phases[i].state);
	json_start_object(jw);
	json_kv_string(jw, "device", m->device);
	json_kv_string(jw, "role", migration_role_name(m->role));
	json_kv_u64(jw, "pid", m->pid);
	json_kv_string(jw, "comm", m->comm);
	json_kv_string(jw, "outcome", migration_outcome_name(m->outcome));
	json_kv_string(jw, "state", state);
	kv_ms(jw, "start_ms", m->start_ns, origin);
	json_name(jw, "end_ms");
	if (m->end_ns)
		json_fixed(jw, ((double)m->end_ns - (double)origin) / 1e6, 3);
	else
		json_null(jw);
	json_kv_u64(jw, "bytes", m->bytes);
	phases(jw, m, origin, now);
	data_series(jw, ms, m, origin);
	precopy_series(jw, m, origin);
	sync_series(jw, m, &s, origin);
	downtime(jw, m, &s, origin);
	convergence(jw, m, &s);
	json_end_object(jw);
}

int migrations__timeline_json(const struct migrations *ms, uint64_t now_ns, size_t max, FILE *out)
{
	struct json_writer *jw = json_writer__new(out);
	uint64_t origin = migrations__origin_ns(ms);
	size_t n = migrations__count(ms), first = n > max ? n - max : 0, shown = 0;
	bool failed;

	if (!jw)
		return -ENOMEM;
	if (!origin)
		origin = now_ns;
	/* only migrations whose role is known: a device that never left RUNNING is no timeline */
	for (size_t i = first; i < n; i++)
		shown += migrations__get(ms, i)->role != MIGRATION_ROLE_UNKNOWN;
	json_start_object(jw);
	json_kv_u64(jw, "origin_mono_ns", origin);
	kv_ms(jw, "now_ms", now_ns, origin);
	json_kv_u64(jw, "seen", n);
	json_kv_u64(jw, "shown", shown);
	json_kv_u64(jw, "max", max);
	json_name(jw, "migrations");
	json_start_array(jw);
	for (size_t i = first; i < n; i++) {
		const struct migration *m = migrations__get(ms, i);

		if (m->role != MIGRATION_ROLE_UNKNOWN)
			one(jw, ms, m, origin, now_ns);
	}
	json_end_array(jw);
	json_end_object(jw);
	failed = json_writer__failed(jw);
	json_writer__free(jw);
	return failed || ferror(out) ? -EIO : 0;
}
