/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mirror, migration family: each device's migration state (MIG_DEVICE_STATE), the data fd
 * it returned, and every call on that data fd (read on the source, write on the destination,
 * VFIO_MIG_GET_PRECOPY_INFO), plus the device's MIG_DATA_SIZE answers and DMA logging calls, as
 * records in their own ring buffer (events.h: struct vfs_mig_event). Included by tracer.bpf.c
 * after its maps and small helpers (count_lost, rd32/rd64), before the ioctl path.
 *
 * Cost: the device ops come through the tracer's ioctl path like any other. The data fd is a
 * driver's anonymous file, so its calls are seen at the syscall level. In the syscall ways in,
 * the tracer's own sys_enter/sys_exit call mig_enter/mig_exit behind one test of a global
 * (nr_data_fds, nr_mig_calls): no data fd live, nothing more runs. In the file-handler ways in
 * no syscall is hooked, and user space (tracer.c) attaches mig_sys_enter/mig_sys_exit only
 * around migrations: from a device's first migration call (mig_hint_ns, announced by a forced
 * wakeup of mig_events) while a data fd is live and a few seconds after.
 */
#ifndef VFIOSCOPE_MIRROR_MIGRATION_BPF_H
#define VFIOSCOPE_MIRROR_MIGRATION_BPF_H

#define NR_read	    0
#define NR_write    1
#define NR_pread64  17
#define NR_pwrite64 18

/* VFIO device migration states that move data (enum vfio_device_mig_state) */
#define MIG_STOP	 1
#define MIG_RUNNING	 2
#define MIG_STOP_COPY	 3
#define MIG_RESUMING	 4
#define MIG_RUNNING_P2P	 5
#define MIG_PRE_COPY	 6
#define MIG_PRE_COPY_P2P 7

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} mig_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* device file */
	__type(value, struct vfs_mig_dev);
} mig_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* data fd file */
	__type(value, struct vfs_data_fd);
} data_fds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tid */
	__type(value, struct vfs_mig_call);
} mig_calls SEC(".maps");

/* set by user space when the iova_bitmap_set hook attached: a REPORT's dirty bytes are real */
__u32 kern_dirty_hooked;
/* live data fds: user space keeps mig_sys_enter/exit attached while this is not 0 */
__u64 nr_data_fds;
/* data-fd calls between entry and exit */
__u64 nr_mig_calls;
/* the last migration call of a device (a state change, a data size, DMA logging): user space
 * keeps the data-fd hooks of the handler ways in attached for a while after it */
__u64 mig_hint_ns;

static __always_inline bool mig_state_moves_data(__u32 s)
{
	return s == MIG_STOP_COPY || s == MIG_RESUMING || s == MIG_PRE_COPY ||
	       s == MIG_PRE_COPY_P2P;
}

/* A record for @device, its name filled in from the mirror. Callers reserve and test the
 * record themselves, right away: 6.1's verifier loses a reservation tested in a callee. */
static __always_inline void mig_fill(struct vfs_mig_event *m, __u64 device, __u16 type)
{
	struct vfs_file *fi;
	__u64 id = bpf_get_current_pid_tgid();

	__builtin_memset(m, 0, sizeof(*m));
	m->type = type;
	m->device = device;
	m->pid = id >> 32;
	m->tid = (__u32)id;
	m->data_fd = -1;
	m->state = VFS_MIG_STATE_UNKNOWN;
	m->prev_state = VFS_MIG_STATE_UNKNOWN;
	bpf_get_current_comm(m->comm, sizeof(m->comm));
	fi = bpf_map_lookup_elem(&files, &device);
	if (fi)
		__builtin_memcpy(m->device_name, fi->device, sizeof(m->device_name));
}

/* State records wake the reader at once: it attaches the data-fd hooks on them. */
static __always_inline void mig_submit(struct vfs_mig_event *m, bool wake)
{
	bpf_ringbuf_submit(m, wake ? BPF_RB_FORCE_WAKEUP : 0);
}

static __always_inline void data_fd_drop(struct vfs_mig_dev *d)
{
	__u64 key = d->data_file;

	if (key && bpf_map_delete_elem(&data_fds, &key) == 0)
		__sync_fetch_and_sub(&nr_data_fds, 1);
	d->data_file = 0;
}

static __always_inline struct vfs_mig_dev *mig_dev_get(__u64 device)
{
	struct vfs_mig_dev *d = bpf_map_lookup_elem(&mig_devs, &device);
	struct vfs_mig_dev zero = { .state = VFS_MIG_STATE_UNKNOWN };

	if (d)
		return d;
	bpf_map_update_elem(&mig_devs, &device, &zero, BPF_NOEXIST);
	d = bpf_map_lookup_elem(&mig_devs, &device);
	if (!d)
		count_lost(VFS_LOST_STATE);
	return d;
}

/*
 * The entry of a MIG_DEVICE_STATE SET: the position of the device's live data fd, the bytes
 * read from it or written to it so far. Upstream variant drivers (mlx5, hisi_acc, pds, qat)
 * and tests/kmod's keep their stream position in the file (f_pos) and reset it when the SET
 * disables the file, so it is read here, before the driver runs. It counts the bytes of
 * data-fd calls no hook saw (in the file-handler ways in, those made before the data-fd hooks
 * attached), which user space adds to the phase that ends.
 */
static __always_inline void mig_set_enter(__u64 device)
{
	struct vfs_mig_dev *d = bpf_map_lookup_elem(&mig_devs, &device);
	struct file *f;

	if (!d)
		return;
	d->set_pos_valid = 0;
	f = (struct file *)d->data_file; /* out of BPF_CORE_READ: our struct has no relocation */
	if (!f)
		return;
	d->set_pos = BPF_CORE_READ(f, f_pos);
	d->set_pos_valid = 1;
}

static __always_inline void mig_set_state(struct vfs_event *ev, bool ok, const __u8 *res)
{
	struct vfs_mig_dev *d = mig_dev_get(ev->file);
	__u32 asked = rd32(ev->in, VFS_FEAT_MIG_STATE);
	int data_fd = ok ? (int)rd32(res, VFS_FEAT_MIG_STATE_DATA_FD) : -1;
	struct file *f = data_fd >= 0 ? fd_to_file(data_fd) : NULL;
	__u32 prev = d ? d->state : VFS_MIG_STATE_UNKNOWN;
	bool pos_valid = d && d->set_pos_valid;
	__u64 pos = d ? d->set_pos : 0;
	struct vfs_mig_event *m;

	if (d)
		d->set_pos_valid = 0;
	if (d && ok) {
		d->state = asked;
		/* a new fd replaces the old; PRE_COPY -> STOP_COPY keeps it (data_fd -1) */
		if (f || !mig_state_moves_data(asked))
			data_fd_drop(d);
		if (f) {
			__u64 key = (__u64)f;
			struct vfs_data_fd v = { .device = ev->file, .created_ns = ev->ts_ns };

			if (bpf_map_update_elem(&data_fds, &key, &v, BPF_NOEXIST) == 0) {
				__sync_fetch_and_add(&nr_data_fds, 1);
				d->data_file = key;
			} else {
				count_lost(VFS_LOST_STATE);
			}
		}
	}
	m = bpf_ringbuf_reserve(&mig_events, sizeof(*m), 0);
	if (!m) {
		count_lost(VFS_LOST_RINGBUF);
		return;
	}
	mig_fill(m, ev->file, VFS_MIG_SET_STATE);
	m->ts_ns = ev->ts_ns;
	m->latency_ns = ev->latency_ns;
	m->ret = ev->ret;
	m->state = asked;
	m->prev_state = prev;
	m->data_fd = data_fd;
	m->data_file = (__u64)f;
	if (pos_valid) {
		m->c = pos;
		m->flags |= VFS_MIG_F_DATA_POS;
	}
	mig_submit(m, true);
}

/* A device op the migration view needs: state, data size, DMA logging. */
__noinline int mirror_migration(struct vfs_event *ev, bool ok)
{
	const __u8 *res;
	struct vfs_mig_event *m;
	struct vfs_mig_dev *d;
	__u32 flags;
	__u16 type;

	if (!ev)
		return 0;
	res = (ev->flags & VFS_EV_OUT_VALID) ? ev->out : ev->in;
	flags = rd32(ev->in, VFS_FLAGS);
	if (flags & VFS_FEATURE_PROBE)
		return 0;
	if (ev->op == VFS_OP_FEATURE_MIG_DEVICE_STATE || ev->op == VFS_OP_FEATURE_MIG_DATA_SIZE ||
	    (ev->op >= VFS_OP_DMA_LOGGING_START && ev->op <= VFS_OP_DMA_LOGGING_REPORT))
		mig_hint_ns = ev->ts_ns;
	switch (ev->op) {
	case VFS_OP_FEATURE_MIG_DEVICE_STATE:
		if (flags & (1U << 17)) { /* VFIO_DEVICE_FEATURE_SET */
			mig_set_state(ev, ok, res);
			return 0;
		}
		type = VFS_MIG_GET_STATE;
		break;
	case VFS_OP_FEATURE_MIG_DATA_SIZE:
		type = VFS_MIG_DATA_SIZE;
		break;
	case VFS_OP_DMA_LOGGING_START:
		type = VFS_MIG_LOG_START;
		break;
	case VFS_OP_DMA_LOGGING_STOP:
		type = VFS_MIG_LOG_STOP;
		break;
	case VFS_OP_DMA_LOGGING_REPORT:
		type = VFS_MIG_LOG_REPORT;
		break;
	default:
		return 0;
	}
	m = bpf_ringbuf_reserve(&mig_events, sizeof(*m), 0);
	if (!m) {
		count_lost(VFS_LOST_RINGBUF);
		return 0;
	}
	mig_fill(m, ev->file, type);
	m->ts_ns = ev->ts_ns;
	m->latency_ns = ev->latency_ns;
	m->ret = ev->ret;
	switch (type) {
	case VFS_MIG_GET_STATE:
		if (ok) {
			m->state = rd32(res, VFS_FEAT_MIG_STATE);
			d = mig_dev_get(ev->file);
			if (d)
				d->state = m->state;
		}
		break;
	case VFS_MIG_DATA_SIZE:
		if (ok)
			m->a = rd64(res, VFS_FEAT_MIG_DATA_SIZE);
		break;
	case VFS_MIG_LOG_START:
		m->a = rd64(res, VFS_LOG_CTRL_PAGE_SIZE);
		m->b = ev->nr_ranges;
		break;
	case VFS_MIG_LOG_REPORT:
		m->a = ev->kern_dirty_bytes;
		m->b = rd64(ev->in, VFS_LOG_REPORT_PAGE_SIZE);
		m->c = rd64(ev->in, VFS_LOG_REPORT_LENGTH);
		if (kern_dirty_hooked)
			m->flags |= VFS_MIG_F_KERN_DIRTY;
		break;
	}
	mig_submit(m, type != VFS_MIG_LOG_REPORT);
	return 0;
}

/* The device file is gone: its data fd no longer counts. */
static __always_inline void mig_release(__u64 device)
{
	struct vfs_mig_dev *d = bpf_map_lookup_elem(&mig_devs, &device);

	if (!d)
		return;
	data_fd_drop(d);
	bpf_map_delete_elem(&mig_devs, &device);
}

/* ---- the data fd, at the syscall level (attached only while a data fd is live) ---- */

static __always_inline bool mig_syscall(long id)
{
	return id == NR_read || id == NR_write || id == NR_pread64 || id == NR_pwrite64 ||
	       id == NR_ioctl;
}

/* The entry of a syscall while a data fd is live: keep a data-fd call for its exit. */
static __always_inline void mig_enter(long id, int fd, __u64 si, __u64 dx)
{
	struct vfs_mig_call c = {};
	struct vfs_data_fd *v;
	__u32 tid;
	__u64 key;

	if (!mig_syscall(id))
		return;
	if (id == NR_ioctl && (__u32)si != VFS_MIG_PRECOPY_INFO_CMD)
		return;
	key = (__u64)fd_to_file(fd);
	v = key ? bpf_map_lookup_elem(&data_fds, &key) : NULL;
	if (!v)
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	c.file = key;
	c.device = v->device;
	c.arg = id == NR_ioctl ? dx : si;
	c.id = id;
	c.fd = fd;
	c.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&mig_calls, &tid, &c, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&nr_mig_calls, 1);
}

static __always_inline void mig_exit(long id, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vfs_mig_event *m;
	struct vfs_mig_call c, *cp;
	struct vfs_mig_dev *d;
	__u64 now;

	if (!mig_syscall(id))
		return;
	cp = bpf_map_lookup_elem(&mig_calls, &tid);
	if (!cp)
		return;
	c = *cp;
	if (bpf_map_delete_elem(&mig_calls, &tid) == 0)
		__sync_fetch_and_sub(&nr_mig_calls, 1);
	now = bpf_ktime_get_ns();
	m = bpf_ringbuf_reserve(&mig_events, sizeof(*m), 0);
	if (!m) {
		count_lost(VFS_LOST_RINGBUF);
		return;
	}
	mig_fill(m, c.device,
		 c.id == NR_ioctl		       ? VFS_MIG_PRECOPY_INFO :
		 c.id == NR_read || c.id == NR_pread64 ? VFS_MIG_READ :
							 VFS_MIG_WRITE);
	m->ts_ns = now;
	m->latency_ns = now - c.ts_ns;
	m->ret = ret;
	m->data_file = c.file;
	m->data_fd = c.fd;
	d = bpf_map_lookup_elem(&mig_devs, &c.device);
	if (d)
		m->state = d->state;
	if (c.id == NR_ioctl && ret == 0) {
		const __u8 *arg = (const __u8 *)c.arg;

		bpf_probe_read_user(&m->a, sizeof(m->a), arg + VFS_PRECOPY_INITIAL_BYTES);
		bpf_probe_read_user(&m->b, sizeof(m->b), arg + VFS_PRECOPY_DIRTY_BYTES);
	}
	mig_submit(m, false);
}

/*
 * The file-handler ways in see no syscall: there these two carry the data fd's calls, and
 * user space attaches them only around migrations. The syscall ways in call mig_enter and
 * mig_exit from their own sys_enter/sys_exit programs, behind one test of a global.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(mig_sys_enter, struct pt_regs *regs, long id)
{
	if (nr_data_fds)
		mig_enter(id, regs->di, regs->si, regs->dx);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(mig_sys_exit, struct pt_regs *regs, long ret)
{
	if (nr_mig_calls)
		mig_exit(regs->orig_ax, ret);
	return 0;
}

#endif
