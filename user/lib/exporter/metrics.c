// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics registry and exposition (Prometheus text 0.0.4, OpenMetrics 1.0).
 *
 * Each series is guarded by a sequence counter (the kernel's seqcount pattern): a writer makes
 * it odd, updates, makes it even; a scrape copies the series and retries when the counter moved.
 * So a scrape never holds anything a writer waits for, and each series it renders is one
 * consistent state (a histogram's _count always equals its +Inf bucket).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"
#include "vfioscope/common/strbuf.h"
#include "vfioscope/exporter/metrics.h"

#define MAX_FAMILIES   256
#define MAX_COLLECTORS 16

enum slot_state {
	SLOT_FREE,
	SLOT_LIVE,
};

struct metric_series {
	_Atomic uint32_t seq;
	atomic_flag wlock;
	_Atomic int state;
	char values[METRICS_MAX_LABELS][METRICS_MAX_LABEL_VALUE];
	_Atomic uint64_t value; /* a double's bits: counters and gauges */
	_Atomic uint64_t buckets[METRICS_MAX_BUCKETS + 1];
	_Atomic uint64_t count;
	_Atomic uint64_t sum; /* a double's bits */
	struct metric_family *fam;
};

struct metric_family {
	struct metric_desc d;
	char om_name[128]; /* OpenMetrics family name: no _total / _info suffix */
	int nlabels;
	double bounds[METRICS_MAX_BUCKETS];
	/* le label values, formatted once: [0] text 0.0.4, [1] OpenMetrics */
	char le[2][METRICS_MAX_BUCKETS][32];
	int nbuckets;
	int max_series;
	pthread_mutex_t lock; /* series creation and removal; writers only */
	_Atomic int nslots; /* slots ever handed out, published after initialisation */
	_Atomic int nlive;
	struct metric_series *slots;
	struct metrics_registry *reg;
};

struct collector {
	const char *name;
	metrics_collect_fn fn;
	void *ctx;
	struct metric_series *dur, *ok;
};

struct metrics_registry {
	pthread_mutex_t lock; /* registration */
	_Atomic int nfams;
	struct metric_family *fams[MAX_FAMILIES];
	pthread_mutex_t collect_lock;
	struct collector cols[MAX_COLLECTORS];
	int ncols;
	struct metric_family *col_dur, *col_ok, *dropped;
};

static const struct metric_desc registry_self[] = {
	{ "vfioscope_scrape_collector_duration_seconds",
	  "Time a collector took to refresh its metrics during this scrape.",
	  METRIC_GAUGE,
	  { "collector" },
	  .max_series = MAX_COLLECTORS },
	{ "vfioscope_scrape_collector_success",
	  "1 when the collector refreshed its metrics during this scrape, 0 when it failed.",
	  METRIC_GAUGE,
	  { "collector" },
	  .max_series = MAX_COLLECTORS },
	{ "vfioscope_metrics_series_dropped_total",
	  "Series not created because a metric reached its bound on label sets.", METRIC_COUNTER },
};

/* ---- doubles kept in atomics ---- */

static inline uint64_t d2u(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static inline double u2d(uint64_t u)
{
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/* ---- the per-series sequence counter ---- */

static void series_write_begin(struct metric_series *s)
{
	while (atomic_flag_test_and_set_explicit(&s->wlock, memory_order_acquire))
		sched_yield();
	atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void series_write_end(struct metric_series *s)
{
	atomic_store_explicit(&s->seq, atomic_load_explicit(&s->seq, memory_order_relaxed) + 1,
			      memory_order_release);
	atomic_flag_clear_explicit(&s->wlock, memory_order_release);
}

struct series_copy {
	int state;
	char values[METRICS_MAX_LABELS][METRICS_MAX_LABEL_VALUE];
	double value;
	uint64_t buckets[METRICS_MAX_BUCKETS + 1];
	uint64_t count;
	double sum;
};

static void series_read(struct metric_series *s, int nbuckets, struct series_copy *c)
{
	uint32_t s1, s2;
	int spins = 0;

	for (;;) {
		s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (s1 & 1) {
			if (++spins > 64)
				sched_yield();
			continue;
		}
		c->state = atomic_load_explicit(&s->state, memory_order_relaxed);
		memcpy(c->values, s->values, sizeof(c->values));
		c->value = u2d(atomic_load_explicit(&s->value, memory_order_relaxed));
		for (int i = 0; i <= nbuckets; i++)
			c->buckets[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		c->count = atomic_load_explicit(&s->count, memory_order_relaxed);
		c->sum = u2d(atomic_load_explicit(&s->sum, memory_order_relaxed));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
		if (s1 == s2)
			return;
	}
}

/* ---- validation ---- */

static bool valid_metric_name(const char *n)
{
	if (!n || !*n)
		return false;
	for (const char *p = n; *p; p++) {
		char ch = *p;
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			     ch == ':';

		if (!alpha && !(p != n && ch >= '0' && ch <= '9'))
			return false;
	}
	return strlen(n) < 100;
}

static bool valid_label_name(const char *n)
{
	if (!n || !*n || !strncmp(n, "__", 2))
		return false;
	for (const char *p = n; *p; p++) {
		char ch = *p;
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';

		if (!alpha && !(p != n && ch >= '0' && ch <= '9'))
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char c = *s;
		int n;
		uint32_t cp;

		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

static const char *const reserved_suffixes[] = { "_total", "_bucket",  "_count",
						 "_sum",   "_created", "_info" };

static int check_desc(const struct metric_desc *d, int *nlabels)
{
	int n = 0;

	if (!valid_metric_name(d->name) || !d->help)
		return -EINVAL;
	switch (d->type) {
	case METRIC_COUNTER:
		if (!ends_with(d->name, "_total") || strlen(d->name) == strlen("_total"))
			return -EINVAL;
		break;
	case METRIC_INFO:
		if (!ends_with(d->name, "_info") || strlen(d->name) == strlen("_info"))
			return -EINVAL;
		break;
	case METRIC_GAUGE:
	case METRIC_HISTOGRAM:
		for (size_t i = 0; i < sizeof(reserved_suffixes) / sizeof(reserved_suffixes[0]);
		     i++)
			if (ends_with(d->name, reserved_suffixes[i]))
				return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	for (; n < METRICS_MAX_LABELS && d->labels[n]; n++) {
		if (!valid_label_name(d->labels[n]))
			return -EINVAL;
		if (d->type == METRIC_HISTOGRAM && !strcmp(d->labels[n], "le"))
			return -EINVAL;
		for (int j = 0; j < n; j++)
			if (!strcmp(d->labels[j], d->labels[n]))
				return -EINVAL;
	}
	if (d->type == METRIC_HISTOGRAM) {
		if (!d->buckets || d->nbuckets < 1 || d->nbuckets > METRICS_MAX_BUCKETS)
			return -EINVAL;
		for (int i = 0; i < d->nbuckets; i++) {
			if (!isfinite(d->buckets[i]))
				return -EINVAL;
			if (i && !(d->buckets[i] > d->buckets[i - 1]))
				return -EINVAL;
		}
	} else if (d->buckets || d->nbuckets) {
		return -EINVAL;
	}
	if (d->max_series < 0)
		return -EINVAL;
	*nlabels = n;
	return 0;
}

/* ---- registry ---- */

static void family_free(struct metric_family *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f->slots);
	free(f);
}

struct metrics_registry *metrics_registry__new(void)
{
	struct metrics_registry *reg = calloc(1, sizeof(*reg));
	struct metric_family *fams[3];

	if (!reg)
		return NULL;
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->collect_lock, NULL);
	if (metrics_registry__register_table(reg, registry_self, 3, fams)) {
		metrics_registry__free(reg);
		return NULL;
	}
	reg->col_dur = fams[0];
	reg->col_ok = fams[1];
	reg->dropped = fams[2];
	return reg;
}

void metrics_registry__free(struct metrics_registry *reg)
{
	if (!reg)
		return;
	for (int i = 0; i < atomic_load(&reg->nfams); i++)
		family_free(reg->fams[i]);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->collect_lock);
	free(reg);
}

static struct metric_family *find_locked(struct metrics_registry *reg, const char *name,
					 const char *om_name)
{
	int n = atomic_load_explicit(&reg->nfams, memory_order_acquire);

	for (int i = 0; i < n; i++) {
		struct metric_family *f = reg->fams[i];

		if (!strcmp(f->d.name, name) || (om_name && !strcmp(f->om_name, om_name)))
			return f;
	}
	return NULL;
}

struct metric_family *metrics_registry__find(struct metrics_registry *reg, const char *name)
{
	return find_locked(reg, name, NULL);
}

static struct metric_series *series_alloc_locked(struct metric_family *f,
						 const char *const *values);

int metrics_registry__register(struct metrics_registry *reg, const struct metric_desc *desc,
			       struct metric_family **out)
{
	struct metric_family *f;
	int nlabels, err;
	size_t n;

	err = check_desc(desc, &nlabels);
	if (err)
		return err;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->d = *desc;
	f->nlabels = nlabels;
	f->max_series = desc->max_series ? desc->max_series : METRICS_DEFAULT_MAX_SERIES;
	if (!nlabels)
		f->max_series = 1;
	f->nbuckets = desc->type == METRIC_HISTOGRAM ? desc->nbuckets : 0;
	for (int i = 0; i < f->nbuckets; i++) {
		f->bounds[i] = desc->buckets[i];
		metrics_format_double(f->le[0][i], sizeof(f->le[0][i]), f->bounds[i], false);
		metrics_format_double(f->le[1][i], sizeof(f->le[1][i]), f->bounds[i], true);
	}
	n = strlen(desc->name);
	if (desc->type == METRIC_COUNTER)
		n -= strlen("_total");
	else if (desc->type == METRIC_INFO)
		n -= strlen("_info");
	snprintf(f->om_name, sizeof(f->om_name), "%.*s", (int)n, desc->name);
	pthread_mutex_init(&f->lock, NULL);
	f->reg = reg;
	/* calloc: slots nobody uses stay untouched (not resident). */
	f->slots = calloc(f->max_series, sizeof(*f->slots));
	if (!f->slots) {
		family_free(f);
		return -ENOMEM;
	}

	pthread_mutex_lock(&reg->lock);
	if (find_locked(reg, f->d.name, f->om_name) || find_locked(reg, f->om_name, NULL)) {
		err = -EEXIST;
	} else if (atomic_load(&reg->nfams) >= MAX_FAMILIES) {
		err = -ENOSPC;
	} else {
		reg->fams[atomic_load(&reg->nfams)] = f;
		atomic_store_explicit(&reg->nfams, atomic_load(&reg->nfams) + 1,
				      memory_order_release);
	}
	pthread_mutex_unlock(&reg->lock);
	if (err) {
		family_free(f);
		return err;
	}
	/* A family without labels has exactly one series, present from the start. */
	if (!nlabels) {
		pthread_mutex_lock(&f->lock);
		series_alloc_locked(f, NULL);
		pthread_mutex_unlock(&f->lock);
	}
	if (out)
		*out = f;
	return 0;
}

int metrics_registry__register_table(struct metrics_registry *reg, const struct metric_desc *descs,
				     int n, struct metric_family **fams)
{
	for (int i = 0; i < n; i++) {
		int err = metrics_registry__register(reg, &descs[i], fams ? &fams[i] : NULL);

		if (err) {
			pr_err("failed to register metric %s: %s", descs[i].name, strerror(-err));
			return err;
		}
	}
	return 0;
}

int metrics_registry__add_collector(struct metrics_registry *reg, const char *name,
				    metrics_collect_fn fn, void *ctx)
{
	struct collector *c;
	int err = 0;

	if (!name || !fn)
		return -EINVAL;
	pthread_mutex_lock(&reg->collect_lock);
	if (reg->ncols >= MAX_COLLECTORS) {
		err = -ENOSPC;
	} else {
		c = &reg->cols[reg->ncols];
		c->name = name;
		c->fn = fn;
		c->ctx = ctx;
		c->dur = metric_family__with(reg->col_dur, name);
		c->ok = metric_family__with(reg->col_ok, name);
		if (!c->dur || !c->ok)
			err = -EINVAL;
		else
			reg->ncols++;
	}
	pthread_mutex_unlock(&reg->collect_lock);
	return err;
}

uint64_t metrics_registry__series_dropped(struct metrics_registry *reg)
{
	return (uint64_t)metric_series__value(metric_family__series(reg->dropped, NULL));
}

/* ---- series ---- */

const char *metric_family__name(const struct metric_family *fam)
{
	return fam->d.name;
}

enum metric_type metric_family__type(const struct metric_family *fam)
{
	return fam->d.type;
}

int metric_family__nseries(struct metric_family *fam)
{
	return atomic_load(&fam->nlive);
}

static bool labels_equal(struct metric_family *f, struct metric_series *s,
			 const char *const *values)
{
	for (int i = 0; i < f->nlabels; i++)
		if (strcmp(s->values[i], values[i]))
			return false;
	return true;
}

static struct metric_series *find_series_locked(struct metric_family *f, const char *const *values)
{
	int n = atomic_load_explicit(&f->nslots, memory_order_relaxed);

	for (int i = 0; i < n; i++) {
		struct metric_series *s = &f->slots[i];

		if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_LIVE &&
		    labels_equal(f, s, values))
			return s;
	}
	return NULL;
}

static struct metric_series *series_alloc_locked(struct metric_family *f, const char *const *values)
{
	int n = atomic_load_explicit(&f->nslots, memory_order_relaxed);
	struct metric_series *s = NULL;
	bool fresh = false;

	for (int i = 0; i < n && !s; i++)
		if (atomic_load_explicit(&f->slots[i].state, memory_order_relaxed) == SLOT_FREE)
			s = &f->slots[i];
	if (!s) {
		if (n >= f->max_series)
			return NULL;
		s = &f->slots[n];
		fresh = true;
	}
	series_write_begin(s);
	s->fam = f;
	for (int i = 0; i < f->nlabels; i++)
		snprintf(s->values[i], sizeof(s->values[i]), "%s", values[i]);
	atomic_store_explicit(&s->value, d2u(0), memory_order_relaxed);
	for (int i = 0; i <= f->nbuckets; i++)
		atomic_store_explicit(&s->buckets[i], 0, memory_order_relaxed);
	atomic_store_explicit(&s->count, 0, memory_order_relaxed);
	atomic_store_explicit(&s->sum, d2u(0), memory_order_relaxed);
	atomic_store_explicit(&s->state, SLOT_LIVE, memory_order_relaxed);
	series_write_end(s);
	if (fresh)
		atomic_store_explicit(&f->nslots, n + 1, memory_order_release);
	atomic_fetch_add(&f->nlive, 1);
	return s;
}

struct metric_series *metric_family__series(struct metric_family *f, const char *const *values)
{
	struct metric_series *s;

	if (!f)
		return NULL;
	for (int i = 0; i < f->nlabels; i++) {
		if (!values || !values[i] || strlen(values[i]) >= METRICS_MAX_LABEL_VALUE ||
		    !valid_utf8(values[i]))
			return NULL;
	}
	pthread_mutex_lock(&f->lock);
	s = find_series_locked(f, values);
	if (!s)
		s = series_alloc_locked(f, values);
	pthread_mutex_unlock(&f->lock);
	if (!s && f != f->reg->dropped)
		metric_series__inc(metric_family__series(f->reg->dropped, NULL));
	return s;
}

struct metric_series *metric_family__with(struct metric_family *f, ...)
{
	const char *values[METRICS_MAX_LABELS] = {};
	va_list ap;

	if (!f)
		return NULL;
	va_start(ap, f);
	for (int i = 0; i < f->nlabels; i++)
		values[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_family__series(f, values);
}

static void series_free_locked(struct metric_family *f, struct metric_series *s)
{
	series_write_begin(s);
	atomic_store_explicit(&s->state, SLOT_FREE, memory_order_relaxed);
	series_write_end(s);
	atomic_fetch_sub(&f->nlive, 1);
}

int metric_family__remove(struct metric_family *f, const char *const *values)
{
	struct metric_series *s;

	if (!f->nlabels)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	s = find_series_locked(f, values);
	if (s)
		series_free_locked(f, s);
	pthread_mutex_unlock(&f->lock);
	return s ? 0 : -ENOENT;
}

int metric_family__remove_matching(struct metric_family *f, const char *label, const char *value)
{
	int idx = -1, removed = 0, n;

	for (int i = 0; i < f->nlabels; i++)
		if (!strcmp(f->d.labels[i], label))
			idx = i;
	if (idx < 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	n = atomic_load(&f->nslots);
	for (int i = 0; i < n; i++) {
		struct metric_series *s = &f->slots[i];

		if (atomic_load(&s->state) == SLOT_LIVE && !strcmp(s->values[idx], value)) {
			series_free_locked(f, s);
			removed++;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return removed;
}

void metric_series__add(struct metric_series *s, double v)
{
	if (!s || !(v >= 0))
		return;
	series_write_begin(s);
	atomic_store_explicit(&s->value,
			      d2u(u2d(atomic_load_explicit(&s->value, memory_order_relaxed)) + v),
			      memory_order_relaxed);
	series_write_end(s);
}

void metric_series__inc(struct metric_series *s)
{
	metric_series__add(s, 1);
}

void metric_series__set(struct metric_series *s, double v)
{
	if (!s)
		return;
	series_write_begin(s);
	atomic_store_explicit(&s->value, d2u(v), memory_order_relaxed);
	series_write_end(s);
}

double metric_series__value(struct metric_series *s)
{
	struct series_copy c;

	if (!s)
		return NAN;
	series_read(s, 0, &c);
	return c.value;
}

/* Index of the first bound >= v (Prometheus le: v <= bound), nbuckets for +Inf. */
static int bucket_index(const struct metric_family *f, double v)
{
	int lo = 0, hi = f->nbuckets;

	if (isnan(v))
		return f->nbuckets;
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (v <= f->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void metric_series__observe(struct metric_series *s, double v)
{
	int b;

	if (!s || s->fam->d.type != METRIC_HISTOGRAM)
		return;
	b = bucket_index(s->fam, v);
	series_write_begin(s);
	atomic_store_explicit(&s->buckets[b],
			      atomic_load_explicit(&s->buckets[b], memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&s->count, atomic_load_explicit(&s->count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&s->sum,
			      d2u(u2d(atomic_load_explicit(&s->sum, memory_order_relaxed)) + v),
			      memory_order_relaxed);
	series_write_end(s);
}

int metric_series__import_log2(struct metric_series *s, const uint64_t *slots, int nslots,
			       uint64_t sum, double unit)
{
	uint64_t counts[METRICS_MAX_BUCKETS + 1] = {};
	uint64_t total = 0;
	struct metric_family *f;

	if (!s || s->fam->d.type != METRIC_HISTOGRAM || nslots < 0 || nslots > 65 || !(unit > 0))
		return -EINVAL;
	f = s->fam;
	for (int k = 0; k < nslots; k++) {
		/* ldexp is exact, and a bound built as ldexp(unit, k) compares equal. */
		double upper = ldexp(unit, k);

		counts[bucket_index(f, upper)] += slots[k];
		total += slots[k];
	}
	series_write_begin(s);
	for (int i = 0; i <= f->nbuckets; i++)
		atomic_store_explicit(&s->buckets[i], counts[i], memory_order_relaxed);
	atomic_store_explicit(&s->count, total, memory_order_relaxed);
	atomic_store_explicit(&s->sum, d2u((double)sum * unit), memory_order_relaxed);
	series_write_end(s);
	return 0;
}

int metric_series__hist_snapshot(struct metric_series *s, struct metric_hist_snapshot *snap)
{
	struct series_copy c;

	if (!s || s->fam->d.type != METRIC_HISTOGRAM)
		return -EINVAL;
	series_read(s, s->fam->nbuckets, &c);
	snap->nbuckets = s->fam->nbuckets + 1;
	memcpy(snap->counts, c.buckets, sizeof(uint64_t) * snap->nbuckets);
	snap->count = c.count;
	snap->sum = c.sum;
	return 0;
}

double metric_series__quantile(struct metric_series *s, double q)
{
	struct metric_hist_snapshot snap;
	const struct metric_family *f;
	double rank, below = 0, lower = 0;

	if (metric_series__hist_snapshot(s, &snap) || !snap.count || !(q >= 0 && q <= 1))
		return NAN;
	f = s->fam;
	rank = q * snap.count;
	for (int i = 0; i < f->nbuckets; i++) {
		double upto = below + snap.counts[i];

		if (upto >= rank && snap.counts[i])
			return lower + (f->bounds[i] - lower) * (rank - below) / snap.counts[i];
		below = upto;
		lower = f->bounds[i];
	}
	return f->nbuckets ? f->bounds[f->nbuckets - 1] : NAN;
}

int metric_family__each(struct metric_family *f,
			int (*fn)(void *ctx, const char *const *values, struct metric_series *s),
			void *ctx)
{
	int n = atomic_load_explicit(&f->nslots, memory_order_acquire);

	for (int i = 0; i < n; i++) {
		struct metric_series *s = &f->slots[i];
		struct series_copy c;
		const char *values[METRICS_MAX_LABELS];
		int ret;

		series_read(s, 0, &c);
		if (c.state != SLOT_LIVE)
			continue;
		for (int l = 0; l < METRICS_MAX_LABELS; l++)
			values[l] = c.values[l];
		ret = fn(ctx, values, s);
		if (ret)
			return ret;
	}
	return 0;
}

int metrics_bounds_log2(double *bounds, int max, int first, int last, int step, double unit)
{
	int n = 0;

	if (step < 1)
		return 0;
	for (int k = first; k <= last && n < max; k += step)
		bounds[n++] = ldexp(unit, k);
	return n;
}

/* ---- number formatting ---- */

/*
 * Shortest decimal that reads back as v, laid out like Go's strconv 'g' with precision -1 (what
 * the Prometheus client libraries print): plain digits for exponents -4..20, else e-notation.
 */
void metrics_format_double(char *buf, size_t len, double v, bool openmetrics)
{
	char tmp[64];
	int prec, exp;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		snprintf(buf, len, openmetrics ? "0.0" : "0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	exp = atoi(strchr(tmp, 'e') + 1);
	if (exp < -4 || exp >= 21) {
		snprintf(buf, len, "%s", tmp);
		/* %e pads the exponent to two digits like Go; nothing else to adjust. */
		return;
	}
	snprintf(buf, len, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
	if (openmetrics && !strpbrk(buf, ".eE"))
		strncat(buf, ".0", len - strlen(buf) - 1);
}

/*
 * Sample values: integers stay integers in both formats (OpenMetrics allows them). Most values
 * are counts, so integers below 2^53 (exact in a double) take a fast path.
 */
static void format_value(char *buf, size_t len, double v)
{
	if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v && len >= 21) {
		char tmp[24], *p = tmp + sizeof(tmp);
		uint64_t u = (uint64_t)v;

		*--p = 0;
		do
			*--p = '0' + u % 10;
		while (u /= 10);
		memcpy(buf, p, tmp + sizeof(tmp) - p);
		return;
	}
	metrics_format_double(buf, len, v, false);
}

/* ---- content negotiation ---- */

const char *metrics_content_type(enum metrics_format fmt)
{
	switch (fmt) {
	case METRICS_FORMAT_OPENMETRICS:
		return "application/openmetrics-text; version=1.0.0; charset=utf-8";
	case METRICS_FORMAT_OPENMETRICS_0:
		return "application/openmetrics-text; version=0.0.1; charset=utf-8";
	default:
		return "text/plain; version=0.0.4; charset=utf-8";
	}
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool token_is(const char *b, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - b) == n && !strncasecmp(b, word, n);
}

/*
 * One media range of an Accept header: which format it selects (-1: none we serve) and its q.
 * OpenMetrics versions 1.0.0 and 0.0.1 (Prometheus 2.x asks for both) or none; text/plain any
 * version we know (0.0.4 or none); */
/* and wildcards select text. */
static int media_range(const char *b, const char *e, double *q)
{
	const char *semi = memchr(b, ';', e - b);
	const char *te = semi ? semi : e, *tb = b;
	const char *version = NULL, *vend = NULL;
	int fmt = -1;

	*q = 1.0;
	trim(&tb, &te);
	while (semi) {
		const char *pb = semi + 1, *pe, *eq;

		semi = memchr(pb, ';', e - pb);
		pe = semi ? semi : e;
		trim(&pb, &pe);
		eq = memchr(pb, '=', pe - pb);
		if (!eq)
			continue;
		if (token_is(pb, eq, "q")) {
			char num[16];
			size_t n = pe - eq - 1 < 15 ? pe - eq - 1 : 15;

			memcpy(num, eq + 1, n);
			num[n] = 0;
			*q = strtod(num, NULL);
			if (!(*q >= 0 && *q <= 1))
				*q = 0;
		} else if (token_is(pb, eq, "version")) {
			version = eq + 1;
			vend = pe;
		}
	}
	if (token_is(tb, te, "application/openmetrics-text")) {
		if (!version || token_is(version, vend, "1.0.0"))
			fmt = METRICS_FORMAT_OPENMETRICS;
		else if (token_is(version, vend, "0.0.1"))
			fmt = METRICS_FORMAT_OPENMETRICS_0;
	} else if (token_is(tb, te, "text/plain")) {
		if (!version || token_is(version, vend, "0.0.4"))
			fmt = METRICS_FORMAT_TEXT;
	} else if (token_is(tb, te, "*/*") || token_is(tb, te, "text/*")) {
		fmt = METRICS_FORMAT_TEXT;
	}
	return fmt;
}

enum metrics_format metrics_negotiate(const char *accept)
{
	enum metrics_format best = METRICS_FORMAT_TEXT;
	double best_q = 0;
	const char *p = accept;

	if (!accept)
		return METRICS_FORMAT_TEXT;
	while (*p) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);
		double q;
		int fmt = media_range(p, e, &q);

		/* Highest q wins; on a tie the first listed. */
		if (fmt >= 0 && q > best_q) {
			best = fmt;
			best_q = q;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return best;
}

/* ---- rendering ---- */

/* Label values escape \, " and newline (both formats); HELP escapes \ and newline, and in
 * OpenMetrics also ". */
static void sb_escaped(struct strbuf *b, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (*s == '"' && quote)
			rep = "\\\"";
		if (rep) {
			strbuf_mem(b, run, s - run);
			strbuf_str(b, rep);
			run = s + 1;
		}
	}
	strbuf_mem(b, run, s - run);
}

static void sb_labels(struct strbuf *b, const struct metric_family *f, const struct series_copy *c,
		      const char *le)
{
	if (!f->nlabels && !le)
		return;
	strbuf_str(b, "{");
	for (int i = 0; i < f->nlabels; i++) {
		if (i)
			strbuf_str(b, ",");
		strbuf_str(b, f->d.labels[i]);
		strbuf_str(b, "=\"");
		sb_escaped(b, c->values[i], true);
		strbuf_str(b, "\"");
	}
	if (le) {
		strbuf_str(b, f->nlabels ? ",le=\"" : "le=\"");
		strbuf_str(b, le);
		strbuf_str(b, "\"");
	}
	strbuf_str(b, "}");
}

static void render_sample(struct strbuf *b, const struct metric_family *f, const char *suffix,
			  const struct series_copy *c, const char *le, double v)
{
	char num[40];

	strbuf_str(b, f->d.name);
	strbuf_str(b, suffix);
	sb_labels(b, f, c, le);
	format_value(num, sizeof(num), v);
	strbuf_str(b, " ");
	strbuf_str(b, num);
	strbuf_str(b, "\n");
}

static const char *type_name(enum metric_type t, bool om)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_HISTOGRAM:
		return "histogram";
	case METRIC_INFO:
		return om ? "info" : "gauge";
	default:
		return "gauge";
	}
}

static void render_family(struct strbuf *b, struct metric_family *f, bool om)
{
	int n = atomic_load_explicit(&f->nslots, memory_order_acquire);
	const char *fname = om ? f->om_name : f->d.name;
	struct series_copy c;
	bool header = false;

	for (int i = 0; i < n; i++) {
		series_read(&f->slots[i], f->nbuckets, &c);
		if (c.state != SLOT_LIVE)
			continue;
		if (!header) {
			strbuf_printf(b, "# HELP %s ", fname);
			sb_escaped(b, f->d.help, om);
			strbuf_printf(b, "\n# TYPE %s %s\n", fname, type_name(f->d.type, om));
			header = true;
		}
		if (f->d.type != METRIC_HISTOGRAM) {
			render_sample(b, f, "", &c, NULL, f->d.type == METRIC_INFO ? 1 : c.value);
			continue;
		}
		uint64_t cum = 0;

		for (int k = 0; k < f->nbuckets; k++) {
			cum += c.buckets[k];
			render_sample(b, f, "_bucket", &c, f->le[om][k], (double)cum);
		}
		cum += c.buckets[f->nbuckets];
		render_sample(b, f, "_bucket", &c, "+Inf", (double)cum);
		render_sample(b, f, "_sum", &c, NULL, c.sum);
		render_sample(b, f, "_count", &c, NULL, (double)cum);
	}
}

void metrics_registry__collect(struct metrics_registry *reg)
{
	pthread_mutex_lock(&reg->collect_lock);
	for (int i = 0; i < reg->ncols; i++) {
		struct collector *c = &reg->cols[i];
		double t0 = clock_mono_s();
		int err = c->fn(reg, c->ctx);

		metric_series__set(c->dur, clock_mono_s() - t0);
		metric_series__set(c->ok, err ? 0 : 1);
		if (err)
			pr_warn("failed to collect %s metrics: %s", c->name, strerror(-err));
	}
	pthread_mutex_unlock(&reg->collect_lock);
}

int metrics_registry__render(struct metrics_registry *reg, enum metrics_format fmt, char **out,
			     size_t *len)
{
	bool om = fmt != METRICS_FORMAT_TEXT;
	struct strbuf b = strbuf_heap(0);
	int n;

	metrics_registry__collect(reg);
	n = atomic_load_explicit(&reg->nfams, memory_order_acquire);
	for (int i = 0; i < n; i++)
		render_family(&b, reg->fams[i], om);
	if (om)
		strbuf_str(&b, "# EOF\n");
	if (b.oom) {
		free(b.buf);
		return -ENOMEM;
	}
	*out = b.buf;
	if (len)
		*len = b.n;
	return 0;
}

int metrics_registry__list(struct metrics_registry *reg, char **out, size_t *len)
{
	struct strbuf b = strbuf_heap(0);
	int n = atomic_load_explicit(&reg->nfams, memory_order_acquire);

	for (int i = 0; i < n; i++) {
		struct metric_family *f = reg->fams[i];

		strbuf_printf(&b, "%s %s", f->d.name, type_name(f->d.type, true));
		for (int l = 0; l < f->nlabels; l++)
			strbuf_printf(&b, "%s%s", l ? "," : " ", f->d.labels[l]);
		strbuf_str(&b, "\n");
	}
	if (b.oom) {
		free(b.buf);
		return -ENOMEM;
	}
	*out = b.buf;
	if (len)
		*len = b.n;
	return 0;
}
