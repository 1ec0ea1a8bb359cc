// SPDX-License-Identifier: GPL-2.0
/*
 * serve's device migration metrics: the tracer's migration records (tracer__on_migration) go
 * into a struct migrations in the main loop, and after each poll the latest migration of each
 * device and role is exported (exporter/migration_metrics.h). Called from serve_tracer.c.
 * The same view, as the landing page's timeline (tracer/migration_timeline.h), is published
 * for /migrations after each poll that brought records, and every second while a migration is
 * under way (its current phase grows).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_migrations.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"
#include "vfioscope/exporter/http.h"
#include "vfioscope/exporter/migration_metrics.h"
#include "vfioscope/tracer/migration.h"
#include "vfioscope/tracer/migration_timeline.h"

#define PUBLISH_EVERY_NS 1000000000ULL /* while a migration is under way */

static struct {
	struct migrations *ms;
	struct migration_metrics mm;
	size_t exported_events; /* records taken in at the last export */
	struct http_doc *doc; /* the timeline served at /migrations */
	uint64_t published_ns;
	bool under_way; /* at the last publication */
	bool ready;
} sm;

static int on_mig(void *ctx, const struct vfs_mig_event *ev)
{
	return migrations__add(sm.ms, ev);
}

int serve_migrations_register(struct metrics_registry *reg)
{
	return migration_metrics__register(reg, &sm.mm);
}

int serve_migrations_setup(struct tracer *t)
{
	int err = migrations__new(&sm.ms);

	if (err)
		return err;
	err = http_doc__new(&sm.doc);
	if (err) {
		migrations__free(sm.ms);
		sm.ms = NULL;
		return err;
	}
	tracer__on_migration(t, on_mig, NULL);
	sm.ready = true;
	return 0;
}

/* Is @m the latest migration of its device in its role? */
static bool latest(size_t i, const struct migration *m)
{
	for (size_t j = i + 1; j < migrations__count(sm.ms); j++) {
		const struct migration *o = migrations__get(sm.ms, j);

		if (o->role == m->role && !strcmp(o->device, m->device))
			return false;
	}
	return true;
}

static void export_one(const struct migration *m)
{
	struct migration_metrics_device d = { .device = m->device,
					      .role = migration_role_name(m->role) };
	struct migration_summary s;

	migration__summary(m, &s);
	d.active = m->outcome == MIGRATION_UNDER_WAY;
	d.state = 2; /* RUNNING until a state change is seen */
	for (unsigned int i = 0; i < m->nphases; i++) {
		const struct migration_phase *p = &m->phases[i];
		uint64_t end = p->end_ns ? p->end_ns : m->end_ns;

		if (p->ret || p->state >= MIGRATION_METRICS_STATES)
			continue;
		d.state = p->state;
		d.bytes[p->state] += p->bytes;
		if (end > p->start_ns)
			d.seconds[p->state] += (end - p->start_ns) / 1e9;
	}
	if (m->nprecopy) {
		d.precopy_known = true;
		d.precopy_initial = m->precopy[m->nprecopy - 1].initial_bytes;
		d.precopy_dirty = m->precopy[m->nprecopy - 1].dirty_bytes;
	}
	d.dirty_rate_known = s.pages_known && s.syncs;
	d.dirty_pages_per_s = s.dirty_pages_per_s;
	d.downtime_known = s.downtime_known;
	d.downtime_s = s.downtime_ns / 1e9;
	d.stop_copy_bytes = s.stop_copy_bytes;
	d.converging = s.converges;
	d.data_bytes_per_s = s.data_bytes_per_s;
	migration_metrics__device(&sm.mm, &d);
}

static void export_finished(void)
{
	static const enum migration_outcome outcomes[] = { MIGRATION_COMPLETED, MIGRATION_CANCELLED,
							   MIGRATION_FAILED };

	for (size_t i = 0; i < migrations__count(sm.ms); i++) {
		const struct migration *m = migrations__get(sm.ms, i);

		if (!latest(i, m))
			continue;
		/* one count per (device, role, outcome): all of this device's in this role */
		for (size_t k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++) {
			uint64_t n = 0;

			for (size_t j = 0; j <= i; j++) {
				const struct migration *o = migrations__get(sm.ms, j);

				n += o->role == m->role && o->outcome == outcomes[k] &&
				     !strcmp(o->device, m->device);
			}
			if (n)
				migration_metrics__finished(&sm.mm, m->device,
							    migration_role_name(m->role),
							    migration_outcome_name(outcomes[k]), n);
		}
	}
}

struct http_doc *serve_migrations_doc(void)
{
	return sm.ready ? sm.doc : NULL;
}

/* Render the timeline and hand it to the HTTP server. */
static void publish(uint64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		pr_warn("failed to render the migration timeline: %s", strerror(errno));
		return;
	}
	err = migrations__timeline_json(sm.ms, now, MIGRATION_TIMELINE_MAX, f);
	if (fclose(f) || err) {
		pr_warn("failed to render the migration timeline: %s", strerror(err ? -err : EIO));
		free(buf);
		return;
	}
	http_doc__set(sm.doc, buf, len);
	sm.published_ns = now;
	sm.under_way = false;
	for (size_t i = 0; i < migrations__count(sm.ms); i++)
		if (migrations__get(sm.ms, i)->outcome == MIGRATION_UNDER_WAY &&
		    migrations__get(sm.ms, i)->role != MIGRATION_ROLE_UNKNOWN)
			sm.under_way = true;
}

void serve_migrations_step(void)
{
	uint64_t now = clock_mono_ns();
	size_t n;

	if (!sm.ready)
		return;
	migrations__events(sm.ms, &n);
	if (n != sm.exported_events || !sm.published_ns ||
	    (sm.under_way && now - sm.published_ns >= PUBLISH_EVERY_NS))
		publish(now);
	if (n == sm.exported_events)
		return;
	sm.exported_events = n;
	for (size_t i = 0; i < migrations__count(sm.ms); i++) {
		const struct migration *m = migrations__get(sm.ms, i);

		if (m->role != MIGRATION_ROLE_UNKNOWN && m->device[0] && latest(i, m))
			export_one(m);
	}
	export_finished();
}

void serve_migrations_stop(void)
{
	migrations__free(sm.ms);
	sm.ms = NULL;
	http_doc__free(sm.doc);
	sm.doc = NULL;
	sm.ready = false;
}
