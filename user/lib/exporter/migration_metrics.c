// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "vfioscope/exporter/migration_metrics.h"

#define MAX_DEVICES 64

enum {
	F_STATE,
	F_ACTIVE,
	F_DATA_BYTES,
	F_PHASE_SECONDS,
	F_PRECOPY_INITIAL,
	F_PRECOPY_DIRTY,
	F_DIRTY_RATE,
	F_DOWNTIME,
	F_STOP_COPY,
	F_CONVERGING,
	F_THROUGHPUT,
	F_MIGRATIONS,
	F_COUNT
};

static const struct metric_desc table[F_COUNT] = {
	[F_STATE] = { "vfio_device_migration_state",
		      "The device's migration state in its latest migration, as the uAPI numbers "
		      "it: 0 ERROR, 1 STOP, 2 RUNNING, 3 STOP_COPY, 4 RESUMING, 5 RUNNING_P2P, "
		      "6 PRE_COPY, 7 PRE_COPY_P2P.",
		      METRIC_GAUGE,
		      { "device", "role" },
		      .max_series = 2 * MAX_DEVICES },
	[F_ACTIVE] = { "vfio_device_migration_active",
		       "1 while the device's migration is under way.",
		       METRIC_GAUGE,
		       { "device", "role" },
		       .max_series = 2 * MAX_DEVICES },
	[F_DATA_BYTES] = { "vfio_device_migration_data_bytes",
			   "Device state bytes moved through the migration data fd in each phase "
			   "of the latest migration: read on the source, written on the "
			   "destination.",
			   METRIC_GAUGE,
			   { "device", "direction", "phase" },
			   .max_series = 2 * 8 * MAX_DEVICES },
	[F_PHASE_SECONDS] = { "vfio_device_migration_phase_seconds",
			      "Time the device spent in each phase (state) of its latest "
			      "migration.",
			      METRIC_GAUGE,
			      { "device", "role", "phase" },
			      .max_series = 2 * 8 * MAX_DEVICES },
	[F_PRECOPY_INITIAL] = { "vfio_device_migration_precopy_initial_bytes",
				"Last VFIO_MIG_GET_PRECOPY_INFO answer: initial bytes still to "
				"read.",
				METRIC_GAUGE,
				{ "device" },
				.max_series = MAX_DEVICES },
	[F_PRECOPY_DIRTY] = { "vfio_device_migration_precopy_dirty_bytes",
			      "Last VFIO_MIG_GET_PRECOPY_INFO answer: dirty bytes still to read.",
			      METRIC_GAUGE,
			      { "device" },
			      .max_series = MAX_DEVICES },
	[F_DIRTY_RATE] = { "vfio_device_migration_dirty_pages_per_second",
			   "Guest pages the device dirtied by DMA per second during the latest "
			   "migration (DMA-logging REPORTs since START).",
			   METRIC_GAUGE,
			   { "device" },
			   .max_series = MAX_DEVICES },
	[F_DOWNTIME] = { "vfio_device_migration_downtime_seconds",
			 "The device's part of the pause in its latest migration: source, from "
			 "leaving RUNNING/PRE_COPY to the last STOP_COPY byte read; destination, "
			 "from RESUMING to RUNNING.",
			 METRIC_GAUGE,
			 { "device", "role" },
			 .max_series = 2 * MAX_DEVICES },
	[F_STOP_COPY] = { "vfio_device_migration_stop_copy_bytes",
			  "Bytes the source's STOP_COPY phase moved, or while precopy runs the "
			  "device's estimate of them (MIG_DATA_SIZE, else the last precopy "
			  "answer).",
			  METRIC_GAUGE,
			  { "device" },
			  .max_series = MAX_DEVICES },
	[F_CONVERGING] = { "vfio_device_migration_converging",
			   "1 when the data fd moves device state faster than precopy re-dirties "
			   "it, 0 when not; absent while it cannot be told (fewer than two "
			   "precopy answers).",
			   METRIC_GAUGE,
			   { "device" },
			   .max_series = MAX_DEVICES },
	[F_THROUGHPUT] = { "vfio_device_migration_data_bytes_per_second",
			   "Data-fd throughput of the latest migration: bytes over the time spent "
			   "inside the reads or writes.",
			   METRIC_GAUGE,
			   { "device", "role" },
			   .max_series = 2 * MAX_DEVICES },
	[F_MIGRATIONS] = { "vfio_device_migrations_total",
			   "Device migrations seen to their end, by outcome (completed, cancelled, "
			   "failed).",
			   METRIC_COUNTER,
			   { "device", "role", "outcome" },
			   .max_series = 2 * 4 * MAX_DEVICES },
};

static const char *const phase_names[MIGRATION_METRICS_STATES] = {
	"ERROR",    "STOP",	   "RUNNING",  "STOP_COPY",
	"RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
};

int migration_metrics__register(struct metrics_registry *reg, struct migration_metrics *mm)
{
	struct metric_family *f[F_COUNT];
	int err = metrics_registry__register_table(reg, table, F_COUNT, f);

	if (err)
		return err;
	mm->state = f[F_STATE];
	mm->active = f[F_ACTIVE];
	mm->data_bytes = f[F_DATA_BYTES];
	mm->phase_seconds = f[F_PHASE_SECONDS];
	mm->precopy_initial = f[F_PRECOPY_INITIAL];
	mm->precopy_dirty = f[F_PRECOPY_DIRTY];
	mm->dirty_rate = f[F_DIRTY_RATE];
	mm->downtime = f[F_DOWNTIME];
	mm->stop_copy_bytes = f[F_STOP_COPY];
	mm->converging = f[F_CONVERGING];
	mm->throughput = f[F_THROUGHPUT];
	mm->migrations = f[F_MIGRATIONS];
	return 0;
}

static void set(struct metric_family *f, double v, const char *a, const char *b, const char *c)
{
	const char *values[4] = { a, b, c, NULL };
	struct metric_series *s = metric_family__series(f, values);

	if (s)
		metric_series__set(s, v);
}

int migration_metrics__device(struct migration_metrics *mm,
			      const struct migration_metrics_device *d)
{
	const char *dir = strcmp(d->role, "destination") ? "read" : "write";
	const char *dev = d->device, *role = d->role;

	if (!dev || !dev[0] || !role)
		return -EINVAL;
	set(mm->state, d->state, dev, role, NULL);
	set(mm->active, d->active, dev, role, NULL);
	for (int i = 0; i < MIGRATION_METRICS_STATES; i++) {
		if (d->bytes[i] || d->seconds[i] > 0) {
			set(mm->data_bytes, (double)d->bytes[i], dev, dir, phase_names[i]);
			set(mm->phase_seconds, d->seconds[i], dev, role, phase_names[i]);
		}
	}
	if (d->precopy_known) {
		set(mm->precopy_initial, (double)d->precopy_initial, dev, NULL, NULL);
		set(mm->precopy_dirty, (double)d->precopy_dirty, dev, NULL, NULL);
	}
	if (d->dirty_rate_known)
		set(mm->dirty_rate, d->dirty_pages_per_s, dev, NULL, NULL);
	if (d->downtime_known)
		set(mm->downtime, d->downtime_s, dev, role, NULL);
	if (!strcmp(role, "source"))
		set(mm->stop_copy_bytes, (double)d->stop_copy_bytes, dev, NULL, NULL);
	if (d->converging >= 0)
		set(mm->converging, d->converging, dev, NULL, NULL);
	set(mm->throughput, d->data_bytes_per_s, dev, role, NULL);
	return 0;
}

int migration_metrics__finished(struct migration_metrics *mm, const char *device, const char *role,
				const char *outcome, uint64_t total)
{
	if (!device || !device[0])
		return -EINVAL;
	set(mm->migrations, (double)total, device, role, outcome);
	return 0;
}
