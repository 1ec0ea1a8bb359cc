/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mirror, type1 family: a VFIO container (SET_IOMMU, MAP_DMA, UNMAP_DMA, DIRTY_PAGES) and
 * the groups that join it (SET_CONTAINER, UNSET_CONTAINER, GET_DEVICE_FD). Included by
 * tracer.bpf.c after the mirror's common helpers (ctr_*, sess_*, file_get, link_parent).
 * Offsets: include/vfioscope/common/uapi_layout.h.
 */
#ifndef VFIOSCOPE_MIRROR_TYPE1_BPF_H
#define VFIOSCOPE_MIRROR_TYPE1_BPF_H

static __always_inline void type1_set_iommu(struct vfs_event *ev)
{
	struct vfs_container *c = ctr_get(ev->ctx, 0, true);

	if (!c)
		return;
	c->flags &= ~VFS_CTR_PARTIAL;
	c->iommu_type = ev->arg;
}

static __always_inline void type1_map(struct vfs_event *ev)
{
	const __u8 *in = ev->in;
	__u32 flags = rd32(in, VFS_FLAGS);

	/* VADDR: the same mapping, a new process address (live update), no new range */
	if (flags & VFS_MAP_FLAG_VADDR)
		ctr_update_vaddr(ev->ctx, rd64(in, VFS_DMA_MAP_IOVA), rd64(in, VFS_DMA_MAP_VADDR));
	else
		ctr_map(ev->ctx, 0, rd64(in, VFS_DMA_MAP_VADDR), rd64(in, VFS_DMA_MAP_IOVA),
			rd64(in, VFS_DMA_MAP_SIZE), flags, ev->kind == VFS_KIND_IOMMUFD);
}

static __always_inline void type1_unmap(struct vfs_event *ev)
{
	const __u8 *in = ev->in;
	__u32 flags = rd32(in, VFS_FLAGS);
	__u64 iova = rd64(in, VFS_DMA_UNMAP_IOVA), size = rd64(in, VFS_DMA_UNMAP_SIZE);

	if (flags & VFS_UNMAP_FLAG_VADDR) /* invalidates the vaddr, keeps the mapping */
		return;
	if (flags & VFS_UNMAP_FLAG_ALL)
		ctr_unmap(ev->ctx, 0, 0, ~0ULL);
	else if (size)
		ctr_unmap(ev->ctx, 0, iova, iova + size - 1);
}

static __always_inline void type1_dirty_switch(struct vfs_event *ev)
{
	struct vfs_session *s = sess_get(ev->ctx, 0, VFS_DIRTY_TYPE1);

	if (!s)
		return;
	s->active = ev->op == VFS_OP_DIRTY_START;
	if (s->active)
		s->started_ns = ev->ts_ns;
	else
		s->stopped_ns = ev->ts_ns;
}

static __always_inline void type1_dirty_get(struct vfs_event *ev, bool ok)
{
	const __u8 *in = ev->in;
	struct vfs_session *s = sess_get(ev->ctx, 0, VFS_DIRTY_TYPE1);

	if (s)
		sess_report(s, ev, ok, rd64(in, VFS_DIRTY_GET_IOVA), rd64(in, VFS_DIRTY_GET_SIZE),
			    rd64(in, VFS_DIRTY_GET_PGSIZE), rd64(in, VFS_DIRTY_GET_BITMAP_SIZE));
}

static __always_inline void group_set_container(struct vfs_event *ev)
{
	int fd = rd32(ev->in, VFS_GROUP_CONTAINER_FD);
	struct file *f = fd_to_file(fd);

	if (f && file_get(f, VFS_KIND_UNKNOWN, fd))
		link_parent(ev, (__u64)f);
}

static __always_inline void group_get_device_fd(struct vfs_event *ev)
{
	struct file *f = fd_to_file(ev->ret);
	struct vfs_file *dev;

	if (!f)
		return;
	dev = file_get(f, VFS_KIND_DEVICE, ev->ret);
	if (dev) {
		dev->parent = ev->file;
		ev->new_file_id = dev->id;
	}
	ev->new_file = (__u64)f;
}

/* A container or group op; @ok: the call succeeded (GET_DEVICE_FD: returned an fd). */
__noinline int mirror_type1(struct vfs_event *ev, bool ok)
{
	if (!ev)
		return 0;
	if (ev->op == VFS_OP_DIRTY_GET_BITMAP) { /* failed reports count too */
		type1_dirty_get(ev, ok);
		return 0;
	}
	if (!ok)
		return 0;
	switch (ev->op) {
	case VFS_OP_SET_IOMMU:
		type1_set_iommu(ev);
		break;
	case VFS_OP_MAP_DMA:
		type1_map(ev);
		break;
	case VFS_OP_UNMAP_DMA:
		type1_unmap(ev);
		break;
	case VFS_OP_DIRTY_START:
	case VFS_OP_DIRTY_STOP:
		type1_dirty_switch(ev);
		break;
	case VFS_OP_GROUP_SET_CONTAINER:
		group_set_container(ev);
		break;
	case VFS_OP_GROUP_UNSET_CONTAINER:
		link_parent(ev, 0);
		break;
	case VFS_OP_GROUP_GET_DEVICE_FD:
		group_get_device_fd(ev);
		break;
	}
	return 0;
}

#endif
