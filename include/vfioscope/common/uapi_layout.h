/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where each ioctl argument field the tracer reads (bpf/) and the decoder prints
 * (user/lib/tracer/decode.c) sits: its byte offset from the start of the argument, and its size
 * (NAME_SZ). The BPF side cannot include <linux/vfio.h> or <linux/iommufd.h> next to vmlinux.h,
 * so the facts are written here once, in plain numbers, and user/lib/tracer/uapi_check.c checks
 * every one of them against those headers with _Static_assert: a wrong offset fails the build.
 *
 * Offsets into a VFIO_DEVICE_FEATURE payload or a DIRTY_PAGES GET_BITMAP body count from the
 * start of the whole argument (header included), because that is how both sides hold it.
 * Includable by clang -target bpf (after vmlinux.h) and by gcc alike: numbers only.
 */
#ifndef VFIOSCOPE_COMMON_UAPI_LAYOUT_H
#define VFIOSCOPE_COMMON_UAPI_LAYOUT_H

/* Every VFIO struct starts with argsz, flags; every iommufd struct with size. */
#define VFS_ARGSZ    0
#define VFS_ARGSZ_SZ 4
#define VFS_FLAGS    4
#define VFS_FLAGS_SZ 4

/* ---- type1 container ---- */

/* struct vfio_iommu_type1_info */
#define VFS_IOMMU_INFO_IOVA_PGSIZES    8
#define VFS_IOMMU_INFO_IOVA_PGSIZES_SZ 8
#define VFS_IOMMU_INFO_CAP_OFFSET      16
#define VFS_IOMMU_INFO_CAP_OFFSET_SZ   4

/* struct vfio_iommu_type1_dma_map */
#define VFS_DMA_MAP_VADDR    8
#define VFS_DMA_MAP_VADDR_SZ 8
#define VFS_DMA_MAP_IOVA     16
#define VFS_DMA_MAP_IOVA_SZ  8
#define VFS_DMA_MAP_SIZE     24
#define VFS_DMA_MAP_SIZE_SZ  8

/* struct vfio_iommu_type1_dma_unmap (size is written back: the bytes unmapped) */
#define VFS_DMA_UNMAP_IOVA    8
#define VFS_DMA_UNMAP_IOVA_SZ 8
#define VFS_DMA_UNMAP_SIZE    16
#define VFS_DMA_UNMAP_SIZE_SZ 8

/* struct vfio_iommu_type1_dirty_bitmap, then struct vfio_iommu_type1_dirty_bitmap_get */
#define VFS_DIRTY_DATA	      8
#define VFS_DIRTY_GET_IOVA    (VFS_DIRTY_DATA + 0)
#define VFS_DIRTY_GET_IOVA_SZ 8
#define VFS_DIRTY_GET_SIZE    (VFS_DIRTY_DATA + 8)
#define VFS_DIRTY_GET_SIZE_SZ 8
/* its struct vfio_bitmap */
#define VFS_DIRTY_GET_PGSIZE	     (VFS_DIRTY_DATA + 16)
#define VFS_DIRTY_GET_PGSIZE_SZ	     8
#define VFS_DIRTY_GET_BITMAP_SIZE    (VFS_DIRTY_DATA + 24)
#define VFS_DIRTY_GET_BITMAP_SIZE_SZ 8
#define VFS_DIRTY_GET_BITMAP_DATA    (VFS_DIRTY_DATA + 32)
#define VFS_DIRTY_GET_BITMAP_DATA_SZ 8

/* ---- group ---- */

/* VFIO_GROUP_SET_CONTAINER: the argument points to an int, the container fd */
#define VFS_GROUP_CONTAINER_FD	  0
#define VFS_GROUP_CONTAINER_FD_SZ 4

/* ---- device ---- */

/* struct vfio_device_info */
#define VFS_DEVICE_INFO_NUM_REGIONS    8
#define VFS_DEVICE_INFO_NUM_REGIONS_SZ 4
#define VFS_DEVICE_INFO_NUM_IRQS       12
#define VFS_DEVICE_INFO_NUM_IRQS_SZ    4

/* struct vfio_region_info */
#define VFS_REGION_INFO_INDEX	  8
#define VFS_REGION_INFO_INDEX_SZ  4
#define VFS_REGION_INFO_SIZE	  16
#define VFS_REGION_INFO_SIZE_SZ	  8
#define VFS_REGION_INFO_OFFSET	  24
#define VFS_REGION_INFO_OFFSET_SZ 8

/* struct vfio_irq_info */
#define VFS_IRQ_INFO_INDEX    8
#define VFS_IRQ_INFO_INDEX_SZ 4
#define VFS_IRQ_INFO_COUNT    12
#define VFS_IRQ_INFO_COUNT_SZ 4

/* struct vfio_irq_set */
#define VFS_IRQ_SET_INDEX    8
#define VFS_IRQ_SET_INDEX_SZ 4
#define VFS_IRQ_SET_START    12
#define VFS_IRQ_SET_START_SZ 4
#define VFS_IRQ_SET_COUNT    16
#define VFS_IRQ_SET_COUNT_SZ 4

/* struct vfio_pci_hot_reset_info and struct vfio_pci_hot_reset */
#define VFS_HOT_RESET_INFO_COUNT    8
#define VFS_HOT_RESET_INFO_COUNT_SZ 4
#define VFS_HOT_RESET_COUNT	    8
#define VFS_HOT_RESET_COUNT_SZ	    4

/* struct vfio_device_ioeventfd */
#define VFS_IOEVENTFD_OFFSET	8
#define VFS_IOEVENTFD_OFFSET_SZ 8
#define VFS_IOEVENTFD_DATA	16
#define VFS_IOEVENTFD_DATA_SZ	8
#define VFS_IOEVENTFD_FD	24
#define VFS_IOEVENTFD_FD_SZ	4

/* struct vfio_device_bind_iommufd, struct vfio_device_attach_iommufd_pt */
#define VFS_BIND_IOMMUFD      8
#define VFS_BIND_IOMMUFD_SZ   4
#define VFS_BIND_OUT_DEVID    12
#define VFS_BIND_OUT_DEVID_SZ 4
#define VFS_ATTACH_PT_ID      8
#define VFS_ATTACH_PT_ID_SZ   4

/* ---- device feature (struct vfio_device_feature, then its data) ---- */

#define VFS_FEATURE_DATA 8

/* struct vfio_device_feature_migration */
#define VFS_FEAT_MIGRATION_FLAGS    (VFS_FEATURE_DATA + 0)
#define VFS_FEAT_MIGRATION_FLAGS_SZ 8

/* struct vfio_device_feature_mig_state */
#define VFS_FEAT_MIG_STATE	      (VFS_FEATURE_DATA + 0)
#define VFS_FEAT_MIG_STATE_SZ	      4
#define VFS_FEAT_MIG_STATE_DATA_FD    (VFS_FEATURE_DATA + 4)
#define VFS_FEAT_MIG_STATE_DATA_FD_SZ 4

/* struct vfio_device_feature_mig_data_size */
#define VFS_FEAT_MIG_DATA_SIZE	  (VFS_FEATURE_DATA + 0)
#define VFS_FEAT_MIG_DATA_SIZE_SZ 8

/* struct vfio_precopy_info: VFIO_MIG_GET_PRECOPY_INFO on a migration data fd */
#define VFS_PRECOPY_INITIAL_BYTES    8
#define VFS_PRECOPY_INITIAL_BYTES_SZ 8
#define VFS_PRECOPY_DIRTY_BYTES	     16
#define VFS_PRECOPY_DIRTY_BYTES_SZ   8

/* struct vfio_device_feature_dma_logging_control (START; page_size is written back) */
#define VFS_LOG_CTRL_PAGE_SIZE	   (VFS_FEATURE_DATA + 0)
#define VFS_LOG_CTRL_PAGE_SIZE_SZ  8
#define VFS_LOG_CTRL_NUM_RANGES	   (VFS_FEATURE_DATA + 8)
#define VFS_LOG_CTRL_NUM_RANGES_SZ 4
#define VFS_LOG_CTRL_RANGES	   (VFS_FEATURE_DATA + 16)
#define VFS_LOG_CTRL_RANGES_SZ	   8
/* struct vfio_device_feature_dma_logging_range: the user array START points to */
#define VFS_LOG_RANGE_SZ 16

/* struct vfio_device_feature_dma_logging_report */
#define VFS_LOG_REPORT_IOVA	    (VFS_FEATURE_DATA + 0)
#define VFS_LOG_REPORT_IOVA_SZ	    8
#define VFS_LOG_REPORT_LENGTH	    (VFS_FEATURE_DATA + 8)
#define VFS_LOG_REPORT_LENGTH_SZ    8
#define VFS_LOG_REPORT_PAGE_SIZE    (VFS_FEATURE_DATA + 16)
#define VFS_LOG_REPORT_PAGE_SIZE_SZ 8
#define VFS_LOG_REPORT_BITMAP	    (VFS_FEATURE_DATA + 24)
#define VFS_LOG_REPORT_BITMAP_SZ    8

/* ---- iommufd ---- */

/* struct iommu_destroy */
#define VFS_DESTROY_ID	  4
#define VFS_DESTROY_ID_SZ 4

/* struct iommu_ioas_alloc */
#define VFS_IOAS_ALLOC_OUT_ID	 8
#define VFS_IOAS_ALLOC_OUT_ID_SZ 4

/* struct iommu_ioas_allow_iovas and struct iommu_ioas_iova_ranges (same head) */
#define VFS_IOAS_IOVAS_IOAS_ID	  4
#define VFS_IOAS_IOVAS_IOAS_ID_SZ 4
#define VFS_IOAS_IOVAS_NUM	  8
#define VFS_IOAS_IOVAS_NUM_SZ	  4
/* struct iommu_ioas_iova_ranges only */
#define VFS_IOAS_IOVA_RANGES_ALIGN    24
#define VFS_IOAS_IOVA_RANGES_ALIGN_SZ 8

/* struct iommu_ioas_copy (dst_iova is written back without FIXED_IOVA) */
#define VFS_IOAS_COPY_DST_IOAS	  8
#define VFS_IOAS_COPY_DST_IOAS_SZ 4
#define VFS_IOAS_COPY_SRC_IOAS	  12
#define VFS_IOAS_COPY_SRC_IOAS_SZ 4
#define VFS_IOAS_COPY_LENGTH	  16
#define VFS_IOAS_COPY_LENGTH_SZ	  8
#define VFS_IOAS_COPY_DST_IOVA	  24
#define VFS_IOAS_COPY_DST_IOVA_SZ 8
#define VFS_IOAS_COPY_SRC_IOVA	  32
#define VFS_IOAS_COPY_SRC_IOVA_SZ 8

/* struct iommu_ioas_map (iova is written back without FIXED_IOVA) */
#define VFS_IOAS_MAP_IOAS_ID	8
#define VFS_IOAS_MAP_IOAS_ID_SZ 4
#define VFS_IOAS_MAP_USER_VA	16
#define VFS_IOAS_MAP_USER_VA_SZ 8
#define VFS_IOAS_MAP_LENGTH	24
#define VFS_IOAS_MAP_LENGTH_SZ	8
#define VFS_IOAS_MAP_IOVA	32
#define VFS_IOAS_MAP_IOVA_SZ	8

/* struct iommu_ioas_unmap (length is written back: the bytes unmapped) */
#define VFS_IOAS_UNMAP_IOAS_ID	  4
#define VFS_IOAS_UNMAP_IOAS_ID_SZ 4
#define VFS_IOAS_UNMAP_IOVA	  8
#define VFS_IOAS_UNMAP_IOVA_SZ	  8
#define VFS_IOAS_UNMAP_LENGTH	  16
#define VFS_IOAS_UNMAP_LENGTH_SZ  8

/* struct iommu_option */
#define VFS_OPTION_ID		4
#define VFS_OPTION_ID_SZ	4
#define VFS_OPTION_OP		8
#define VFS_OPTION_OP_SZ	2
#define VFS_OPTION_OBJECT_ID	12
#define VFS_OPTION_OBJECT_ID_SZ 4
#define VFS_OPTION_VAL64	16
#define VFS_OPTION_VAL64_SZ	8

/* struct iommu_vfio_ioas */
#define VFS_VFIO_IOAS_ID    4
#define VFS_VFIO_IOAS_ID_SZ 4
#define VFS_VFIO_IOAS_OP    8
#define VFS_VFIO_IOAS_OP_SZ 2

/* struct iommu_hwpt_alloc */
#define VFS_HWPT_ALLOC_DEV_ID	      8
#define VFS_HWPT_ALLOC_DEV_ID_SZ      4
#define VFS_HWPT_ALLOC_PT_ID	      12
#define VFS_HWPT_ALLOC_PT_ID_SZ	      4
#define VFS_HWPT_ALLOC_OUT_HWPT_ID    16
#define VFS_HWPT_ALLOC_OUT_HWPT_ID_SZ 4

/* struct iommu_hw_info */
#define VFS_HW_INFO_DEV_ID	     8
#define VFS_HW_INFO_DEV_ID_SZ	     4
#define VFS_HW_INFO_OUT_DATA_TYPE    24
#define VFS_HW_INFO_OUT_DATA_TYPE_SZ 4
#define VFS_HW_INFO_OUT_CAPS	     32
#define VFS_HW_INFO_OUT_CAPS_SZ	     8

/* struct iommu_hwpt_set_dirty_tracking */
#define VFS_HWPT_DIRTY_TRACK_HWPT_ID	8
#define VFS_HWPT_DIRTY_TRACK_HWPT_ID_SZ 4
/* IOMMU_HWPT_DIRTY_TRACKING_ENABLE, in its flags */
#define VFS_HWPT_DIRTY_TRACKING_ENABLE 1U
/* IOMMU_HWPT_ALLOC_DIRTY_TRACKING, in struct iommu_hwpt_alloc's flags */
#define VFS_HWPT_ALLOC_DIRTY_TRACKING 2U

/* struct iommu_hwpt_get_dirty_bitmap */
#define VFS_HWPT_BITMAP_HWPT_ID	     4
#define VFS_HWPT_BITMAP_HWPT_ID_SZ   4
#define VFS_HWPT_BITMAP_FLAGS	     8
#define VFS_HWPT_BITMAP_FLAGS_SZ     4
#define VFS_HWPT_BITMAP_IOVA	     16
#define VFS_HWPT_BITMAP_IOVA_SZ	     8
#define VFS_HWPT_BITMAP_LENGTH	     24
#define VFS_HWPT_BITMAP_LENGTH_SZ    8
#define VFS_HWPT_BITMAP_PAGE_SIZE    32
#define VFS_HWPT_BITMAP_PAGE_SIZE_SZ 8
#define VFS_HWPT_BITMAP_DATA	     40
#define VFS_HWPT_BITMAP_DATA_SZ	     8

/* struct iommu_hwpt_invalidate */
#define VFS_HWPT_INVAL_HWPT_ID	  4
#define VFS_HWPT_INVAL_HWPT_ID_SZ 4

/* The largest offset + size above is 48 (GET_BITMAP's data, GET_DIRTY_BITMAP's data): an event
 * copies VFS_ARG_BYTES (64) of the argument. */
#define VFS_LAYOUT_END 48

#endif
