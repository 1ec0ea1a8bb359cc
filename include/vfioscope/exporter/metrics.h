/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Metrics registry: counters, gauges, info metrics and histograms with bounded label sets,
 * rendered in the Prometheus text format 0.0.4 or OpenMetrics 1.0.
 *
 * Concurrency: writers (tracer poller, tracker, HTTP threads) update series in place; a scrape
 * takes a consistent snapshot of each series through a per-series sequence counter and never
 * takes a lock a writer waits for. Creating a series (first sight of a label set) takes a
 * per-family mutex that scrapes do not touch. Each family holds a fixed number of series
 * slots (its label-set bound), so rendering walks stable memory while series are added.
 *
 * Histograms follow Prometheus `le` semantics: bucket i counts observations <= bound[i];
 * buckets are exported cumulative with `+Inf`, `_sum` and `_count` (= the +Inf bucket).
 */
#ifndef VFIOSCOPE_METRICS_H
#define VFIOSCOPE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS	   4
#define METRICS_MAX_LABEL_VALUE	   128
#define METRICS_MAX_BUCKETS	   32
#define METRICS_DEFAULT_MAX_SERIES 1024

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
	/* OpenMetrics "info": a gauge of value 1 whose name ends in _info (0.0.4: a gauge). */
	METRIC_INFO,
};

enum metrics_format {
	METRICS_FORMAT_TEXT, /* text/plain; version=0.0.4 */
	METRICS_FORMAT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
	METRICS_FORMAT_OPENMETRICS_0, /* the same text, announced as version=0.0.1 */
};

struct metrics_registry;
struct metric_family;
struct metric_series;

/* A family's description; usually one row of a static table. */
struct metric_desc {
	const char *name; /* full sample name: counters end in _total, info metrics in _info */
	const char *help;
	enum metric_type type;
	const char *labels[METRICS_MAX_LABELS]; /* label names, NULL-terminated when fewer */
	const double *buckets; /* histograms: strictly increasing, finite */
	int nbuckets; /* without +Inf */
	int max_series; /* 0: METRICS_DEFAULT_MAX_SERIES */
};

struct metrics_registry *metrics_registry__new(void);
void metrics_registry__free(struct metrics_registry *reg);

/*
 * Register a family. Returns 0 and sets *out, or -EINVAL (bad name, labels, buckets; a counter
 * not ending in _total), -EEXIST (name taken, also across OpenMetrics family names) or -ENOSPC.
 * Strings in @desc must outlive the registry (a static table).
 */
int metrics_registry__register(struct metrics_registry *reg, const struct metric_desc *desc,
			       struct metric_family **out);
struct metric_family *metrics_registry__find(struct metrics_registry *reg, const char *name);
/* Register a whole table; stops at the first error. fams[i] receives family i (may be NULL). */
int metrics_registry__register_table(struct metrics_registry *reg, const struct metric_desc *descs,
				     int n, struct metric_family **fams);

/*
 * A collector runs at the start of each scrape, before rendering, to refresh series from a
 * source (BPF maps, a tracker's statistics). Collectors run one at a time; each one's duration
 * and success are exported as vfioscope_scrape_collector_{duration_seconds,success}{collector}.
 * Returns 0 or -errno.
 */
typedef int (*metrics_collect_fn)(struct metrics_registry *reg, void *ctx);
int metrics_registry__add_collector(struct metrics_registry *reg, const char *name,
				    metrics_collect_fn fn, void *ctx);

/* Run the collectors now (a scrape does it before rendering). */
void metrics_registry__collect(struct metrics_registry *reg);

/* Names of every sample family the registry renders (for --list-metrics), one per line. */
int metrics_registry__list(struct metrics_registry *reg, char **out, size_t *len);

/*
 * Run the collectors and render every family in @fmt into a new buffer (*out, NUL-terminated,
 * free()d by the caller). Returns 0 or -ENOMEM.
 */
int metrics_registry__render(struct metrics_registry *reg, enum metrics_format fmt, char **out,
			     size_t *len);

/* Series dropped because a family's label-set bound was reached. */
uint64_t metrics_registry__series_dropped(struct metrics_registry *reg);

/*
 * The series for these label values (as many as the family has labels), created on first use.
 * Returns NULL when a value is invalid (not UTF-8, too long) or the family is full (counted in
 * vfioscope_metrics_series_dropped_total); callers simply skip the update then.
 */
struct metric_series *metric_family__series(struct metric_family *fam, const char *const *values);
/* Convenience for up to four labels: metric_family__with(fam, "3", "device", NULL). */
struct metric_series *metric_family__with(struct metric_family *fam, ...);
/* Forget one series (e.g. a container that went away); its handle must not be used after. */
int metric_family__remove(struct metric_family *fam, const char *const *values);
/* Forget every series whose label @label equals @value; returns how many were removed. */
int metric_family__remove_matching(struct metric_family *fam, const char *label, const char *value);
int metric_family__nseries(struct metric_family *fam);
const char *metric_family__name(const struct metric_family *fam);
enum metric_type metric_family__type(const struct metric_family *fam);

/* Counters: add (v >= 0) or set an absolute total imported from a source. NULL is a no-op. */
void metric_series__add(struct metric_series *s, double v);
void metric_series__inc(struct metric_series *s);
/* Gauges and imported counter totals. */
void metric_series__set(struct metric_series *s, double v);
double metric_series__value(struct metric_series *s);
/* Histograms: one observation. */
void metric_series__observe(struct metric_series *s, double v);

/*
 * Replace a histogram's state with an imported log2 histogram, as kept in a BPF map:
 * slots[k] counts values v with 2^(k-1) < v <= 2^k units (slot 0: v <= 1, zero included),
 * so slot k's upper bound is 2^k * @unit (e.g. unit 1e-9 for nanoseconds -> seconds).
 * Each slot is added to the first bucket whose bound is >= its upper bound (slots above the
 * last bound go to +Inf), so no observation is ever counted below its value; the import is
 * exact when every bucket bound is one of the 2^k * unit values (see metrics_bounds_log2).
 * @sum is in the source unit (multiplied by @unit). At most 65 slots (k = 0..64, the
 * last for values above 2^63). Returns 0 or -EINVAL.
 */
int metric_series__import_log2(struct metric_series *s, const uint64_t *slots, int nslots,
			       uint64_t sum, double unit);

/* Snapshot of a histogram (non-cumulative counts per bucket, last = +Inf). */
struct metric_hist_snapshot {
	int nbuckets; /* including +Inf */
	uint64_t counts[METRICS_MAX_BUCKETS + 1];
	uint64_t count;
	double sum;
};
int metric_series__hist_snapshot(struct metric_series *s, struct metric_hist_snapshot *snap);

/*
 * The q-quantile (0 <= q <= 1) of a histogram series, estimated like PromQL's
 * histogram_quantile(): linear interpolation inside the bucket that holds the rank, the lower
 * bound of the first bucket taken as 0, the last finite bound when the rank falls in +Inf.
 * NAN when the series is empty or not a histogram.
 */
double metric_series__quantile(struct metric_series *s, double q);

/* Calls @fn for each live series of @fam with its label values (in the family's label order);
 * stops early when @fn returns non-zero and returns that. */
int metric_family__each(struct metric_family *fam,
			int (*fn)(void *ctx, const char *const *values, struct metric_series *s),
			void *ctx);

/* Fill bounds[] with 2^k * unit for k = first, first+step, ..., <= last. Returns the count. */
int metrics_bounds_log2(double *bounds, int max, int first, int last, int step, double unit);

/* Content negotiation on an Accept header (NULL: text). */
enum metrics_format metrics_negotiate(const char *accept);
const char *metrics_content_type(enum metrics_format fmt);

/* Shortest decimal that reads back as the same double; "+Inf", "-Inf", "NaN". */
void metrics_format_double(char *buf, size_t len, double v, bool openmetrics);

#endif
