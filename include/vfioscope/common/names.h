/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one vocabulary for what a container is and how its dirty pages are found. `state`,
 * `trace`, `track`, the metrics' `backend` and `method` labels and the landing page all name
 * things through these functions, so they agree for the same container.
 */
#ifndef VFIOSCOPE_COMMON_NAMES_H
#define VFIOSCOPE_COMMON_NAMES_H

#include <stdbool.h>

/*
 * The backend of a container: "iommufd" for /dev/iommu (native or as a VFIO container), else
 * the VFIO_SET_IOMMU type: "type1", "type1v2", "noiommu", "spapr_tce", "spapr_tce_v2";
 * "unknown" before VFIO_SET_IOMMU, "other" for a type this build does not know.
 */
const char *backend_name(unsigned int vfio_iommu_type, bool iommufd);

/* How dirty pages are found: the `method` label everywhere. */
enum dirty_method {
	DIRTY_METHOD_NONE,
	DIRTY_METHOD_DEVICE, /* device DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*) */
	DIRTY_METHOD_TYPE1, /* the type1 IOMMU driver (VFIO_IOMMU_DIRTY_PAGES) */
	DIRTY_METHOD_IOMMUFD, /* iommufd HWPT dirty tracking (IOMMU_HWPT_*_DIRTY_*) */
	DIRTY_METHOD_PERPETUAL, /* no tracker: every mapped page is dirty on every sync */
	DIRTY_METHODS
};

/* "device", "type1", "iommufd", "perpetual"; "none" */
const char *dirty_method_name(enum dirty_method m);

#endif
