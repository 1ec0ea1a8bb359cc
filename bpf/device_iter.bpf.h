/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices a process opened before the tracer started. Through /proc every device opened
 * through its group is the same "anon_inode:[vfio-device]"; only the kernel's struct
 * vfio_device behind the file says which device it is. A task_file iterator, run once by the
 * user side right after the hooks attach (user/lib/tracer/tracer.c, adopt_open_devices), walks
 * every open file of every process and enters each VFIO device file the mirror does not know
 * yet, named as file_get() names one (device_identity), with its process and fd, flagged
 * VFS_FILE_FOUND_AT_START. The hooks are attached first, so a file is either found here or
 * seen at its next call. If both enter the same file at once, whichever inserts first wins
 * (BPF_NOEXIST here; file_get() keeps a complete record it finds already inserted).
 * Included by tracer.bpf.c after the mirror's helpers.
 */
#ifndef VFIOSCOPE_DEVICE_ITER_BPF_H
#define VFIOSCOPE_DEVICE_ITER_BPF_H

/* the record is built here and inserted whole, so that no reader of the map (the user side's
 * garbage collection above all) sees it half-filled; one reader runs the iterator at a time */
static struct vfs_file found_file;
/* device files the last run entered */
__u32 found_at_start;

/* The process filter (trace --pid/--comm) for a task other than the current one. */
static __always_inline bool task_wanted(struct task_struct *task)
{
	__u64 comm[2];

	if (filter_tgid && task->tgid != filter_tgid)
		return false;
	if (!filter_by_comm)
		return true;
	__builtin_memcpy(comm, task->comm, sizeof(comm));
	return comm[0] == filter_comm[0] && comm[1] == filter_comm[1];
}

SEC("iter/task_file")
int adopt_device_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;
	struct vfs_file *fi = &found_file;
	bool hook = false;
	__u64 key;

	if (!task || !f || !task_wanted(task))
		return 0;
	if (classify_file(f, &hook) != VFS_KIND_DEVICE)
		return 0;
	key = (__u64)f;
	if (bpf_map_lookup_elem(&files, &key))
		return 0;
	__builtin_memcpy(fi, &zero_file, sizeof(*fi));
	fi->kind = VFS_KIND_DEVICE;
	fi->flags = VFS_FILE_FOUND_AT_START | (hook ? VFS_FILE_TEST_HOOK : 0);
	fi->first_ns = bpf_ktime_get_ns();
	fi->tgid = task->tgid;
	fi->fd = ctx->fd;
	fi->iommu_group = -1;
	__builtin_memcpy(fi->comm, task->comm, sizeof(fi->comm));
	fill_file_name(fi, f);
	if (!hook)
		device_identity(fi, f);
	fi->id = new_file_id();
	if (bpf_map_update_elem(&files, &key, fi, BPF_NOEXIST) == 0) {
		__sync_fetch_and_add(&nr_files, 1);
		found_at_start++;
	}
	return 0;
}

#endif
