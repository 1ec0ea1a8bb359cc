// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/exporter/metrics.h"

static char *render(struct metrics_registry *reg, enum metrics_format fmt)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(metrics_registry__render(reg, fmt, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

/* The value of the sample line that starts with @prefix followed by a space; NAN if absent. */
static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return NAN;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static const double b124[] = { 1, 2, 4 };

static struct metric_family *hist124(struct metrics_registry *reg)
{
	struct metric_desc d = { "t_seconds", "test", METRIC_HISTOGRAM, { "c" }, b124, 3 };
	struct metric_family *f;

	assert_int_equal(metrics_registry__register(reg, &d, &f), 0);
	return f;
}

static void test_counter_name_must_end_in_total(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc bad = { "t_requests", "h", METRIC_COUNTER };
	struct metric_desc good = { "t_requests_total", "h", METRIC_COUNTER };

	assert_int_equal(metrics_registry__register(reg, &bad, NULL), -EINVAL);
	assert_int_equal(metrics_registry__register(reg, &good, NULL), 0);
	metrics_registry__free(reg);
}

static void test_register_rejects_invalid_names_and_labels(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc descs[] = {
		{ "1abc", "h", METRIC_GAUGE },
		{ "a-b", "h", METRIC_GAUGE },
		{ "t_gauge", "h", METRIC_GAUGE, { "__reserved" } },
		{ "t_gauge", "h", METRIC_GAUGE, { "a", "a" } },
		{ "t_gauge", "h", METRIC_GAUGE, { "bad-label" } },
		{ "t_gauge_total", "h", METRIC_GAUGE },
		{ "t_hist", "h", METRIC_HISTOGRAM, { "le" }, b124, 3 },
		{ "t_hist", "h", METRIC_HISTOGRAM, {}, NULL, 0 },
		{ "t_thing", "h", METRIC_INFO },
	};

	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		assert_int_equal(metrics_registry__register(reg, &descs[i], NULL), -EINVAL);
	metrics_registry__free(reg);
}

static void test_histogram_buckets_must_increase(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	const double same[] = { 1, 1 }, down[] = { 2, 1 }, inf[] = { 1, INFINITY };
	struct metric_desc d = { "t_seconds", "h", METRIC_HISTOGRAM, {}, same, 2 };

	assert_int_equal(metrics_registry__register(reg, &d, NULL), -EINVAL);
	d.buckets = down;
	assert_int_equal(metrics_registry__register(reg, &d, NULL), -EINVAL);
	d.buckets = inf;
	assert_int_equal(metrics_registry__register(reg, &d, NULL), -EINVAL);
	metrics_registry__free(reg);
}

static void test_duplicate_and_openmetrics_family_collision_refused(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc c = { "t_x_total", "h", METRIC_COUNTER };
	struct metric_desc g = { "t_x", "h", METRIC_GAUGE };

	assert_int_equal(metrics_registry__register(reg, &c, NULL), 0);
	assert_int_equal(metrics_registry__register(reg, &c, NULL), -EEXIST);
	/* OpenMetrics names the counter family t_x: a gauge t_x would collide. */
	assert_int_equal(metrics_registry__register(reg, &g, NULL), -EEXIST);
	metrics_registry__free(reg);
}

static void test_histogram_le_is_inclusive(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_series *s = metric_family__with(hist124(reg), "a");
	struct metric_hist_snapshot snap;

	metric_series__observe(s, 1); /* le=1 */
	metric_series__observe(s, 2); /* le=2 */
	metric_series__observe(s, 2.0000001); /* le=4 */
	metric_series__observe(s, 4); /* le=4 */
	metric_series__observe(s, 4.5); /* +Inf */
	metric_series__observe(s, -1); /* le=1 */
	assert_int_equal(metric_series__hist_snapshot(s, &snap), 0);
	assert_int_equal(snap.nbuckets, 4);
	assert_int_equal(snap.counts[0], 2);
	assert_int_equal(snap.counts[1], 1);
	assert_int_equal(snap.counts[2], 2);
	assert_int_equal(snap.counts[3], 1);
	assert_int_equal(snap.count, 6);
	assert_true(fabs(snap.sum - 12.5000001) < 1e-9);
	metrics_registry__free(reg);
}

static void test_histogram_renders_cumulative_buckets_inf_sum_count(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_series *s = metric_family__with(hist124(reg), "a");
	char *t;

	metric_series__observe(s, 0.5);
	metric_series__observe(s, 3);
	metric_series__observe(s, 3);
	metric_series__observe(s, 10);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "# TYPE t_seconds histogram"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"1\"} 1"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"2\"} 1"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"4\"} 3"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"+Inf\"} 4"));
	assert_true(has_line(t, "t_seconds_sum{c=\"a\"} 16.5"));
	assert_true(has_line(t, "t_seconds_count{c=\"a\"} 4"));
	free(t);
	metrics_registry__free(reg);
}

static void test_empty_histogram_exports_every_bucket_as_zero(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	char *t;

	metric_family__with(hist124(reg), "a");
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"1\"} 0"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"4\"} 0"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"+Inf\"} 0"));
	assert_true(has_line(t, "t_seconds_count{c=\"a\"} 0"));
	free(t);
	metrics_registry__free(reg);
}

/* The BPF side's slot for a value: smallest k with v <= 2^k; slot 0 holds 0 and 1. */
static int kernel_slot(uint64_t v)
{
	int k = 0;

	while (k < 64 && v > (1ULL << k))
		k++;
	return k;
}

static void import_matches_observe(int first, int last, int step)
{
	struct metrics_registry *reg = metrics_registry__new();
	double bounds[METRICS_MAX_BUCKETS];
	int n = metrics_bounds_log2(bounds, METRICS_MAX_BUCKETS, first, last, step, 1e-9);
	struct metric_desc d = { "t_seconds", "h", METRIC_HISTOGRAM, { "how" }, bounds, n };
	struct metric_hist_snapshot a, b;
	struct metric_family *f;
	struct metric_series *imp, *obs;
	uint64_t slots[65] = {}, sum = 0;

	assert_int_equal(metrics_registry__register(reg, &d, &f), 0);
	imp = metric_family__with(f, "import");
	obs = metric_family__with(f, "observe");
	/* Boundary values: 0, 1, 2^k - 1, 2^k, 2^k + 1 for every k, and the maximum. */
	for (int k = 0; k < 40; k++) {
		uint64_t p = 1ULL << k;
		uint64_t vals[] = { p - 1, p, p + 1 };

		for (int i = 0; i < 3; i++) {
			slots[kernel_slot(vals[i])]++;
			sum += vals[i];
			metric_series__observe(obs, vals[i] * 1e-9);
		}
	}
	slots[kernel_slot(UINT64_MAX)]++;
	metric_series__observe(obs, UINT64_MAX * 1e-9);
	assert_int_equal(metric_series__import_log2(imp, slots, 65, sum, 1e-9), 0);
	metric_series__hist_snapshot(imp, &a);
	metric_series__hist_snapshot(obs, &b);
	for (int i = 0; i < a.nbuckets; i++) {
		if (a.counts[i] != b.counts[i])
			fail_msg("bucket %d (le=%g): import %llu, observe %llu", i,
				 i < n ? bounds[i] : INFINITY, (unsigned long long)a.counts[i],
				 (unsigned long long)b.counts[i]);
	}
	assert_int_equal(a.count, b.count);
	metrics_registry__free(reg);
}

static void test_log2_import_equals_observation_at_every_power(void **state)
{
	import_matches_observe(0, 31, 1);
}

static void test_log2_import_equals_observation_with_x4_buckets(void **state)
{
	import_matches_observe(10, 34, 2);
}

static void test_log2_slot_upper_bound_maps_to_its_le(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	double bounds[METRICS_MAX_BUCKETS];
	int n = metrics_bounds_log2(bounds, METRICS_MAX_BUCKETS, 10, 20, 1, 1e-9);
	struct metric_desc d = { "t_seconds", "h", METRIC_HISTOGRAM, {}, bounds, n };
	struct metric_family *f;
	uint64_t slots[12] = {};
	char *t;

	assert_int_equal(metrics_registry__register(reg, &d, &f), 0);
	slots[10] = 5; /* 512 < v <= 1024 ns: le = 1.024e-06 s, not the next bucket */
	slots[11] = 2; /* v <= 2048 ns */
	slots[3] = 1; /* v <= 8 ns: below the first bound, still counted there */
	metric_series__import_log2(metric_family__series(f, NULL), slots, 12, 7000, 1e-9);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "t_seconds_bucket{le=\"1.024e-06\"} 6"));
	assert_true(has_line(t, "t_seconds_bucket{le=\"2.048e-06\"} 8"));
	assert_true(has_line(t, "t_seconds_bucket{le=\"+Inf\"} 8"));
	assert_true(fabs(sample(t, "t_seconds_sum") - 7e-6) < 1e-15);
	free(t);
	metrics_registry__free(reg);
}

static void test_label_values_are_escaped(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE, { "v" } };
	struct metric_family *f;
	char *t;

	metrics_registry__register(reg, &d, &f);
	metric_series__set(metric_family__with(f, "a\"b\\c\nd"), 1);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "t_gauge{v=\"a\\\"b\\\\c\\nd\"} 1"));
	free(t);
	metrics_registry__free(reg);
}

static void test_help_is_escaped_per_format(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "a \"quoted\" \\ and\nnewline", METRIC_GAUGE };
	char *t;

	metrics_registry__register(reg, &d, NULL);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "# HELP t_gauge a \"quoted\" \\\\ and\\nnewline"));
	free(t);
	t = render(reg, METRICS_FORMAT_OPENMETRICS);
	assert_true(has_line(t, "# HELP t_gauge a \\\"quoted\\\" \\\\ and\\nnewline"));
	free(t);
	metrics_registry__free(reg);
}

static void test_label_value_not_utf8_or_too_long_is_refused(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE, { "v" } };
	struct metric_family *f;
	char longv[METRICS_MAX_LABEL_VALUE + 1];

	metrics_registry__register(reg, &d, &f);
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = 0;
	assert_null(metric_family__with(f, "\xff\xfe"));
	assert_null(metric_family__with(f, "\xc0\xaf")); /* overlong '/' */
	assert_null(metric_family__with(f, "\xed\xa0\x80")); /* surrogate */
	assert_null(metric_family__with(f, longv));
	assert_non_null(metric_family__with(f, "gr\xc3\xbc\xc3\x9f"));
	assert_int_equal(metric_family__nseries(f), 1);
	metrics_registry__free(reg);
}

static void test_series_beyond_bound_are_dropped_and_counted(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE, { "v" }, .max_series = 3 };
	struct metric_family *f;
	char *t;

	metrics_registry__register(reg, &d, &f);
	assert_non_null(metric_family__with(f, "1"));
	assert_non_null(metric_family__with(f, "2"));
	assert_non_null(metric_family__with(f, "3"));
	assert_null(metric_family__with(f, "4"));
	assert_null(metric_family__with(f, "5"));
	assert_non_null(metric_family__with(f, "2")); /* an existing one still resolves */
	assert_int_equal(metrics_registry__series_dropped(reg), 2);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_int_equal(sample(t, "vfioscope_metrics_series_dropped_total"), 2);
	free(t);
	metrics_registry__free(reg);
}

static void test_removed_series_disappears_and_slot_is_reused(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE, { "c", "m" }, .max_series = 2 };
	struct metric_family *f;
	char *t;

	metrics_registry__register(reg, &d, &f);
	metric_series__set(metric_family__with(f, "1", "x"), 10);
	metric_series__set(metric_family__with(f, "1", "y"), 11);
	assert_int_equal(metric_family__remove_matching(f, "c", "1"), 2);
	metric_series__set(metric_family__with(f, "2", "x"), 20);
	metric_series__set(metric_family__with(f, "3", "x"), 30);
	assert_int_equal(metrics_registry__series_dropped(reg), 0);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(isnan(sample(t, "t_gauge{c=\"1\",m=\"x\"}")));
	assert_int_equal(sample(t, "t_gauge{c=\"2\",m=\"x\"}"), 20);
	assert_int_equal(sample(t, "t_gauge{c=\"3\",m=\"x\"}"), 30);
	free(t);
	metrics_registry__free(reg);
}

static void test_family_without_series_renders_nothing(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE, { "v" } };
	char *t;

	metrics_registry__register(reg, &d, NULL);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_null(strstr(t, "t_gauge"));
	free(t);
	metrics_registry__free(reg);
}

static void test_openmetrics_names_families_without_suffix_and_ends_with_eof(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc c = { "t_pages_total", "h", METRIC_COUNTER, { "c" } };
	struct metric_desc i = { "t_build_info", "h", METRIC_INFO, { "version" } };
	struct metric_family *fc, *fi;
	char *t;
	size_t len;

	metrics_registry__register(reg, &c, &fc);
	metrics_registry__register(reg, &i, &fi);
	metric_series__add(metric_family__with(fc, "0"), 5);
	metric_family__with(fi, "1.0");
	t = render(reg, METRICS_FORMAT_OPENMETRICS);
	assert_true(has_line(t, "# TYPE t_pages counter"));
	assert_true(has_line(t, "t_pages_total{c=\"0\"} 5"));
	assert_true(has_line(t, "# TYPE t_build info"));
	assert_true(has_line(t, "t_build_info{version=\"1.0\"} 1"));
	len = strlen(t);
	assert_true(len > 6 && !strcmp(t + len - 6, "# EOF\n"));
	free(t);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_true(has_line(t, "# TYPE t_pages_total counter"));
	assert_true(has_line(t, "# TYPE t_build_info gauge"));
	assert_null(strstr(t, "# EOF"));
	free(t);
	metrics_registry__free(reg);
}

static void test_openmetrics_le_values_are_floats(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	char *t;

	metric_family__with(hist124(reg), "a");
	t = render(reg, METRICS_FORMAT_OPENMETRICS);
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"1.0\"} 0"));
	assert_true(has_line(t, "t_seconds_bucket{c=\"a\",le=\"+Inf\"} 0"));
	free(t);
	metrics_registry__free(reg);
}

static void test_counter_refuses_negative_increments(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_x_total", "h", METRIC_COUNTER };
	struct metric_family *f;
	struct metric_series *s;

	metrics_registry__register(reg, &d, &f);
	s = metric_family__series(f, NULL);
	metric_series__add(s, 3);
	metric_series__add(s, -1);
	metric_series__add(s, NAN);
	assert_true(metric_series__value(s) == 3);
	metrics_registry__free(reg);
}

static void test_negotiate_prefers_openmetrics_as_prometheus_asks(void **state)
{
	const char *prom = "application/openmetrics-text;version=1.0.0,application/"
			   "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
			   "*/*;q=0.1";

	assert_int_equal(metrics_negotiate(prom), METRICS_FORMAT_OPENMETRICS);
	assert_int_equal(metrics_negotiate(NULL), METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate(""), METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate("*/*"), METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate("text/plain;version=0.0.4"), METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate("application/openmetrics-text"),
			 METRICS_FORMAT_OPENMETRICS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text; version=0.0.1"),
			 METRICS_FORMAT_OPENMETRICS_0);
	/* An unknown version is not served; q decides between the rest. */
	assert_int_equal(metrics_negotiate("application/openmetrics-text;version=2.0.0"),
			 METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate("text/plain;q=0.9, application/openmetrics-text;q=0.2"),
			 METRICS_FORMAT_TEXT);
	assert_int_equal(metrics_negotiate("text/plain;q=0.2, Application/OpenMetrics-Text"),
			 METRICS_FORMAT_OPENMETRICS);
	assert_int_equal(metrics_negotiate("application/openmetrics-text;q=0"),
			 METRICS_FORMAT_TEXT);
	assert_string_equal(metrics_content_type(METRICS_FORMAT_OPENMETRICS),
			    "application/openmetrics-text; version=1.0.0; charset=utf-8");
	assert_string_equal(metrics_content_type(METRICS_FORMAT_TEXT),
			    "text/plain; version=0.0.4; charset=utf-8");
}

static void test_numbers_use_shortest_round_trip_form(void **state)
{
	struct {
		double v;
		bool om;
		const char *s;
	} cases[] = {
		{ 0.1, false, "0.1" },
		{ 1e-6, false, "1e-06" },
		{ 1.024e-6, false, "1.024e-06" },
		{ 0.000262144, false, "0.000262144" },
		{ 1024, false, "1024" },
		{ 1024, true, "1024.0" },
		{ 4294967296.0, false, "4294967296" },
		{ 1e21, false, "1e+21" },
		{ 0, false, "0" },
		{ 0, true, "0.0" },
		{ -2.5, false, "-2.5" },
		{ INFINITY, false, "+Inf" },
		{ -INFINITY, true, "-Inf" },
		{ NAN, false, "NaN" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_format_double(buf, sizeof(buf), cases[i].v, cases[i].om);
		assert_string_equal(buf, cases[i].s);
	}
	/* Every bound we use reads back exactly. */
	for (int k = 0; k < 40; k++) {
		double v = ldexp(1e-9, k);

		metrics_format_double(buf, sizeof(buf), v, false);
		assert_true(strtod(buf, NULL) == v);
	}
}

static int collect_ok(struct metrics_registry *reg, void *ctx)
{
	metric_series__set(ctx, 42);
	return 0;
}

static int collect_fail(struct metrics_registry *reg, void *ctx)
{
	return -EIO;
}

static void test_collectors_refresh_before_render_and_report_failure(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_desc d = { "t_gauge", "h", METRIC_GAUGE };
	struct metric_family *f;
	char *t;

	metrics_registry__register(reg, &d, &f);
	assert_int_equal(metrics_registry__add_collector(reg, "good", collect_ok,
							 metric_family__series(f, NULL)),
			 0);
	assert_int_equal(metrics_registry__add_collector(reg, "bad", collect_fail, NULL), 0);
	t = render(reg, METRICS_FORMAT_TEXT);
	assert_int_equal(sample(t, "t_gauge"), 42);
	assert_int_equal(sample(t, "vfioscope_scrape_collector_success{collector=\"good\"}"), 1);
	assert_int_equal(sample(t, "vfioscope_scrape_collector_success{collector=\"bad\"}"), 0);
	assert_true(sample(t, "vfioscope_scrape_collector_duration_seconds{collector=\"good\"}") >=
		    0);
	free(t);
	metrics_registry__free(reg);
}

struct writer_arg {
	struct metric_series *s;
	int n;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;

	for (int i = 0; i < a->n; i++)
		metric_series__observe(a->s, (i % 5) + 0.5);
	return NULL;
}

/*
 * Scrapes while writers observe: every rendered histogram is one consistent state (_count
 * equals +Inf, cumulative buckets never decrease), and no observation is lost.
 */
static void test_concurrent_scrapes_see_consistent_histograms(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_series *s = metric_family__with(hist124(reg), "a");
	struct writer_arg a = { s, 200000 };
	pthread_t th[2];
	int renders = 0;

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, writer, &a);
	for (; renders < 300; renders++) {
		char *t = render(reg, METRICS_FORMAT_TEXT);
		double b1 = sample(t, "t_seconds_bucket{c=\"a\",le=\"1\"}");
		double b2 = sample(t, "t_seconds_bucket{c=\"a\",le=\"2\"}");
		double b4 = sample(t, "t_seconds_bucket{c=\"a\",le=\"4\"}");
		double inf = sample(t, "t_seconds_bucket{c=\"a\",le=\"+Inf\"}");
		double count = sample(t, "t_seconds_count{c=\"a\"}");

		assert_true(b1 <= b2 && b2 <= b4 && b4 <= inf);
		assert_true(count == inf);
		free(t);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	struct metric_hist_snapshot snap;

	metric_series__hist_snapshot(s, &snap);
	assert_int_equal(snap.count, 2 * a.n);
	metrics_registry__free(reg);
}

static void test_quantile_interpolates_like_histogram_quantile(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_family *f = hist124(reg);
	struct metric_series *s = metric_family__with(f, "a");

	assert_true(isnan(metric_series__quantile(s, 0.5)));
	for (int i = 0; i < 10; i++)
		metric_series__observe(s, 1.5); /* all in (1, 2] */
	/* rank 5 of 10 in (1, 2]: 1 + (2 - 1) * 5/10 */
	assert_true(fabs(metric_series__quantile(s, 0.5) - 1.5) < 1e-12);
	assert_true(fabs(metric_series__quantile(s, 1) - 2) < 1e-12);
	metric_series__observe(metric_family__with(f, "b"), 100); /* +Inf: the last bound */
	assert_true(metric_series__quantile(metric_family__with(f, "b"), 0.5) == 4);
	metrics_registry__free(reg);
}

static int count_each(void *ctx, const char *const *values, struct metric_series *s)
{
	int *n = ctx;

	if (strcmp(values[0], "a") && strcmp(values[0], "c"))
		fail_msg("unexpected series %s", values[0]);
	return ++*n == 100;
}

static void test_each_visits_live_series_only(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct metric_family *f = hist124(reg);
	int n = 0;

	metric_family__with(f, "a");
	metric_family__with(f, "b");
	metric_family__with(f, "c");
	metric_family__remove_matching(f, "c", "b");
	assert_int_equal(metric_family__each(f, count_each, &n), 0);
	assert_int_equal(n, 2);
	metrics_registry__free(reg);
}

static void test_list_names_every_family_with_type_and_labels(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	char *t;

	hist124(reg);
	assert_int_equal(metrics_registry__list(reg, &t, NULL), 0);
	assert_true(has_line(t, "t_seconds histogram c"));
	assert_true(has_line(t, "vfioscope_metrics_series_dropped_total counter"));
	free(t);
	metrics_registry__free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_name_must_end_in_total),
		cmocka_unit_test(test_register_rejects_invalid_names_and_labels),
		cmocka_unit_test(test_histogram_buckets_must_increase),
		cmocka_unit_test(test_duplicate_and_openmetrics_family_collision_refused),
		cmocka_unit_test(test_histogram_le_is_inclusive),
		cmocka_unit_test(test_histogram_renders_cumulative_buckets_inf_sum_count),
		cmocka_unit_test(test_empty_histogram_exports_every_bucket_as_zero),
		cmocka_unit_test(test_log2_import_equals_observation_at_every_power),
		cmocka_unit_test(test_log2_import_equals_observation_with_x4_buckets),
		cmocka_unit_test(test_log2_slot_upper_bound_maps_to_its_le),
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_help_is_escaped_per_format),
		cmocka_unit_test(test_label_value_not_utf8_or_too_long_is_refused),
		cmocka_unit_test(test_series_beyond_bound_are_dropped_and_counted),
		cmocka_unit_test(test_removed_series_disappears_and_slot_is_reused),
		cmocka_unit_test(test_family_without_series_renders_nothing),
		cmocka_unit_test(test_openmetrics_names_families_without_suffix_and_ends_with_eof),
		cmocka_unit_test(test_openmetrics_le_values_are_floats),
		cmocka_unit_test(test_counter_refuses_negative_increments),
		cmocka_unit_test(test_negotiate_prefers_openmetrics_as_prometheus_asks),
		cmocka_unit_test(test_numbers_use_shortest_round_trip_form),
		cmocka_unit_test(test_collectors_refresh_before_render_and_report_failure),
		cmocka_unit_test(test_concurrent_scrapes_see_consistent_histograms),
		cmocka_unit_test(test_quantile_interpolates_like_histogram_quantile),
		cmocka_unit_test(test_each_visits_live_series_only),
		cmocka_unit_test(test_list_names_every_family_with_type_and_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
