// SPDX-License-Identifier: GPL-2.0
/* vfioscope's metric families, registered from one table, and the hooks that feed them. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "vfioscope/common/clock.h"
#include "vfioscope/exporter/vfio_metrics.h"

/*
 * Latency buckets: 2^k ns for k = 10, 12, ..., 34 (1.024 us ... 17.2 s, x4 steps). They are
 * powers of two so a BPF log2 histogram imports exactly; x4 keeps 13 buckets per series.
 * Bitmap sizes: 2^k bytes for k = 12, 14, ..., 28 (4 KiB ... 256 MiB).
 */
#define LAT_FIRST   10
#define LAT_LAST    34
#define BYTES_FIRST 12
#define BYTES_LAST  28

/* Series bounds: containers and devices a host may hold, ops the decoder knows. */
#define MAX_CONTAINERS 1024
#define MAX_OPS	       128

enum {
	F_IOCTL_DURATION,
	F_IOCTL_ERRORS,
	F_CONTAINER_INFO,
	F_DEVICE_INFO,
	F_MAPPED_BYTES,
	F_MAPPINGS,
	F_SYNC_DURATION,
	F_BITMAP_BYTES,
	F_DIRTY_PAGES,
	F_TRACKED_BYTES,
	F_RANGES,
	F_RANGE_START,
	F_RANGE_END,
	F_TRACKING_ACTIVE,
	F_DEVICE_REPORTS,
	F_DEVICE_REPORT_SECONDS,
	F_DEVICE_DIRTY_PAGES,
	F_BUILD_INFO,
	F_PROGRAM_ATTACHED,
	F_EVENTS_LOST,
	F_SCRAPE_DURATION,
	F_SCRAPES,
	F_HTTP_REQUESTS,
	F_START_TIME,
	F_TIME,
	F_COUNT,
};

static const struct metric_desc table[F_COUNT] = {
	[F_IOCTL_DURATION] = { "vfio_ioctl_duration_seconds",
			       "Latency of each traced VFIO/iommufd ioctl, measured in the kernel.",
			       METRIC_HISTOGRAM,
			       { "op" },
			       .max_series = MAX_OPS },
	[F_IOCTL_ERRORS] = { "vfio_ioctl_errors_total",
			     "Traced VFIO/iommufd ioctls that returned an error, by errno name.",
			     METRIC_COUNTER,
			     { "op", "errno" },
			     .max_series = 4 * MAX_OPS },
	[F_CONTAINER_INFO] = { "vfio_container_info",
			       "One series per container with its owning process; join on container.",
			       METRIC_INFO,
			       { "container", "pid", "comm", "backend" },
			       .max_series = MAX_CONTAINERS },
	[F_DEVICE_INFO] = { "vfio_device_info",
			    "One series per assigned device with its driver and container.",
			    METRIC_INFO,
			    { "device", "driver", "container" },
			    .max_series = MAX_CONTAINERS },
	[F_MAPPED_BYTES] = { "vfio_dma_mapped_bytes",
			     "Bytes of IOVA space currently DMA-mapped in the container.",
			     METRIC_GAUGE,
			     { "container" },
			     .max_series = MAX_CONTAINERS },
	[F_MAPPINGS] = { "vfio_dma_mappings",
			 "DMA mappings currently present in the container.",
			 METRIC_GAUGE,
			 { "container" },
			 .max_series = MAX_CONTAINERS },
	[F_SYNC_DURATION] = { "vfio_dirty_sync_duration_seconds",
			      "Duration of one dirty sync (a report or bitmap call, or a whole "
			      "tracker sync).",
			      METRIC_HISTOGRAM,
			      { "container", "method" },
			      .max_series = MAX_CONTAINERS },
	[F_BITMAP_BYTES] = { "vfio_dirty_bitmap_bytes",
			     "Size of each dirty bitmap handed to the kernel.",
			     METRIC_HISTOGRAM,
			     { "method" },
			     .max_series = 8 },
	[F_DIRTY_PAGES] = { "vfio_dirty_pages_total",
			    "Pages reported dirty.",
			    METRIC_COUNTER,
			    { "container", "method" },
			    .max_series = MAX_CONTAINERS },
	[F_TRACKED_BYTES] = { "vfio_dirty_tracked_bytes",
			      "Bytes of IOVA space under dirty tracking.",
			      METRIC_GAUGE,
			      { "container" },
			      .max_series = MAX_CONTAINERS },
	[F_RANGES] = { "vfio_dirty_ranges",
		       "IOVA ranges under dirty tracking.",
		       METRIC_GAUGE,
		       { "container" },
		       .max_series = MAX_CONTAINERS },
	[F_RANGE_START] = { "vfio_dirty_range_start_bytes",
			    "Start IOVA of the tracked range below 4 GiB (32bit) or above (64bit).",
			    METRIC_GAUGE,
			    { "container", "range" },
			    .max_series = 2 * MAX_CONTAINERS },
	[F_RANGE_END] = { "vfio_dirty_range_end_bytes",
			  "End IOVA (exclusive) of the tracked range below 4 GiB (32bit) or above "
			  "(64bit).",
			  METRIC_GAUGE,
			  { "container", "range" },
			  .max_series = 2 * MAX_CONTAINERS },
	[F_TRACKING_ACTIVE] = { "vfio_dirty_tracking_active",
				"1 while a dirty tracking session runs with this method.",
				METRIC_GAUGE,
				{ "container", "method" },
				.max_series = MAX_CONTAINERS },
	[F_DEVICE_REPORTS] = { "vfio_device_dirty_reports_total",
			       "Device DMA-logging REPORT calls that succeeded, per device.",
			       METRIC_COUNTER,
			       { "container", "device" },
			       .max_series = MAX_CONTAINERS },
	[F_DEVICE_REPORT_SECONDS] = { "vfio_device_dirty_report_seconds_total",
				      "Time spent in the device's successful DMA-logging REPORT "
				      "calls; divided by the reports, their mean latency.",
				      METRIC_COUNTER,
				      { "container", "device" },
				      .max_series = MAX_CONTAINERS },
	[F_DEVICE_DIRTY_PAGES] = { "vfio_device_dirty_pages_total",
				   "Pages the device's driver reported dirty in its DMA-logging "
				   "REPORTs (seen in the kernel's iova_bitmap_set).",
				   METRIC_COUNTER,
				   { "container", "device" },
				   .max_series = MAX_CONTAINERS },
	[F_BUILD_INFO] = { "vfioscope_build_info",
			   "vfioscope's version and the libbpf it uses.",
			   METRIC_INFO,
			   { "version", "libbpf" } },
	[F_PROGRAM_ATTACHED] = { "vfioscope_program_attached",
				 "1 when the BPF program is attached, 0 when it failed to; role "
				 "required (the ioctl hooks) or optional (kernel-side hooks).",
				 METRIC_GAUGE,
				 { "program", "role" },
				 .max_series = 64 },
	[F_EVENTS_LOST] = { "vfioscope_events_lost_total",
			    "What the tracer dropped, by reason: ring_buffer_full (a trace record; "
			    "the state stays exact), mapping_map_full (a DMA mapping: its "
			    "container is marked incomplete), calls_in_flight (a call not traced "
			    "at all), state_map_full (a file, container or session not mirrored).",
			    METRIC_COUNTER,
			    { "reason" },
			    .max_series = 8 },
	[F_SCRAPE_DURATION] = { "vfioscope_scrape_duration_seconds",
				"Time the previous scrape took to collect and render.",
				METRIC_GAUGE },
	[F_SCRAPES] = { "vfioscope_scrapes_total",
			"Scrapes of /metrics, by exposition format.",
			METRIC_COUNTER,
			{ "format" },
			.max_series = 4 },
	[F_HTTP_REQUESTS] = { "vfioscope_http_requests_total",
			      "HTTP requests answered, by handler and status code.",
			      METRIC_COUNTER,
			      { "handler", "code" },
			      .max_series = 64 },
	[F_START_TIME] = { "vfioscope_start_time_seconds",
			   "Start time of the process since the Unix epoch.", METRIC_GAUGE },
	[F_TIME] = { "vfioscope_time_seconds",
		     "System time at this scrape since the Unix epoch (like node_time_seconds): "
		     "a time base for rates computed from consecutive scrapes.",
		     METRIC_GAUGE },
};

int vfio_metrics__register(struct metrics_registry *reg, struct vfio_metrics *vm)
{
	struct metric_desc descs[F_COUNT];
	struct metric_family *f[F_COUNT];
	double lat[METRICS_MAX_BUCKETS], bytes[METRICS_MAX_BUCKETS];
	int nlat, nbytes, err;

	nlat = metrics_bounds_log2(lat, METRICS_MAX_BUCKETS, LAT_FIRST, LAT_LAST, 2, 1e-9);
	nbytes = metrics_bounds_log2(bytes, METRICS_MAX_BUCKETS, BYTES_FIRST, BYTES_LAST, 2, 1);
	memcpy(descs, table, sizeof(descs));
	descs[F_IOCTL_DURATION].buckets = lat;
	descs[F_IOCTL_DURATION].nbuckets = nlat;
	descs[F_SYNC_DURATION].buckets = lat;
	descs[F_SYNC_DURATION].nbuckets = nlat;
	descs[F_BITMAP_BYTES].buckets = bytes;
	descs[F_BITMAP_BYTES].nbuckets = nbytes;
	/* The registry keeps desc strings, not desc arrays: bounds are copied, names are static. */
	err = metrics_registry__register_table(reg, descs, F_COUNT, f);
	if (err)
		return err;

	*vm = (struct vfio_metrics){
		.reg = reg,
		.ioctl_duration = f[F_IOCTL_DURATION],
		.ioctl_errors = f[F_IOCTL_ERRORS],
		.container_info = f[F_CONTAINER_INFO],
		.device_info = f[F_DEVICE_INFO],
		.mapped_bytes = f[F_MAPPED_BYTES],
		.mappings = f[F_MAPPINGS],
		.sync_duration = f[F_SYNC_DURATION],
		.bitmap_bytes = f[F_BITMAP_BYTES],
		.dirty_pages = f[F_DIRTY_PAGES],
		.tracked_bytes = f[F_TRACKED_BYTES],
		.ranges = f[F_RANGES],
		.range_start = f[F_RANGE_START],
		.range_end = f[F_RANGE_END],
		.tracking_active = f[F_TRACKING_ACTIVE],
		.device_reports = f[F_DEVICE_REPORTS],
		.device_report_seconds = f[F_DEVICE_REPORT_SECONDS],
		.device_dirty_pages = f[F_DEVICE_DIRTY_PAGES],
		.build_info = f[F_BUILD_INFO],
		.program_attached = f[F_PROGRAM_ATTACHED],
		.events_lost = f[F_EVENTS_LOST],
		.scrape_duration = f[F_SCRAPE_DURATION],
		.scrapes = f[F_SCRAPES],
		.http_requests = f[F_HTTP_REQUESTS],
		.start_time = f[F_START_TIME],
		.time = f[F_TIME],
	};
	metric_family__with(vm->build_info, VFIOSCOPE_VERSION, libbpf_version_string());
	metric_series__set(metric_family__with(vm->start_time), clock_real_ns() / 1e9);
	return 0;
}

int vfio_metrics__ioctl_latency(struct vfio_metrics *vm, const char *op, const uint64_t *slots,
				int nslots, uint64_t sum_ns)
{
	struct metric_series *s = metric_family__with(vm->ioctl_duration, op);

	if (!s)
		return -ENOSPC;
	return metric_series__import_log2(s, slots, nslots, sum_ns, 1e-9);
}

int vfio_metrics__ioctl_errors(struct vfio_metrics *vm, const char *op, const char *errno_name,
			       uint64_t total)
{
	struct metric_series *s = metric_family__with(vm->ioctl_errors, op, errno_name);

	if (!s)
		return -ENOSPC;
	metric_series__set(s, (double)total);
	return 0;
}

int vfio_metrics__mappings(struct vfio_metrics *vm, const char *container, uint64_t bytes,
			   uint64_t count)
{
	struct metric_series *b = metric_family__with(vm->mapped_bytes, container);
	struct metric_series *n = metric_family__with(vm->mappings, container);

	if (!b || !n)
		return -ENOSPC;
	metric_series__set(b, (double)bytes);
	metric_series__set(n, (double)count);
	return 0;
}

int vfio_metrics__container(struct vfio_metrics *vm, const char *container, int pid,
			    const char *comm, const char *backend)
{
	char p[16];

	/* One info series per container: a new owner replaces the old one. */
	metric_family__remove_matching(vm->container_info, "container", container);
	snprintf(p, sizeof(p), "%d", pid);
	return metric_family__with(vm->container_info, container, p, comm, backend) ? 0 : -ENOSPC;
}

int vfio_metrics__device(struct vfio_metrics *vm, const char *device, const char *driver,
			 const char *container)
{
	metric_family__remove_matching(vm->device_info, "device", device);
	return metric_family__with(vm->device_info, device, driver, container) ? 0 : -ENOSPC;
}

void vfio_metrics__container_gone(struct vfio_metrics *vm, const char *container)
{
	struct metric_family *per_container[] = {
		vm->container_info,	   vm->device_info,
		vm->mapped_bytes,	   vm->mappings,
		vm->sync_duration,	   vm->dirty_pages,
		vm->tracked_bytes,	   vm->ranges,
		vm->range_start,	   vm->range_end,
		vm->tracking_active,	   vm->device_reports,
		vm->device_report_seconds, vm->device_dirty_pages,
	};

	for (size_t i = 0; i < sizeof(per_container) / sizeof(per_container[0]); i++)
		metric_family__remove_matching(per_container[i], "container", container);
}

int vfio_metrics__device_reports(struct vfio_metrics *vm, const char *container, const char *device,
				 uint64_t reports, uint64_t report_ns, uint64_t dirty_pages)
{
	struct metric_series *r = metric_family__with(vm->device_reports, container, device);
	struct metric_series *t = metric_family__with(vm->device_report_seconds, container, device);
	struct metric_series *p = metric_family__with(vm->device_dirty_pages, container, device);

	if (!r || !t || !p)
		return -ENOSPC;
	metric_series__set(r, (double)reports);
	metric_series__set(t, report_ns * 1e-9);
	metric_series__set(p, (double)dirty_pages);
	return 0;
}

void vfio_metrics__device_gone(struct vfio_metrics *vm, const char *device)
{
	struct metric_family *per_device[] = {
		vm->device_info,
		vm->device_reports,
		vm->device_report_seconds,
		vm->device_dirty_pages,
	};

	for (size_t i = 0; i < sizeof(per_device) / sizeof(per_device[0]); i++)
		metric_family__remove_matching(per_device[i], "device", device);
}

void vfio_metrics__program(struct vfio_metrics *vm, const char *program, bool required,
			   bool attached)
{
	metric_series__set(metric_family__with(vm->program_attached, program,
					       required ? "required" : "optional"),
			   attached ? 1 : 0);
}

void vfio_metrics__events_lost(struct vfio_metrics *vm, const char *reason, uint64_t total)
{
	metric_series__set(metric_family__with(vm->events_lost, reason), (double)total);
}

static void set_range(struct vfio_metrics *vm, const char *container, const char *range,
		      uint64_t start, uint64_t len)
{
	if (!len) {
		const char *v[] = { container, range };

		metric_family__remove(vm->range_start, v);
		metric_family__remove(vm->range_end, v);
		return;
	}
	metric_series__set(metric_family__with(vm->range_start, container, range), (double)start);
	metric_series__set(metric_family__with(vm->range_end, container, range),
			   (double)(start + len));
}

int vfio_metrics__tracking(struct vfio_metrics *vm, const char *container, const char *method,
			   const struct vfio_metrics_tracking *t)
{
	struct metric_series *a = metric_family__with(vm->tracking_active, container, method);

	if (!a)
		return -ENOSPC;
	metric_series__set(a, t->active ? 1 : 0);
	metric_series__set(metric_family__with(vm->tracked_bytes, container),
			   (double)t->tracked_bytes);
	metric_series__set(metric_family__with(vm->ranges, container), t->nranges);
	set_range(vm, container, "32bit", t->start32, t->len32);
	set_range(vm, container, "64bit", t->start64, t->len64);
	return 0;
}

int vfio_metrics__sync(struct vfio_metrics *vm, const char *container, const char *method,
		       uint64_t duration_ns, uint64_t dirty_pages, uint64_t bitmap_bytes)
{
	struct metric_series *d = metric_family__with(vm->sync_duration, container, method);
	struct metric_series *p = metric_family__with(vm->dirty_pages, container, method);

	if (!d || !p)
		return -ENOSPC;
	metric_series__observe(d, duration_ns * 1e-9);
	metric_series__add(p, (double)dirty_pages);
	if (bitmap_bytes)
		metric_series__observe(metric_family__with(vm->bitmap_bytes, method),
				       (double)bitmap_bytes);
	return 0;
}
