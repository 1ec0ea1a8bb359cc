/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test aids: code that exists so vfioscope can be tested without a real VM, kept out of the
 * library's wings. The edu workload (track --workload) makes QEMU's edu device DMA into mapped
 * memory so dirty pages appear on demand; the simulator (serve --simulate) feeds synthetic
 * containers to the exporter for benches and page checks. Neither measures anything real.
 */
#ifndef VFIOSCOPE_CMD_TESTAID_H
#define VFIOSCOPE_CMD_TESTAID_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct vfio_dev;
struct guest_ram;
struct vfio_metrics;

#define EDU_MAX_TARGETS 64

struct edu_target {
	uint64_t iova;
	uint32_t len;
};

struct edu_workload {
	struct edu_target targets[EDU_MAX_TARGETS];
	size_t nr;
};

/*
 * "edu:IOVA[+LEN],...": 0, or -EINVAL / -ERANGE / -E2BIG with @why (a static string) saying
 * what is wrong, for the one line the command prints.
 */
int edu_workload_parse(const char *s, struct edu_workload *w, const char **why);
/* Checks the device is edu and turns on bus mastering. Prints what is wrong; 0 or -errno. */
int edu_prepare(struct vfio_dev *d);
/* Every target must land inside one mapped RAM section. */
int edu_check_targets(const struct edu_workload *w, const struct guest_ram *ram);
/* DMA to every target, waiting for each; stops early once *stop is set (may be NULL). */
int edu_run(struct vfio_dev *d, const struct edu_workload *w, const volatile sig_atomic_t *stop);

/*
 * SIMULATOR (serve --simulate): feeds @ncontainers containers named "synthetic-N" with a
 * deterministic workload, one step per call: container i maps (i+1) GiB in two ranges (half,
 * at most 3 GiB, below 4 GiB; the rest from 4 GiB), runs device dirty tracking, and each step
 * syncs once reporting 256*(i+1) dirty pages in ((i % 8)+1) * 100 us with a bitmap of its
 * mapped size / 32768 bytes.
 */
int testaid_simulate(struct vfio_metrics *vm, int ncontainers, uint64_t step);

#endif
