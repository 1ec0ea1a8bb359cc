/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mirror, iommufd family: IOAS (ALLOC, MAP, COPY, UNMAP, DESTROY) as containers keyed by
 * (iommufd file, ioas id), HWPTs (ALLOC, DESTROY) and their dirty tracking sessions, and a
 * cdev's ids in its iommufd (BIND, ATTACH, DETACH). Included by tracer.bpf.c after the
 * mirror's common helpers. Offsets: include/vfioscope/common/uapi_layout.h.
 */
#ifndef VFIOSCOPE_MIRROR_IOMMUFD_BPF_H
#define VFIOSCOPE_MIRROR_IOMMUFD_BPF_H

/* An out-field the kernel writes back (an IOVA it chose): the exit copy when there is one. */
static __always_inline __u64 rd64_result(const struct vfs_event *ev, int off)
{
	return rd64((ev->flags & VFS_EV_OUT_VALID) ? ev->out : ev->in, off);
}

static __always_inline void ioas_alloc(struct vfs_event *ev)
{
	struct vfs_container *c;

	if (!(ev->flags & VFS_EV_OUT_VALID))
		return;
	c = ctr_get(ev->ctx, rd32(ev->out, VFS_IOAS_ALLOC_OUT_ID), true);
	if (c)
		c->flags = VFS_CTR_IOMMUFD;
}

static __always_inline void ioas_map(struct vfs_event *ev)
{
	const __u8 *in = ev->in;

	ctr_map(ev->ctx, rd32(in, VFS_IOAS_MAP_IOAS_ID), rd64(in, VFS_IOAS_MAP_USER_VA),
		rd64_result(ev, VFS_IOAS_MAP_IOVA), rd64(in, VFS_IOAS_MAP_LENGTH),
		rd32(in, VFS_FLAGS), true);
}

static __always_inline void ioas_copy(struct vfs_event *ev)
{
	const __u8 *in = ev->in;

	ctr_map(ev->ctx, rd32(in, VFS_IOAS_COPY_DST_IOAS), 0,
		rd64_result(ev, VFS_IOAS_COPY_DST_IOVA), rd64(in, VFS_IOAS_COPY_LENGTH),
		rd32(in, VFS_FLAGS), true);
}

static __always_inline void ioas_unmap(struct vfs_event *ev)
{
	const __u8 *in = ev->in;
	__u64 iova = rd64(in, VFS_IOAS_UNMAP_IOVA), length = rd64(in, VFS_IOAS_UNMAP_LENGTH);

	/* iova 0 + length U64_MAX is everything: the same inclusive range */
	if (length)
		ctr_unmap(ev->ctx, rd32(in, VFS_IOAS_UNMAP_IOAS_ID), iova, iova + length - 1);
}

/* IOMMU_DESTROY of an IOAS drops its container, of a HWPT the HWPT and its dirty session
 * (ids are unique in one iommufd, whatever the object). */
static __always_inline void iommu_destroy(struct vfs_event *ev)
{
	__u32 id = rd32(ev->in, VFS_DESTROY_ID);
	struct vfs_ctr_key key = { .file = ev->ctx, .ioas = id };
	struct vfs_sess_key sk = { .file = ev->ctx, .id = id, .method = VFS_DIRTY_HWPT };
	struct vfs_hwpt_key hk = { .file = ev->ctx, .id = id };

	if (bpf_map_lookup_elem(&containers, &key)) {
		ctr_unmap(ev->ctx, id, 0, ~0ULL);
		bpf_map_delete_elem(&containers, &key);
	}
	bpf_map_delete_elem(&sessions, &sk);
	bpf_map_delete_elem(&hwpts, &hk);
}

static __always_inline void hwpt_alloc(struct vfs_event *ev)
{
	struct vfs_hwpt_key k = { .file = ev->ctx };
	struct vfs_hwpt h = {};

	if (!(ev->flags & VFS_EV_OUT_VALID))
		return;
	k.id = rd32(ev->out, VFS_HWPT_ALLOC_OUT_HWPT_ID);
	h.first_ns = ev->ts_ns;
	h.pt_id = rd32(ev->in, VFS_HWPT_ALLOC_PT_ID);
	h.dev_id = rd32(ev->in, VFS_HWPT_ALLOC_DEV_ID);
	h.flags = rd32(ev->in, VFS_FLAGS);
	h.tgid = ev->pid;
	if (bpf_map_update_elem(&hwpts, &k, &h, BPF_ANY))
		count_lost(VFS_LOST_STATE);
	else
		obj_note(k.file, k.id);
}

static __always_inline void hwpt_set_dirty_tracking(struct vfs_event *ev)
{
	const __u8 *in = ev->in;
	struct vfs_session *s =
		sess_get(ev->ctx, rd32(in, VFS_HWPT_DIRTY_TRACK_HWPT_ID), VFS_DIRTY_HWPT);

	if (!s)
		return;
	s->active = rd32(in, VFS_FLAGS) & VFS_HWPT_DIRTY_TRACKING_ENABLE;
	if (s->active)
		s->started_ns = ev->ts_ns;
	else
		s->stopped_ns = ev->ts_ns;
}

static __always_inline void hwpt_get_dirty_bitmap(struct vfs_event *ev, bool ok)
{
	const __u8 *in = ev->in;
	struct vfs_session *s =
		sess_get(ev->ctx, rd32(in, VFS_HWPT_BITMAP_HWPT_ID), VFS_DIRTY_HWPT);
	__u64 length = rd64(in, VFS_HWPT_BITMAP_LENGTH);
	__u64 pgsize = rd64(in, VFS_HWPT_BITMAP_PAGE_SIZE);

	if (s)
		sess_report(s, ev, ok, rd64(in, VFS_HWPT_BITMAP_IOVA), length, pgsize,
			    bitmap_bytes(length, pgsize));
}

/* An iommufd op; @ok: the call succeeded. */
__noinline int mirror_iommufd(struct vfs_event *ev, bool ok)
{
	if (!ev)
		return 0;
	if (ev->op == VFS_OP_HWPT_GET_DIRTY_BITMAP) { /* failed reports count too */
		hwpt_get_dirty_bitmap(ev, ok);
		return 0;
	}
	if (!ok)
		return 0;
	switch (ev->op) {
	case VFS_OP_IOAS_ALLOC:
		ioas_alloc(ev);
		break;
	case VFS_OP_IOAS_MAP:
		ioas_map(ev);
		break;
	case VFS_OP_IOAS_COPY:
		ioas_copy(ev);
		break;
	case VFS_OP_IOAS_UNMAP:
		ioas_unmap(ev);
		break;
	case VFS_OP_IOMMU_DESTROY:
		iommu_destroy(ev);
		break;
	case VFS_OP_HWPT_ALLOC:
		hwpt_alloc(ev);
		break;
	case VFS_OP_HWPT_SET_DIRTY_TRACKING:
		hwpt_set_dirty_tracking(ev);
		break;
	}
	return 0;
}

/*
 * A cdev's ids in its iommufd, after BIND (the device id) and ATTACH (the HWPT the kernel writes
 * back into pt_id: the one asked for, or for an IOAS the one it made), so `state` can put the
 * device under its IOAS and name the device a HWPT was allocated for.
 */
__noinline int mirror_iommufd_device(struct vfs_event *ev, bool ok)
{
	struct vfs_file *fi;
	__u64 key;

	if (!ev || !ok || ev->op < VFS_OP_DEVICE_BIND_IOMMUFD ||
	    ev->op > VFS_OP_DEVICE_DETACH_IOMMUFD_PT)
		return 0;
	key = ev->file;
	fi = bpf_map_lookup_elem(&files, &key);
	if (!fi)
		return 0;
	switch (ev->op) {
	case VFS_OP_DEVICE_BIND_IOMMUFD:
		if (ev->flags & VFS_EV_OUT_VALID)
			fi->devid = rd32(ev->out, VFS_BIND_OUT_DEVID);
		/* at entry the device had no iommufd yet: the event names the one it joined */
		ev->ctx = fi->parent;
		break;
	case VFS_OP_DEVICE_ATTACH_IOMMUFD_PT:
		if (ev->flags & VFS_EV_OUT_VALID)
			fi->hwpt_id = rd32(ev->out, VFS_ATTACH_PT_ID);
		break;
	case VFS_OP_DEVICE_DETACH_IOMMUFD_PT:
		fi->hwpt_id = 0;
		break;
	}
	return 0;
}

#endif
