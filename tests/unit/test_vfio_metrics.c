// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfioscope/exporter/vfio_metrics.h"

static double sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

static char *render(struct metrics_registry *reg)
{
	char *t;

	assert_int_equal(metrics_registry__render(reg, METRICS_FORMAT_TEXT, &t, NULL), 0);
	return t;
}

/* The names and types DESIGN.md promises. */
static void test_design_metric_names_are_registered(void **state)
{
	static const struct {
		const char *name;
		enum metric_type type;
	} want[] = {
		{ "vfio_ioctl_duration_seconds", METRIC_HISTOGRAM },
		{ "vfio_ioctl_errors_total", METRIC_COUNTER },
		{ "vfio_dma_mapped_bytes", METRIC_GAUGE },
		{ "vfio_dma_mappings", METRIC_GAUGE },
		{ "vfio_dirty_sync_duration_seconds", METRIC_HISTOGRAM },
		{ "vfio_dirty_bitmap_bytes", METRIC_HISTOGRAM },
		{ "vfio_dirty_pages_total", METRIC_COUNTER },
		{ "vfio_dirty_tracked_bytes", METRIC_GAUGE },
		{ "vfio_dirty_ranges", METRIC_GAUGE },
		{ "vfio_dirty_tracking_active", METRIC_GAUGE },
		{ "vfio_container_info", METRIC_INFO },
		{ "vfioscope_events_lost_total", METRIC_COUNTER },
		{ "vfioscope_program_attached", METRIC_GAUGE },
		{ "vfioscope_build_info", METRIC_INFO },
		{ "vfioscope_scrape_duration_seconds", METRIC_GAUGE },
	};
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;

	assert_int_equal(vfio_metrics__register(reg, &vm), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct metric_family *f = metrics_registry__find(reg, want[i].name);

		if (!f)
			fail_msg("%s is not registered", want[i].name);
		assert_int_equal(metric_family__type(f), want[i].type);
	}
	metrics_registry__free(reg);
}

static void test_sync_feeds_histogram_counter_and_bitmap_sizes(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	char *t;

	vfio_metrics__register(reg, &vm);
	/* 300 us: above le=262.144 us, inside le=1.048576 ms */
	vfio_metrics__sync(&vm, "0", "device", 300000, 128, 32768);
	vfio_metrics__sync(&vm, "0", "device", 300000, 64, 32768);
	t = render(reg);
	assert_int_equal(sample(t, "vfio_dirty_pages_total{container=\"0\",method=\"device\"}"),
			 192);
	assert_int_equal(sample(t, "vfio_dirty_sync_duration_seconds_bucket{container=\"0\","
				   "method=\"device\",le=\"0.000262144\"}"),
			 0);
	assert_int_equal(sample(t, "vfio_dirty_sync_duration_seconds_bucket{container=\"0\","
				   "method=\"device\",le=\"0.001048576\"}"),
			 2);
	assert_int_equal(
		sample(t, "vfio_dirty_bitmap_bytes_bucket{method=\"device\",le=\"65536\"}"), 2);
	free(t);
	metrics_registry__free(reg);
}

static void test_kernel_latency_histogram_imports_to_seconds(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	uint64_t slots[40] = {};
	char *t;

	vfio_metrics__register(reg, &vm);
	slots[12] = 3; /* 2048 < ns <= 4096: le = 4.096e-06 exactly */
	slots[13] = 1; /* <= 8192 ns: the x4 bucket above, le = 1.6384e-05 */
	assert_int_equal(vfio_metrics__ioctl_latency(&vm, "VFIO_IOMMU_MAP_DMA", slots, 40, 20000),
			 0);
	t = render(reg);
	assert_int_equal(
		sample(t,
		       "vfio_ioctl_duration_seconds_bucket{op=\"VFIO_IOMMU_MAP_DMA\",le=\"4.096e-06\"}"),
		3);
	assert_int_equal(
		sample(t,
		       "vfio_ioctl_duration_seconds_bucket{op=\"VFIO_IOMMU_MAP_DMA\",le=\"1.6384e-05\"}"),
		4);
	assert_int_equal(sample(t, "vfio_ioctl_duration_seconds_count{op=\"VFIO_IOMMU_MAP_DMA\"}"),
			 4);
	free(t);
	metrics_registry__free(reg);
}

static void test_tracking_exports_both_ranges_and_drops_an_absent_one(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	struct vfio_metrics_tracking tr = { true,	6ULL << 30, 2,	       0,
					    2ULL << 30, 4ULL << 30, 4ULL << 30 };
	char *t;

	vfio_metrics__register(reg, &vm);
	vfio_metrics__tracking(&vm, "1", "device", &tr);
	t = render(reg);
	assert_true(sample(t, "vfio_dirty_range_end_bytes{container=\"1\",range=\"64bit\"}") ==
		    (double)(8ULL << 30));
	assert_int_equal(sample(t, "vfio_dirty_ranges{container=\"1\"}"), 2);
	free(t);
	tr.len64 = 0;
	tr.nranges = 1;
	tr.active = false;
	vfio_metrics__tracking(&vm, "1", "device", &tr);
	t = render(reg);
	assert_true(
		isnan(sample(t, "vfio_dirty_range_end_bytes{container=\"1\",range=\"64bit\"}")));
	assert_int_equal(sample(t, "vfio_dirty_tracking_active{container=\"1\",method=\"device\"}"),
			 0);
	free(t);
	metrics_registry__free(reg);
}

/* A container with a device, mappings, a tracking session and one sync: every family it has. */
static void feed_container(struct vfio_metrics *vm, const char *id, const char *device)
{
	struct vfio_metrics_tracking tr = {
		.active = true, .tracked_bytes = 1ULL << 30, .nranges = 1, .len32 = 1ULL << 30
	};

	assert_int_equal(vfio_metrics__container(vm, id, 100, "qemu", "type1v2"), 0);
	assert_int_equal(vfio_metrics__device(vm, device, "vfio-pci", id), 0);
	assert_int_equal(vfio_metrics__mappings(vm, id, 1ULL << 30, 1), 0);
	assert_int_equal(vfio_metrics__tracking(vm, id, "device", &tr), 0);
	assert_int_equal(vfio_metrics__sync(vm, id, "device", 100000, 256, 32768), 0);
}

static void test_container_gone_removes_only_its_series(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	char *t;

	vfio_metrics__register(reg, &vm);
	feed_container(&vm, "0", "0000:01:00.0");
	feed_container(&vm, "1", "0000:02:00.0");
	vfio_metrics__container_gone(&vm, "0");
	t = render(reg);
	assert_null(strstr(t, "container=\"0\""));
	assert_non_null(strstr(t, "vfio_dma_mapped_bytes{container=\"1\"}"));
	assert_non_null(strstr(t, "vfio_dirty_tracking_active{container=\"1\",method=\"device\"}"));
	free(t);
	metrics_registry__free(reg);
}

static void test_container_info_keeps_one_series_per_container(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;

	vfio_metrics__register(reg, &vm);
	vfio_metrics__container(&vm, "3", 100, "qemu", "type1v2");
	vfio_metrics__container(&vm, "3", 200, "qemu", "iommufd");
	assert_int_equal(metric_family__nseries(vm.container_info), 1);
	metrics_registry__free(reg);
}

/* A device's series carry its address; the device going away takes only its own series. */
static void test_device_series_carry_the_device_and_go_with_it(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	char *t;

	vfio_metrics__register(reg, &vm);
	vfio_metrics__device(&vm, "0000:00:02.0", "vfio-pci", "1");
	vfio_metrics__device(&vm, "0000:00:03.0", "mlx5_vfio_pci", "1");
	vfio_metrics__device_reports(&vm, "1", "0000:00:02.0", 4, 3000000000ULL, 12);
	vfio_metrics__device_reports(&vm, "1", "0000:00:03.0", 2, 1000000, 7);
	t = render(reg);
	assert_true(sample(t, "vfio_device_dirty_reports_total{container=\"1\","
			      "device=\"0000:00:02.0\"}") == 4);
	assert_true(sample(t, "vfio_device_dirty_report_seconds_total{container=\"1\","
			      "device=\"0000:00:02.0\"}") == 3);
	assert_true(sample(t, "vfio_device_dirty_pages_total{container=\"1\","
			      "device=\"0000:00:03.0\"}") == 7);
	free(t);
	vfio_metrics__device_gone(&vm, "0000:00:02.0");
	t = render(reg);
	assert_null(strstr(t, "0000:00:02.0"));
	assert_true(sample(t, "vfio_device_info{device=\"0000:00:03.0\",driver=\"mlx5_vfio_pci\","
			      "container=\"1\"}") == 1);
	assert_true(sample(t, "vfio_device_dirty_reports_total{container=\"1\","
			      "device=\"0000:00:03.0\"}") == 2);
	free(t);
	/* a container going away takes its devices' series too */
	vfio_metrics__container_gone(&vm, "1");
	t = render(reg);
	assert_null(strstr(t, "0000:00:03.0"));
	free(t);
	metrics_registry__free(reg);
}

/* Each reason is its own series with its own total; a later total replaces, never adds. */
static void test_events_lost_are_exported_by_reason(void **state)
{
	struct metrics_registry *reg = metrics_registry__new();
	struct vfio_metrics vm;
	char *t;

	vfio_metrics__register(reg, &vm);
	vfio_metrics__events_lost(&vm, "ring_buffer_full", 7);
	vfio_metrics__events_lost(&vm, "mapping_map_full", 0);
	vfio_metrics__events_lost(&vm, "ring_buffer_full", 99981);
	t = render(reg);
	assert_non_null(
		strstr(t, "vfioscope_events_lost_total{reason=\"ring_buffer_full\"} 99981\n"));
	assert_non_null(strstr(t, "vfioscope_events_lost_total{reason=\"mapping_map_full\"} 0\n"));
	assert_null(strstr(t, "\nvfioscope_events_lost_total "));
	assert_int_equal(metric_family__nseries(vm.events_lost), 2);
	free(t);
	metrics_registry__free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_metric_names_are_registered),
		cmocka_unit_test(test_sync_feeds_histogram_counter_and_bitmap_sizes),
		cmocka_unit_test(test_kernel_latency_histogram_imports_to_seconds),
		cmocka_unit_test(test_tracking_exports_both_ranges_and_drops_an_absent_one),
		cmocka_unit_test(test_container_gone_removes_only_its_series),
		cmocka_unit_test(test_container_info_keeps_one_series_per_container),
		cmocka_unit_test(test_device_series_carry_the_device_and_go_with_it),
		cmocka_unit_test(test_events_lost_are_exported_by_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
