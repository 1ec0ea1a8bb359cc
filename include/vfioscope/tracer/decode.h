/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoder: op and kind names, and the arguments of every traced VFIO/iommufd ioctl as text
 * or JSON, written side by side from one field table so the two forms never diverge. The op
 * itself is classified in BPF (vfs_op_classify() in events.h), because VFIO numbers collide
 * across fd kinds and only the file tells them apart.
 */
#ifndef VFIOSCOPE_DECODE_H
#define VFIOSCOPE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/common/names.h"
#include "vfioscope/tracer/events.h"
#include "vfioscope/common/json.h"

/* "VFIO_IOMMU_MAP_DMA", "VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]", ... ("?" if unknown) */
const char *decode_op_name(unsigned int op);
/* "container", "group", "device", "iommufd", "unknown" */
const char *decode_kind_name(unsigned int kind);
/* The tracer's dirty-tracking method (enum vfs_dirty_method) in the one vocabulary: type1,
 * device, iommufd (an iommufd HWPT); DIRTY_METHOD_NONE if unknown. */
enum dirty_method decode_dirty_method(unsigned int method);
/* dirty_method_name() of it: "type1", "device", "iommufd"; "none" */
const char *decode_method_name(unsigned int method);
/* Op by exact name (decode_op_name's spelling); -ENOENT if none. */
int decode_op_by_name(const char *name);

/*
 * The event in a ring-buffer record of @size bytes, as the BPF side emits it (a record stops
 * before in[], out[] or ranges[] when those are empty): @data itself when whole, else a copy in
 * @buf with the rest zeroed; NULL when too short to hold an event's header.
 */
const struct vfs_event *decode_record(const void *data, size_t size, struct vfs_event *buf);

/* "iova=0x100000 size=0x100000 ..." for the arguments read at entry, then " => ..." for the
 * results read at exit. Returns the length written (snprintf rules). */
int decode_args_text(const struct vfs_event *ev, char *buf, size_t len);
/* "args" and "result" members into an open JSON object */
void decode_args_json(const struct vfs_event *ev, struct json_writer *jw);

/*
 * One trace line: "HH:MM:SS.uuuuuu pid comm op(args) = ret [latency]". @mono_to_real_ns converts
 * the event's CLOCK_MONOTONIC time to wall-clock time (0: print seconds since boot).
 */
int decode_event_text(const struct vfs_event *ev, int64_t mono_to_real_ns, char *buf, size_t len);
/* One JSON object for the event (a JSON line once the writer closes it). */
void decode_event_json(const struct vfs_event *ev, int64_t mono_to_real_ns, bool kernel_addresses,
		       struct json_writer *jw);

/* DIV_ROUND_UP(length / page_size, 64) * 8: the bitmap bytes a report covers (0 if page_size
 * is 0). */
uint64_t decode_bitmap_bytes(uint64_t length, uint64_t page_size);

#endif
