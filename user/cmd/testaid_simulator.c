// SPDX-License-Identifier: GPL-2.0
/*
 * Test aid: the metrics simulator behind serve --simulate (and bench/metrics_render). It makes
 * up containers; nothing it exports was observed.
 */
#include <stdio.h>

#include <linux/vfio.h>

#include "testaid.h"
#include "vfioscope/common/names.h"
#include "vfioscope/exporter/vfio_metrics.h"

static void simulate_container(struct vfio_metrics *vm, const char *id, int i,
			       const struct vfio_metrics_tracking *t)
{
	char dev[16];

	snprintf(dev, sizeof(dev), "0000:%02x:00.0", (i % 255) + 1);
	vfio_metrics__container(vm, id, 1000 + i, "synthetic-vm",
				backend_name(VFIO_TYPE1v2_IOMMU, false));
	vfio_metrics__device(vm, dev, "edu-vfio-pci", id);
	vfio_metrics__mappings(vm, id, t->tracked_bytes, t->nranges);
	vfio_metrics__tracking(vm, id, dirty_method_name(DIRTY_METHOD_DEVICE), t);
}

int testaid_simulate(struct vfio_metrics *vm, int ncontainers, uint64_t step)
{
	const uint64_t gib = 1ULL << 30;

	for (int i = 0; i < ncontainers; i++) {
		char id[32];
		uint64_t mapped = (uint64_t)(i + 1) * gib;
		/* Like a VM: half below 4 GiB (at most 3 GiB), the rest from 4 GiB up. */
		uint64_t low = mapped / 2 < 3 * gib ? mapped / 2 : 3 * gib;
		struct vfio_metrics_tracking t = {
			.active = true,
			.tracked_bytes = mapped,
			.nranges = mapped > low ? 2 : 1,
			.start32 = 0,
			.len32 = low,
			.start64 = 4 * gib,
			.len64 = mapped - low,
		};
		int err;

		snprintf(id, sizeof(id), "synthetic-%d", i);
		if (step == 0)
			simulate_container(vm, id, i, &t);
		err = vfio_metrics__sync(vm, id, dirty_method_name(DIRTY_METHOD_DEVICE),
					 ((i % 8) + 1) * 100000ULL, 256ULL * (i + 1),
					 mapped / 4096 / 8);
		if (err)
			return err;
	}
	return 0;
}
