// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/vfio.h>

#include "vfioscope/common/names.h"
#include "vfioscope/common/strbuf.h"
#include "vfioscope/common/uapi_layout.h"
#include "vfioscope/tracer/decode.h"

static const char *const op_names[VFS_OPS] = {
	[VFS_OP_UNKNOWN] = "?",
	[VFS_OP_GET_API_VERSION] = "VFIO_GET_API_VERSION",
	[VFS_OP_CHECK_EXTENSION] = "VFIO_CHECK_EXTENSION",
	[VFS_OP_SET_IOMMU] = "VFIO_SET_IOMMU",
	[VFS_OP_IOMMU_GET_INFO] = "VFIO_IOMMU_GET_INFO",
	[VFS_OP_MAP_DMA] = "VFIO_IOMMU_MAP_DMA",
	[VFS_OP_UNMAP_DMA] = "VFIO_IOMMU_UNMAP_DMA",
	[VFS_OP_DIRTY_PAGES] = "VFIO_IOMMU_DIRTY_PAGES",
	[VFS_OP_DIRTY_START] = "VFIO_IOMMU_DIRTY_PAGES[START]",
	[VFS_OP_DIRTY_STOP] = "VFIO_IOMMU_DIRTY_PAGES[STOP]",
	[VFS_OP_DIRTY_GET_BITMAP] = "VFIO_IOMMU_DIRTY_PAGES[GET_BITMAP]",
	[VFS_OP_GROUP_GET_STATUS] = "VFIO_GROUP_GET_STATUS",
	[VFS_OP_GROUP_SET_CONTAINER] = "VFIO_GROUP_SET_CONTAINER",
	[VFS_OP_GROUP_UNSET_CONTAINER] = "VFIO_GROUP_UNSET_CONTAINER",
	[VFS_OP_GROUP_GET_DEVICE_FD] = "VFIO_GROUP_GET_DEVICE_FD",
	[VFS_OP_DEVICE_GET_INFO] = "VFIO_DEVICE_GET_INFO",
	[VFS_OP_DEVICE_GET_REGION_INFO] = "VFIO_DEVICE_GET_REGION_INFO",
	[VFS_OP_DEVICE_GET_IRQ_INFO] = "VFIO_DEVICE_GET_IRQ_INFO",
	[VFS_OP_DEVICE_SET_IRQS] = "VFIO_DEVICE_SET_IRQS",
	[VFS_OP_DEVICE_RESET] = "VFIO_DEVICE_RESET",
	[VFS_OP_DEVICE_GET_PCI_HOT_RESET_INFO] = "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO",
	[VFS_OP_DEVICE_PCI_HOT_RESET] = "VFIO_DEVICE_PCI_HOT_RESET",
	[VFS_OP_DEVICE_QUERY_GFX_PLANE] = "VFIO_DEVICE_QUERY_GFX_PLANE",
	[VFS_OP_DEVICE_GET_GFX_DMABUF] = "VFIO_DEVICE_GET_GFX_DMABUF",
	[VFS_OP_DEVICE_IOEVENTFD] = "VFIO_DEVICE_IOEVENTFD",
	[VFS_OP_DEVICE_FEATURE] = "VFIO_DEVICE_FEATURE",
	[VFS_OP_FEATURE_MIGRATION] = "VFIO_DEVICE_FEATURE[MIGRATION]",
	[VFS_OP_FEATURE_MIG_DEVICE_STATE] = "VFIO_DEVICE_FEATURE[MIG_DEVICE_STATE]",
	[VFS_OP_FEATURE_MIG_DATA_SIZE] = "VFIO_DEVICE_FEATURE[MIG_DATA_SIZE]",
	[VFS_OP_DMA_LOGGING_START] = "VFIO_DEVICE_FEATURE[DMA_LOGGING_START]",
	[VFS_OP_DMA_LOGGING_STOP] = "VFIO_DEVICE_FEATURE[DMA_LOGGING_STOP]",
	[VFS_OP_DMA_LOGGING_REPORT] = "VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]",
	[VFS_OP_DEVICE_BIND_IOMMUFD] = "VFIO_DEVICE_BIND_IOMMUFD",
	[VFS_OP_DEVICE_ATTACH_IOMMUFD_PT] = "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
	[VFS_OP_DEVICE_DETACH_IOMMUFD_PT] = "VFIO_DEVICE_DETACH_IOMMUFD_PT",
	[VFS_OP_IOMMU_DESTROY] = "IOMMU_DESTROY",
	[VFS_OP_IOAS_ALLOC] = "IOMMU_IOAS_ALLOC",
	[VFS_OP_IOAS_ALLOW_IOVAS] = "IOMMU_IOAS_ALLOW_IOVAS",
	[VFS_OP_IOAS_COPY] = "IOMMU_IOAS_COPY",
	[VFS_OP_IOAS_IOVA_RANGES] = "IOMMU_IOAS_IOVA_RANGES",
	[VFS_OP_IOAS_MAP] = "IOMMU_IOAS_MAP",
	[VFS_OP_IOAS_UNMAP] = "IOMMU_IOAS_UNMAP",
	[VFS_OP_IOMMU_OPTION] = "IOMMU_OPTION",
	[VFS_OP_IOMMU_VFIO_IOAS] = "IOMMU_VFIO_IOAS",
	[VFS_OP_HWPT_ALLOC] = "IOMMU_HWPT_ALLOC",
	[VFS_OP_GET_HW_INFO] = "IOMMU_GET_HW_INFO",
	[VFS_OP_HWPT_SET_DIRTY_TRACKING] = "IOMMU_HWPT_SET_DIRTY_TRACKING",
	[VFS_OP_HWPT_GET_DIRTY_BITMAP] = "IOMMU_HWPT_GET_DIRTY_BITMAP",
	[VFS_OP_HWPT_INVALIDATE] = "IOMMU_HWPT_INVALIDATE",
};

const char *decode_op_name(unsigned int op)
{
	return op < VFS_OPS && op_names[op] ? op_names[op] : "?";
}

int decode_op_by_name(const char *name)
{
	for (int i = 1; i < VFS_OPS; i++)
		if (!strcmp(op_names[i], name))
			return i;
	return -ENOENT;
}

const char *decode_kind_name(unsigned int kind)
{
	static const char *const names[VFS_KINDS] = { "unknown", "container", "group", "device",
						      "iommufd" };

	return kind < VFS_KINDS ? names[kind] : "unknown";
}

enum dirty_method decode_dirty_method(unsigned int method)
{
	switch (method) {
	case VFS_DIRTY_TYPE1:
		return DIRTY_METHOD_TYPE1;
	case VFS_DIRTY_DEVICE:
		return DIRTY_METHOD_DEVICE;
	case VFS_DIRTY_HWPT:
		return DIRTY_METHOD_IOMMUFD;
	}
	return DIRTY_METHOD_NONE;
}

const char *decode_method_name(unsigned int method)
{
	return dirty_method_name(decode_dirty_method(method));
}

const struct vfs_event *decode_record(const void *data, size_t size, struct vfs_event *buf)
{
	if (size < offsetof(struct vfs_event, in))
		return NULL;
	if (size >= sizeof(*buf))
		return data;
	memcpy(buf, data, size);
	memset((char *)buf + size, 0, sizeof(*buf) - size);
	return buf;
}

uint64_t decode_bitmap_bytes(uint64_t length, uint64_t page_size)
{
	if (!page_size)
		return 0;
	return (length / page_size + 63) / 64 * 8;
}

/* ---- the field table ---- */

enum fmt {
	F_END = 0,
	F_U16,
	F_U32,
	F_S32,
	F_U64,
	F_HEX32,
	F_HEX64,
	F_STR, /* NUL-terminated string at the offset */
	F_ARG, /* the ioctl's third argument as a value, not a pointer */
	F_MAP_FLAGS, /* VFIO_DMA_MAP_FLAG_* */
	F_UNMAP_FLAGS, /* VFIO_DMA_UNMAP_FLAG_* */
	F_FEAT_FLAGS, /* VFIO_DEVICE_FEATURE_* direction bits + id */
	F_IOAS_FLAGS, /* IOMMU_IOAS_MAP_* */
	F_HWPT_FLAGS, /* IOMMU_HWPT_ALLOC_* */
	F_BITMAP, /* computed: bitmap bytes from length at off, page size at off2 */
};

struct field {
	const char *name;
	uint8_t off; /* uapi_layout.h */
	uint8_t size; /* uapi_layout.h: NAME_SZ */
	uint8_t fmt;
	uint8_t out; /* read at exit, printed after "=>" (only on success) */
	uint8_t off2;
};

/* @at names a field of include/vfioscope/common/uapi_layout.h: its offset and its size */
#define IN(n, at, f)                    \
	{                               \
		n, at, at##_SZ, f, 0, 0 \
	}
#define OUT(n, at, f)                   \
	{                               \
		n, at, at##_SZ, f, 1, 0 \
	}
/* not read from the argument: the ioctl's third argument (F_ARG), or a string (F_STR) */
#define WHOLE(n, f)              \
	{                        \
		n, 0, 0, f, 0, 0 \
	}
/* computed: bitmap bytes from the length at @l and the page size at @p */
#define BITMAP(l, p)                                      \
	{                                                 \
		"bitmap_bytes", l, l##_SZ, F_BITMAP, 0, p \
	}
#define MAXF 8

static const struct field op_fields[VFS_OPS][MAXF] = {
	[VFS_OP_CHECK_EXTENSION] = { WHOLE("extension", F_ARG) },
	[VFS_OP_SET_IOMMU] = { WHOLE("type", F_ARG) },
	[VFS_OP_IOMMU_GET_INFO] = { OUT("flags", VFS_FLAGS, F_HEX32),
				    OUT("iova_pgsizes", VFS_IOMMU_INFO_IOVA_PGSIZES, F_HEX64),
				    OUT("cap_offset", VFS_IOMMU_INFO_CAP_OFFSET, F_U32) },
	[VFS_OP_MAP_DMA] = { IN("flags", VFS_FLAGS, F_MAP_FLAGS),
			     IN("vaddr", VFS_DMA_MAP_VADDR, F_HEX64),
			     IN("iova", VFS_DMA_MAP_IOVA, F_HEX64),
			     IN("size", VFS_DMA_MAP_SIZE, F_HEX64) },
	[VFS_OP_UNMAP_DMA] = { IN("flags", VFS_FLAGS, F_UNMAP_FLAGS),
			       IN("iova", VFS_DMA_UNMAP_IOVA, F_HEX64),
			       IN("size", VFS_DMA_UNMAP_SIZE, F_HEX64),
			       OUT("unmapped", VFS_DMA_UNMAP_SIZE, F_HEX64) },
	[VFS_OP_DIRTY_PAGES] = { IN("flags", VFS_FLAGS, F_HEX32) },
	[VFS_OP_DIRTY_GET_BITMAP] = { IN("iova", VFS_DIRTY_GET_IOVA, F_HEX64),
				      IN("size", VFS_DIRTY_GET_SIZE, F_HEX64),
				      IN("pgsize", VFS_DIRTY_GET_PGSIZE, F_U64),
				      IN("bitmap_bytes", VFS_DIRTY_GET_BITMAP_SIZE, F_U64),
				      IN("bitmap", VFS_DIRTY_GET_BITMAP_DATA, F_HEX64) },
	[VFS_OP_GROUP_GET_STATUS] = { OUT("flags", VFS_FLAGS, F_HEX32) },
	[VFS_OP_GROUP_SET_CONTAINER] = { IN("container_fd", VFS_GROUP_CONTAINER_FD, F_S32) },
	[VFS_OP_GROUP_GET_DEVICE_FD] = { WHOLE("name", F_STR) },
	[VFS_OP_DEVICE_GET_INFO] = { OUT("flags", VFS_FLAGS, F_HEX32),
				     OUT("num_regions", VFS_DEVICE_INFO_NUM_REGIONS, F_U32),
				     OUT("num_irqs", VFS_DEVICE_INFO_NUM_IRQS, F_U32) },
	[VFS_OP_DEVICE_GET_REGION_INFO] = { IN("index", VFS_REGION_INFO_INDEX, F_U32),
					    OUT("flags", VFS_FLAGS, F_HEX32),
					    OUT("size", VFS_REGION_INFO_SIZE, F_HEX64),
					    OUT("offset", VFS_REGION_INFO_OFFSET, F_HEX64) },
	[VFS_OP_DEVICE_GET_IRQ_INFO] = { IN("index", VFS_IRQ_INFO_INDEX, F_U32),
					 OUT("flags", VFS_FLAGS, F_HEX32),
					 OUT("count", VFS_IRQ_INFO_COUNT, F_U32) },
	[VFS_OP_DEVICE_SET_IRQS] = { IN("flags", VFS_FLAGS, F_HEX32),
				     IN("index", VFS_IRQ_SET_INDEX, F_U32),
				     IN("start", VFS_IRQ_SET_START, F_U32),
				     IN("count", VFS_IRQ_SET_COUNT, F_U32) },
	[VFS_OP_DEVICE_GET_PCI_HOT_RESET_INFO] = { OUT("count", VFS_HOT_RESET_INFO_COUNT, F_U32) },
	[VFS_OP_DEVICE_PCI_HOT_RESET] = { IN("count", VFS_HOT_RESET_COUNT, F_U32) },
	[VFS_OP_DEVICE_IOEVENTFD] = { IN("flags", VFS_FLAGS, F_HEX32),
				      IN("offset", VFS_IOEVENTFD_OFFSET, F_HEX64),
				      IN("data", VFS_IOEVENTFD_DATA, F_HEX64),
				      IN("fd", VFS_IOEVENTFD_FD, F_S32) },
	[VFS_OP_DEVICE_FEATURE] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS) },
	[VFS_OP_FEATURE_MIGRATION] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS),
				       OUT("migration_flags", VFS_FEAT_MIGRATION_FLAGS, F_HEX64) },
	[VFS_OP_FEATURE_MIG_DEVICE_STATE] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS),
					      IN("device_state", VFS_FEAT_MIG_STATE, F_U32),
					      OUT("data_fd", VFS_FEAT_MIG_STATE_DATA_FD, F_S32) },
	[VFS_OP_FEATURE_MIG_DATA_SIZE] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS),
					   OUT("stop_copy_length", VFS_FEAT_MIG_DATA_SIZE, F_U64) },
	[VFS_OP_DMA_LOGGING_START] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS),
				       IN("page_size", VFS_LOG_CTRL_PAGE_SIZE, F_U64),
				       IN("num_ranges", VFS_LOG_CTRL_NUM_RANGES, F_U32),
				       IN("ranges", VFS_LOG_CTRL_RANGES, F_HEX64),
				       OUT("page_size", VFS_LOG_CTRL_PAGE_SIZE, F_U64) },
	[VFS_OP_DMA_LOGGING_STOP] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS) },
	[VFS_OP_DMA_LOGGING_REPORT] = { IN("flags", VFS_FLAGS, F_FEAT_FLAGS),
					IN("iova", VFS_LOG_REPORT_IOVA, F_HEX64),
					IN("length", VFS_LOG_REPORT_LENGTH, F_HEX64),
					IN("page_size", VFS_LOG_REPORT_PAGE_SIZE, F_U64),
					IN("bitmap", VFS_LOG_REPORT_BITMAP, F_HEX64),
					BITMAP(VFS_LOG_REPORT_LENGTH, VFS_LOG_REPORT_PAGE_SIZE) },
	[VFS_OP_DEVICE_BIND_IOMMUFD] = { IN("flags", VFS_FLAGS, F_HEX32),
					 IN("iommufd", VFS_BIND_IOMMUFD, F_S32),
					 OUT("devid", VFS_BIND_OUT_DEVID, F_U32) },
	/* the kernel writes back the HWPT it attached: for an IOAS, the one it made for it */
	[VFS_OP_DEVICE_ATTACH_IOMMUFD_PT] = { IN("flags", VFS_FLAGS, F_HEX32),
					      IN("pt_id", VFS_ATTACH_PT_ID, F_U32),
					      OUT("hwpt_id", VFS_ATTACH_PT_ID, F_U32) },
	[VFS_OP_DEVICE_DETACH_IOMMUFD_PT] = { IN("flags", VFS_FLAGS, F_HEX32) },
	[VFS_OP_IOMMU_DESTROY] = { IN("id", VFS_DESTROY_ID, F_U32) },
	[VFS_OP_IOAS_ALLOC] = { IN("flags", VFS_FLAGS, F_HEX32),
				OUT("ioas_id", VFS_IOAS_ALLOC_OUT_ID, F_U32) },
	[VFS_OP_IOAS_ALLOW_IOVAS] = { IN("ioas_id", VFS_IOAS_IOVAS_IOAS_ID, F_U32),
				      IN("num_iovas", VFS_IOAS_IOVAS_NUM, F_U32) },
	[VFS_OP_IOAS_COPY] = { IN("flags", VFS_FLAGS, F_IOAS_FLAGS),
			       IN("dst_ioas_id", VFS_IOAS_COPY_DST_IOAS, F_U32),
			       IN("src_ioas_id", VFS_IOAS_COPY_SRC_IOAS, F_U32),
			       IN("length", VFS_IOAS_COPY_LENGTH, F_HEX64),
			       IN("dst_iova", VFS_IOAS_COPY_DST_IOVA, F_HEX64),
			       IN("src_iova", VFS_IOAS_COPY_SRC_IOVA, F_HEX64),
			       OUT("dst_iova", VFS_IOAS_COPY_DST_IOVA, F_HEX64) },
	[VFS_OP_IOAS_IOVA_RANGES] = { IN("ioas_id", VFS_IOAS_IOVAS_IOAS_ID, F_U32),
				      IN("num_iovas", VFS_IOAS_IOVAS_NUM, F_U32),
				      OUT("num_iovas", VFS_IOAS_IOVAS_NUM, F_U32),
				      OUT("iova_alignment", VFS_IOAS_IOVA_RANGES_ALIGN, F_HEX64) },
	[VFS_OP_IOAS_MAP] = { IN("flags", VFS_FLAGS, F_IOAS_FLAGS),
			      IN("ioas_id", VFS_IOAS_MAP_IOAS_ID, F_U32),
			      IN("user_va", VFS_IOAS_MAP_USER_VA, F_HEX64),
			      IN("length", VFS_IOAS_MAP_LENGTH, F_HEX64),
			      IN("iova", VFS_IOAS_MAP_IOVA, F_HEX64),
			      OUT("iova", VFS_IOAS_MAP_IOVA, F_HEX64) },
	[VFS_OP_IOAS_UNMAP] = { IN("ioas_id", VFS_IOAS_UNMAP_IOAS_ID, F_U32),
				IN("iova", VFS_IOAS_UNMAP_IOVA, F_HEX64),
				IN("length", VFS_IOAS_UNMAP_LENGTH, F_HEX64),
				OUT("unmapped", VFS_IOAS_UNMAP_LENGTH, F_HEX64) },
	[VFS_OP_IOMMU_OPTION] = { IN("option_id", VFS_OPTION_ID, F_U32),
				  IN("op", VFS_OPTION_OP, F_U16),
				  IN("object_id", VFS_OPTION_OBJECT_ID, F_U32),
				  IN("val64", VFS_OPTION_VAL64, F_U64),
				  OUT("val64", VFS_OPTION_VAL64, F_U64) },
	[VFS_OP_IOMMU_VFIO_IOAS] = { IN("ioas_id", VFS_VFIO_IOAS_ID, F_U32),
				     IN("op", VFS_VFIO_IOAS_OP, F_U16),
				     OUT("ioas_id", VFS_VFIO_IOAS_ID, F_U32) },
	[VFS_OP_HWPT_ALLOC] = { IN("flags", VFS_FLAGS, F_HWPT_FLAGS),
				IN("dev_id", VFS_HWPT_ALLOC_DEV_ID, F_U32),
				IN("pt_id", VFS_HWPT_ALLOC_PT_ID, F_U32),
				OUT("hwpt_id", VFS_HWPT_ALLOC_OUT_HWPT_ID, F_U32) },
	[VFS_OP_GET_HW_INFO] = { IN("flags", VFS_FLAGS, F_HEX32),
				 IN("dev_id", VFS_HW_INFO_DEV_ID, F_U32),
				 OUT("data_type", VFS_HW_INFO_OUT_DATA_TYPE, F_U32),
				 OUT("capabilities", VFS_HW_INFO_OUT_CAPS, F_HEX64) },
	[VFS_OP_HWPT_SET_DIRTY_TRACKING] = { IN("flags", VFS_FLAGS, F_HEX32),
					     IN("hwpt_id", VFS_HWPT_DIRTY_TRACK_HWPT_ID, F_U32) },
	[VFS_OP_HWPT_GET_DIRTY_BITMAP] = { IN("hwpt_id", VFS_HWPT_BITMAP_HWPT_ID, F_U32),
					   IN("flags", VFS_HWPT_BITMAP_FLAGS, F_HEX32),
					   IN("iova", VFS_HWPT_BITMAP_IOVA, F_HEX64),
					   IN("length", VFS_HWPT_BITMAP_LENGTH, F_HEX64),
					   IN("page_size", VFS_HWPT_BITMAP_PAGE_SIZE, F_U64),
					   IN("data", VFS_HWPT_BITMAP_DATA, F_HEX64),
					   BITMAP(VFS_HWPT_BITMAP_LENGTH,
						  VFS_HWPT_BITMAP_PAGE_SIZE) },
	[VFS_OP_HWPT_INVALIDATE] = { IN("hwpt_id", VFS_HWPT_INVAL_HWPT_ID, F_U32) },
};

static uint64_t get(const uint8_t *b, unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	if (off + size > VFS_ARG_BYTES)
		return 0;
	memcpy(&v, b + off, size); /* little endian: the low bytes */
	return v;
}

struct flag_name {
	uint32_t bit;
	const char *name;
};

static const struct flag_name map_flags[] = {
	{ 1 << 0, "READ" }, { 1 << 1, "WRITE" }, { 1 << 2, "VADDR" }, { 0, NULL }
};
static const struct flag_name unmap_flags[] = {
	{ 1 << 0, "GET_DIRTY_BITMAP" }, { 1 << 1, "ALL" }, { 1 << 2, "VADDR" }, { 0, NULL }
};
static const struct flag_name feat_flags[] = {
	{ 1 << 16, "GET" }, { 1 << 17, "SET" }, { 1 << 18, "PROBE" }, { 0, NULL }
};
static const struct flag_name hwpt_flags[] = { { 1 << 0, "NEST_PARENT" },
					       { 1 << 1, "DIRTY_TRACKING" },
					       { 1 << 2, "FAULT_ID_VALID" },
					       { 0, NULL } };
static const struct flag_name ioas_flags[] = {
	{ 1 << 0, "FIXED_IOVA" }, { 1 << 1, "WRITEABLE" }, { 1 << 2, "READABLE" }, { 0, NULL }
};

static int flags_text(char *buf, size_t len, uint32_t v, const struct flag_name *names,
		      uint32_t keep_mask)
{
	int n = 0;
	uint32_t rest = v & ~keep_mask;

	for (const struct flag_name *f = names; f->name; f++) {
		if (!(v & f->bit))
			continue;
		n += snprintf(buf + n, n < (int)len ? len - n : 0, "%s%s", n ? "|" : "", f->name);
		rest &= ~f->bit;
	}
	if (keep_mask)
		n += snprintf(buf + n, n < (int)len ? len - n : 0, "%sfeature=%u", n ? "|" : "",
			      v & keep_mask);
	if (rest || !n)
		n += snprintf(buf + n, n < (int)len ? len - n : 0, "%s0x%x", n ? "|" : "", rest);
	return n;
}

/*
 * The argument of VFIO_SET_IOMMU, or of a VFIO_CHECK_EXTENSION: a backend by its one name
 * (common/names.h), another extension by its uAPI name; NULL for a number to print as is.
 */
static const char *iommu_arg_name(uint64_t v)
{
	switch (v) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_SPAPR_TCE_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_SPAPR_TCE_v2_IOMMU:
	case VFIO_NOIOMMU_IOMMU:
		return backend_name(v, false);
	case VFIO_DMA_CC_IOMMU:
		return "DMA_CC";
	case VFIO_EEH:
		return "EEH";
	case VFIO_UNMAP_ALL:
		return "UNMAP_ALL";
	case VFIO_UPDATE_VADDR:
		return "UPDATE_VADDR";
	}
	return NULL;
}

/* The value of field @f, appended. */
static void field_sb(const struct vfs_event *ev, const struct field *f, struct strbuf *s)
{
	const uint8_t *b = f->out ? ev->out : ev->in;
	char t[128];
	const char *name;

	switch (f->fmt) {
	case F_U16:
	case F_U32:
	case F_U64:
		strbuf_u64(s, get(b, f->off, f->size));
		break;
	case F_S32:
		strbuf_s64(s, (int32_t)get(b, f->off, f->size));
		break;
	case F_HEX32:
	case F_HEX64:
		strbuf_hex(s, get(b, f->off, f->size));
		break;
	case F_STR:
		strbuf_mem(s, (const char *)b + f->off,
			   strnlen((const char *)b + f->off, VFS_ARG_BYTES - f->off));
		break;
	case F_ARG:
		name = iommu_arg_name(ev->arg);
		if (name)
			strbuf_str(s, name);
		else
			strbuf_u64(s, ev->arg);
		break;
	case F_MAP_FLAGS:
		flags_text(t, sizeof(t), get(b, f->off, f->size), map_flags, 0);
		strbuf_str(s, t);
		break;
	case F_UNMAP_FLAGS:
		flags_text(t, sizeof(t), get(b, f->off, f->size), unmap_flags, 0);
		strbuf_str(s, t);
		break;
	case F_FEAT_FLAGS:
		flags_text(t, sizeof(t), get(b, f->off, f->size), feat_flags, VFS_FEATURE_MASK);
		strbuf_str(s, t);
		break;
	case F_IOAS_FLAGS:
		flags_text(t, sizeof(t), get(b, f->off, f->size), ioas_flags, 0);
		strbuf_str(s, t);
		break;
	case F_HWPT_FLAGS:
		flags_text(t, sizeof(t), get(b, f->off, f->size), hwpt_flags, 0);
		strbuf_str(s, t);
		break;
	case F_BITMAP:
		strbuf_u64(s,
			   decode_bitmap_bytes(get(b, f->off, f->size), get(b, f->off2, f->size)));
		break;
	default:
		break;
	}
}

/* The value of field @f as text. */
static void field_text(const struct vfs_event *ev, const struct field *f, char *buf, size_t len)
{
	struct strbuf s = strbuf_fixed(buf, len);

	field_sb(ev, f, &s);
}

static unsigned int field_width(const struct field *f)
{
	/* a computed bitmap size needs both its inputs */
	if (f->fmt == F_BITMAP)
		return (f->off > f->off2 ? f->off : f->off2) + f->size - f->off;
	return f->size;
}

/* A field beyond the argsz the caller passed was never part of the call (a PROBE has no
 * payload, an older struct is shorter). Non-struct arguments have no argsz. */
static bool field_present(const struct vfs_event *ev, const struct field *f)
{
	if (f->fmt == F_ARG || f->fmt == F_STR || ev->op == VFS_OP_GROUP_SET_CONTAINER)
		return true;
	return f->off + field_width(f) <= ev->argsz;
}

static bool field_is_number(const struct field *f)
{
	return f->fmt == F_U16 || f->fmt == F_U32 || f->fmt == F_S32 || f->fmt == F_U64 ||
	       f->fmt == F_BITMAP;
}

static bool show_out(const struct vfs_event *ev)
{
	return ev->ret >= 0 && (ev->flags & VFS_EV_OUT_VALID);
}

static bool args_readable(const struct vfs_event *ev)
{
	return !(ev->flags & VFS_EV_ARG_FAULT);
}

static void ranges_sb(const struct vfs_event *ev, struct strbuf *s)
{
	unsigned int shown = ev->nr_ranges < VFS_LOG_RANGES ? ev->nr_ranges : VFS_LOG_RANGES;

	if (!(ev->flags & VFS_EV_RANGES))
		return;
	strbuf_lit(s, " [");
	for (unsigned int i = 0; i < shown; i++) {
		if (i)
			strbuf_lit(s, " ");
		strbuf_hex(s, ev->ranges[2 * i]);
		strbuf_lit(s, "+");
		strbuf_hex(s, ev->ranges[2 * i + 1]);
	}
	if (ev->flags & VFS_EV_RANGES_TRUNC)
		strbuf_lit(s, " ...");
	strbuf_lit(s, "]");
}

static void args_sb(const struct vfs_event *ev, struct strbuf *s)
{
	const struct field *fields = ev->op < VFS_OPS ? op_fields[ev->op] : op_fields[0];
	size_t start = s->n;
	int nout = 0;

	if (!args_readable(ev)) {
		strbuf_lit(s, "arg=");
		strbuf_hex(s, ev->arg);
		strbuf_lit(s, " (unreadable)");
		return;
	}
	if (ev->op == VFS_OP_UNKNOWN) {
		strbuf_lit(s, "cmd=");
		strbuf_hex(s, ev->cmd);
		strbuf_lit(s, " arg=");
		strbuf_hex(s, ev->arg);
		return;
	}
	for (int i = 0; i < MAXF && fields[i].name; i++) {
		if (fields[i].out || !field_present(ev, &fields[i]))
			continue;
		if (s->n != start)
			strbuf_lit(s, " ");
		strbuf_str(s, fields[i].name);
		strbuf_lit(s, "=");
		field_sb(ev, &fields[i], s);
		if (ev->op == VFS_OP_DMA_LOGGING_START && !strcmp(fields[i].name, "ranges"))
			ranges_sb(ev, s);
	}
	if (!show_out(ev))
		return;
	for (int i = 0; i < MAXF && fields[i].name; i++) {
		if (!fields[i].out || !field_present(ev, &fields[i]))
			continue;
		strbuf_str(s, nout++ ? " " : " => ");
		strbuf_str(s, fields[i].name);
		strbuf_lit(s, "=");
		field_sb(ev, &fields[i], s);
	}
}

int decode_args_text(const struct vfs_event *ev, char *buf, size_t len)
{
	struct strbuf s = strbuf_fixed(buf, len);

	args_sb(ev, &s);
	return s.n;
}

static void field_json(const struct vfs_event *ev, const struct field *f, struct json_writer *jw)
{
	const uint8_t *b = f->out ? ev->out : ev->in;
	char v[128];

	if (f->fmt == F_S32) {
		json_kv_s64(jw, f->name, (int32_t)get(b, f->off, f->size));
		return;
	}
	if (f->fmt == F_ARG) {
		json_kv_u64(jw, f->name, ev->arg);
		return;
	}
	if (field_is_number(f)) {
		field_text(ev, f, v, sizeof(v));
		json_kv_u64(jw, f->name, strtoull(v, NULL, 10));
		return;
	}
	if (f->fmt == F_HEX32 || f->fmt == F_HEX64 || f->fmt == F_MAP_FLAGS ||
	    f->fmt == F_UNMAP_FLAGS || f->fmt == F_FEAT_FLAGS || f->fmt == F_IOAS_FLAGS ||
	    f->fmt == F_HWPT_FLAGS) {
		json_kv_hex(jw, f->name, get(b, f->off, f->size));
		return;
	}
	field_text(ev, f, v, sizeof(v));
	json_kv_string(jw, f->name, v);
}

void decode_args_json(const struct vfs_event *ev, struct json_writer *jw)
{
	const struct field *fields = ev->op < VFS_OPS ? op_fields[ev->op] : op_fields[0];
	unsigned int shown = ev->nr_ranges < VFS_LOG_RANGES ? ev->nr_ranges : VFS_LOG_RANGES;

	json_name(jw, "args");
	json_start_object(jw);
	if (!args_readable(ev))
		json_kv_bool(jw, "unreadable", true);
	for (int i = 0; args_readable(ev) && i < MAXF && fields[i].name; i++)
		if (!fields[i].out && field_present(ev, &fields[i]))
			field_json(ev, &fields[i], jw);
	if (ev->flags & VFS_EV_RANGES) {
		json_name(jw, "range_list");
		json_start_array(jw);
		for (unsigned int i = 0; i < shown; i++) {
			json_start_object(jw);
			json_kv_hex(jw, "iova", ev->ranges[2 * i]);
			json_kv_hex(jw, "length", ev->ranges[2 * i + 1]);
			json_end_object(jw);
		}
		json_end_array(jw);
		json_kv_bool(jw, "ranges_truncated", ev->flags & VFS_EV_RANGES_TRUNC);
	}
	json_end_object(jw);
	if (!show_out(ev))
		return;
	json_name(jw, "result");
	json_start_object(jw);
	for (int i = 0; i < MAXF && fields[i].name; i++)
		if (fields[i].out && field_present(ev, &fields[i]))
			field_json(ev, &fields[i], jw);
	json_end_object(jw);
}

static const char *err_name(int64_t ret)
{
	const char *s = ret < 0 && ret > -4096 ? strerrorname_np(-ret) : NULL;

	return s ? s : "E?";
}

static void time_sb(const struct vfs_event *ev, int64_t mono_to_real_ns, struct strbuf *s)
{
	static __thread time_t cached_sec = -1;
	static __thread struct tm tm;
	/* unsigned: a record's time is whatever the ring held, and must not overflow */
	uint64_t ns = ev->ts_ns + (uint64_t)mono_to_real_ns;
	time_t sec = (time_t)(ns / 1000000000);

	if (!mono_to_real_ns) {
		strbuf_u64(s, ev->ts_ns / 1000000000);
		strbuf_lit(s, ".");
		strbuf_udec(s, ev->ts_ns % 1000000000 / 1000, 6, 0);
		return;
	}
	if (sec != cached_sec) { /* localtime_r is costly at a million events a second */
		localtime_r(&sec, &tm);
		cached_sec = sec;
	}
	strbuf_udec(s, tm.tm_hour, 2, 0);
	strbuf_lit(s, ":");
	strbuf_udec(s, tm.tm_min, 2, 0);
	strbuf_lit(s, ":");
	strbuf_udec(s, tm.tm_sec, 2, 0);
	strbuf_lit(s, ".");
	strbuf_udec(s, ns % 1000000000 / 1000, 6, 0);
}

/* time pid comm kind [device] fd=N OP(args) = ret [errno] <latency us> [{kernel: ...}] */
int decode_event_text(const struct vfs_event *ev, int64_t mono_to_real_ns, char *buf, size_t len)
{
	struct strbuf s = strbuf_fixed(buf, len);

	time_sb(ev, mono_to_real_ns, &s);
	strbuf_lit(&s, " ");
	strbuf_udec(&s, ev->pid, 1, 7);
	strbuf_lit(&s, " ");
	strbuf_pad(&s, ev->comm, strnlen(ev->comm, sizeof(ev->comm)), 15);
	strbuf_lit(&s, " ");
	strbuf_str(&s, decode_kind_name(ev->kind));
	/* the device a device-fd call goes to, as the kernel names it (its PCI address) */
	if (ev->kind == VFS_KIND_DEVICE && ev->device[0]) {
		strbuf_lit(&s, " ");
		strbuf_mem(&s, ev->device, strnlen(ev->device, sizeof(ev->device)));
	}
	strbuf_lit(&s, " fd=");
	strbuf_s64(&s, ev->fd);
	strbuf_lit(&s, " ");
	strbuf_str(&s, decode_op_name(ev->op));
	strbuf_lit(&s, "(");
	args_sb(ev, &s);
	strbuf_lit(&s, ") = ");
	strbuf_s64(&s, ev->ret);
	if (ev->ret < 0) {
		/* strerror translates: slow; a kernel errno is below 4096 */
		const char *desc = ev->ret > -4096 ? strerrordesc_np((int)-ev->ret) : NULL;

		strbuf_lit(&s, " ");
		strbuf_str(&s, err_name(ev->ret));
		strbuf_lit(&s, " (");
		strbuf_str(&s, desc ? desc : "unknown error");
		strbuf_lit(&s, ")");
	}
	strbuf_lit(&s, " <");
	strbuf_u64(&s, ev->latency_ns / 1000);
	strbuf_lit(&s, ".");
	strbuf_udec(&s, ev->latency_ns % 1000, 3, 0);
	strbuf_lit(&s, " us>");
	if (ev->kern_dirty_calls)
		strbuf_printf(&s, " {kernel: iova_bitmap_set %" PRIu64 "x, %" PRIu64 " bytes}",
			      (uint64_t)ev->kern_dirty_calls, (uint64_t)ev->kern_dirty_bytes);
	else if (ev->kern_pinned_pages || ev->kern_unpinned_pages)
		strbuf_printf(&s, " {kernel: pinned %" PRIu64 " unpinned %" PRIu64 " pages}",
			      (uint64_t)ev->kern_pinned_pages, (uint64_t)ev->kern_unpinned_pages);
	return s.n;
}

/* vfioscope's id of a file, null when it has none */
static void file_id_json(struct json_writer *jw, const char *name, uint32_t id)
{
	json_name(jw, name);
	if (id)
		json_u64(jw, id);
	else
		json_null(jw);
}

void decode_event_json(const struct vfs_event *ev, int64_t mono_to_real_ns, bool kernel_addresses,
		       struct json_writer *jw)
{
	char comm[sizeof(ev->comm) + 1];

	json_start_object(jw);
	json_kv_u64(jw, "ts_ns", ev->ts_ns);
	if (mono_to_real_ns)
		json_kv_double(jw, "time", (double)(ev->ts_ns + (uint64_t)mono_to_real_ns) / 1e9);
	json_kv_u64(jw, "pid", ev->pid);
	json_kv_u64(jw, "tid", ev->tid);
	/* the kernel ends comm in a NUL; a record is not trusted to */
	memcpy(comm, ev->comm, sizeof(ev->comm));
	comm[sizeof(ev->comm)] = '\0';
	json_kv_string(jw, "comm", comm);
	json_kv_string(jw, "kind", decode_kind_name(ev->kind));
	if (ev->kind == VFS_KIND_DEVICE && ev->device[0]) {
		char dev[VFS_DEV_NAME + 1];

		/* the kernel's copy ends in a NUL unless the name was cut at the buffer's end */
		memcpy(dev, ev->device, VFS_DEV_NAME);
		dev[VFS_DEV_NAME] = '\0';
		json_kv_string(jw, "device", dev);
	}
	json_kv_s64(jw, "fd", ev->fd);
	/* the ids `state` shows; the kernel's struct file addresses only on request */
	file_id_json(jw, "file_id", ev->file_id);
	file_id_json(jw, "container_file_id", ev->ctx_id);
	if (kernel_addresses) {
		json_kv_hex(jw, "file", ev->file);
		json_kv_hex(jw, "container", ev->ctx);
	}
	json_kv_string(jw, "op", decode_op_name(ev->op));
	json_kv_hex(jw, "cmd", ev->cmd);
	decode_args_json(ev, jw);
	json_kv_s64(jw, "ret", ev->ret);
	if (ev->ret < 0)
		json_kv_string(jw, "errno", err_name(ev->ret));
	json_kv_u64(jw, "latency_ns", ev->latency_ns);
	json_kv_string(jw, "source", ev->source == VFS_SRC_HANDLER ? "handler" : "syscall");
	if (ev->new_file_id)
		json_kv_u64(jw, "new_file_id", ev->new_file_id);
	if (ev->new_file && kernel_addresses)
		json_kv_hex(jw, "new_file", ev->new_file);
	if (ev->kern_dirty_calls || ev->kern_pinned_pages || ev->kern_unpinned_pages) {
		json_name(jw, "kernel");
		json_start_object(jw);
		json_kv_u64(jw, "bitmap_set_calls", ev->kern_dirty_calls);
		json_kv_u64(jw, "bitmap_set_bytes", ev->kern_dirty_bytes);
		json_kv_u64(jw, "pinned_pages", ev->kern_pinned_pages);
		json_kv_u64(jw, "unpinned_pages", ev->kern_unpinned_pages);
		json_end_object(jw);
	}
	if (ev->flags & VFS_EV_TEST_HOOK)
		json_kv_bool(jw, "test_hook", true);
	json_end_object(jw);
}
