// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the capability chain of a type1 VFIO_IOMMU_GET_INFO answer, as `track`
 * reads it (vfio_type1_caps). The input is the buffer the kernel filled, of the input's length
 * (so AddressSanitizer sees any read past it): capabilities at any offset, chains that loop or
 * point outside, counts larger than what follows. The windows it keeps must be at most
 * VFIO_MAX_WINDOWS and come from inside the buffer. The kernel aligns capabilities to 4 bytes
 * only (6.1 puts the IOVA range at 0x144): regress-misaligned-cap is that answer, which an
 * 8-byte read through a cast pointer failed under UndefinedBehaviorSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/tracker/vfio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfio_iommu_info info;
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&info, 0, sizeof(info));
	vfio_type1_caps(buf, size, &info);
	if (info.nr_windows > VFIO_MAX_WINDOWS)
		abort();
	free(buf);
	return 0;
}
