// SPDX-License-Identifier: GPL-2.0
/*
 * Build-time proof of include/vfioscope/common/uapi_layout.h: each offset and size the BPF
 * tracer reads and the decoder prints is checked against the kernel's own uAPI headers. Nothing
 * here runs; a wrong number stops the build at the line that names the field.
 */
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stddef.h>

#include "vfioscope/common/uapi_layout.h"
#include "vfioscope/tracer/events.h"

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* @name is offsetof(@type, @field) + @base, and @name##_SZ its size. One macro level only: an
 * argument passed on to another macro would be expanded to its number before ## sees it. */
#define CHECK_AT(base, type, field, name)                                \
	_Static_assert((name) == (base) + offsetof(type, field),         \
		       #name " is not the offset of " #type "." #field); \
	_Static_assert(name##_SZ == FIELD_SIZE(type, field),             \
		       #name "_SZ is not the size of " #type "." #field)
#define CHECK(type, field, name)                                         \
	_Static_assert((name) == offsetof(type, field),                  \
		       #name " is not the offset of " #type "." #field); \
	_Static_assert(name##_SZ == FIELD_SIZE(type, field),             \
		       #name "_SZ is not the size of " #type "." #field)

/* argsz/size and flags heads */
#define CHECK_HEAD(type, first)                                         \
	_Static_assert(VFS_ARGSZ == offsetof(type, first) &&            \
			       VFS_ARGSZ_SZ == FIELD_SIZE(type, first), \
		       #type "." #first " is not VFS_ARGSZ")
#define CHECK_FLAGS(type)                                               \
	_Static_assert(VFS_FLAGS == offsetof(type, flags) &&            \
			       VFS_FLAGS_SZ == FIELD_SIZE(type, flags), \
		       #type ".flags is not VFS_FLAGS")

CHECK_HEAD(struct vfio_iommu_type1_info, argsz);
CHECK_FLAGS(struct vfio_iommu_type1_info);
CHECK(struct vfio_iommu_type1_info, iova_pgsizes, VFS_IOMMU_INFO_IOVA_PGSIZES);
CHECK(struct vfio_iommu_type1_info, cap_offset, VFS_IOMMU_INFO_CAP_OFFSET);

CHECK_HEAD(struct vfio_iommu_type1_dma_map, argsz);
CHECK_FLAGS(struct vfio_iommu_type1_dma_map);
CHECK(struct vfio_iommu_type1_dma_map, vaddr, VFS_DMA_MAP_VADDR);
CHECK(struct vfio_iommu_type1_dma_map, iova, VFS_DMA_MAP_IOVA);
CHECK(struct vfio_iommu_type1_dma_map, size, VFS_DMA_MAP_SIZE);

CHECK_HEAD(struct vfio_iommu_type1_dma_unmap, argsz);
CHECK_FLAGS(struct vfio_iommu_type1_dma_unmap);
CHECK(struct vfio_iommu_type1_dma_unmap, iova, VFS_DMA_UNMAP_IOVA);
CHECK(struct vfio_iommu_type1_dma_unmap, size, VFS_DMA_UNMAP_SIZE);

CHECK_HEAD(struct vfio_iommu_type1_dirty_bitmap, argsz);
CHECK_FLAGS(struct vfio_iommu_type1_dirty_bitmap);
_Static_assert(VFS_DIRTY_DATA == offsetof(struct vfio_iommu_type1_dirty_bitmap, data),
	       "VFS_DIRTY_DATA is not the offset of vfio_iommu_type1_dirty_bitmap.data");
CHECK_AT(VFS_DIRTY_DATA, struct vfio_iommu_type1_dirty_bitmap_get, iova, VFS_DIRTY_GET_IOVA);
CHECK_AT(VFS_DIRTY_DATA, struct vfio_iommu_type1_dirty_bitmap_get, size, VFS_DIRTY_GET_SIZE);
CHECK_AT(VFS_DIRTY_DATA, struct vfio_iommu_type1_dirty_bitmap_get, bitmap.pgsize,
	 VFS_DIRTY_GET_PGSIZE);
CHECK_AT(VFS_DIRTY_DATA, struct vfio_iommu_type1_dirty_bitmap_get, bitmap.size,
	 VFS_DIRTY_GET_BITMAP_SIZE);
CHECK_AT(VFS_DIRTY_DATA, struct vfio_iommu_type1_dirty_bitmap_get, bitmap.data,
	 VFS_DIRTY_GET_BITMAP_DATA);

_Static_assert(VFS_GROUP_CONTAINER_FD == 0 && VFS_GROUP_CONTAINER_FD_SZ == sizeof(int),
	       "VFIO_GROUP_SET_CONTAINER takes an int *");
CHECK_FLAGS(struct vfio_group_status);

CHECK_FLAGS(struct vfio_device_info);
CHECK(struct vfio_device_info, num_regions, VFS_DEVICE_INFO_NUM_REGIONS);
CHECK(struct vfio_device_info, num_irqs, VFS_DEVICE_INFO_NUM_IRQS);
CHECK_FLAGS(struct vfio_region_info);
CHECK(struct vfio_region_info, index, VFS_REGION_INFO_INDEX);
CHECK(struct vfio_region_info, size, VFS_REGION_INFO_SIZE);
CHECK(struct vfio_region_info, offset, VFS_REGION_INFO_OFFSET);
CHECK_FLAGS(struct vfio_irq_info);
CHECK(struct vfio_irq_info, index, VFS_IRQ_INFO_INDEX);
CHECK(struct vfio_irq_info, count, VFS_IRQ_INFO_COUNT);
CHECK_FLAGS(struct vfio_irq_set);
CHECK(struct vfio_irq_set, index, VFS_IRQ_SET_INDEX);
CHECK(struct vfio_irq_set, start, VFS_IRQ_SET_START);
CHECK(struct vfio_irq_set, count, VFS_IRQ_SET_COUNT);
CHECK(struct vfio_pci_hot_reset_info, count, VFS_HOT_RESET_INFO_COUNT);
CHECK(struct vfio_pci_hot_reset, count, VFS_HOT_RESET_COUNT);
CHECK_FLAGS(struct vfio_device_ioeventfd);
CHECK(struct vfio_device_ioeventfd, offset, VFS_IOEVENTFD_OFFSET);
CHECK(struct vfio_device_ioeventfd, data, VFS_IOEVENTFD_DATA);
CHECK(struct vfio_device_ioeventfd, fd, VFS_IOEVENTFD_FD);
CHECK_FLAGS(struct vfio_device_bind_iommufd);
CHECK(struct vfio_device_bind_iommufd, iommufd, VFS_BIND_IOMMUFD);
CHECK(struct vfio_device_bind_iommufd, out_devid, VFS_BIND_OUT_DEVID);
CHECK_FLAGS(struct vfio_device_attach_iommufd_pt);
CHECK(struct vfio_device_attach_iommufd_pt, pt_id, VFS_ATTACH_PT_ID);

CHECK_HEAD(struct vfio_device_feature, argsz);
CHECK_FLAGS(struct vfio_device_feature);
_Static_assert(VFS_FEATURE_DATA == offsetof(struct vfio_device_feature, data),
	       "VFS_FEATURE_DATA is not the offset of vfio_device_feature.data");
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_migration, flags, VFS_FEAT_MIGRATION_FLAGS);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_mig_state, device_state, VFS_FEAT_MIG_STATE);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_mig_state, data_fd,
	 VFS_FEAT_MIG_STATE_DATA_FD);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_mig_data_size, stop_copy_length,
	 VFS_FEAT_MIG_DATA_SIZE);
CHECK(struct vfio_precopy_info, initial_bytes, VFS_PRECOPY_INITIAL_BYTES);
CHECK(struct vfio_precopy_info, dirty_bytes, VFS_PRECOPY_DIRTY_BYTES);
_Static_assert(VFS_MIG_PRECOPY_INFO_CMD == VFIO_MIG_GET_PRECOPY_INFO,
	       "VFS_MIG_PRECOPY_INFO_CMD is not VFIO_MIG_GET_PRECOPY_INFO");
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_control, page_size,
	 VFS_LOG_CTRL_PAGE_SIZE);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_control, num_ranges,
	 VFS_LOG_CTRL_NUM_RANGES);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_control, ranges,
	 VFS_LOG_CTRL_RANGES);
_Static_assert(VFS_LOG_RANGE_SZ == sizeof(struct vfio_device_feature_dma_logging_range),
	       "VFS_LOG_RANGE_SZ is not sizeof(struct vfio_device_feature_dma_logging_range)");
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_report, iova,
	 VFS_LOG_REPORT_IOVA);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_report, length,
	 VFS_LOG_REPORT_LENGTH);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_report, page_size,
	 VFS_LOG_REPORT_PAGE_SIZE);
CHECK_AT(VFS_FEATURE_DATA, struct vfio_device_feature_dma_logging_report, bitmap,
	 VFS_LOG_REPORT_BITMAP);

CHECK_HEAD(struct iommu_destroy, size);
CHECK(struct iommu_destroy, id, VFS_DESTROY_ID);
CHECK_HEAD(struct iommu_ioas_alloc, size);
CHECK_FLAGS(struct iommu_ioas_alloc);
CHECK(struct iommu_ioas_alloc, out_ioas_id, VFS_IOAS_ALLOC_OUT_ID);
CHECK(struct iommu_ioas_allow_iovas, ioas_id, VFS_IOAS_IOVAS_IOAS_ID);
CHECK(struct iommu_ioas_allow_iovas, num_iovas, VFS_IOAS_IOVAS_NUM);
CHECK(struct iommu_ioas_iova_ranges, ioas_id, VFS_IOAS_IOVAS_IOAS_ID);
CHECK(struct iommu_ioas_iova_ranges, num_iovas, VFS_IOAS_IOVAS_NUM);
CHECK(struct iommu_ioas_iova_ranges, out_iova_alignment, VFS_IOAS_IOVA_RANGES_ALIGN);
CHECK_FLAGS(struct iommu_ioas_copy);
CHECK(struct iommu_ioas_copy, dst_ioas_id, VFS_IOAS_COPY_DST_IOAS);
CHECK(struct iommu_ioas_copy, src_ioas_id, VFS_IOAS_COPY_SRC_IOAS);
CHECK(struct iommu_ioas_copy, length, VFS_IOAS_COPY_LENGTH);
CHECK(struct iommu_ioas_copy, dst_iova, VFS_IOAS_COPY_DST_IOVA);
CHECK(struct iommu_ioas_copy, src_iova, VFS_IOAS_COPY_SRC_IOVA);
CHECK_HEAD(struct iommu_ioas_map, size);
CHECK_FLAGS(struct iommu_ioas_map);
CHECK(struct iommu_ioas_map, ioas_id, VFS_IOAS_MAP_IOAS_ID);
CHECK(struct iommu_ioas_map, user_va, VFS_IOAS_MAP_USER_VA);
CHECK(struct iommu_ioas_map, length, VFS_IOAS_MAP_LENGTH);
CHECK(struct iommu_ioas_map, iova, VFS_IOAS_MAP_IOVA);
CHECK(struct iommu_ioas_unmap, ioas_id, VFS_IOAS_UNMAP_IOAS_ID);
CHECK(struct iommu_ioas_unmap, iova, VFS_IOAS_UNMAP_IOVA);
CHECK(struct iommu_ioas_unmap, length, VFS_IOAS_UNMAP_LENGTH);
CHECK(struct iommu_option, option_id, VFS_OPTION_ID);
CHECK(struct iommu_option, op, VFS_OPTION_OP);
CHECK(struct iommu_option, object_id, VFS_OPTION_OBJECT_ID);
CHECK(struct iommu_option, val64, VFS_OPTION_VAL64);
CHECK(struct iommu_vfio_ioas, ioas_id, VFS_VFIO_IOAS_ID);
CHECK(struct iommu_vfio_ioas, op, VFS_VFIO_IOAS_OP);
CHECK_FLAGS(struct iommu_hwpt_alloc);
CHECK(struct iommu_hwpt_alloc, dev_id, VFS_HWPT_ALLOC_DEV_ID);
CHECK(struct iommu_hwpt_alloc, pt_id, VFS_HWPT_ALLOC_PT_ID);
CHECK(struct iommu_hwpt_alloc, out_hwpt_id, VFS_HWPT_ALLOC_OUT_HWPT_ID);
CHECK_FLAGS(struct iommu_hw_info);
CHECK(struct iommu_hw_info, dev_id, VFS_HW_INFO_DEV_ID);
CHECK(struct iommu_hw_info, out_data_type, VFS_HW_INFO_OUT_DATA_TYPE);
CHECK(struct iommu_hw_info, out_capabilities, VFS_HW_INFO_OUT_CAPS);
CHECK_FLAGS(struct iommu_hwpt_set_dirty_tracking);
CHECK(struct iommu_hwpt_set_dirty_tracking, hwpt_id, VFS_HWPT_DIRTY_TRACK_HWPT_ID);
_Static_assert(VFS_HWPT_DIRTY_TRACKING_ENABLE == IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	       "VFS_HWPT_DIRTY_TRACKING_ENABLE");
_Static_assert(VFS_HWPT_ALLOC_DIRTY_TRACKING == IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	       "VFS_HWPT_ALLOC_DIRTY_TRACKING");
CHECK(struct iommu_hwpt_get_dirty_bitmap, hwpt_id, VFS_HWPT_BITMAP_HWPT_ID);
CHECK(struct iommu_hwpt_get_dirty_bitmap, flags, VFS_HWPT_BITMAP_FLAGS);
CHECK(struct iommu_hwpt_get_dirty_bitmap, iova, VFS_HWPT_BITMAP_IOVA);
CHECK(struct iommu_hwpt_get_dirty_bitmap, length, VFS_HWPT_BITMAP_LENGTH);
CHECK(struct iommu_hwpt_get_dirty_bitmap, page_size, VFS_HWPT_BITMAP_PAGE_SIZE);
CHECK(struct iommu_hwpt_get_dirty_bitmap, data, VFS_HWPT_BITMAP_DATA);
CHECK(struct iommu_hwpt_invalidate, hwpt_id, VFS_HWPT_INVAL_HWPT_ID);

/* Every field above fits in the bytes an event copies. */
_Static_assert(VFS_LAYOUT_END <= VFS_ARG_BYTES, "an event copies fewer bytes than the layout uses");
_Static_assert(VFS_HWPT_BITMAP_DATA + VFS_HWPT_BITMAP_DATA_SZ == VFS_LAYOUT_END &&
		       VFS_DIRTY_GET_BITMAP_DATA + VFS_DIRTY_GET_BITMAP_DATA_SZ == VFS_LAYOUT_END,
	       "VFS_LAYOUT_END is not the end of the last field");

/* The flag bits the BPF side tests, from events.h. */
_Static_assert(VFS_FEATURE_MASK == VFIO_DEVICE_FEATURE_MASK, "VFS_FEATURE_MASK");
_Static_assert(VFS_FEATURE_PROBE == VFIO_DEVICE_FEATURE_PROBE, "VFS_FEATURE_PROBE");
_Static_assert(VFS_DIRTY_START_FLAG == VFIO_IOMMU_DIRTY_PAGES_FLAG_START, "VFS_DIRTY_START_FLAG");
_Static_assert(VFS_DIRTY_STOP_FLAG == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, "VFS_DIRTY_STOP_FLAG");
_Static_assert(VFS_DIRTY_GET_FLAG == VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, "VFS_DIRTY_GET_FLAG");
_Static_assert(VFS_UNMAP_FLAG_ALL == VFIO_DMA_UNMAP_FLAG_ALL, "VFS_UNMAP_FLAG_ALL");
_Static_assert(VFS_UNMAP_FLAG_VADDR == VFIO_DMA_UNMAP_FLAG_VADDR, "VFS_UNMAP_FLAG_VADDR");
_Static_assert(VFS_MAP_FLAG_VADDR == VFIO_DMA_MAP_FLAG_VADDR, "VFS_MAP_FLAG_VADDR");
_Static_assert(VFS_IOAS_MAP_FIXED_IOVA == IOMMU_IOAS_MAP_FIXED_IOVA, "VFS_IOAS_MAP_FIXED_IOVA");
