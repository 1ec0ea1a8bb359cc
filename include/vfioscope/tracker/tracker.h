/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty tracking policy and lifecycle for one container, after QEMU's series: use device
 * DMA logging when every device supports it (and no vIOMMU is in use), else the IOMMU's dirty
 * tracking, else mark everything dirty on every sync (perpetual dirty). Start, sync, stop;
 * per-sync statistics; any failure stops tracking and is reported with the step, the device
 * and the errno text.
 *
 * Every kernel call goes through a backend ops table, so a fault injector can wrap the real
 * one (tracker_fault_ops) and tests can make the n-th call of any step fail.
 */
#ifndef VFIOSCOPE_TRACKER_H
#define VFIOSCOPE_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/common/names.h"
#include "vfioscope/common/ranges.h"

struct vfio_container;
struct vfio_dev;
struct bitmap;

enum tracker_method {
	TRACKER_METHOD_AUTO,
	TRACKER_METHOD_DEVICE,
	TRACKER_METHOD_IOMMU,
	TRACKER_METHOD_PERPETUAL,
};

const char *tracker_method_name(enum tracker_method m);
/* "auto", "device", "iommu", "perpetual" -> 0, else -EINVAL */
int tracker_method_parse(const char *s, enum tracker_method *m);
/*
 * The method in the one vocabulary of the `method` label (names.h): the IOMMU method is
 * "type1" or "iommufd" by the container's backend; AUTO (not started) is DIRTY_METHOD_NONE.
 */
enum dirty_method tracker_dirty_method(enum tracker_method m, bool iommufd);

enum tracker_range_mode {
	TRACKER_RANGES_QEMU, /* at most 32-bit + 64-bit + pci64: what QEMU sends */
	TRACKER_RANGES_EXACT, /* every mapped interval, up to the kernel's page of ranges;
			       * falls back to QEMU's ranges if a device refuses */
};

/* The backend: every kernel call the tracker makes. Return 0 or -errno. */
struct tracker_ops {
	int (*dev_probe)(void *ctx, struct vfio_dev *dev);
	int (*dev_start)(void *ctx, struct vfio_dev *dev, const struct iova_range *ranges,
			 size_t nr, uint64_t *page_size);
	int (*dev_stop)(void *ctx, struct vfio_dev *dev);
	int (*dev_report)(void *ctx, struct vfio_dev *dev, uint64_t iova, uint64_t length,
			  uint64_t page_size, uint64_t *bitmap);
	int (*iommu_probe)(void *ctx, struct vfio_container *c, uint64_t page_size,
			   uint64_t max_map_bytes, char *why, size_t len);
	int (*iommu_start)(void *ctx, struct vfio_container *c);
	int (*iommu_stop)(void *ctx, struct vfio_container *c);
	int (*iommu_report)(void *ctx, struct vfio_container *c, uint64_t iova, uint64_t length,
			    uint64_t page_size, uint64_t *bitmap);
};

/* The real backend: devlog and iommu_dirty on real fds. ctx is unused. */
extern const struct tracker_ops tracker_vfio_ops;

/* ---- fault injector around any backend ---- */

enum tracker_op {
	TRACKER_OP_DEV_PROBE,
	TRACKER_OP_DEV_START,
	TRACKER_OP_DEV_STOP,
	TRACKER_OP_DEV_REPORT,
	TRACKER_OP_IOMMU_PROBE,
	TRACKER_OP_IOMMU_START,
	TRACKER_OP_IOMMU_STOP,
	TRACKER_OP_IOMMU_REPORT,
	TRACKER_OP_COUNT,
};

const char *tracker_op_name(enum tracker_op op);

struct tracker_fault {
	const struct tracker_ops *inner;
	void *inner_ctx;
	enum tracker_op op; /* which step fails */
	unsigned int nth; /* its nth call (1-based) fails, without reaching the inner backend */
	int err; /* with this -errno */
	unsigned int calls[TRACKER_OP_COUNT]; /* calls seen per step, the failed one included */
	bool fired;
};

/* ops for a struct tracker_fault passed as ctx */
extern const struct tracker_ops tracker_fault_ops;

/*
 * "STEP:N[:ERRNO]" (e.g. "dev_start:2:EIO", STEP as tracker_op_name gives it, ERRNO a name or
 * number, EIO by default) -> fault. -EINVAL when malformed.
 */
int tracker_fault_parse(const char *spec, struct tracker_fault *fault);

/* ---- the tracker ---- */

struct tracker_device {
	struct vfio_dev *dev;
	const char *name; /* PCI address, for messages */
};

struct tracker_sync_stats {
	uint64_t seq; /* 1, 2, ... */
	enum tracker_method method;
	uint64_t duration_ns; /* the whole sync: all queries and the merge */
	uint64_t bitmap_bytes; /* bitmap bytes handed to the kernel, summed over calls */
	uint64_t queries; /* REPORT / GET_BITMAP calls */
	uint64_t dirty_pages; /* distinct pages dirty in this sync */
	uint64_t tracked_pages; /* pages of the layout being tracked */
};

struct tracker_totals {
	uint64_t syncs;
	uint64_t dirty_pages;
	uint64_t bitmap_bytes;
	uint64_t queries;
	uint64_t duration_ns;
	uint64_t min_duration_ns;
	uint64_t max_duration_ns;
	uint64_t errors;
};

typedef void (*tracker_sync_fn)(const struct tracker_sync_stats *s, void *ctx);

/* One kernel query of a sync (a REPORT on one device, or one IOMMU bitmap read). */
struct tracker_query_stats {
	uint64_t seq; /* the sync it belongs to */
	const char *device; /* PCI address for a REPORT, NULL for the IOMMU */
	uint64_t iova, length;
	uint64_t bitmap_bytes;
	uint64_t duration_ns;
	int err; /* 0 or -errno */
};

typedef void (*tracker_query_fn)(const struct tracker_query_stats *q, void *ctx);

struct tracker_opts {
	size_t sz; /* sizeof(struct tracker_opts) */
	const struct tracker_ops *ops; /* NULL: tracker_vfio_ops */
	void *ops_ctx;
	struct vfio_container *container;
	const struct tracker_device *devices;
	size_t nr_devices;
	/* the DMA-mapped sections (kinds other than RAM/BAR/IOMMU are skipped) */
	const struct section *sections;
	size_t nr_sections;
	bool viommu; /* the VM has a vIOMMU: device tracking is refused (QEMU's migration blocker) */
	enum tracker_method method;
	enum tracker_range_mode range_mode;
	uint64_t page_size; /* 0: the host page size */
	size_t max_ranges; /* 0: the kernel's guarantee, a page of range structs */
	tracker_sync_fn on_sync;
	void *on_sync_ctx;
	tracker_query_fn on_query; /* per kernel query, failed ones included */
	void *on_query_ctx;
};

struct tracker;

/* Computes the tracked sections, ranges and bitmaps; makes no kernel call. */
int tracker__new(const struct tracker_opts *opts, struct tracker **out);
/* Frees; stops tracking first if it is still on. */
void tracker__free(struct tracker *t);

/* Chooses the method and starts it on the container / every device (rolled back on failure). */
int tracker__start(struct tracker *t);
/* One sync: query every tracked section, merge into the global bitmap. On failure tracking is
 * stopped and the error is kept (tracker__error). */
int tracker__sync(struct tracker *t, struct tracker_sync_stats *out);
/* Stops on every device / the container. Returns the first error, after trying all. */
int tracker__stop(struct tracker *t);
/*
 * Stops tracking because of something outside the tracker (a device the kernel wants back) and
 * keeps @why as the session's error (tracker__error), unless an earlier error is kept.
 */
void tracker__abort(struct tracker *t, const char *why);

bool tracker__active(const struct tracker *t);
enum tracker_method tracker__method(const struct tracker *t);
/* Why a better method was not used (empty when the first choice worked). */
const char *tracker__fallback_reason(const struct tracker *t);
/* The last error message ("failed to start DMA logging on 0000:00:02.0: Invalid argument"). */
const char *tracker__error(const struct tracker *t);
const struct tracker_totals *tracker__totals(const struct tracker *t);
/* The ranges handed to DMA_LOGGING_START (device method). */
size_t tracker__ranges(const struct tracker *t, const struct iova_range **ranges);
uint64_t tracker__page_size(const struct tracker *t);
uint64_t tracker__tracked_bytes(const struct tracker *t);
/* The pages dirty in the last sync, over all tracked sections laid end to end. */
const struct bitmap *tracker__bitmap(const struct tracker *t);
/* IOVA of a page of tracker__bitmap. -ERANGE past the end. */
int tracker__page_iova(const struct tracker *t, uint64_t page, uint64_t *iova);

#endif
