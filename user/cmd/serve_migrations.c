// SPDX-License-Identifier: GPL-2.0
/*
 * serve's device migration metrics: the tracer's migration records (tracer__on_migration) go
 * into a struct migrations in the main loop, and after each poll the latest migration of each
 * device and role is exported (exporter/migration_metrics.h). Called from serve_tracer.c.
 */
#include <stdio.h>
#include <string.h>

#include "serve_migrations.h"
#include "vfioscope/common/log.h"
#include "vfioscope/exporter/migration_metrics.h"
#include "vfioscope/tracer/migration.h"

static struct {
	struct migrations *ms;
	struct migration_metrics mm;
	size_t exported_events; /* records taken in at the last export */
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

void serve_migrations_step(void)
{
	size_t n;

	if (!sm.ready)
		return;
	migrations__events(sm.ms, &n);
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
	sm.ready = false;
}
