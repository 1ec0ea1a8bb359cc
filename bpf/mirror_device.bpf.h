/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mirror, device family: VFIO_DEVICE_FEATURE DMA logging (START, STOP, REPORT), a dirty
 * tracking session per device file. Included by tracer.bpf.c after the mirror's common helpers.
 * Offsets: include/vfioscope/common/uapi_layout.h.
 */
#ifndef VFIOSCOPE_MIRROR_DEVICE_BPF_H
#define VFIOSCOPE_MIRROR_DEVICE_BPF_H

static __always_inline void dma_logging_start(struct vfs_event *ev)
{
	struct vfs_session *s = sess_get(ev->file, 0, VFS_DIRTY_DEVICE);

	if (!s)
		return;
	s->active = 1;
	s->started_ns = ev->ts_ns;
	/* the driver may round page_size and writes it back */
	s->page_size =
		rd64((ev->flags & VFS_EV_OUT_VALID) ? ev->out : ev->in, VFS_LOG_CTRL_PAGE_SIZE);
	s->nr_ranges = ev->nr_ranges;
	__builtin_memcpy(s->ranges, ev->ranges, sizeof(s->ranges));
}

static __always_inline void dma_logging_stop(struct vfs_event *ev)
{
	struct vfs_session *s = sess_get(ev->file, 0, VFS_DIRTY_DEVICE);

	if (!s)
		return;
	s->active = 0;
	s->stopped_ns = ev->ts_ns;
}

static __always_inline void dma_logging_report(struct vfs_event *ev, bool ok)
{
	const __u8 *in = ev->in;
	struct vfs_session *s = sess_get(ev->file, 0, VFS_DIRTY_DEVICE);
	__u64 length = rd64(in, VFS_LOG_REPORT_LENGTH), pgsize = rd64(in, VFS_LOG_REPORT_PAGE_SIZE);

	if (s)
		sess_report(s, ev, ok, rd64(in, VFS_LOG_REPORT_IOVA), length, pgsize,
			    bitmap_bytes(length, pgsize));
}

/* A device opened as a cdev joins an iommufd (BIND), then one of its IOAS or HWPTs (ATTACH):
 * that is how the mirror puts it under a container. */
static __always_inline void device_bind(struct vfs_event *ev)
{
	int fd = rd32(ev->in, VFS_BIND_IOMMUFD);
	struct file *f = fd_to_file(fd);

	if (f && file_get(f, VFS_KIND_UNKNOWN, fd))
		link_parent(ev, (__u64)f);
}

static __always_inline void device_attach(struct vfs_event *ev, __u32 pt_id)
{
	__u64 key = ev->file;
	struct vfs_file *fi = bpf_map_lookup_elem(&files, &key);

	if (fi)
		fi->pt_id = pt_id;
}

/* A device op; @ok: the call succeeded. */
__noinline int mirror_device(struct vfs_event *ev, bool ok)
{
	if (!ev)
		return 0;
	/* a DEVICE_FEATURE PROBE asks whether a feature exists; it starts and reports nothing */
	if (ev->op >= VFS_OP_DEVICE_FEATURE && ev->op <= VFS_OP_DMA_LOGGING_REPORT &&
	    (rd32(ev->in, VFS_FLAGS) & VFS_FEATURE_PROBE))
		return 0;
	switch (ev->op) {
	case VFS_OP_DMA_LOGGING_START:
		if (ok)
			dma_logging_start(ev);
		break;
	case VFS_OP_DMA_LOGGING_STOP:
		if (ok)
			dma_logging_stop(ev);
		break;
	case VFS_OP_DEVICE_BIND_IOMMUFD:
		if (ok)
			device_bind(ev);
		break;
	case VFS_OP_DEVICE_ATTACH_IOMMUFD_PT:
		/* the IOAS asked for (the kernel writes back the HWPT it made for it) */
		if (ok)
			device_attach(ev, rd32(ev->in, VFS_ATTACH_PT_ID));
		break;
	case VFS_OP_DEVICE_DETACH_IOMMUFD_PT:
		if (ok)
			device_attach(ev, 0);
		break;
	case VFS_OP_DMA_LOGGING_REPORT: /* failed reports count too */
		dma_logging_report(ev, ok);
		break;
	}
	return 0;
}

#endif
