/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device DMA logging on one VFIO device fd (VFIO_DEVICE_FEATURE ids 6/7/8). Every call
 * returns 0 or -errno, and prints nothing: the tracker names the step and the device.
 * The policy across devices (all or none, rollback) lives in the tracker.
 */
#ifndef VFIOSCOPE_DEVLOG_H
#define VFIOSCOPE_DEVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "vfioscope/common/ranges.h"

/* PROBE | SET of DMA_LOGGING_START, header only: 0 = supported, -ENOTTY = no log_ops. */
int devlog_probe(int devfd);
/*
 * DMA_LOGGING_START over ranges, with page_size as the hint; the driver may write another
 * page size back into *page_size. -E2BIG past the kernel's limit (a page of range structs).
 */
int devlog_start(int devfd, const struct iova_range *ranges, size_t nr, uint64_t *page_size);
int devlog_stop(int devfd);
/*
 * DMA_LOGGING_REPORT: reads and clears the log of [iova, iova + length) into bitmap (one bit
 * per page_size page). The kernel only sets bits: the caller zeroes the bitmap first.
 */
int devlog_report(int devfd, uint64_t iova, uint64_t length, uint64_t page_size, uint64_t *bitmap);
/* How many ranges the kernel guarantees to take: PAGE_SIZE / sizeof(range). */
size_t devlog_max_ranges(void);

#endif
