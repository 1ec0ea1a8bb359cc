/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The landing page's live migration timeline: the latest device migrations (at most @max, the
 * newest kept) as one compact JSON document, each with its phases as time segments, the
 * data-fd bytes, precopy answers and dirty syncs as bounded series, the device's part of the
 * downtime and the convergence estimate. `serve` publishes it at /migrations
 * (docs/metrics.md, "The landing page's migration timeline"). Times are milliseconds from the
 * first migration record; every series holds at most MIGRATION_TIMELINE_POINTS points (longer
 * ones are merged into that many buckets), so the document stays small however long a
 * migration runs.
 */
#ifndef VFIOSCOPE_TRACER_MIGRATION_TIMELINE_H
#define VFIOSCOPE_TRACER_MIGRATION_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vfioscope/tracer/migration.h"

#define MIGRATION_TIMELINE_MAX	  8 /* migrations a page shows by default */
#define MIGRATION_TIMELINE_POINTS 120 /* points per series */

/*
 * Write the document for @ms to @out. @now_ns (CLOCK_MONOTONIC, as the records) ends the
 * phases still under way. Returns 0, or -EIO when the writer failed.
 */
int migrations__timeline_json(const struct migrations *ms, uint64_t now_ns, size_t max, FILE *out);

#endif
