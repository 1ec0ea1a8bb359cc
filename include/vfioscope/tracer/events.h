/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only types that cross BPF <-> user space: fixed-width, explicit padding, includable by
 * clang -target bpf (after vmlinux.h) and by gcc alike. Also the two pure functions both sides
 * must agree on bit for bit: the op classifier (ioctl number + fd kind + sub-command -> op) and
 * the histogram slot of a latency.
 */
#ifndef VFIOSCOPE_EVENTS_H
#define VFIOSCOPE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* What kind of VFIO/iommufd file an fd refers to: the same ioctl number means different things
 * on different kinds (vfio-uapi.md §2). */
enum vfs_kind {
	VFS_KIND_UNKNOWN = 0,
	VFS_KIND_CONTAINER, /* /dev/vfio/vfio */
	VFS_KIND_GROUP, /* /dev/vfio/N */
	VFS_KIND_DEVICE, /* [vfio-device] from GET_DEVICE_FD, or /dev/vfio/devices/vfioN */
	VFS_KIND_IOMMUFD, /* /dev/iommu */
	VFS_KINDS,
};

/* Every decoded operation. Sub-commands that select a different meaning (DEVICE_FEATURE ids,
 * DIRTY_PAGES flags) are ops of their own so that histograms and the mirror need no second
 * level. Append only: numbers are exported through maps. */
enum vfs_op {
	VFS_OP_UNKNOWN = 0,
	/* container (type1), also answered by /dev/iommu through its VFIO compatibility */
	VFS_OP_GET_API_VERSION,
	VFS_OP_CHECK_EXTENSION,
	VFS_OP_SET_IOMMU,
	VFS_OP_IOMMU_GET_INFO,
	VFS_OP_MAP_DMA,
	VFS_OP_UNMAP_DMA,
	VFS_OP_DIRTY_PAGES, /* DIRTY_PAGES with no or several flags */
	VFS_OP_DIRTY_START,
	VFS_OP_DIRTY_STOP,
	VFS_OP_DIRTY_GET_BITMAP,
	/* group */
	VFS_OP_GROUP_GET_STATUS,
	VFS_OP_GROUP_SET_CONTAINER,
	VFS_OP_GROUP_UNSET_CONTAINER,
	VFS_OP_GROUP_GET_DEVICE_FD,
	/* device */
	VFS_OP_DEVICE_GET_INFO,
	VFS_OP_DEVICE_GET_REGION_INFO,
	VFS_OP_DEVICE_GET_IRQ_INFO,
	VFS_OP_DEVICE_SET_IRQS,
	VFS_OP_DEVICE_RESET,
	VFS_OP_DEVICE_GET_PCI_HOT_RESET_INFO,
	VFS_OP_DEVICE_PCI_HOT_RESET,
	VFS_OP_DEVICE_QUERY_GFX_PLANE,
	VFS_OP_DEVICE_GET_GFX_DMABUF,
	VFS_OP_DEVICE_IOEVENTFD,
	VFS_OP_DEVICE_FEATURE, /* any feature id without an op of its own */
	VFS_OP_FEATURE_MIGRATION,
	VFS_OP_FEATURE_MIG_DEVICE_STATE,
	VFS_OP_FEATURE_MIG_DATA_SIZE,
	VFS_OP_DMA_LOGGING_START,
	VFS_OP_DMA_LOGGING_STOP,
	VFS_OP_DMA_LOGGING_REPORT,
	VFS_OP_DEVICE_BIND_IOMMUFD,
	VFS_OP_DEVICE_ATTACH_IOMMUFD_PT,
	VFS_OP_DEVICE_DETACH_IOMMUFD_PT,
	/* iommufd */
	VFS_OP_IOMMU_DESTROY,
	VFS_OP_IOAS_ALLOC,
	VFS_OP_IOAS_ALLOW_IOVAS,
	VFS_OP_IOAS_COPY,
	VFS_OP_IOAS_IOVA_RANGES,
	VFS_OP_IOAS_MAP,
	VFS_OP_IOAS_UNMAP,
	VFS_OP_IOMMU_OPTION,
	VFS_OP_IOMMU_VFIO_IOAS,
	VFS_OP_HWPT_ALLOC,
	VFS_OP_GET_HW_INFO,
	VFS_OP_HWPT_SET_DIRTY_TRACKING,
	VFS_OP_HWPT_GET_DIRTY_BITMAP,
	VFS_OP_HWPT_INVALIDATE,
	VFS_OPS,
};

/* uAPI numbers the classifier needs, spelled from the uAPI rule (vfio-uapi.md §1) because the
 * BPF side cannot include <linux/vfio.h>: cmd = _IO(';', 100 + n) for VFIO, _IO(';', 0x80 + n)
 * for iommufd. The user side checks them against the headers (tests/unit/test_decode.c). */
#define VFS_IOC_TYPE		0x3b
#define VFS_VFIO_BASE		0x3b64
#define VFS_VFIO_NR(cmd)	((cmd)-VFS_VFIO_BASE)
#define VFS_IOMMUFD_BASE	0x3b80
#define VFS_FEATURE_MASK	0xffffU
#define VFS_FEATURE_PROBE	(1U << 18)
#define VFS_DIRTY_START_FLAG	(1U << 0)
#define VFS_DIRTY_STOP_FLAG	(1U << 1)
#define VFS_DIRTY_GET_FLAG	(1U << 2)
#define VFS_UNMAP_FLAG_ALL	(1U << 1)
#define VFS_UNMAP_FLAG_VADDR	(1U << 2)
#define VFS_MAP_FLAG_VADDR	(1U << 2)
#define VFS_IOAS_MAP_FIXED_IOVA (1U << 0)

/* Is this an ioctl of type ';' with no direction and size bits, as every VFIO/iommufd one is? */
static inline int vfs_cmd_is_vfio_type(__u32 cmd)
{
	return (cmd >> 8) == VFS_IOC_TYPE;
}

static inline int vfs_op_container(__u32 nr, __u32 flags)
{
	switch (nr) {
	case 0:
		return VFS_OP_GET_API_VERSION;
	case 1:
		return VFS_OP_CHECK_EXTENSION;
	case 2:
		return VFS_OP_SET_IOMMU;
	case 12:
		return VFS_OP_IOMMU_GET_INFO;
	case 13:
		return VFS_OP_MAP_DMA;
	case 14:
		return VFS_OP_UNMAP_DMA;
	case 17:
		if (flags == VFS_DIRTY_START_FLAG)
			return VFS_OP_DIRTY_START;
		if (flags == VFS_DIRTY_STOP_FLAG)
			return VFS_OP_DIRTY_STOP;
		if (flags == VFS_DIRTY_GET_FLAG)
			return VFS_OP_DIRTY_GET_BITMAP;
		return VFS_OP_DIRTY_PAGES;
	}
	return VFS_OP_UNKNOWN;
}

static inline int vfs_op_device_feature(__u32 flags)
{
	switch (flags & VFS_FEATURE_MASK) {
	case 1:
		return VFS_OP_FEATURE_MIGRATION;
	case 2:
		return VFS_OP_FEATURE_MIG_DEVICE_STATE;
	case 6:
		return VFS_OP_DMA_LOGGING_START;
	case 7:
		return VFS_OP_DMA_LOGGING_STOP;
	case 8:
		return VFS_OP_DMA_LOGGING_REPORT;
	case 9:
		return VFS_OP_FEATURE_MIG_DATA_SIZE;
	}
	return VFS_OP_DEVICE_FEATURE;
}

static inline int vfs_op_device(__u32 nr, __u32 flags)
{
	if (nr >= 7 && nr <= 16)
		return VFS_OP_DEVICE_GET_INFO + (nr - 7);
	switch (nr) {
	case 17:
		return vfs_op_device_feature(flags);
	case 18:
		return VFS_OP_DEVICE_BIND_IOMMUFD;
	case 19:
		return VFS_OP_DEVICE_ATTACH_IOMMUFD_PT;
	case 20:
		return VFS_OP_DEVICE_DETACH_IOMMUFD_PT;
	}
	return VFS_OP_UNKNOWN;
}

/*
 * @flags is the second u32 of the argument (VFIO's `flags` after `argsz`); it selects the
 * DEVICE_FEATURE id and the DIRTY_PAGES sub-command. Unknown kinds decode to VFS_OP_UNKNOWN:
 * guessing across kinds is exactly the collision this classifier exists to avoid.
 */
static inline int vfs_op_classify(__u32 kind, __u32 cmd, __u32 flags)
{
	__u32 nr;

	if (!vfs_cmd_is_vfio_type(cmd))
		return VFS_OP_UNKNOWN;
	if (kind == VFS_KIND_IOMMUFD && cmd >= VFS_IOMMUFD_BASE) {
		nr = cmd - VFS_IOMMUFD_BASE;
		return nr <= 0xd ? VFS_OP_IOMMU_DESTROY + nr : VFS_OP_UNKNOWN;
	}
	if (cmd < VFS_VFIO_BASE)
		return VFS_OP_UNKNOWN;
	nr = VFS_VFIO_NR(cmd);
	switch (kind) {
	case VFS_KIND_CONTAINER:
		return vfs_op_container(nr, flags);
	case VFS_KIND_IOMMUFD:
		/* vfio_compat.c answers the container subset, no dirty tracking */
		return nr == 17 ? VFS_OP_UNKNOWN : vfs_op_container(nr, flags);
	case VFS_KIND_GROUP:
		return nr >= 3 && nr <= 6 ? VFS_OP_GROUP_GET_STATUS + (nr - 3) : VFS_OP_UNKNOWN;
	case VFS_KIND_DEVICE:
		return vfs_op_device(nr, flags);
	}
	return VFS_OP_UNKNOWN;
}

/*
 * Latency histograms: slot k counts values v with 2^(k-1) < v <= 2^k ns (slot 0: v <= 1 ns), so
 * the slot's upper bound 2^k ns is exactly a Prometheus `le` bound (anchors.md §2.3: round log2
 * up unless v is a power of two). The last slot is +Inf: everything above 2^(SLOTS-2) ns.
 */
#define VFS_HIST_SLOTS 38 /* 2^0 .. 2^36 ns (about 69 s), then +Inf */

static inline __u32 vfs_hist_slot(__u64 v)
{
	__u32 k = 0;

	if (v <= 1)
		return 0;
	v--; /* ceil(log2(v)) = floor(log2(v - 1)) + 1 for v >= 2 */
	if (v >> 32) {
		v >>= 32;
		k += 32;
	}
	if (v >> 16) {
		v >>= 16;
		k += 16;
	}
	if (v >> 8) {
		v >>= 8;
		k += 8;
	}
	if (v >> 4) {
		v >>= 4;
		k += 4;
	}
	if (v >> 2) {
		v >>= 2;
		k += 2;
	}
	if (v >> 1) {
		k += 1;
	}
	k += 1;
	return k < VFS_HIST_SLOTS - 1 ? k : VFS_HIST_SLOTS - 1;
}

struct vfs_hist {
	__u64 slots[VFS_HIST_SLOTS]; /* per slot, not cumulative */
	__u64 sum; /* ns */
	__u64 count;
};

/* Error counters: key of the `errors` map. */
struct vfs_err_key {
	__u16 op;
	__u16 err; /* positive errno */
};

/* Reasons an event or a piece of the mirror was lost (per-CPU counters, `lost` map). */
enum vfs_lost_reason {
	VFS_LOST_RINGBUF = 0, /* bpf_ringbuf_reserve failed: a trace line is missing */
	VFS_LOST_MAPPING, /* the mappings map was full: a container mirror is incomplete */
	VFS_LOST_INFLIGHT, /* too many calls in flight: a call was not traced */
	VFS_LOST_STATE, /* files/containers/sessions map full */
	VFS_LOST_REASONS,
};

/* Where an event came from (which way in is in use). */
enum vfs_source {
	VFS_SRC_SYSCALL = 1, /* tp_btf or raw_tp sys_enter/sys_exit */
	VFS_SRC_HANDLER = 2, /* fentry/fexit or kprobe/kretprobe on the file handlers */
};

#define VFS_ARG_BYTES 64 /* the largest traced struct is 48 bytes */
/* a device's name as the kernel holds it: a PCI address takes 12 characters, the names of
 * other buses (platform, mdev UUIDs) are cut here */
#define VFS_DEV_NAME   32
#define VFS_LOG_RANGES 8 /* DMA logging START ranges copied into an event */

enum vfs_event_flags {
	VFS_EV_ARG_FAULT = 1 << 0, /* the argument could not be read at entry */
	VFS_EV_OUT_VALID = 1 << 1, /* out[] holds the argument re-read at exit */
	VFS_EV_RANGES = 1 << 2, /* ranges[] holds DMA logging START ranges */
	VFS_EV_RANGES_TRUNC = 1 << 3, /* more ranges than VFS_LOG_RANGES */
	VFS_EV_TEST_HOOK = 1 << 4, /* the file's kind came from the test hook */
	VFS_EV_IN_VALID = 1 << 5, /* in[] holds argument bytes read at entry */
};

/*
 * One traced call, emitted at exit. The ring buffer record ends where the flags say the rest is
 * empty: before in[] without VFS_EV_IN_VALID, before out[] without VFS_EV_OUT_VALID, before
 * ranges[] without VFS_EV_RANGES. The reader zero-fills what a record leaves out.
 */
struct vfs_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() at exit */
	__u64 latency_ns; /* entry -> exit */
	__u64 file; /* struct file * of the fd: the identity of the open file */
	__u64 ctx; /* container file for container ops, iommufd file for iommufd */
	__u64 arg; /* user pointer (or value) passed to ioctl */
	__s64 ret;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 cmd;
	__s32 fd; /* -1 when unknown */
	__u16 op;
	__u8 kind;
	__u8 source;
	__u32 flags;
	__u32 argsz; /* first u32 of the argument as read at entry */
	__u32 nr_ranges;
	char comm[16];
	char device[VFS_DEV_NAME]; /* device ops: the device's name (PCI address), "" unknown */
	__u64 new_file; /* GET_DEVICE_FD: the device file created */
	__u64 kern_dirty_bytes; /* iova_bitmap_set lengths during this call */
	__u64 kern_dirty_calls;
	__u64 kern_pinned_pages; /* type1 pin path during this call */
	__u64 kern_unpinned_pages;
	/* vfioscope's ids of the files (struct vfs_file.id), 0 when none: what users see */
	__u32 file_id;
	__u32 ctx_id;
	__u32 new_file_id;
	__u32 pad_ids;
	__u8 in[VFS_ARG_BYTES]; /* argument bytes at entry */
	__u8 out[VFS_ARG_BYTES]; /* argument bytes at exit (VFS_EV_OUT_VALID) */
	/* (iova, length) pairs (VFS_EV_RANGES); left out of the ring buffer record otherwise */
	__u64 ranges[2 * VFS_LOG_RANGES];
};

/*
 * A call between entry and exit sits in the slot of its thread id modulo VFS_INFLIGHT_SLOTS,
 * claimed by a compare-and-swap of the owner (an array lookup the JIT inlines); a call whose
 * slot another thread holds goes to task storage instead.
 */
#define VFS_INFLIGHT_SLOTS 1024

struct vfs_inflight_slot {
	__u64 owner; /* tid, 0 when free (64 bits: BPF's compare-and-swap at -mcpu=v1) */
	struct vfs_event ev;
};

/* The mirror, keyed by the open file (struct file *), so dup, fork and fd passing share it. */
enum vfs_file_flags {
	VFS_FILE_TEST_HOOK = 1 << 0,
	/* found open when the tracer started (the task_file iterator), not at a traced call */
	VFS_FILE_FOUND_AT_START = 1 << 1,
	/* a container (type1) or IOAS (iommufd) of this file found no room in the containers
	 * map: `state` shows the file's container as untracked */
	VFS_FILE_NO_CONTAINER = 1 << 2,
};

/* the object ids an iommufd file remembers for its close (struct vfs_file) */
#define VFS_FILE_OBJS 16

struct vfs_file {
	__u64 parent; /* group: its container's file; device: its group's file, or for a cdev
		       * the iommufd file of VFIO_DEVICE_BIND_IOMMUFD */
	__u64 first_ns; /* first seen */
	__u32 tgid; /* last process that used it */
	__s32 fd; /* last fd it was used through in that process (-1 unknown) */
	__u8 kind;
	__u8 flags;
	__u16 pad;
	__u32 ioctls;
	char name[16]; /* dentry name: "vfio", "7", "[vfio-device]", "iommu", "vfio0" */
	char comm[16];
	/* device files: who the device is, read once from the kernel's struct vfio_device */
	char device[VFS_DEV_NAME]; /* the bound device's name (PCI address); "" unknown */
	char driver[VFS_DEV_NAME]; /* its driver: "vfio-pci", "mlx5_vfio_pci", ... */
	__s32 iommu_group; /* -1 unknown */
	__u32 pt_id; /* cdev: the IOAS or HWPT of VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0 none */
	__u32 devid; /* cdev: the iommufd device id VFIO_DEVICE_BIND_IOMMUFD returned, 0 none */
	__u32 hwpt_id; /* cdev: the HWPT ATTACH wrote back (for an IOAS: the one it made) */
	__u32 id; /* vfioscope's id: 1, 2, ... in order of first sight, never reused by a tracer */
	/* iommufd files: the objects (IOAS, HWPT) the mirror keyed an entry by, counted
	 * atomically (nobjs), and the first VFS_FILE_OBJS of their ids (nslots filled), so that
	 * the close deletes those keys; when the two counts differ (more objects, or two
	 * threads noting at once), the close walks the (small) maps instead */
	__u32 nobjs;
	__u32 nslots;
	__u32 objs[VFS_FILE_OBJS];
};

struct vfs_ctr_key {
	__u64 file; /* container or iommufd file */
	__u32 ioas; /* 0 for a type1 container (and iommufd's compat IOAS) */
	__u32 pad;
};

enum vfs_ctr_flags {
	VFS_CTR_PARTIAL = 1 << 0, /* set up before the tracer saw it: earlier maps unknown */
	VFS_CTR_INCOMPLETE = 1 << 1, /* a mapping could not be recorded (map full) */
	VFS_CTR_IOMMUFD = 1 << 2,
	/* user space only: stands for what of a container file the containers map had no room
	 * for (VFS_FILE_NO_CONTAINER); nothing of it is known */
	VFS_CTR_UNTRACKED = 1 << 3,
};

struct vfs_container {
	__u64 mapped_bytes;
	__u64 mappings;
	__u64 min32, max32; /* inclusive IOVA bounds of mappings ending <= 4 GiB - 1 */
	__u64 min64, max64; /* the others (a mapping crossing 4 GiB counts here) */
	__u64 maps, unmaps; /* successful calls seen */
	__u64 first_ns;
	__u32 tgid;
	__u32 iommu_type; /* VFIO_SET_IOMMU argument */
	__u32 flags;
	__u32 pad;
	char comm[16];
};

struct vfs_map_key {
	__u64 file;
	__u32 ioas;
	__u32 pad;
	__u64 iova;
};

struct vfs_mapping {
	__u64 size;
	__u64 vaddr;
	__u64 ts_ns;
	__u32 flags;
	__u32 pad;
	/* struct file * of the VFIO device whose BAR mmap backs vaddr (QEMU maps BARs for
	 * peer-to-peer DMA); 0 for RAM, or where the kernel has no bpf_find_vma */
	__u64 device;
};

/* An iommufd HWPT allocated with IOMMU_HWPT_ALLOC, until IOMMU_DESTROY or the file's close.
 * (The HWPT the kernel makes itself on an ATTACH to an IOAS is the device's hwpt_id.) */
struct vfs_hwpt_key {
	__u64 file; /* iommufd file */
	__u32 id; /* hwpt id */
	__u32 pad;
};

struct vfs_hwpt {
	__u64 first_ns;
	__u32 pt_id; /* the IOAS (or parent HWPT) it was allocated on */
	__u32 dev_id; /* the iommufd device id it was allocated for */
	__u32 flags; /* IOMMU_HWPT_ALLOC_* (uapi_layout.h: VFS_HWPT_ALLOC_DIRTY_TRACKING) */
	__u32 tgid;
};

enum vfs_dirty_method {
	VFS_DIRTY_TYPE1 = 1, /* container VFIO_IOMMU_DIRTY_PAGES */
	VFS_DIRTY_DEVICE = 2, /* device DMA logging */
	VFS_DIRTY_HWPT = 3, /* iommufd HWPT dirty tracking */
};

struct vfs_sess_key {
	__u64 file; /* container, device or iommufd file */
	__u32 id; /* hwpt id for VFS_DIRTY_HWPT, else 0 */
	__u32 method;
};

struct vfs_session {
	__u64 started_ns, stopped_ns;
	__u64 page_size; /* START page size (device: as written back) */
	__u64 reports; /* successful REPORT / GET_BITMAP / GET_DIRTY_BITMAP calls */
	__u64 report_errors;
	__u64 bitmap_bytes; /* total bitmap bytes handed to the kernel */
	__u64 report_ns; /* total latency of reports */
	__u64 kern_dirty_bytes; /* iova_bitmap_set lengths during reports */
	__u64 last_iova, last_length, last_page_size, last_bitmap_bytes, last_latency_ns;
	__s64 last_ret;
	__u32 active;
	__u32 nr_ranges;
	__u64 ranges[2 * VFS_LOG_RANGES];
	__u32 tgid;
	__u32 pad;
};

/* Global kernel-side hook counters (index into the `kstats` per-CPU array). */
enum vfs_kstat {
	VFS_KS_BITMAP_SET_CALLS = 0,
	VFS_KS_BITMAP_SET_BYTES,
	VFS_KS_PIN_CALLS,
	VFS_KS_PINNED_PAGES,
	VFS_KS_UNPIN_CALLS,
	VFS_KS_UNPINNED_PAGES,
	VFS_KSTATS,
};

/*
 * Device migration (bpf/mirror_migration.bpf.h): one record per migration call of a device
 * (MIG_DEVICE_STATE, MIG_DATA_SIZE, DMA logging) and per call on a migration data fd (read,
 * write, VFIO_MIG_GET_PRECOPY_INFO), in their own ring buffer (`mig_events`), emitted whether
 * or not per-call events are (serve reads them too). Append only.
 */
enum vfs_mig_type {
	VFS_MIG_SET_STATE = 1, /* state: asked; prev_state: before (0xff unknown); data_fd */
	VFS_MIG_GET_STATE, /* state: the answer */
	VFS_MIG_DATA_SIZE, /* a: stop_copy_length */
	VFS_MIG_PRECOPY_INFO, /* a: initial_bytes, b: dirty_bytes */
	VFS_MIG_READ, /* data fd read (source): ret bytes; state: the device's at the time */
	VFS_MIG_WRITE, /* data fd write (destination) */
	VFS_MIG_LOG_START, /* a: page size (as written back), b: ranges */
	VFS_MIG_LOG_STOP,
	VFS_MIG_LOG_REPORT, /* a: dirty bytes (iova_bitmap_set, VFS_MIG_F_KERN_DIRTY), b: page
			     * size, c: length of the range asked */
	VFS_MIG_TYPES,
};

#define VFS_MIG_STATE_UNKNOWN 0xff
/* _IO(';', 100 + 21) on a migration data fd */
#define VFS_MIG_PRECOPY_INFO_CMD (VFS_VFIO_BASE + 21)

enum vfs_mig_flags {
	VFS_MIG_F_KERN_DIRTY = 1 << 0, /* a REPORT's dirty bytes were counted in the kernel */
	/* a SET's c holds the position of the device's data fd when the SET was asked: the
	 * bytes moved through it so far (drivers keep their stream position in the file) */
	VFS_MIG_F_DATA_POS = 1 << 1,
};

struct vfs_mig_event {
	__u64 ts_ns; /* at exit */
	__u64 latency_ns;
	__u64 device; /* the device file (struct file *) */
	__u64 data_file; /* the data fd's file, 0 none */
	__s64 ret;
	__u64 a, b, c;
	__u32 pid; /* tgid */
	__u32 tid;
	__u16 type;
	__u8 state;
	__u8 prev_state;
	__s32 data_fd; /* SET_STATE: the fd returned (-1 none); data fd calls: the fd used */
	__u32 flags;
	__u32 pad;
	char comm[16];
	char device_name[VFS_DEV_NAME];
};

/* What the mirror keeps per migrating device and per live data fd. */
struct vfs_mig_dev {
	__u64 data_file; /* its live data fd's file, 0 none */
	__u32 state; /* last state set or read, VFS_MIG_STATE_UNKNOWN before */
	__u32 set_pos_valid; /* set_pos was read at the entry of the SET in flight */
	__u64 set_pos; /* the data file's position then */
};

struct vfs_data_fd {
	__u64 device; /* the device file whose MIG_DEVICE_STATE returned it */
	__u64 created_ns;
};

/* A data-fd call between sys_enter and sys_exit (key: tid). */
struct vfs_mig_call {
	__u64 file, device, arg, ts_ns;
	__u32 id; /* syscall number */
	__s32 fd;
};

#endif
