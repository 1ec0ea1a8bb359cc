/* SPDX-License-Identifier: GPL-2.0 */
/* The clocks every wing reads: monotonic for durations and deadlines, real time for stamps. */
#ifndef VFIOSCOPE_COMMON_CLOCK_H
#define VFIOSCOPE_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds: the clock BPF's bpf_ktime_get_ns() reads too. */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline double clock_mono_s(void)
{
	return clock_mono_ns() / 1e9;
}

/* CLOCK_REALTIME in nanoseconds. */
static inline uint64_t clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
