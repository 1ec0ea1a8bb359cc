/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfioscope's metric families (DESIGN.md "Metrics"), registered from one table, and the hook
 * API the tracer and the tracker feed them through. Labels stay bounded: container (an id
 * vfioscope assigns), device (PCI address), op, errno name, method, range ("32bit"/"64bit").
 * Per-process detail (pid, comm) lives only in vfio_container_info, which users join on.
 *
 * Wiring, for the lead:
 *   tracer (a collector, so BPF maps are read once per scrape):
 *     metrics_registry__add_collector(reg, "tracer", my_collect, tracer);
 *     in my_collect: vfio_metrics__ioctl_latency(vm, "VFIO_IOMMU_MAP_DMA", slots, n, sum_ns);
 *                    vfio_metrics__ioctl_errors(vm, op, "EINVAL", total);
 *                    vfio_metrics__mappings(vm, "3", bytes, count);
 *                    vfio_metrics__events_lost(vm, "ring_buffer_full", lost);
 *     after attach:  vfio_metrics__program(vm, "tp_sys_enter", true, attached);
 *   tracker (after each sync, from its own thread; never blocks on a scrape):
 *     vfio_metrics__sync(vm, "0", "device", duration_ns, dirty_pages, bitmap_bytes);
 *     on start/stop: vfio_metrics__tracking(vm, "0", "device", &tracking_state);
 */
#ifndef VFIOSCOPE_VFIO_METRICS_H
#define VFIOSCOPE_VFIO_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "vfioscope/exporter/metrics.h"

struct vfio_metrics {
	struct metrics_registry *reg;
	/* domain */
	struct metric_family *ioctl_duration; /* histogram {op}, seconds */
	struct metric_family *ioctl_errors; /* counter {op,errno} */
	struct metric_family *container_info; /* info {container,pid,comm,backend} */
	struct metric_family *device_info; /* info {device,driver,container} */
	struct metric_family *mapped_bytes; /* gauge {container} */
	struct metric_family *mappings; /* gauge {container} */
	struct metric_family *sync_duration; /* histogram {container,method}, seconds */
	struct metric_family *bitmap_bytes; /* histogram {method}, bytes */
	struct metric_family *dirty_pages; /* counter {container,method} */
	struct metric_family *tracked_bytes; /* gauge {container} */
	struct metric_family *ranges; /* gauge {container} */
	struct metric_family *range_start; /* gauge {container,range} */
	struct metric_family *range_end; /* gauge {container,range} */
	struct metric_family *tracking_active; /* gauge {container,method} */
	/* per device (device DMA logging), from the tracer */
	struct metric_family *device_reports; /* counter {container,device} */
	struct metric_family *device_report_seconds; /* counter {container,device} */
	struct metric_family *device_dirty_pages; /* counter {container,device} */
	/* self */
	struct metric_family *build_info; /* info {version,libbpf} */
	struct metric_family *program_attached; /* gauge {program,role} */
	struct metric_family *events_lost; /* counter {reason} */
	struct metric_family *scrape_duration; /* gauge */
	struct metric_family *scrapes; /* counter {format} */
	struct metric_family *http_requests; /* counter {handler,code} */
	struct metric_family *start_time; /* gauge */
	struct metric_family *time; /* gauge, set at each scrape */
};

/* Register every family in @reg and fill @vm. Returns 0 or -errno. */
int vfio_metrics__register(struct metrics_registry *reg, struct vfio_metrics *vm);

/* Tracer side. Imported histograms are log2 nanoseconds as described at
 * metric_series__import_log2(); totals are absolute (the BPF map's running count). */
int vfio_metrics__ioctl_latency(struct vfio_metrics *vm, const char *op, const uint64_t *slots,
				int nslots, uint64_t sum_ns);
int vfio_metrics__ioctl_errors(struct vfio_metrics *vm, const char *op, const char *errno_name,
			       uint64_t total);
int vfio_metrics__mappings(struct vfio_metrics *vm, const char *container, uint64_t bytes,
			   uint64_t count);
int vfio_metrics__container(struct vfio_metrics *vm, const char *container, int pid,
			    const char *comm, const char *backend);
int vfio_metrics__device(struct vfio_metrics *vm, const char *device, const char *driver,
			 const char *container);
/* A device's DMA-logging REPORTs as the tracer counted them (absolute totals). */
int vfio_metrics__device_reports(struct vfio_metrics *vm, const char *container, const char *device,
				 uint64_t reports, uint64_t report_ns, uint64_t dirty_pages);
/* Drop every series of a device that went away. */
void vfio_metrics__device_gone(struct vfio_metrics *vm, const char *device);
/* Drop every series of a container that went away. */
void vfio_metrics__container_gone(struct vfio_metrics *vm, const char *container);
/* A BPF program's attach result; @required: the tracer cannot work without it (the ioctl
 * hooks), else an optional kernel-side hook whose absence only loses detail. */
void vfio_metrics__program(struct vfio_metrics *vm, const char *program, bool required,
			   bool attached);
/* What the tracer dropped for @reason (one of a few fixed snake_case words: ring_buffer_full,
 * mapping_map_full, calls_in_flight, state_map_full), as an absolute total. */
void vfio_metrics__events_lost(struct vfio_metrics *vm, const char *reason, uint64_t total);

/* Tracker side. */
struct vfio_metrics_tracking {
	bool active;
	uint64_t tracked_bytes;
	int nranges;
	/* The seed's ranges: at most one below 4 GiB and one above; len 0 = absent. */
	uint64_t start32, len32;
	uint64_t start64, len64;
};
int vfio_metrics__tracking(struct vfio_metrics *vm, const char *container, const char *method,
			   const struct vfio_metrics_tracking *t);
/* One dirty sync: its duration, the pages it reported dirty, the bitmap size handed over. */
int vfio_metrics__sync(struct vfio_metrics *vm, const char *container, const char *method,
		       uint64_t duration_ns, uint64_t dirty_pages, uint64_t bitmap_bytes);

#endif
