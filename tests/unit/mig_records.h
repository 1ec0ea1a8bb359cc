/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration records as the tracer's BPF side writes them (struct vfs_mig_event), for the unit
 * tests of the migration view and the landing page's timeline.
 */
#ifndef VFIOSCOPE_TEST_MIG_RECORDS_H
#define VFIOSCOPE_TEST_MIG_RECORDS_H

#include <stdint.h>
#include <string.h>

#include "vfioscope/tracer/events.h"

#define MS 1000000ULL

/* VFIO_DEVICE_STATE_* as the uAPI numbers them */
enum {
	STOP = 1,
	RUNNING = 2,
	STOP_COPY = 3,
	RESUMING = 4,
	PRE_COPY = 6
};

/* One record of @device named @name, by QEMU (pid 42), 1 us long, at @ts_ms. */
static inline struct vfs_mig_event mig_record(uint64_t device, const char *name, uint16_t type,
					      uint64_t ts_ms)
{
	struct vfs_mig_event e = { .device = device,
				   .type = type,
				   .ts_ns = ts_ms * MS,
				   .latency_ns = 1000,
				   .pid = 42,
				   .data_fd = -1,
				   .state = VFS_MIG_STATE_UNKNOWN,
				   .prev_state = VFS_MIG_STATE_UNKNOWN };

	strcpy(e.comm, "qemu-system-x86");
	strncpy(e.device_name, name, sizeof(e.device_name) - 1);
	return e;
}

#endif
