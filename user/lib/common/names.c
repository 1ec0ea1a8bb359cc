// SPDX-License-Identifier: GPL-2.0
#include <linux/vfio.h>

#include "vfioscope/common/names.h"

const char *backend_name(unsigned int vfio_iommu_type, bool iommufd)
{
	if (iommufd)
		return "iommufd";
	switch (vfio_iommu_type) {
	case 0:
		return "unknown";
	case VFIO_TYPE1_IOMMU:
		return "type1";
	case VFIO_TYPE1v2_IOMMU:
		return "type1v2";
	case VFIO_SPAPR_TCE_IOMMU:
		return "spapr_tce";
	case VFIO_SPAPR_TCE_v2_IOMMU:
		return "spapr_tce_v2";
	case VFIO_NOIOMMU_IOMMU:
		return "noiommu";
	}
	return "other";
}

const char *dirty_method_name(enum dirty_method m)
{
	static const char *const names[DIRTY_METHODS] = {
		[DIRTY_METHOD_NONE] = "none",		[DIRTY_METHOD_DEVICE] = "device",
		[DIRTY_METHOD_TYPE1] = "type1",		[DIRTY_METHOD_IOMMUFD] = "iommufd",
		[DIRTY_METHOD_PERPETUAL] = "perpetual",
	};

	return (unsigned int)m < DIRTY_METHODS ? names[m] : "none";
}
