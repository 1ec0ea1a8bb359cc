/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device migration metric families (docs/metrics.md, "Device migrations"): the latest
 * migration of each device and role as gauges, and a counter of migrations by outcome. Labels
 * stay bounded: device (PCI address), role (source, destination), phase (one of the uAPI's 8
 * states), direction (read, write), outcome (4 words). The command fills them from the
 * tracer's migration view at each scrape.
 */
#ifndef VFIOSCOPE_MIGRATION_METRICS_H
#define VFIOSCOPE_MIGRATION_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "vfioscope/exporter/metrics.h"

#define MIGRATION_METRICS_STATES 8 /* enum vfio_device_mig_state */

struct migration_metrics {
	struct metric_family *state; /* gauge {device,role}: the uAPI state number */
	struct metric_family *active; /* gauge {device,role} */
	struct metric_family *data_bytes; /* gauge {device,direction,phase} */
	struct metric_family *phase_seconds; /* gauge {device,role,phase} */
	struct metric_family *precopy_initial; /* gauge {device} */
	struct metric_family *precopy_dirty; /* gauge {device} */
	struct metric_family *dirty_rate; /* gauge {device}: pages/s */
	struct metric_family *downtime; /* gauge {device,role} */
	struct metric_family *stop_copy_bytes; /* gauge {device} */
	struct metric_family *converging; /* gauge {device} */
	struct metric_family *throughput; /* gauge {device,role} */
	struct metric_family *migrations; /* counter {device,role,outcome} */
};

/* One device's latest migration in one role, in plain numbers. */
struct migration_metrics_device {
	const char *device;
	const char *role; /* "source" or "destination" */
	unsigned int state; /* current uAPI state */
	bool active; /* under way */
	uint64_t bytes[MIGRATION_METRICS_STATES]; /* data-fd bytes per phase */
	double seconds[MIGRATION_METRICS_STATES]; /* time in each phase */
	bool precopy_known;
	uint64_t precopy_initial, precopy_dirty;
	bool dirty_rate_known;
	double dirty_pages_per_s;
	bool downtime_known;
	double downtime_s;
	uint64_t stop_copy_bytes;
	int converging; /* 1, 0, -1 unknown (series left out) */
	double data_bytes_per_s;
};

int migration_metrics__register(struct metrics_registry *reg, struct migration_metrics *mm);
int migration_metrics__device(struct migration_metrics *mm,
			      const struct migration_metrics_device *d);
/* The counter of finished migrations (absolute total by outcome). */
int migration_metrics__finished(struct migration_metrics *mm, const char *device, const char *role,
				const char *outcome, uint64_t total);

#endif
